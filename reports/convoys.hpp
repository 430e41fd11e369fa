// Convoy tracks as the API and the reports show them: the observations of a time window linked
// by reports/tracks.hpp under the analysts' hand edits (store/convoys.hpp).
//
// Tracks are not stored; they are linked from the current observations on every request, so a
// new sighting, a verdict or an edit shows at once. A track is named by the id of its first
// sighting. Linking looks a day beyond each end of the window, so a track that crosses its
// edge keeps its start; a track longer than that may be named differently from a wider window.
// Thread-safe; blocking (database).
#pragma once

#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "common/time.hpp"
#include "reports/tracks.hpp"
#include "store/database.hpp"
#include "store/observations.hpp"

namespace cw::reports {

struct ConvoyQuery {
  TimePoint from{};
  TimePoint to{};
  // As in observation lists: nullopt all but rejected, "any" all, else one status.
  std::optional<std::string> status;
  std::optional<std::array<double, 4>> bbox;  // tracks with a sighting inside
  bool include_single = false;                // tracks of one sighting too (they draw no line)
};

struct ConvoySighting {
  int64_t id = 0;
  TimePoint observed_at{};
  double lat = 0;
  double lon = 0;
  std::optional<double> heading_deg;
  int vehicles = 0;
  std::optional<double> km_to_border;
};

struct Convoy {
  int64_t id = 0;  // the first sighting's observation id
  std::vector<ConvoySighting> sightings;
  TimePoint start{};
  TimePoint end{};
  int64_t vehicles = 0;
  std::map<std::string, int> equipment;
  double path_km = 0;
  double mean_speed_kmh = 0;
  double net_km_toward_border = 0;  // positive: ended nearer the border
  bool hand_edited = false;
};

TrackOptions track_options(const TracksConfig& config);

// How far beyond each end of a window linking looks.
constexpr std::chrono::hours kConvoyMargin{24};
// The most observations linking takes at once (window and margins); more is kUnprocessable.
constexpr int kMaxConvoySightings = 200000;

// Tracks with a sighting in [from, to), by start.
Result<std::vector<Convoy>> find_convoys(store::Database& db, const TracksConfig& config,
                                         const ConvoyQuery& q);

// The same from observations the caller has listed already: every observation of
// [q.from - kConvoyMargin, q.to + kConvoyMargin) that q.status admits, no others (the database
// is read only for the hand edits). kUnprocessable for more than kMaxConvoySightings.
Result<std::vector<Convoy>> link_convoys(store::Database& db, const TracksConfig& config,
                                         const ConvoyQuery& q,
                                         const std::vector<store::Observation>& rows);

// The track whose first sighting is observation `id` (status: all but rejected). kNotFound when
// there is no such observation or it is not the first sighting of a track.
Result<Convoy> convoy_by_id(store::Database& db, const TracksConfig& config, int64_t id);

}  // namespace cw::reports
