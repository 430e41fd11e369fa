// Aggregates of convoy observations: per time bucket (hour, day or ISO week in a time zone) and
// any grouping of oblast, country, equipment type, movement and status, how many observations
// and vehicles, the vehicles moving toward / away from / parallel to the border or stationary,
// and the mean distance to the border.
//
// Answered from the hourly rollup tables that triggers keep exact on every write (migrations
// 0007 and 0008) when the question allows it: from/to on whole UTC hours (or absent), a time zone
// whose offset is whole hours, and no bbox or submission filter. Otherwise the same numbers are
// computed from the observations themselves (`from_rollup` false), so every question gets the
// right answer and the common ones a fast one.
//
// With an equipment_type filter or grouping, an observation counts once for each type it lists
// and its vehicles are those of that type. Thread-safe.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/observations.hpp"

namespace cw::store {

const std::vector<std::string>& aggregate_buckets();     // hour, day, week
const std::vector<std::string>& aggregate_group_keys();  // oblast, country, equipment_type, …

struct AggregateQuery {
  std::string bucket = "day";
  std::string tz = "UTC";             // an IANA name PostgreSQL knows
  std::vector<std::string> group_by;  // each from aggregate_group_keys(), no repeats
  // from, to, bbox, oblast, country, equipment_type, movement, submission_id as in lists;
  // status: nullopt counts verified observations only, "any" all of them.
  ObservationFilter filter;
  int max_rows = 10000;  // more rows than this is kUnprocessable (narrow the question)
};

struct AggregateRow {
  TimePoint bucket_start{};  // the bucket's first instant
  std::string bucket_label;  // local: 2022-02-16 (day, week) or 2022-02-16T05:00 (hour)
  std::map<std::string, std::optional<std::string>> groups;  // group key -> value (null: none)
  int64_t observations = 0;
  int64_t vehicles = 0;
  int64_t toward = 0;  // vehicles by movement
  int64_t away = 0;
  int64_t parallel = 0;
  int64_t stationary = 0;
  int64_t unknown = 0;
  std::optional<double> mean_km_to_border;
  int64_t with_distance = 0;  // observations that have a distance (to combine means)
};

struct AggregateResult {
  std::vector<AggregateRow> rows;  // by bucket, then by the group values
  bool from_rollup = false;
};

class Aggregates {
 public:
  explicit Aggregates(Database& db) : db_(db) {}
  // kUnprocessable (with the field) for an unknown bucket, group key or time zone, or too many
  // rows.
  Result<AggregateResult> query(const AggregateQuery& q);

 private:
  Database& db_;
};

}  // namespace cw::store
