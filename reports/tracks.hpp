// Convoy tracks: linking sightings (verified observations) into the path of one convoy.
//
// link_tracks() is a pure function: sightings, options and the analysts' hand edits in, a
// partition of the sightings into tracks out. The database keeps only the inputs; tracks are
// re-linked from them whenever they change, and the hand edits survive because they are inputs.
//
// The rule. Sightings are taken in (observed_at, id) order. Each one joins the open track whose
// last sighting L it links to, or starts a new track. s links to L when all hold:
//   - time: 0 <= s.observed_at - L.observed_at <= max_gap_hours;
//   - space: the geodesic distance d(L, s) <= max_speed_kmh * gap + position_tolerance_km (the
//     tolerance absorbs geolocation error, and is all that two sightings at the same instant may
//     be apart);
//   - heading: both have a heading (a parked sighting, without one, never links by rule) and the
//     two headings differ by at most heading_tolerance_deg;
//   - bearing: when d(L, s) >= min_move_km, the bearing from L to s is within
//     bearing_tolerance_deg of both headings (the convoy went the way it was pointing);
//   - equipment: the cosine similarity of the two equipment count vectors (type -> count) is at
//     least min_equipment_similarity. Cosine rather than Jaccard of the type sets because a
//     sighting usually shows part of a convoy and a stray extra type ("unknown") should not
//     break a match: {tank 10, truck 5} vs {tank 10, truck 5, unknown 1} is 0.996 by cosine, 0.67
//     by Jaccard. A sighting with no equipment listed is compatible with anything.
// When several tracks qualify, the one whose last sighting is nearest wins; ties go to the
// smaller implied speed, then to the track whose first sighting has the smaller id.
//
// Hand edits. kMerge(a, b): a and b end in one track, whatever the rule says. kSplit(a, b): a
// and b never share a track (to split a track in two, give a kSplit for the pairs across the
// cut; split_edits() builds them). Edits are given oldest first; when two contradict, the newer
// wins and the older is reported in `ignored_edits`, as is an edit naming an unknown sighting.
//
// Per track: vehicles is the largest count seen in any one sighting (each video shows part of a
// convoy, so the maximum is the best lower bound of its size; a median would undercount), and the
// equipment mix is the per-type maximum for the same reason. Path length is the sum of geodesic
// legs between consecutive sightings; mean speed is path length over the track's duration.
//
// Deterministic: the output depends only on the set of sightings and the edit list, not on the
// order sightings are given in. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "geo/point.hpp"

namespace cw::reports {

struct Sighting {
  int64_t id = 0;  // the observation id
  TimePoint observed_at{};
  double lat = 0.0;
  double lon = 0.0;
  std::optional<double> heading_deg;     // direction of travel; none when parked
  std::map<std::string, int> equipment;  // type -> count
  int vehicles = 0;
  std::optional<double> km_to_border;
};

struct TrackOptions {
  double max_speed_kmh = 70.0;
  double max_gap_hours = 12.0;
  double heading_tolerance_deg = 45.0;
  double bearing_tolerance_deg = 60.0;
  double min_move_km = 2.0;
  double position_tolerance_km = 0.5;
  double min_equipment_similarity = 0.5;
};

// kInvalidArgument naming the field when a value is not finite or out of its range (speeds,
// gaps and tolerances > 0 or >= 0, angles in [0, 180], similarity in [0, 1]).
Status validate(const TrackOptions& options);

struct TrackEdit {
  enum class Kind { kSplit, kMerge };
  Kind kind = Kind::kMerge;
  int64_t a = 0;
  int64_t b = 0;

  friend bool operator==(const TrackEdit&, const TrackEdit&) = default;
};

struct Track {
  std::vector<int64_t> sighting_ids;  // in (observed_at, id) order
  std::vector<geo::GeoPoint> path;    // the sightings' positions, same order
  TimePoint start{};
  TimePoint end{};
  int vehicles = 0;
  std::map<std::string, int> equipment;
  double path_km = 0.0;
  std::optional<double> mean_speed_kmh;        // none when start == end
  std::optional<double> net_km_toward_border;  // first.km_to_border - last.km_to_border
  bool hand_edited = false;  // an edit that was applied names one of its sightings
};

struct TrackSet {
  // Every sighting is in exactly one track; single-sighting tracks included (a LineString needs
  // two, so a caller drawing lines skips them). Ordered by (start, first sighting id).
  std::vector<Track> tracks;
  std::vector<TrackEdit> ignored_edits;  // contradicted by a newer edit or naming no sighting
};

// Links sightings into tracks. kInvalidArgument for a duplicate sighting id, a position or
// heading that is not finite or out of range, a negative count, or bad options.
Result<TrackSet> link_tracks(const std::vector<Sighting>& sightings, const TrackOptions& options,
                             const std::vector<TrackEdit>& edits = {});

// The kSplit edits that cut `track_ids` (one track's sightings in order) before index `at`:
// every sighting before the cut paired with every one from it on.
// REQUIRES: 0 < at < track_ids.size()
std::vector<TrackEdit> split_edits(const std::vector<int64_t>& track_ids, size_t at);

// The kMerge edits that put all of `ids` (e.g. two tracks' sightings) in one track: the first
// paired with each of the others.
std::vector<TrackEdit> merge_edits(const std::vector<int64_t>& ids);

// Cosine similarity of two equipment mixes, in [0, 1]; 1 when either is empty.
double equipment_similarity(const std::map<std::string, int>& a,
                            const std::map<std::string, int>& b);

}  // namespace cw::reports
