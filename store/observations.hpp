// Convoy observations: what was seen (equipment and counts), where, when, moving which way, and
// how sure the task force is. Every write derives, in PostGIS (observation_derived() in
// schema/migrations/0005_observations.sql), the country, oblast, nearest place, geodesic
// distance and bearing to the Ukrainian land border and the movement relative to it, and stores
// them with the row. Verification follows a two-person rule: an analyst who did not create the
// observation gives the verdict; every verdict is kept and audited.
//
// Every member of the task force reads every observation (they are what it publishes).
// Thread-safe (all state is in the database).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

// The closed vocabularies (also the CHECK constraints and the OpenAPI document).
const std::vector<std::string>& equipment_types();       // tank, ifv, apc, sp_artillery, …
const std::vector<std::string>& time_precisions();       // exact, hour, day
const std::vector<std::string>& location_precisions();   // exact, vicinity, locality, region
const std::vector<std::string>& observation_statuses();  // unverified, verified, disputed, rejected
const std::vector<std::string>& movements();  // toward, away, parallel, stationary, unknown

struct EquipmentCount {
  std::string type;
  int count = 0;
};

struct FrameRef {
  std::string sha256;
  int frame = 0;
};

// What a client writes (validated by the caller; the database checks again).
struct ObservationInput {
  std::optional<int64_t> submission_id;
  std::vector<FrameRef> frame_refs;
  TimePoint observed_at{};
  std::string time_precision = "exact";
  double lat = 0;
  double lon = 0;
  std::string location_precision = "exact";
  std::optional<double> heading_deg;  // [0, 360); none when parked
  std::vector<EquipmentCount> equipment;
  std::vector<std::string> markings;
  std::optional<std::string> notes;
  std::optional<std::string> source_note;
};

struct ObservationDerived {
  std::optional<std::string> country;  // ISO 3166-1 alpha-3
  std::optional<std::string> oblast;   // ISO 3166-2
  std::optional<std::string> oblast_name;
  std::optional<std::string> nearest_place;
  std::optional<double> nearest_place_km;
  std::optional<double> km_to_border;
  std::optional<double> bearing_to_border_deg;
  std::string movement;
};

struct Observation {
  int64_t id = 0;
  ObservationInput input;
  int vehicles = 0;
  std::string status;
  int64_t created_by = 0;
  std::string created_by_name;
  ObservationDerived derived;
  TimePoint created_at{};
  TimePoint updated_at{};
};

struct Verdict {
  int64_t id = 0;
  std::string verdict;
  std::string note;
  std::string analyst;
  TimePoint at{};
};

struct ObservationFilter {
  std::optional<std::array<double, 4>> bbox;  // west, south, east, north
  std::optional<TimePoint> from;              // observed_at >= from
  std::optional<TimePoint> to;                // observed_at < to
  std::optional<std::string> oblast;
  std::optional<std::string> country;
  std::optional<std::string> equipment_type;
  std::optional<std::string> status;  // nullopt: all but rejected; "any": all
  std::optional<std::string> movement;
  std::optional<int64_t> submission_id;
  // Lists are in observation time order, (observed_at, id); the cursor is the id of the last
  // row of the previous page (rows after it in that order follow). The time-ordered index serves
  // both the order and a from/to range, so a page stays cheap at millions of rows. A cursor whose
  // row was deleted meanwhile ends the listing.
  int64_t after_id = 0;
  int limit = 50;  // up to kMaxExportRows for exports
};

inline constexpr int kMaxListLimit = 500;
inline constexpr int kObservationPointZoom = 9;
inline constexpr int kMaxTilePoints = 50'000;
inline constexpr int kMaxExportRows = 1'000'000;

// One bad value of one row of an import.
struct ImportProblem {
  int line = 0;
  std::string field;
  std::string reason;
};

// The contiguous ids an import wrote: first..last, both included.
struct IdRange {
  int64_t first = 0;
  int64_t last = 0;
};

// The observations repository. Thread-safe: it holds no state but the Database, which it does not
// own (it must outlive the repository); each call takes a pooled connection for its own
// transaction. Every method may also return what the store maps database failures to
// (store/database.hpp): kUnavailable (no connection, timeout, lost connection; retry), kConflict
// (unique violation), kUnprocessable (check, not-null or foreign-key violation). Writes that
// derive values return kUnavailable with kGeodataMissing when the reference geodata is not
// loaded. Returned values are the caller's.
class Observations {
 public:
  explicit Observations(Database& db) : db_(db) {}

  // Creates it with its derived values; audited `observation.create`. kUnprocessable naming
  // the field when the submission does not exist; kUnavailable without geodata.
  Result<Observation> create(const Principal& who, const ObservationInput& in);
  // kNotFound when there is no observation `id`.
  Result<Observation> get(int64_t id);
  // In (observed_at, id) order; see ObservationFilter::after_id. Empty when nothing matches.
  // REQUIRES: filter.limit within what the caller allows (kMaxListLimit, kMaxExportRows).
  Result<std::vector<Observation>> list(const ObservationFilter& filter);
  // The observations `filter` selects (its after_id and limit are ignored; bbox should cover
  // the tile) in Web-Mercator tile z/x/y, as one Mapbox Vector Tile layer "observations"
  // (extent 4096, buffer 64); empty when none. From zoom kObservationPointZoom on, one point
  // per observation (id, observed_at in epoch seconds, status, vehicles, equipment_types,
  // movement, heading_deg, location_precision, oblast, and submission_id when the submission it
  // cites is visible to organisation `org_id`); below, one point per cell of a 32 × 32 grid at
  // the mean position of its observations (count, vehicles). At most kMaxTilePoints points.
  Result<std::string> tile(const ObservationFilter& filter, int64_t org_id, int z, int x, int y);
  // Replaces the input fields (the caller merged the PATCH), re-deriving. Only while
  // unverified (kConflict otherwise), only by its creator or an analyst (kForbidden); kNotFound
  // when there is no observation `id`; kUnprocessable for a missing submission; kUnavailable
  // without geodata.
  Result<Observation> update(const Principal& who, int64_t id, const ObservationInput& in);
  // Admins only (the caller checks the role); the audit row keeps the whole observation.
  // kNotFound when there is no observation `id`.
  Status remove(const Principal& who, int64_t id);
  // verdict: verified | disputed | rejected (the caller validates it). kForbidden for the
  // observation's creator (two-person rule); kNotFound when there is no observation `id`.
  // Audited `observation.verify`.
  Result<Observation> verify(const Principal& who, int64_t id, const std::string& verdict,
                             const std::string& note);
  // Every verdict given, oldest first. kNotFound when there is no observation `id`.
  Result<std::vector<Verdict>> verdicts(int64_t id);

  // All-or-nothing bulk insert through COPY; the rows are already validated. One audit row
  // `observation.import` with the count, the id range and `source_sha256`. Returns the ids.
  // kUnprocessable naming the row (1-based) whose submission does not exist; kUnavailable
  // without geodata. Nothing is written on any error.
  Result<IdRange> import(const Principal& who, const std::vector<ObservationInput>& rows,
                         const std::string& source_sha256);

 private:
  Database& db_;
};

// {"id", "submission_id", "frame_refs", "observed_at", "time_precision", "location": {lat, lon},
//  "location_precision", "heading_deg", "equipment", "vehicles", "markings", "notes",
//  "source_note", "status", "created_by", "created_at", "updated_at",
//  "derived": {country, oblast, oblast_name, nearest_place: {name, km}, km_to_border,
//              bearing_to_border_deg, movement}}
nlohmann::json to_json(const Observation& o);

}  // namespace cw::store
