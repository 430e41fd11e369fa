#include "reports/build.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>

#include "common/log.hpp"
#include "reports/convoys.hpp"
#include "reports/delivery.hpp"
#include "store/aggregates.hpp"
#include "store/analysis.hpp"
#include "store/jobs.hpp"
#include "store/observations.hpp"

namespace cw::reports {
namespace {

constexpr int kNewest = 12;
constexpr size_t kMaxMapMarks = 100000;
// The task force's area (Ukraine, Belarus, Russia west of the Urals) when there is nothing to
// fit the map to.
constexpr std::array<double, 4> kDefaultBox{22.0, 44.0, 42.0, 56.5};

// Appends the milliseconds since the previous mark to `times` (if any) under `step`.
class StepClock {
 public:
  explicit StepClock(StepTimes* times) : times_(times) {}
  void mark(const char* step) {
    auto now = std::chrono::steady_clock::now();
    if (times_ != nullptr) {
      times_->emplace_back(step, std::chrono::duration<double, std::milli>(now - last_).count());
    }
    last_ = now;
  }

 private:
  StepTimes* times_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

TimePoint to_time(Seconds s) { return std::chrono::time_point_cast<std::chrono::microseconds>(s); }

Totals totals_of(const std::vector<store::AggregateRow>& rows) {
  Totals t;
  double km = 0;
  int64_t km_n = 0;
  for (const auto& r : rows) {
    t.observations += r.observations;
    t.vehicles += r.vehicles;
    t.toward += r.toward;
    t.away += r.away;
    t.parallel += r.parallel;
    t.stationary += r.stationary;
    t.unknown += r.unknown;
    if (r.mean_km_to_border) {
      km += *r.mean_km_to_border * static_cast<double>(r.with_distance);
      km_n += r.with_distance;
    }
  }
  if (km_n > 0) t.mean_km_to_border = km / static_cast<double>(km_n);
  return t;
}

Result<std::vector<store::AggregateRow>> aggregate(store::Database& db, TimePoint from,
                                                   TimePoint to, const std::string& tz,
                                                   std::vector<std::string> group_by) {
  store::AggregateQuery q;
  q.bucket = "day";
  q.tz = tz;
  q.group_by = std::move(group_by);
  q.filter.from = from;
  q.filter.to = to;
  q.max_rows = 100000;
  auto r = store::Aggregates(db).query(q);
  if (!r.ok()) return r.error();
  return std::move(r->rows);
}

// Folds per-day rows of (oblast, country) into one Totals per oblast.
std::map<std::pair<std::string, std::string>, std::vector<store::AggregateRow>> by_oblast(
    const std::vector<store::AggregateRow>& rows) {
  std::map<std::pair<std::string, std::string>, std::vector<store::AggregateRow>> out;
  for (const auto& r : rows) {
    out[{r.groups.at("oblast").value_or(""), r.groups.at("country").value_or("")}].push_back(r);
  }
  return out;
}

std::string equipment_summary(const store::Observation& o) {
  std::string s;
  for (const auto& e : o.input.equipment) {
    if (!s.empty()) s += ", ";
    s += fmt::format("{} {}", e.count, e.type);
  }
  return s;
}

// The first http(s) URL in the source note, if any.
std::string url_in(const std::optional<std::string>& note) {
  if (!note) return {};
  for (const char* scheme : {"https://", "http://"}) {
    size_t at = note->find(scheme);
    if (at == std::string::npos) continue;
    size_t end = note->find_first_of(" \t\r\n\"<>", at);
    return note->substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return {};
}

// The JPEG of a frame's thumbnail, or empty (not analysed, not shared, file gone).
std::string thumbnail(store::Database& db, const Config& config, const std::string& sha,
                      int frame) {
  auto shared = store::Reports(db).media_shared(sha);
  if (!shared.ok() || !*shared) return {};
  auto a = store::Analyses(db).get(sha);
  if (!a.ok()) return {};
  for (const auto& f : a->first["frames"]["frames"]) {
    if (f.value("index", -1) != frame) continue;
    std::string name = f.value("thumb", "");
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') return {};
    std::ifstream in(config.storage.root + "/derived/" + sha + "/" + name, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return in ? bytes.str() : std::string();
  }
  return {};
}

}  // namespace

Result<ReportData> gather_report(store::Database& db, const Config& config,
                                 const ReportPeriod& period, const std::string& tz,
                                 StepTimes* times) {
  StepClock clock(times);
  auto previous = previous_period(period, tz);
  if (!previous.ok()) return previous.error();
  const TimePoint from = to_time(period.start), to = to_time(period.end);
  const TimePoint prev_from = to_time(previous->start), prev_to = to_time(previous->end);

  ReportData r;
  r.kind = report_kind_name(period.kind);
  r.period_key = period.key;
  r.tz = tz;
  r.period_start = from;
  r.period_end = to;
  r.generated_at = now_utc();

  // Totals, days and oblasts from the rollups.
  auto days = aggregate(db, from, to, tz, {});
  if (!days.ok()) return days.error();
  auto days_before = aggregate(db, prev_from, prev_to, tz, {});
  if (!days_before.ok()) return days_before.error();
  r.totals = totals_of(*days);
  r.previous = totals_of(*days_before);
  for (const auto& d : *days) {
    r.days.push_back({d.bucket_label, d.toward, d.away, d.parallel, d.stationary, d.unknown});
  }
  auto oblasts = aggregate(db, from, to, tz, {"oblast", "country"});
  if (!oblasts.ok()) return oblasts.error();
  auto oblasts_before = aggregate(db, prev_from, prev_to, tz, {"oblast", "country"});
  if (!oblasts_before.ok()) return oblasts_before.error();
  auto now_by = by_oblast(*oblasts), before_by = by_oblast(*oblasts_before);
  for (const auto& [key, rows] : now_by) {
    OblastRow o;
    o.code = key.first;
    o.country = key.second;
    o.now = totals_of(rows);
    if (auto it = before_by.find(key); it != before_by.end()) o.previous = totals_of(it->second);
    r.oblasts.push_back(std::move(o));
  }
  for (const auto& [key, rows] : before_by) {
    if (now_by.count(key) != 0) continue;  // oblasts seen before but not now show the drop
    OblastRow o;
    o.code = key.first;
    o.country = key.second;
    o.previous = totals_of(rows);
    r.oblasts.push_back(std::move(o));
  }
  std::sort(r.oblasts.begin(), r.oblasts.end(), [](const OblastRow& a, const OblastRow& b) {
    if (a.now.vehicles != b.now.vehicles) return a.now.vehicles > b.now.vehicles;
    return a.code < b.code;
  });
  clock.mark("aggregates");

  // The verified observations of the period and a day around it (for linking tracks), read
  // once: the period's are the map marks and the newest ones.
  store::ObservationFilter f;
  f.from = from - kConvoyMargin;
  f.to = to + kConvoyMargin;
  f.status = "verified";
  f.limit = kMaxConvoySightings + 1;
  auto around = store::Observations(db).list(f);
  if (!around.ok()) return around.error();
  std::vector<const store::Observation*> observations;
  for (const auto& o : *around) {
    if (o.input.observed_at >= from && o.input.observed_at < to &&
        observations.size() < kMaxMapMarks) {
      observations.push_back(&o);
    }
  }
  std::map<std::string, std::string> oblast_names;
  for (const store::Observation* p : observations) {
    const store::Observation& o = *p;
    r.observations.push_back(
        {o.id, o.input.lat, o.input.lon, o.vehicles, o.derived.movement, o.input.observed_at});
    if (o.derived.oblast && o.derived.oblast_name) {
      oblast_names[*o.derived.oblast] = *o.derived.oblast_name;
    }
  }
  for (auto it = observations.rbegin();
       it != observations.rend() && static_cast<int>(r.newest.size()) < kNewest; ++it) {
    const store::Observation& o = **it;
    NewestObservation n;
    n.id = o.id;
    n.observed_at = o.input.observed_at;
    n.oblast = o.derived.oblast_name.value_or(o.derived.oblast.value_or(""));
    n.place = o.derived.nearest_place.value_or("");
    n.movement = o.derived.movement;
    n.vehicles = o.vehicles;
    n.equipment_summary = equipment_summary(o);
    n.source_note = o.input.source_note.value_or("");
    n.source_url = url_in(o.input.source_note);
    if (!o.input.frame_refs.empty()) {
      n.media_sha256 = o.input.frame_refs.front().sha256;
      n.frame = o.input.frame_refs.front().frame;
      n.thumbnail_jpeg = thumbnail(db, config, n.media_sha256, *n.frame);
    }
    r.newest.push_back(std::move(n));
  }
  clock.mark("observations");

  // Convoy tracks of the period, from the same verified observations.
  ConvoyQuery cq;
  cq.from = from;
  cq.to = to;
  cq.status = "verified";
  auto convoys = link_convoys(db, config.tracks, cq, *around);
  if (!convoys.ok()) return convoys.error();
  for (const auto& c : *convoys) {
    TrackLine t;
    t.id = c.id;
    for (const auto& s : c.sightings) t.points.push_back({s.lon, s.lat});
    t.vehicles = c.vehicles;
    t.net_km_toward_border = c.net_km_toward_border;
    t.mean_speed_kmh = c.mean_speed_kmh;
    t.start = c.start;
    t.end = c.end;
    r.tracks.push_back(std::move(t));
  }
  clock.mark("convoys");

  // Open disputes, whenever they were raised: the verdict that disputed each.
  store::ObservationFilter df;
  df.status = "disputed";
  df.limit = 200;
  auto disputed = store::Observations(db).list(df);
  if (!disputed.ok()) return disputed.error();
  for (const auto& o : *disputed) {
    Dispute d;
    d.observation_id = o.id;
    d.status = o.status;
    auto verdicts = store::Observations(db).verdicts(o.id);
    if (verdicts.ok() && !verdicts->empty()) {
      d.note = verdicts->back().note;
      d.by = verdicts->back().analyst;
      d.at = verdicts->back().at;
    }
    r.disputes.push_back(std::move(d));
  }
  clock.mark("disputes");

  // Outlines around what is drawn.
  std::array<double, 4> box = kDefaultBox;
  if (!r.observations.empty()) {
    box = {180, 90, -180, -90};
    for (const auto& o : r.observations) {
      box[0] = std::min(box[0], o.lon);
      box[1] = std::min(box[1], o.lat);
      box[2] = std::max(box[2], o.lon);
      box[3] = std::max(box[3], o.lat);
    }
    double margin = std::max({1.0, (box[2] - box[0]) * 0.3, (box[3] - box[1]) * 0.3});
    box = {std::max(-180.0, box[0] - margin), std::max(-90.0, box[1] - margin),
           std::min(180.0, box[2] + margin), std::min(90.0, box[3] + margin)};
  }
  double tolerance = std::max(box[2] - box[0], box[3] - box[1]) / 1500;
  auto outlines = store::Reports(db).outlines(box, tolerance);
  if (!outlines.ok()) return outlines.error();
  for (const auto& o : *outlines) {
    if (o.kind == "oblast") oblast_names.emplace(o.code, o.name);
    try {
      r.outlines.push_back({o.kind, o.name, nlohmann::json::parse(o.geometry_json)});
    } catch (const nlohmann::json::exception& e) {
      log::warn("report outline is not JSON", {{"code", o.code}, {"error", e.what()}});
    }
  }
  for (auto& o : r.oblasts) {
    auto it = oblast_names.find(o.code);
    o.name = it != oblast_names.end() ? it->second : o.code;
  }
  r.map_attribution =
      "Boundaries © OpenStreetMap contributors (ODbL) via geo-maps; Natural Earth (public "
      "domain); places: GeoNames (CC BY 4.0)";
  clock.mark("outlines");
  return r;
}

Result<store::StoredReport> build_report(store::Database& db, const Config& config,
                                         const ReportPeriod& period, const std::string& tz,
                                         const std::string& built_by, const store::Actor& actor) {
  StepTimes times;
  auto data = gather_report(db, config, period, tz, &times);
  if (!data.ok()) return data.error();
  StepClock clock(&times);
  store::Reports reports(db);
  // The report's id is in its documents (links): a new period's id is reserved first.
  auto existing = reports.find(data->kind, data->period_key);
  if (!existing.ok()) return existing.error();
  store::StoredReport stored;
  stored.kind = data->kind;
  stored.period_key = data->period_key;
  stored.tz = tz;
  stored.period_start = data->period_start;
  stored.period_end = data->period_end;
  stored.built_by = built_by;
  if (*existing) {
    data->id = **existing;
  } else {
    auto id = reports.reserve_id();
    if (!id.ok()) return id.error();
    data->id = *id;
  }
  stored.id = data->id;
  stored.body = to_json(*data);
  stored.html = render_html(*data);
  stored.csv = render_csv(*data);
  clock.mark("render");
  auto id = reports.save(actor, stored);
  if (!id.ok()) return id.error();
  clock.mark("save");
  if (*id != stored.id) {
    // Someone stored this period meanwhile under another id: ours takes its content, and the
    // documents are rendered again with the id that stays.
    data->id = stored.id = *id;
    stored.body = to_json(*data);
    stored.html = render_html(*data);
    stored.csv = render_csv(*data);
    id = reports.save(actor, stored);
    if (!id.ok()) return id.error();
  }
  stored.built_at = now_utc();
  nlohmann::json ms = nlohmann::json::object();
  double total = 0;
  for (const auto& [step, t] : times) {
    ms[step] = std::round(t * 10) / 10;
    total += t;
  }
  log::info("report built", {{"report", stored.id},
                             {"kind", stored.kind},
                             {"period", stored.period_key},
                             {"observations", data->totals.observations},
                             {"tracks", data->tracks.size()},
                             {"ms", std::move(ms)},
                             {"total_ms", std::round(total)}});
  // Deliveries go through the job queue: retried with backoff, done by any worker.
  for (const auto& url : config.reports.webhooks) {
    auto job = store::Jobs(db).enqueue(kDeliverReportJob, {{"report_id", stored.id}, {"url", url}});
    if (!job.ok()) {
      log::warn("cannot queue a report delivery",
                {{"report", stored.id}, {"url", url}, {"error", job.error().detail()}});
    }
  }
  return stored;
}

}  // namespace cw::reports
