// Greedy linking in time order with must-link groups (kMerge, a union-find) and cannot-link pairs
// between groups (kSplit). Open tracks sit in a grid by the 0.5° cell and the 45° heading sector
// of their last sighting, searched nearest cell first and only in the sectors the heading
// tolerance reaches; within a cell, tracks are in the time order of their last sighting, so the
// ones too recent to have driven from there are never looked at. A sighting thus looks at the
// few tracks that could take it rather than every track still open, with the same result.
#include "reports/tracks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <map>
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

// geo::angle_diff_deg for angles in [0, 360] (headings and bearings), without its general
// reductions when they change nothing: the same value, bit for bit.
inline double angle_diff(double a, double b) {
  if (a >= 360.0) a = std::fmod(a, 360.0);
  if (b >= 360.0) b = std::fmod(b, 360.0);
  const double d = std::fabs(a - b);
  return d > 180.0 ? 360.0 - d : d;
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
};

// An equipment mix as (type index, count) pairs in the order of the type names, with its squared
// norm: the cosine of two mixes without string comparisons, summed in the same order as
// equipment_similarity() so the value is the same to the last bit.
struct Mix {
  std::vector<std::pair<int, int>> counts;
  double norm2 = 0;
  uint64_t types = 0;  // bit (index % 64) of every type listed: no common bit, no common type
};

double similarity(const Mix& a, const Mix& b) {
  if (a.norm2 == 0 || b.norm2 == 0) return 1.0;
  if ((a.types & b.types) == 0) return 0.0;  // what the sum below gives, without the work
  double dot = 0;
  auto j = b.counts.begin();
  for (const auto& [type, count] : a.counts) {
    while (j != b.counts.end() && j->first < type) ++j;
    if (j != b.counts.end() && j->first == type) dot += static_cast<double>(count) * j->second;
  }
  return std::clamp(dot / (std::sqrt(a.norm2) * std::sqrt(b.norm2)), 0.0, 1.0);
}

// A cheap lower bound of the geodesic distance, so most far-apart pairs skip the exact (and
// much slower) one. The spherical great-circle distance is within 0.6 % of the WGS-84 geodesic,
// so 0.99 of it on the mean sphere never exceeds the true distance.
double lower_bound_km(double a_lat, double a_lon, double b_lat, double b_lon) {
  constexpr double kMeanRadiusKm = 6371.0088;
  constexpr double kRad = 3.14159265358979323846 / 180.0;
  const double dlat = (b_lat - a_lat) * kRad;
  const double dlon = (b_lon - a_lon) * kRad;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(a_lat * kRad) * std::cos(b_lat * kRad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 0.99 * 2 * kMeanRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
}

// Open tracks by the 0.5° cell and the 45° heading sector of their last sighting (only tracks
// whose last sighting has a heading: no other can be extended by rule). Each bucket lists its
// tracks in the time order of their last sighting (sightings arrive in time order); an entry
// goes stale when its track gets a newer sighting and is dropped when it reaches the front.
struct TrackGrid {
  static constexpr double kCellDeg = 0.5;
  static constexpr int kSectors = 8;
  static constexpr double kSectorDeg = 360.0 / kSectors;

  // What the rule needs of the last sighting is copied in, so that ruling an entry out reads
  // only the bucket (the sightings themselves lie all over memory).
  struct Entry {
    size_t track;
    size_t last;  // the sorted index of the track's last sighting when it was added
    TimePoint at;
    double heading_deg;
    double lat;
    double lon;
    uint64_t types;  // its Mix::types
  };
  struct Bucket {
    std::vector<Entry> entries;
    size_t head = 0;   // entries before it are gone
    size_t stale = 0;  // entries from the head on whose track has moved on
  };
  struct Cell {
    std::array<Bucket, kSectors> sectors;
    size_t live = 0;  // entries from the heads on, over all sectors
  };
  std::unordered_map<int64_t, Cell> cells;
  uint64_t version = 0;  // changes whenever a cell is added (cells are never removed)

  static int64_t key_of(double lat, double lon) {
    const auto row = static_cast<int64_t>(std::floor((lat + 90.0) / kCellDeg));
    const auto col = static_cast<int64_t>(std::floor((lon + 180.0) / kCellDeg));
    return row * 1000 + col;
  }
  static int sector_of(double heading_deg) {
    return static_cast<int>(std::floor(heading_deg / kSectorDeg)) % kSectors;
  }
  // The sectors holding headings within tolerance_deg of heading_deg.
  static std::array<bool, kSectors> sectors_near(double heading_deg, double tolerance_deg) {
    std::array<bool, kSectors> out{};
    for (int k = 0; k < kSectors; ++k) {
      const double lo = k * kSectorDeg;
      const double hi = lo + kSectorDeg;
      const double h = std::fmod(heading_deg, 360.0);
      const bool inside = h >= lo && h < hi;
      const double gap =
          inside ? 0.0 : std::min(geo::angle_diff_deg(h, lo), geo::angle_diff_deg(h, hi));
      out[k] = gap <= tolerance_deg + 1e-9;
    }
    return out;
  }
  // Where a track's current entry is (cells and their buckets never move once made).
  struct Slot {
    Cell* cell = nullptr;
    Bucket* bucket = nullptr;
  };
  Slot add(size_t track, size_t last_index, const Sighting& last, uint64_t types) {
    auto [it, added] = cells.try_emplace(key_of(last.lat, last.lon));
    if (added) ++version;
    Cell& c = it->second;
    Bucket& b = c.sectors[sector_of(*last.heading_deg)];
    b.entries.push_back(
        {track, last_index, last.observed_at, *last.heading_deg, last.lat, last.lon, types});
    ++c.live;
    return {&c, &b};
  }
  // Drops the front entry of a bucket.
  static void pop(Cell& c, Bucket& b, bool was_stale) {
    ++b.head;
    --c.live;
    if (was_stale) --b.stale;
    if (b.head == b.entries.size()) {
      b.entries.clear();
      b.head = 0;
      b.stale = 0;
    }
  }
  // A track's entry went stale: once they are most of a bucket, the stale entries are removed
  // (keeping the time order), so that searches do not keep stepping over them.
  static void went_stale(const Slot& slot, const std::vector<size_t>& last_of) {
    Bucket& b = *slot.bucket;
    ++b.stale;
    if (b.stale < 16 || 2 * b.stale < b.entries.size() - b.head) return;
    size_t kept = 0;
    for (size_t n = b.head; n < b.entries.size(); ++n) {
      if (last_of[b.entries[n].track] == b.entries[n].last) b.entries[kept++] = b.entries[n];
    }
    slot.cell->live -= (b.entries.size() - b.head) - kept;
    b.entries.resize(kept);
    b.head = 0;
    b.stale = 0;
  }
  // A lower bound of the geodesic distance between any point of cell a and any point of cell b:
  // the haversine formula with the latitude and longitude gaps between the cells (the longitude
  // gap taken the short way round, so the antimeridian costs nothing) and the cosines of the
  // latitudes farthest from the equator, each term no larger than for any pair of points; with
  // a margin for sphere versus ellipsoid.
  static double lower_bound_km(int64_t a, int64_t b) {
    if (a == b) return 0.0;
    constexpr double kMeanRadiusKm = 6371.0088;
    constexpr double kRad = 3.14159265358979323846 / 180.0;
    const double lat_a = static_cast<double>(a / 1000) * kCellDeg - 90.0;
    const double lat_b = static_cast<double>(b / 1000) * kCellDeg - 90.0;
    const double lon_a = static_cast<double>(a % 1000) * kCellDeg - 180.0;
    const double lon_b = static_cast<double>(b % 1000) * kCellDeg - 180.0;
    const double dlat_deg = std::max(0.0, std::abs(lat_a - lat_b) - kCellDeg);
    double dlon_deg = std::fmod(std::abs(lon_a - lon_b), 360.0);
    if (dlon_deg > 180.0) dlon_deg = 360.0 - dlon_deg;
    dlon_deg = std::max(0.0, dlon_deg - kCellDeg);
    auto far_cos = [](double lat0) {
      return std::cos(std::max(std::abs(lat0), std::abs(lat0 + kCellDeg)) * kRad);
    };
    const double dlat = dlat_deg * kRad;
    const double dlon = dlon_deg * kRad;
    const double h =
        std::sin(dlat / 2) * std::sin(dlat / 2) +
        std::max(0.0, far_cos(lat_a) * far_cos(lat_b)) * std::sin(dlon / 2) * std::sin(dlon / 2);
    const double d = 2 * kMeanRadiusKm * std::asin(std::min(1.0, std::sqrt(h)));
    return std::max(0.0, 0.98 * d - 1.0);
  }
};

// Whether s may follow the last sighting `l` of a track (its grid entry) by the rule and be no
// farther than `beyond_km` (a link farther than the best one found so far cannot win). On
// success *distance_km and *speed_kmh are set for ranking. REQUIRES: s has a heading.
bool links(const TrackGrid::Entry& l, const std::vector<Mix>& mixes, const Sighting& s,
           const Mix& s_mix, const TrackOptions& o, double beyond_km, double* distance_km,
           double* speed_kmh) {
  const double gap_h = hours_between(l.at, s.observed_at);
  if (gap_h < 0 || gap_h > o.max_gap_hours) return false;
  if (angle_diff(l.heading_deg, *s.heading_deg) > o.heading_tolerance_deg) return false;
  const double reach_km = o.max_speed_kmh * gap_h + o.position_tolerance_km;
  if (lower_bound_km(l.lat, l.lon, s.lat, s.lon) > std::min(reach_km, beyond_km)) return false;
  // No type in common (and both listed) is similarity 0, without reading the mix.
  if ((l.types & s_mix.types) == 0 && s_mix.norm2 != 0 && mixes[l.last].norm2 != 0) {
    if (0.0 < o.min_equipment_similarity) return false;
  } else if (similarity(mixes[l.last], s_mix) < o.min_equipment_similarity) {
    return false;
  }
  const geo::DistanceBearing db =
      geo::distance_and_bearing(geo::GeoPoint{l.lat, l.lon, std::nullopt}, point_of(s));
  const double d_km = db.distance_m / 1000.0;
  if (d_km > reach_km) return false;
  if (d_km >= o.min_move_km) {
    const double bearing = db.initial_bearing_deg;
    if (angle_diff(bearing, l.heading_deg) > o.bearing_tolerance_deg ||
        angle_diff(bearing, *s.heading_deg) > o.bearing_tolerance_deg) {
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

namespace {

// Phase 1: the sightings in time order (then id), and each id's place in that order.
struct Ordered {
  std::vector<const Sighting*> sorted;
  std::unordered_map<int64_t, size_t> index;
};

// kInvalidArgument when an id appears twice.
Result<Ordered> order_sightings(const std::vector<Sighting>& sightings) {
  Ordered o;
  std::vector<const Sighting*>& sorted = o.sorted;
  sorted.reserve(sightings.size());
  for (const Sighting& s : sightings) sorted.push_back(&s);
  std::sort(sorted.begin(), sorted.end(), [](const Sighting* a, const Sighting* b) {
    return std::tie(a->observed_at, a->id) < std::tie(b->observed_at, b->id);
  });
  std::unordered_map<int64_t, size_t>& index = o.index;
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (!index.emplace(sorted[i]->id, i).second) {
      return invalid("sightings", fmt::format("sighting id {} appears twice", sorted[i]->id));
    }
  }
  return o;
}

// Phase 2: the hand edits as constraints on the sorted sightings: must-link groups (the
// union-find), cannot-link pairs of group roots, and the sightings a kept edit names.
struct Constraints {
  explicit Constraints(size_t n) : uf(n), edited(n, false) {}
  UnionFind uf;
  std::set<std::pair<size_t, size_t>> forbidden;  // group roots, smaller first
  std::vector<bool> edited;
};

// Edits, newest first: each one is kept unless a newer kept edit contradicts it. The others go to
// *ignored, in their order.
Constraints apply_edits(const std::vector<TrackEdit>& edits,
                        const std::unordered_map<int64_t, size_t>& index, size_t n,
                        std::vector<TrackEdit>* ignored) {
  Constraints c(n);
  UnionFind& uf = c.uf;
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
    if (!edit_kept[e]) ignored->push_back(edits[e]);
  }
  for (const auto& [a, b] : splits) {
    const size_t x = uf.find(a);
    const size_t y = uf.find(b);
    c.forbidden.emplace(std::min(x, y), std::max(x, y));
  }
  for (size_t e = 0; e < edits.size(); ++e) {
    if (!edit_kept[e]) continue;
    c.edited[index.at(edits[e].a)] = true;
    c.edited[index.at(edits[e].b)] = true;
  }
  return c;
}

// Phase 3: equipment mixes with the type names numbered in name order.
std::vector<Mix> equipment_mixes(const std::vector<const Sighting*>& sorted) {
  std::map<std::string, int> type_index;
  for (const Sighting* s : sorted) {
    for (const auto& [type, count] : s->equipment) type_index.emplace(type, 0);
  }
  int next_type = 0;
  for (auto& [type, k] : type_index) k = next_type++;
  std::vector<Mix> mixes(sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    for (const auto& [type, count] : sorted[i]->equipment) {
      mixes[i].counts.emplace_back(type_index.at(type), count);
      mixes[i].norm2 += static_cast<double>(count) * count;
      mixes[i].types |= uint64_t{1} << (type_index.at(type) % 64);
    }
  }
  return mixes;
}

// Phase 4: the greedy linking, one sighting at a time in order (add()).
// A sighting looks at cells nearest first and stops once a cell's lower-bound distance
// exceeds the best link found (or what a convoy can drive in max_gap_hours); in a cell D km
// away it looks only at tracks whose last sighting is at least (D - tolerance) / max_speed
// hours old. Every candidate at least as near as the winner is thus looked at: the same winner
// as scanning every open track.
class Linker {
 public:
  Linker(const std::vector<const Sighting*>& sorted, const std::vector<Mix>& mixes,
         Constraints& constraints, const TrackOptions& options)
      : sorted_(sorted),
        mixes_(mixes),
        uf_(constraints.uf),
        forbidden_(constraints.forbidden),
        options_(options),
        reach_max_km_(options.max_speed_kmh * options.max_gap_hours +
                      options.position_tolerance_km) {}

  // Sighting i (sorted index) joins a track: its must-link group's, else the best one the rule
  // allows, else a new one. REQUIRES: the sightings before i were added, in order.
  void add(size_t i) {
    const Sighting& s = *sorted_[i];
    const size_t g = uf_.find(i);

    size_t chosen = tracks_.size();
    if (auto it = group_track_.find(g); it != group_track_.end()) {
      chosen = it->second;       // a hand merge puts it there
    } else if (s.heading_deg) {  // a parked sighting never links by rule
      chosen = best_track(i, g);
    }
    if (chosen == tracks_.size()) {
      tracks_.emplace_back();
      last_of_.push_back(i);
      slot_of_.emplace_back();
    }
    Building& b = tracks_[chosen];
    b.members.push_back(i);
    last_of_[chosen] = i;
    if (slot_of_[chosen].bucket != nullptr) TrackGrid::went_stale(slot_of_[chosen], last_of_);
    slot_of_[chosen] = s.heading_deg ? grid_.add(chosen, i, s, mixes_[i].types) : TrackGrid::Slot{};
    b.groups.insert(g);
    group_track_.emplace(g, chosen);
  }

  const std::vector<Building>& tracks() const { return tracks_; }

 private:
  // Per cell a sighting may be in: the cells within reach as (lower bound km, key), nearest
  // first, built again when cells were added since.
  struct CellOrder {
    uint64_t version = 0;
    struct Near {
      double bound;  // lower bound km
      int64_t key;
      TrackGrid::Cell* cell;
    };
    std::vector<Near> cells;
  };

  // The cells within reach of the cell `here`, nearest first.
  const CellOrder& cells_near(int64_t here) {
    CellOrder& order = orders_[here];
    if (order.cells.empty() || order.version != grid_.version) {
      order.cells.clear();
      for (auto& [key, cell] : grid_.cells) {
        const double bound = TrackGrid::lower_bound_km(here, key);
        if (bound <= reach_max_km_) order.cells.push_back({bound, key, &cell});
      }
      std::sort(order.cells.begin(), order.cells.end(),
                [](const CellOrder::Near& a, const CellOrder::Near& b) {
                  return std::tie(a.bound, a.key) < std::tie(b.bound, b.key);
                });
      order.version = grid_.version;
    }
    return order;
  }

  // The track sighting i (in group g, with a heading) links to by the rule: the nearest, then
  // the slowest, then the one that started with the lower id; tracks_.size() when none may.
  size_t best_track(size_t i, size_t g) {
    const Sighting& s = *sorted_[i];
    const TrackOptions& options = options_;
    size_t chosen = tracks_.size();
    double best_d = 0;
    double best_v = 0;
    int64_t best_first = 0;
    const auto sectors = TrackGrid::sectors_near(*s.heading_deg, options.heading_tolerance_deg);
    for (const CellOrder::Near& near : cells_near(TrackGrid::key_of(s.lat, s.lon)).cells) {
      const double bound = near.bound;
      if (chosen != tracks_.size() && bound > best_d) break;
      TrackGrid::Cell& cell = *near.cell;
      if (cell.live == 0) continue;
      // Tracks whose last sighting is newer than this cannot have come from the cell.
      const double min_gap_h =
          std::max(0.0, (bound - options.position_tolerance_km) / options.max_speed_kmh);
      // Entries at least this old may link (in whole microseconds, rounded down: never
      // rules out a track that may link).
      const auto min_gap = std::chrono::microseconds(
          static_cast<int64_t>(std::floor(min_gap_h * 3600e6 * (1 - 1e-12))));
      for (int k = 0; k < TrackGrid::kSectors; ++k) {
        if (!sectors[k]) continue;
        TrackGrid::Bucket& bucket = cell.sectors[k];
        // The front: tracks extended since (stale) or too old for any later sighting too
        // (time only moves on) are dropped.
        while (bucket.head < bucket.entries.size()) {
          const TrackGrid::Entry& e = bucket.entries[bucket.head];
          const bool stale = last_of_[e.track] != e.last;
          if (!stale && hours_between(e.at, s.observed_at) <= options.max_gap_hours) break;
          TrackGrid::pop(cell, bucket, stale);
        }
        for (size_t n = bucket.head; n < bucket.entries.size(); ++n) {
          const TrackGrid::Entry& e = bucket.entries[n];
          if (s.observed_at - e.at < min_gap) break;
          if (angle_diff(e.heading_deg, *s.heading_deg) > options.heading_tolerance_deg) {
            continue;
          }
          if (last_of_[e.track] != e.last) continue;  // stale
          const Building& b = tracks_[e.track];
          double d = 0;
          double v = 0;
          const double beyond =
              chosen == tracks_.size() ? std::numeric_limits<double>::infinity() : best_d;
          if (!links(e, mixes_, s, mixes_[i], options, beyond, &d, &v)) {
            continue;
          }
          const bool split_forbids =
              !forbidden_.empty() && std::any_of(b.groups.begin(), b.groups.end(), [&](size_t h) {
                return forbidden_.count({std::min(g, h), std::max(g, h)}) > 0;
              });
          if (split_forbids) continue;
          const int64_t first = sorted_[b.members.front()]->id;
          if (chosen == tracks_.size() ||
              std::tie(d, v, first) < std::tie(best_d, best_v, best_first)) {
            chosen = e.track;
            best_d = d;
            best_v = v;
            best_first = first;
          }
        }
      }
    }
    return chosen;
  }

  const std::vector<const Sighting*>& sorted_;
  const std::vector<Mix>& mixes_;
  UnionFind& uf_;
  const std::set<std::pair<size_t, size_t>>& forbidden_;
  const TrackOptions& options_;
  const double reach_max_km_;
  std::vector<Building> tracks_;
  std::vector<size_t> last_of_;                     // track -> its last sighting (sorted index)
  std::vector<TrackGrid::Slot> slot_of_;            // track -> its entry in the grid, if any
  std::unordered_map<size_t, size_t> group_track_;  // group root -> track
  TrackGrid grid_;
  std::unordered_map<int64_t, CellOrder> orders_;
};

// Phase 5: the tracks built, finished and in order of their start (then first sighting id).
std::vector<Track> finished_tracks(const std::vector<Building>& tracks,
                                   const std::vector<const Sighting*>& sorted,
                                   const std::vector<bool>& edited) {
  std::vector<Track> out;
  for (const Building& b : tracks) {
    Track t = finish(b, sorted);
    t.hand_edited =
        std::any_of(b.members.begin(), b.members.end(), [&](size_t m) { return edited[m]; });
    out.push_back(std::move(t));
  }
  std::sort(out.begin(), out.end(), [](const Track& a, const Track& b) {
    return std::tie(a.start, a.sighting_ids.front()) < std::tie(b.start, b.sighting_ids.front());
  });
  return out;
}

}  // namespace

Result<TrackSet> link_tracks(const std::vector<Sighting>& sightings, const TrackOptions& options,
                             const std::vector<TrackEdit>& edits) {
  if (Status st = validate(options); !st.ok()) return st.error();
  for (size_t i = 0; i < sightings.size(); ++i) {
    if (Status st = validate_sighting(sightings[i], i); !st.ok()) return st.error();
  }
  auto ordered = order_sightings(sightings);
  if (!ordered.ok()) return ordered.error();
  const std::vector<const Sighting*>& sorted = ordered->sorted;

  TrackSet out;
  Constraints constraints = apply_edits(edits, ordered->index, sorted.size(), &out.ignored_edits);
  const std::vector<Mix> mixes = equipment_mixes(sorted);
  Linker linker(sorted, mixes, constraints, options);
  for (size_t i = 0; i < sorted.size(); ++i) linker.add(i);
  out.tracks = finished_tracks(linker.tracks(), sorted, constraints.edited);
  return out;
}

}  // namespace cw::reports
