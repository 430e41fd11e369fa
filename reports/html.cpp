// The HTML report: one self-contained page (inline CSS, the two SVGs inline, thumbnails as data:
// URIs, no script). A Content-Security-Policy forbids every fetch but data: images, so a report
// opened from a mail or a disk never reaches out, and an escaping mistake cannot run a script.
#include <fmt/format.h>

#include <cctype>
#include <cmath>

#include "common/base64.hpp"
#include "common/xml.hpp"
#include "reports/report.hpp"
#include "reports/text.hpp"

namespace cw::reports {
namespace {

constexpr std::string_view kStyle = R"css(
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 14px/1.45 Helvetica, Arial, sans-serif; color: #222; margin: 0 auto; max-width: 900px;
       padding: 24px; background: #fff; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 2px solid #333; padding-bottom: 2px; }
header p { margin: 2px 0; color: #555; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; }
th, td { padding: 4px 6px; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top;
         overflow-wrap: break-word; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; overflow-wrap: normal; }
td.num { white-space: nowrap; }
/* Fixed layouts: column widths do not depend on what users typed, and long text wraps inside its
   column instead of pushing the table off the page. */
table.oblasts, table.tracks, table.disputes { table-layout: fixed; }
table.oblasts td, table.tracks td, table.disputes td { overflow-wrap: anywhere; }
table.oblasts td.num, table.tracks td.num { overflow-wrap: normal; white-space: normal; }
.muted { color: #777; }
.empty { color: #777; font-style: italic; }
figure { margin: 8px 0; }
figure svg { display: block; width: 100%; height: auto; max-width: 100%; }
figcaption { color: #555; font-size: 12px; margin-top: 4px; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 50%;
          margin-right: 4px; vertical-align: baseline; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
.card { border: 1px solid #ddd; border-radius: 4px; padding: 8px; break-inside: avoid;
        page-break-inside: avoid; overflow-wrap: anywhere; }
.card img { display: block; width: 100%; height: auto; margin-bottom: 6px; background: #eee; }
.card .nothumb { height: 90px; display: flex; align-items: center; justify-content: center;
                 background: #f2f2f2; color: #888; margin-bottom: 6px; }
.card p { margin: 2px 0; }
footer { margin-top: 32px; color: #777; font-size: 12px; border-top: 1px solid #ddd;
         padding-top: 6px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  table { font-size: 9pt; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, .card { break-inside: avoid; page-break-inside: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  a { color: inherit; text-decoration: none; }
  section { break-before: auto; }
}
)css";

std::string esc(std::string_view s) { return xml_escape(s); }

std::string count_cell(int64_t v) { return fmt::format("<td class=\"num\">{}</td>", v); }

std::string km_text(const std::optional<double>& km) {
  if (!km || !std::isfinite(*km)) return "–";
  std::string s = format_fixed(*km, 1);
  s += " km";
  return s;
}

// "+12 (+25.0%)"; "+5 (new)" when the previous count was 0; "0" when both are 0.
std::string change_text(int64_t now, int64_t previous) {
  Change c = change_between(now, previous);
  if (now == 0 && previous == 0) return "0";
  std::string s = format_signed(c.delta);
  append(s, {" (", format_percent(c.percent, "new"), ")"});
  return s;
}

std::string km_change_text(const std::optional<double>& now, const std::optional<double>& prev) {
  if (!now || !prev || !std::isfinite(*now) || !std::isfinite(*prev)) return "–";
  std::string d = format_signed_fixed(*now - *prev, 1);
  d += " km";
  return d;
}

std::string movement_label(std::string_view movement) {
  return fmt::format("<span class=\"swatch\" style=\"background:{}\"></span>{}",
                     movement_colour(movement), esc(movement));
}

bool is_jpeg(std::string_view bytes) {
  return bytes.size() > 3 && static_cast<unsigned char>(bytes[0]) == 0xFF &&
         static_cast<unsigned char>(bytes[1]) == 0xD8 &&
         static_cast<unsigned char>(bytes[2]) == 0xFF;
}

bool is_web_url(std::string_view url) {
  auto starts = [&](std::string_view p) {
    if (url.size() <= p.size()) return false;
    for (size_t i = 0; i < p.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(url[i])) != p[i]) return false;
    }
    return true;
  };
  return starts("https://") || starts("http://");
}

void totals_section(std::string& h, const ReportData& r) {
  const Totals& t = r.totals;
  const Totals& p = r.previous;
  h += "<section id=\"totals\"><h2>Totals and change against the previous period</h2>\n"
       "<table class=\"totals\"><thead><tr><th></th><th class=\"num\">This period</th>"
       "<th class=\"num\">Previous period</th><th class=\"num\">Change</th></tr></thead><tbody>\n";
  auto row = [&](std::string_view key, std::string_view label, int64_t now, int64_t prev) {
    h += fmt::format("<tr data-key=\"{}\"><th>{}</th>{}{}<td class=\"num\">{}</td></tr>\n", key,
                     label, count_cell(now), count_cell(prev), change_text(now, prev));
  };
  row("observations", "Observations", t.observations, p.observations);
  row("vehicles", "Vehicles", t.vehicles, p.vehicles);
  for (std::string_view m : kMovements) {
    row(m, fmt::format("&#8195;{}", movement_label(m)), t.by_movement(m), p.by_movement(m));
  }
  h += fmt::format(
      "<tr data-key=\"mean_km_to_border\"><th>Mean distance to the border</th>"
      "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
      km_text(t.mean_km_to_border), km_text(p.mean_km_to_border),
      km_change_text(t.mean_km_to_border, p.mean_km_to_border));
  h += "</tbody></table>\n<p class=\"muted\">Vehicles are the sum of the equipment counts of the "
       "observations; movement is relative to the nearest point of the border.</p></section>\n";
}

void oblast_section(std::string& h, const ReportData& r) {
  h += "<section id=\"oblasts\"><h2>By oblast</h2>\n";
  if (r.oblasts.empty()) {
    h += "<p class=\"empty\">No observations in this period.</p></section>\n";
    return;
  }
  h += "<table class=\"oblasts\"><colgroup><col style=\"width:19%\"><col style=\"width:11%\">"
       "<col style=\"width:8%\"><col style=\"width:9%\"><col style=\"width:8%\">"
       "<col style=\"width:7%\"><col style=\"width:11%\"><col style=\"width:10%\">"
       "<col style=\"width:17%\"></colgroup>\n<thead><tr><th>Oblast</th><th>Country</th>"
       "<th class=\"num\" title=\"Observations\">Obs.</th><th class=\"num\">Vehicles</th>"
       "<th class=\"num\">Toward</th><th class=\"num\">Away</th>"
       "<th class=\"num\">Mean km to border</th><th class=\"num\">Previous vehicles</th>"
       "<th class=\"num\">Change</th></tr></thead><tbody>\n";
  for (const OblastRow& o : r.oblasts) {
    h +=
        fmt::format("<tr data-oblast=\"{}\"><td>{} <span class=\"muted\">{}</span></td><td>{}</td>",
                    esc(o.code), esc(o.name), esc(o.code), esc(o.country));
    h += count_cell(o.now.observations) + count_cell(o.now.vehicles) + count_cell(o.now.toward) +
         count_cell(o.now.away);
    h += fmt::format("<td class=\"num\">{}</td>", km_text(o.now.mean_km_to_border));
    h += count_cell(o.previous.vehicles);
    h += fmt::format("<td class=\"num\">{}</td></tr>\n",
                     change_text(o.now.vehicles, o.previous.vehicles));
  }
  h += "</tbody></table></section>\n";
}

void tracks_section(std::string& h, const ReportData& r) {
  h += "<section id=\"tracks\"><h2>Convoy tracks</h2>\n";
  if (r.tracks.empty()) {
    h += "<p class=\"empty\">No convoy tracks in this period.</p></section>\n";
    return;
  }
  h += "<table class=\"tracks\"><colgroup><col style=\"width:8%\"><col style=\"width:20%\">"
       "<col style=\"width:20%\"><col style=\"width:12%\"><col style=\"width:11%\">"
       "<col style=\"width:16%\"><col style=\"width:13%\"></colgroup>\n"
       "<thead><tr><th>Track</th><th>From</th><th>To</th>"
       "<th class=\"num\">Sightings</th><th class=\"num\">Vehicles</th>"
       "<th class=\"num\">Net km toward border</th><th class=\"num\">Mean speed</th>"
       "</tr></thead><tbody>\n";
  for (const TrackLine& t : r.tracks) {
    std::string net = format_signed_fixed(t.net_km_toward_border, 1);
    h += fmt::format(
        "<tr data-track=\"{}\"><td>#{}</td><td>{}</td><td>{}</td>{}{}<td class=\"num\">{} km</td>"
        "<td class=\"num\">{} km/h</td></tr>\n",
        t.id, t.id, format_utc_minute(t.start), format_utc_minute(t.end),
        count_cell(static_cast<int64_t>(t.points.size())), count_cell(t.vehicles), net,
        format_fixed(t.mean_speed_kmh, 0));
  }
  h += "</tbody></table>\n<p class=\"muted\">Net km toward border: positive when the convoy "
       "ended nearer the border than it started.</p></section>\n";
}

void newest_section(std::string& h, const ReportData& r) {
  h += "<section id=\"newest\"><h2>Newest verified observations</h2>\n";
  if (r.newest.empty()) {
    h += "<p class=\"empty\">No verified observations in this period.</p></section>\n";
    return;
  }
  h += "<div class=\"cards\">\n";
  for (const NewestObservation& o : r.newest) {
    h += fmt::format("<div class=\"card\" data-observation=\"{}\">", o.id);
    if (is_jpeg(o.thumbnail_jpeg)) {
      h += fmt::format("<img alt=\"Keyframe of observation {}\" src=\"data:image/jpeg;base64,",
                       o.id);
      h += base64_encode(o.thumbnail_jpeg);
      h += "\">";
    } else {
      h += "<div class=\"nothumb\">no keyframe</div>";
    }
    h += fmt::format("<p><strong>#{}</strong> · {}</p>", o.id, format_utc_minute(o.observed_at));
    append(h, {"<p>", esc(o.place)});
    if (!o.place.empty() && !o.oblast.empty()) h += ", ";
    append(h, {esc(o.oblast), "</p>"});
    h += fmt::format("<p>{} · {} vehicles</p>", movement_label(o.movement), o.vehicles);
    if (!o.equipment_summary.empty()) append(h, {"<p>", esc(o.equipment_summary), "</p>"});
    if (!o.source_note.empty()) append(h, {"<p class=\"muted\">", esc(o.source_note), "</p>"});
    if (is_web_url(o.source_url)) {
      const std::string url = esc(o.source_url);
      append(h,
             {"<p><a rel=\"noopener noreferrer nofollow\" href=\"", url, "\">", url, "</a></p>"});
    } else if (!o.source_url.empty()) {
      append(h, {"<p class=\"muted\">", esc(o.source_url), "</p>"});
    }
    h += "</div>\n";
  }
  h += "</div></section>\n";
}

void disputes_section(std::string& h, const ReportData& r) {
  h += "<section id=\"disputes\"><h2>Open disputes</h2>\n";
  if (r.disputes.empty()) {
    h += "<p class=\"empty\">No open disputes.</p></section>\n";
    return;
  }
  h += "<table class=\"disputes\"><colgroup><col style=\"width:16%\"><col style=\"width:11%\">"
       "<col style=\"width:20%\"><col style=\"width:14%\"><col style=\"width:39%\"></colgroup>\n"
       "<thead><tr><th>Observation</th><th>Status</th><th>Since</th>"
       "<th>By</th><th>Note</th></tr></thead><tbody>\n";
  for (const Dispute& d : r.disputes) {
    h += fmt::format(
        "<tr data-observation=\"{}\"><td>#{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td></tr>\n",
        d.observation_id, d.observation_id, esc(d.status), format_utc_minute(d.at), esc(d.by),
        esc(d.note));
  }
  h += "</tbody></table></section>\n";
}

}  // namespace

std::string render_html(const ReportData& r) {
  const std::string title = fmt::format("ConvoyWatch {} report {}", esc(r.kind), esc(r.period_key));
  std::string h;
  h.reserve(64 * 1024);
  h += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  h += "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
       "img-src data:; style-src 'unsafe-inline'\">\n";
  h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  h += "<link rel=\"icon\" href=\"data:,\">\n";
  append(h, {"<title>", title, "</title>\n<style>"});
  h += kStyle;
  append(h, {"</style>\n</head>\n<body>\n<header>\n<h1>", title, "</h1>\n"});
  h += fmt::format("<p class=\"period\">Period: {} – {}", format_utc_minute(r.period_start),
                   format_utc_minute(r.period_end));
  if (!r.tz.empty()) append(h, {" (days in ", esc(r.tz), ")"});
  h += fmt::format("</p>\n<p class=\"generated\">Generated {} · report #{}</p>\n</header>\n",
                   format_utc_minute(r.generated_at), r.id);

  totals_section(h, r);

  h += "<section id=\"map\"><h2>Map</h2>\n<figure>\n";
  h += render_map_svg(r);
  h += fmt::format(
      "<figcaption>{} observations (circle area proportional to vehicles) and {} "
      "convoy tracks.</figcaption>\n</figure></section>\n",
      r.observations.size(), r.tracks.size());

  h += "<section id=\"days\"><h2>Vehicles per day</h2>\n<figure>\n";
  h += render_bars_svg(r);
  h += "</figure></section>\n";

  oblast_section(h, r);
  tracks_section(h, r);
  newest_section(h, r);
  disputes_section(h, r);

  h += fmt::format("<footer>ConvoyWatch report #{}", r.id);
  if (!r.map_attribution.empty()) append(h, {" · map data ", esc(r.map_attribution)});
  h += "</footer>\n</body>\n</html>\n";
  return h;
}

}  // namespace cw::reports
