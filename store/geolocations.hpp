// Analysts' geolocations of submissions: where a submission was filmed, by which method, on what
// evidence. The newest is current; every one is kept and audited. Also the gazetteer search that
// suggests places named in a submission's text.
//
// Thread-safe (all state is in the database). Errors: kNotFound for a submission that is missing
// or invisible; database failures as the store maps them (common/error.hpp).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/observations.hpp"
#include "store/users.hpp"

namespace cw::store {

struct Geolocation {
  int64_t id = 0;
  double lat = 0;
  double lon = 0;
  std::string precision;
  std::string method;  // metadata_gps, landmark_match, satellite_match, shadow, other
  std::string evidence;
  std::vector<FrameRef> frame_refs;
  std::string analyst;
  TimePoint at{};
};

struct PlaceHint {
  int64_t geonameid = 0;
  std::string name;
  std::string matched;  // the word of the description that matched
  std::string country;
  std::string admin1;
  int64_t population = 0;
  double lat = 0;
  double lon = 0;
  std::optional<double> km_from_claim;
};

const std::vector<std::string>& geolocation_methods();

// Analysts' geolocations of submissions (the newest is current; all are kept, audited).
class Geolocations {
 public:
  explicit Geolocations(Database& db) : db_(db) {}
  // kNotFound when the submission is missing or invisible to `who`.
  Result<Geolocation> add(const Principal& who, int64_t submission_id, const Geolocation& g);
  // Newest first.
  Result<std::vector<Geolocation>> history(int64_t submission_id);
  // Gazetteer places whose names (any case; Latin or Cyrillic; with one or two letters of a
  // case ending dropped) appear among `words`, ranked by population and, when a claimed point is
  // given, distance to it. At most `limit`.
  Result<std::vector<PlaceHint>> places_in(const std::vector<std::string>& words,
                                           std::optional<std::pair<double, double>> claim,
                                           int limit = 10);

 private:
  Database& db_;
};

// The words of a text for place matching: runs of letters (any non-ASCII byte counts as a
// letter, so Cyrillic words stay whole), hyphens and apostrophes inside kept, at least 3 bytes.
std::vector<std::string> text_words(std::string_view text);

}  // namespace cw::store
