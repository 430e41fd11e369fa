#include "reports/convoys.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "store/convoys.hpp"
#include "store/observations.hpp"

namespace cw::reports {
namespace {

bool inside(const std::array<double, 4>& b, double lat, double lon) {
  return lon >= b[0] && lat >= b[1] && lon <= b[2] && lat <= b[3];
}

}  // namespace

TrackOptions track_options(const TracksConfig& config) {
  TrackOptions o;
  o.max_speed_kmh = config.max_speed_kmh;
  o.max_gap_hours = config.max_gap_hours;
  o.heading_tolerance_deg = config.heading_tolerance_deg;
  return o;
}

Result<std::vector<Convoy>> find_convoys(store::Database& db, const TracksConfig& config,
                                         const ConvoyQuery& q) {
  store::ObservationFilter f;
  f.from = q.from - kConvoyMargin;
  f.to = q.to + kConvoyMargin;
  f.status = q.status;
  f.limit = kMaxConvoySightings + 1;
  auto rows = store::Observations(db).list(f);
  if (!rows.ok()) return rows.error();
  return link_convoys(db, config, q, *rows);
}

Result<std::vector<Convoy>> link_convoys(store::Database& db, const TracksConfig& config,
                                         const ConvoyQuery& q,
                                         const std::vector<store::Observation>& rows) {
  if (static_cast<int>(rows.size()) > kMaxConvoySightings) {
    return Error(Code::kUnprocessable,
                 fmt::format("more than {} observations around this window: narrow from/to",
                             kMaxConvoySightings),
                 "from");
  }
  std::vector<Sighting> sightings;
  std::unordered_map<int64_t, const store::Observation*> by_id;
  std::vector<int64_t> ids;
  sightings.reserve(rows.size());
  for (const auto& o : rows) {
    Sighting s;
    s.id = o.id;
    s.observed_at = o.input.observed_at;
    s.lat = o.input.lat;
    s.lon = o.input.lon;
    s.heading_deg = o.input.heading_deg;
    for (const auto& e : o.input.equipment) s.equipment[e.type] += e.count;
    s.vehicles = o.vehicles;
    s.km_to_border = o.derived.km_to_border;
    sightings.push_back(std::move(s));
    by_id[o.id] = &o;
    ids.push_back(o.id);
  }
  auto stored_edits = store::ConvoyEdits(db).among(ids);
  if (!stored_edits.ok()) return stored_edits.error();
  std::vector<TrackEdit> edits;
  for (const auto& e : *stored_edits) {
    edits.push_back(
        {e.kind == "split" ? TrackEdit::Kind::kSplit : TrackEdit::Kind::kMerge, e.a, e.b});
  }
  auto linked = link_tracks(sightings, track_options(config), edits);
  if (!linked.ok()) return linked.error();

  std::vector<Convoy> out;
  for (const auto& t : linked->tracks) {
    if (t.sighting_ids.size() < 2 && !q.include_single) continue;
    Convoy c;
    c.id = t.sighting_ids.front();
    bool in_window = false, in_box = !q.bbox;
    for (int64_t id : t.sighting_ids) {
      const store::Observation& o = *by_id.at(id);
      c.sightings.push_back({o.id, o.input.observed_at, o.input.lat, o.input.lon,
                             o.input.heading_deg, o.vehicles, o.derived.km_to_border});
      if (o.input.observed_at >= q.from && o.input.observed_at < q.to) in_window = true;
      if (q.bbox && inside(*q.bbox, o.input.lat, o.input.lon)) in_box = true;
    }
    if (!in_window || !in_box) continue;
    c.start = t.start;
    c.end = t.end;
    c.vehicles = t.vehicles;
    c.equipment = t.equipment;
    c.path_km = t.path_km;
    c.mean_speed_kmh = t.mean_speed_kmh.value_or(0);
    c.net_km_toward_border = t.net_km_toward_border.value_or(0);
    c.hand_edited = t.hand_edited;
    out.push_back(std::move(c));
  }
  return out;
}

Result<Convoy> convoy_by_id(store::Database& db, const TracksConfig& config, int64_t id) {
  auto o = store::Observations(db).get(id);
  if (!o.ok()) {
    if (o.error().code() == Code::kNotFound) {
      return Error(Code::kNotFound, fmt::format("no convoy {}", id));
    }
    return o.error();
  }
  ConvoyQuery q;
  q.from = o->input.observed_at;
  q.to = o->input.observed_at + std::chrono::microseconds(1);
  q.include_single = true;
  auto convoys = find_convoys(db, config, q);
  if (!convoys.ok()) return convoys.error();
  for (auto& c : *convoys) {
    if (c.id == id) return std::move(c);
  }
  return Error(Code::kNotFound,
               fmt::format("observation {} is not the first sighting of a track", id));
}

}  // namespace cw::reports
