// The report's model helpers, its JSON document, the per-oblast CSV and reading outlines from
// GeoJSON. The SVGs are drawn in map_svg.cpp and bars_svg.cpp, the page in html.cpp.
#include "reports/report.hpp"

#include <fmt/format.h>

#include "common/csv.hpp"
#include "common/utf8.hpp"
#include "reports/text.hpp"

namespace cw::reports {
namespace {

using nlohmann::json;

json opt_number(std::optional<double> v, int decimals) {
  if (!v || !std::isfinite(*v)) return nullptr;
  return round_to(*v, decimals);
}

json totals_json(const Totals& t) {
  return {{"observations", t.observations},
          {"vehicles", t.vehicles},
          {"toward", t.toward},
          {"away", t.away},
          {"parallel", t.parallel},
          {"stationary", t.stationary},
          {"unknown", t.unknown},
          {"mean_km_to_border", opt_number(t.mean_km_to_border, 3)}};
}

json change_json(int64_t now, int64_t previous) {
  Change c = change_between(now, previous);
  return {{"delta", c.delta}, {"percent", opt_number(c.percent, 1)}};
}

json time_json(TimePoint t) { return format_rfc3339(t); }

}  // namespace

int64_t Totals::by_movement(std::string_view movement) const {
  if (movement == "toward") return toward;
  if (movement == "away") return away;
  if (movement == "parallel") return parallel;
  if (movement == "stationary") return stationary;
  if (movement == "unknown") return unknown;
  return 0;
}

Change change_between(int64_t now, int64_t previous) {
  Change c;
  c.delta = now - previous;
  if (previous != 0) {
    c.percent = 100.0 * static_cast<double>(c.delta) / static_cast<double>(previous);
  }
  return c;
}

std::string thumbnail_url(const NewestObservation& o) {
  if (o.media_sha256.empty() || !o.frame) return {};
  // The sha comes from the database (lowercase hex); anything else does not make a URL.
  for (char c : o.media_sha256) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
  }
  return fmt::format("/api/v1/media/{}/frames/{}/thumb.jpg", o.media_sha256, *o.frame);
}

json to_json(const ReportData& r) {
  json doc;
  doc["id"] = r.id;
  doc["kind"] = utf8_repair(r.kind);
  doc["period"] = {{"key", utf8_repair(r.period_key)},
                   {"tz", utf8_repair(r.tz)},
                   {"start", time_json(r.period_start)},
                   {"end", time_json(r.period_end)}};
  doc["generated_at"] = time_json(r.generated_at);
  doc["totals"] = totals_json(r.totals);
  doc["previous"] = totals_json(r.previous);
  doc["change"] = {{"observations", change_json(r.totals.observations, r.previous.observations)},
                   {"vehicles", change_json(r.totals.vehicles, r.previous.vehicles)},
                   {"toward", change_json(r.totals.toward, r.previous.toward)},
                   {"away", change_json(r.totals.away, r.previous.away)}};

  json oblasts = json::array();
  for (const OblastRow& o : r.oblasts) {
    oblasts.push_back(
        {{"code", utf8_repair(o.code)},
         {"name", utf8_repair(o.name)},
         {"country", utf8_repair(o.country)},
         {"totals", totals_json(o.now)},
         {"previous", totals_json(o.previous)},
         {"change", {{"vehicles", change_json(o.now.vehicles, o.previous.vehicles)}}}});
  }
  doc["oblasts"] = std::move(oblasts);

  json days = json::array();
  for (const DayBar& d : r.days) {
    days.push_back({{"day", utf8_repair(d.day)},
                    {"toward", d.toward},
                    {"away", d.away},
                    {"parallel", d.parallel},
                    {"stationary", d.stationary},
                    {"unknown", d.unknown},
                    {"total", d.total()}});
  }
  doc["days"] = std::move(days);

  json observations = json::array();
  for (const MapObservation& o : r.observations) {
    observations.push_back({{"id", o.id},
                            {"lat", round_to(o.lat, 6)},
                            {"lon", round_to(o.lon, 6)},
                            {"vehicles", o.vehicles},
                            {"movement", utf8_repair(o.movement)},
                            {"observed_at", time_json(o.observed_at)}});
  }
  doc["observations"] = std::move(observations);

  json tracks = json::array();
  for (const TrackLine& t : r.tracks) {
    json coords = json::array();
    for (const LonLat& p : t.points) coords.push_back({round_to(p.lon, 6), round_to(p.lat, 6)});
    tracks.push_back({{"id", t.id},
                      {"coordinates", std::move(coords)},
                      {"vehicles", t.vehicles},
                      {"net_km_toward_border", round_to(t.net_km_toward_border, 3)},
                      {"mean_speed_kmh", round_to(t.mean_speed_kmh, 2)},
                      {"start", time_json(t.start)},
                      {"end", time_json(t.end)}});
  }
  doc["tracks"] = std::move(tracks);

  json newest = json::array();
  for (const NewestObservation& o : r.newest) {
    std::string thumb = thumbnail_url(o);
    newest.push_back({{"id", o.id},
                      {"observed_at", time_json(o.observed_at)},
                      {"oblast", utf8_repair(o.oblast)},
                      {"place", utf8_repair(o.place)},
                      {"movement", utf8_repair(o.movement)},
                      {"vehicles", o.vehicles},
                      {"equipment", utf8_repair(o.equipment_summary)},
                      {"source_note", utf8_repair(o.source_note)},
                      {"source_url", utf8_repair(o.source_url)},
                      {"thumbnail_url", thumb.empty() ? json(nullptr) : json(thumb)}});
  }
  doc["newest"] = std::move(newest);

  json disputes = json::array();
  for (const Dispute& d : r.disputes) {
    disputes.push_back({{"observation_id", d.observation_id},
                        {"status", utf8_repair(d.status)},
                        {"note", utf8_repair(d.note)},
                        {"by", utf8_repair(d.by)},
                        {"at", time_json(d.at)}});
  }
  doc["disputes"] = std::move(disputes);
  doc["links"] = {{"html", fmt::format("/api/v1/reports/{}.html", r.id)},
                  {"csv", fmt::format("/api/v1/reports/{}.csv", r.id)}};
  return doc;
}

std::string render_csv(const ReportData& r) {
  std::string out =
      "code,name,country,observations,vehicles,toward,away,parallel,stationary,unknown,"
      "mean_km_to_border,previous_vehicles,change_vehicles,change_percent\r\n";
  for (const OblastRow& o : r.oblasts) {
    const Totals& t = o.now;
    Change c = change_between(t.vehicles, o.previous.vehicles);
    out += csv_field(utf8_repair(o.code));
    out += ',';
    out += csv_field(utf8_repair(o.name));
    out += ',';
    out += csv_field(utf8_repair(o.country));
    for (int64_t v :
         {t.observations, t.vehicles, t.toward, t.away, t.parallel, t.stationary, t.unknown}) {
      out += fmt::format(",{}", v);
    }
    out += ',';
    if (t.mean_km_to_border && std::isfinite(*t.mean_km_to_border)) {
      out += format_fixed(*t.mean_km_to_border, 1);
    }
    out += fmt::format(",{},{},", o.previous.vehicles, c.delta);
    if (c.percent) out += format_fixed(*c.percent, 1);
    out += "\r\n";
  }
  return out;
}

Result<std::vector<Outline>> outlines_from_geojson(std::string_view text, std::string_view kind) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || doc.value("type", json()) != "FeatureCollection" ||
      !doc.contains("features") || !doc["features"].is_array()) {
    return Error(Code::kUnprocessable, "not a GeoJSON FeatureCollection", "geojson");
  }
  std::vector<Outline> out;
  for (json& feature : doc["features"]) {
    if (!feature.is_object() || !feature.contains("geometry")) continue;
    Outline o;
    o.kind = std::string(kind);
    const json props = feature.value("properties", json::object());
    if (props.is_object()) {
      for (const char* key : {"name_en", "name", "neighbour_name"}) {
        auto it = props.find(key);
        if (it != props.end() && it->is_string()) {
          o.name = it->get<std::string>();
          break;
        }
      }
    }
    o.geometry = std::move(feature["geometry"]);
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace cw::reports
