// Greedy linking in time order with must-link groups (kMerge, a union-find) and cannot-link pairs
// between groups (kSplit). Open tracks sit in a grid by their last sighting, searched nearest cell
// first, so a sighting looks at the tracks near it rather than every track still open.
#include "reports/tracks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "geo/geodesic.hpp"

namespace cw::reports {
namespace {

bool finite(double v) { return std::isfinite(v); }

Error invalid(std::string field, std::string detail) {
  return Error(Code::kInvalidArgument, std::move(detail), std::move(field));
}

double hours_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double, std::ratio<3600>>(b - a).count();
}

geo::GeoPoint point_of(const Sighting& s) { return geo::GeoPoint{s.lat, s.lon, std::nullopt}; }

Status validate_sighting(const Sighting& s, size_t index) {
  const std::string f = fmt::format("sightings[{}]", index);
  if (!finite(s.lat) || s.lat < -geo::kMaxLatitude || s.lat > geo::kMaxLatitude) {
    return invalid(f + ".lat", fmt::format("sighting {}: latitude must be in [-90, 90]", s.id));
  }
  if (!finite(s.lon) || s.lon < -geo::kMaxLongitude || s.lon > geo::kMaxLongitude) {
    return invalid(f + ".lon", fmt::format("sighting {}: longitude must be in [-180, 180]", s.id));
  }
  if (s.heading_deg && (!finite(*s.heading_deg) || *s.heading_deg < 0 || *s.heading_deg > 360)) {
    return invalid(f + ".heading_deg",
                   fmt::format("sighting {}: heading must be in [0, 360]", s.id));
  }
  if (s.vehicles < 0) {
    return invalid(f + ".vehicles", fmt::format("sighting {}: vehicles is negative", s.id));
  }
  for (const auto& [type, count] : s.equipment) {
    if (count < 0) {
      return invalid(f + ".equipment",
                     fmt::format("sighting {}: count of '{}' is negative", s.id, type));
    }
  }
  if (s.km_to_border && !finite(*s.km_to_border)) {
    return invalid(f + ".km_to_border",
                   fmt::format("sighting {}: km_to_border is not finite", s.id));
  }
  return Status::Ok();
}

struct UnionFind {
  std::vector<size_t> parent;
  explicit UnionFind(size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  size_t find(size_t x) {
    while (parent[x] != x) {
      parent[x] = parent[parent[x]];
      x = parent[x];
    }
    return x;
  }
  // The smaller root wins so roots do not depend on the order of unions.
  void unite(size_t a, size_t b) {
    a = find(a);
    b = find(b);
    if (a == b) return;
    if (a < b) std::swap(a, b);
    parent[a] = b;
  }
};

struct Building {
  std::vector<size_t> members;  // indices into the sorted sightings, in order
  std::set<size_t> groups;      // must-link group roots present
  bool active = false;          // in the grid (its last sighting is recent enough to extend)
};

// A cheap lower bound of the geodesic distance, so most far-apart pairs skip the exact (and
// much slower) one. The spherical great-circle distance is within 0.6 % of the WGS-84 geodesic,
// so 0.99 of it on the mean sphere never exceeds the true distance.
double lower_bound_km(const Sighting& a, const Sighting& b) {
  constexpr double kMeanRadiusKm = 6371.0088;
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (b.lat - a.lat) * kRad;
  const double dlon = (b.lon - a.lon) * kRad;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(a.lat * kRad) * std::cos(b.lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 0.99 * 2 * kMeanRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

// Open tracks by the 0.5° cell of their last sighting.
struct TrackGrid {
  static constexpr double kCellDeg = 0.5;
  std::unordered_map<int64_t, std::vector<size_t>> cells;

  static int64_t key_of(double lat, double lon) {
    const auto row = static_cast<int64_t>(std::floor((lat + 90.0) / kCellDeg));
    const auto col = static_cast<int64_t>(std::floor((lon + 180.0) / kCellDeg));
    return row * 1000 + col;
  }
  void add(size_t track, const Sighting& last) {
    cells[key_of(last.lat, last.lon)].push_back(track);
  }
  void remove(size_t track, const Sighting& last) {
    auto it = cells.find(key_of(last.lat, last.lon));
    if (it == cells.end()) return;
    auto& v = it->second;
    auto at = std::find(v.begin(), v.end(), track);
    if (at == v.end()) return;
    *at = v.back();
    v.pop_back();
  }
  // A lower bound of the geodesic distance from s to any point of the cell: the great-circle
  // distance to the cell point nearest in latitude and longitude, with a margin for that point
  // not being the nearest on the sphere (cells are small) and for sphere versus ellipsoid. The
  // longitude difference is taken the short way round, so the antimeridian costs nothing.
  double lower_bound_km(int64_t key, const Sighting& s) const {
    constexpr double kMeanRadiusKm = 6371.0088;
    constexpr double kRad = 3.14159265358979323846 / 180.0;
    const double lat0 = static_cast<double>(key / 1000) * kCellDeg - 90.0;
    const double lon0 = static_cast<double>(key % 1000) * kCellDeg - 180.0;
    const double lat = std::clamp(s.lat, lat0, lat0 + kCellDeg);
    double dlon_deg = 0;
    if (s.lon < lon0 || s.lon > lon0 + kCellDeg) {
      auto gap = [](double a, double b) {
        double d = std::fmod(std::abs(a - b), 360.0);
        return d > 180.0 ? 360.0 - d : d;
      };
      dlon_deg = std::min(gap(s.lon, lon0), gap(s.lon, lon0 + kCellDeg));
    }
    const double dlat = (lat - s.lat) * kRad;
    const double dlon = dlon_deg * kRad;
    const double h =
        std::sin(dlat / 2) * std::sin(dlat / 2) +
        std::cos(s.lat * kRad) * std::cos(lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
    const double d = 2 * kMeanRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
    return std::max(0.0, 0.98 * d - 1.0);
  }
};

// Whether s may follow l by the rule. On success *distance_km and *speed_kmh are set for ranking.
bool links(const Sighting& l, const Sighting& s, const TrackOptions& o, double* distance_km,
           double* speed_kmh) {
  const double gap_h = hours_between(l.observed_at, s.observed_at);
  if (gap_h < 0 || gap_h > o.max_gap_hours) return false;
  if (!l.heading_deg || !s.heading_deg) return false;
  if (geo::angle_diff_deg(*l.heading_deg, *s.heading_deg) > o.heading_tolerance_deg) return false;
  if (equipment_similarity(l.equipment, s.equipment) < o.min_equipment_similarity) return false;
  const double reach_km = o.max_speed_kmh * gap_h + o.position_tolerance_km;
  if (lower_bound_km(l, s) > reach_km) return false;
  const double d_km = geo::distance_m(point_of(l), point_of(s)) / 1000.0;
  if (d_km > reach_km) return false;
  if (d_km >= o.min_move_km) {
    const double bearing = geo::initial_bearing_deg(point_of(l), point_of(s));
    if (geo::angle_diff_deg(bearing, *l.heading_deg) > o.bearing_tolerance_deg ||
        geo::angle_diff_deg(bearing, *s.heading_deg) > o.bearing_tolerance_deg) {
      return false;
    }
  }
  *distance_km = d_km;
  *speed_kmh = gap_h > 0 ? d_km / gap_h : 0.0;
  return true;
}

Track finish(const Building& b, const std::vector<const Sighting*>& sorted) {
  Track t;
  const Sighting& first = *sorted[b.members.front()];
  const Sighting& last = *sorted[b.members.back()];
  t.start = first.observed_at;
  t.end = last.observed_at;
  for (size_t k = 0; k < b.members.size(); ++k) {
    const Sighting& s = *sorted[b.members[k]];
    t.sighting_ids.push_back(s.id);
    t.path.push_back(point_of(s));
    t.vehicles = std::max(t.vehicles, s.vehicles);
    for (const auto& [type, count] : s.equipment) {
      int& have = t.equipment[type];
      have = std::max(have, count);
    }
    if (k > 0) t.path_km += geo::distance_m(t.path[k - 1], t.path[k]) / 1000.0;
  }
  const double hours = hours_between(t.start, t.end);
  if (hours > 0) t.mean_speed_kmh = t.path_km / hours;
  if (first.km_to_border && last.km_to_border) {
    t.net_km_toward_border = *first.km_to_border - *last.km_to_border;
  }
  return t;
}

}  // namespace

Status validate(const TrackOptions& o) {
  if (!finite(o.max_speed_kmh) || o.max_speed_kmh <= 0) {
    return invalid("tracks.max_speed_kmh", "max_speed_kmh must be a number > 0");
  }
  if (!finite(o.max_gap_hours) || o.max_gap_hours < 0) {
    return invalid("tracks.max_gap_hours", "max_gap_hours must be a number >= 0");
  }
  if (!finite(o.heading_tolerance_deg) || o.heading_tolerance_deg < 0 ||
      o.heading_tolerance_deg > 180) {
    return invalid("tracks.heading_tolerance_deg", "heading_tolerance_deg must be in [0, 180]");
  }
  if (!finite(o.bearing_tolerance_deg) || o.bearing_tolerance_deg < 0 ||
      o.bearing_tolerance_deg > 180) {
    return invalid("tracks.bearing_tolerance_deg", "bearing_tolerance_deg must be in [0, 180]");
  }
  if (!finite(o.min_move_km) || o.min_move_km < 0) {
    return invalid("tracks.min_move_km", "min_move_km must be a number >= 0");
  }
  if (!finite(o.position_tolerance_km) || o.position_tolerance_km < 0) {
    return invalid("tracks.position_tolerance_km", "position_tolerance_km must be a number >= 0");
  }
  if (!finite(o.min_equipment_similarity) || o.min_equipment_similarity < 0 ||
      o.min_equipment_similarity > 1) {
    return invalid("tracks.min_equipment_similarity", "min_equipment_similarity must be in [0, 1]");
  }
  return Status::Ok();
}

double equipment_similarity(const std::map<std::string, int>& a,
                            const std::map<std::string, int>& b) {
  double dot = 0;
  double na = 0;
  double nb = 0;
  for (const auto& [type, count] : a) {
    na += static_cast<double>(count) * count;
    auto it = b.find(type);
    if (it != b.end()) dot += static_cast<double>(count) * it->second;
  }
  for (const auto& [type, count] : b) nb += static_cast<double>(count) * count;
  if (na == 0 || nb == 0) return 1.0;
  return std::clamp(dot / (std::sqrt(na) * std::sqrt(nb)), 0.0, 1.0);
}

std::vector<TrackEdit> split_edits(const std::vector<int64_t>& track_ids, size_t at) {
  std::vector<TrackEdit> out;
  for (size_t i = 0; i < at && i < track_ids.size(); ++i) {
    for (size_t j = at; j < track_ids.size(); ++j) {
      out.push_back({TrackEdit::Kind::kSplit, track_ids[i], track_ids[j]});
    }
  }
  return out;
}

std::vector<TrackEdit> merge_edits(const std::vector<int64_t>& ids) {
  std::vector<TrackEdit> out;
  for (size_t i = 1; i < ids.size(); ++i) {
    out.push_back({TrackEdit::Kind::kMerge, ids.front(), ids[i]});
  }
  return out;
}

Result<TrackSet> link_tracks(const std::vector<Sighting>& sightings, const TrackOptions& options,
                             const std::vector<TrackEdit>& edits) {
  if (Status st = validate(options); !st.ok()) return st.error();
  for (size_t i = 0; i < sightings.size(); ++i) {
    if (Status st = validate_sighting(sightings[i], i); !st.ok()) return st.error();
  }

  std::vector<const Sighting*> sorted;
  sorted.reserve(sightings.size());
  for (const Sighting& s : sightings) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(), [](const Sighting* a, const Sighting* b) {
    return std::tie(a->observed_at, a->id) < std::tie(b->observed_at, b->id);
  });
  std::unordered_map<int64_t, size_t> index;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!index.emplace(sorted[i]->id, i).second) {
      return invalid("sightings", fmt::format("sighting id {} appears twice", sorted[i]->id));
    }
  }

  // Edits, newest first: each one is kept unless a newer kept edit contradicts it.
  TrackSet out;
  UnionFind uf(sorted.size());
  std::vector<std::pair<size_t, size_t>> splits;
  std::vector<bool> edit_kept(edits.size(), false);
  for (size_t e = edits.size(); e-- > 0;) {
    const TrackEdit& edit = edits[e];
    auto ia = index.find(edit.a);
    auto ib = index.find(edit.b);
    if (ia == index.end() || ib == index.end()) continue;
    const size_t a = ia->second;
    const size_t b = ib->second;
    if (edit.kind == TrackEdit::Kind::kSplit) {
      if (uf.find(a) == uf.find(b)) continue;  // a newer merge (or a == b) keeps them together
      splits.emplace_back(a, b);
    } else {
      const size_t ra = uf.find(a);
      const size_t rb = uf.find(b);
      if (ra != rb) {
        const bool contradicted =
            std::any_of(splits.begin(), splits.end(), [&](const std::pair<size_t, size_t>& p) {
              const size_t x = uf.find(p.first);
              const size_t y = uf.find(p.second);
              return (x == ra && y == rb) || (x == rb && y == ra);
            });
        if (contradicted) continue;
        uf.unite(ra, rb);
      }
    }
    edit_kept[e] = true;
  }
  for (size_t e = 0; e < edits.size(); ++e) {
    if (!edit_kept[e]) out.ignored_edits.push_back(edits[e]);
  }
  std::set<std::pair<size_t, size_t>> forbidden;  // group roots, smaller first
  for (const auto& [a, b] : splits) {
    const size_t x = uf.find(a);
    const size_t y = uf.find(b);
    forbidden.emplace(std::min(x, y), std::max(x, y));
  }
  std::vector<bool> edited(sorted.size(), false);
  for (size_t e = 0; e < edits.size(); ++e) {
    if (!edit_kept[e]) continue;
    edited[index.at(edits[e].a)] = true;
    edited[index.at(edits[e].b)] = true;
  }

  std::vector<Building> tracks;
  std::unordered_map<size_t, size_t> group_track;  // group root -> track
  // The open tracks by the grid cell of their last sighting. A sighting looks at cells nearest
  // first and stops once a cell's lower-bound distance exceeds the best link found (or what a
  // convoy can drive in max_gap_hours): the same winner as scanning every open track, because
  // every candidate at least as near as the winner lies in a cell that was looked at.
  TrackGrid grid;
  const double reach_max_km =
      options.max_speed_kmh * options.max_gap_hours + options.position_tolerance_km;
  std::vector<std::pair<double, int64_t>> order;  // (lower bound km, cell key)
  for (size_t i = 0; i < sorted.size(); ++i) {
    const Sighting& s = *sorted[i];
    const size_t g = uf.find(i);

    size_t chosen = tracks.size();
    if (auto it = group_track.find(g); it != group_track.end()) {
      chosen = it->second;       // a hand merge puts it there
    } else if (s.heading_deg) {  // a parked sighting never links by rule
      double best_d = 0;
      double best_v = 0;
      int64_t best_first = 0;
      order.clear();
      for (const auto& [key, members] : grid.cells) {
        if (members.empty()) continue;
        const double bound = grid.lower_bound_km(key, s);
        if (bound <= reach_max_km) order.emplace_back(bound, key);
      }
      std::sort(order.begin(), order.end());
      for (const auto& [bound, key] : order) {
        if (chosen != tracks.size() && bound > best_d) break;
        std::vector<size_t>& members = grid.cells[key];
        for (size_t k = 0; k < members.size();) {
          const size_t t = members[k];
          const Building& b = tracks[t];
          const Sighting& last = *sorted[b.members.back()];
          // Too old for any later sighting too (time only moves on): dropped from the grid.
          if (hours_between(last.observed_at, s.observed_at) > options.max_gap_hours) {
            tracks[t].active = false;
            members[k] = members.back();
            members.pop_back();
            continue;
          }
          ++k;
          double d = 0;
          double v = 0;
          if (!links(last, s, options, &d, &v)) continue;
          const bool split_forbids = std::any_of(b.groups.begin(), b.groups.end(), [&](size_t h) {
            return forbidden.count({std::min(g, h), std::max(g, h)}) > 0;
          });
          if (split_forbids) continue;
          const int64_t first = sorted[b.members.front()]->id;
          if (chosen == tracks.size() ||
              std::tie(d, v, first) < std::tie(best_d, best_v, best_first)) {
            chosen = t;
            best_d = d;
            best_v = v;
            best_first = first;
          }
        }
      }
    }
    if (chosen == tracks.size()) tracks.emplace_back();
    Building& b = tracks[chosen];
    if (b.active) grid.remove(chosen, *sorted[b.members.back()]);
    b.members.push_back(i);
    b.groups.insert(g);
    group_track.emplace(g, chosen);
    b.active = true;
    grid.add(chosen, s);
  }

  for (const Building& b : tracks) {
    Track t = finish(b, sorted);
    t.hand_edited =
        std::any_of(b.members.begin(), b.members.end(), [&](size_t m) { return edited[m]; });
    out.tracks.push_back(std::move(t));
  }
  std::sort(out.tracks.begin(), out.tracks.end(), [](const Track& a, const Track& b) {
    return std::tie(a.start, a.sighting_ids.front()) < std::tie(b.start, b.sighting_ids.front());
  });
  return out;
}

}  // namespace cw::reports
