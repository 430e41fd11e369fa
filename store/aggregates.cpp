// One SQL shape for both sources: a source subquery with the columns (t, country, oblast,
// movement, status[, equipment_type], n, v, km_sum, km_n), bucketed by date_trunc in the time
// zone and summed. The group columns come from a fixed list, never from the request's text.
#include "store/aggregates.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

constexpr int64_t kMicrosPerHour = 3'600'000'000;

// The rollup tables answer for whole UTC hours; the other filters they cannot see must be
// absent ($10 … $14 are asserted null so that every parameter has a type). The totals tables
// (no movement column, the vehicles per movement as columns) answer whatever neither groups nor
// filters by movement; the others have a row per movement.
constexpr const char* kRollupSource = R"sql(
SELECT bucket AS t, country, oblast{movement_column}, status{equipment_column},
       observations AS n, vehicles AS v, {split}, km_sum, km_n
  FROM {table}
 WHERE ($8::text = 'any' OR status = $8::text)
   AND ($3::bigint IS NULL OR bucket >= 'epoch'::timestamptz + $3::bigint * interval '1 microsecond')
   AND ($4::bigint IS NULL OR bucket < 'epoch'::timestamptz + $4::bigint * interval '1 microsecond')
   AND ($5::text IS NULL OR oblast = $5::text)
   AND ($6::text IS NULL OR country = $6::text)
   AND ({equipment_filter})
   AND ({movement_filter})
   AND $10::float8 IS NULL AND $11::float8 IS NULL AND $12::float8 IS NULL
   AND $13::float8 IS NULL AND $14::bigint IS NULL)sql";

constexpr const char* kScanSource = R"sql(
SELECT o.observed_at AS t, coalesce(o.country, '') AS country, coalesce(o.oblast, '') AS oblast,
       o.movement, o.status{equipment_column}, 1 AS n, {vehicles} AS v, {split},
       coalesce(o.km_to_border, 0) AS km_sum, (o.km_to_border IS NOT NULL)::int AS km_n
  FROM observations o{equipment_join}
 WHERE ($3::bigint IS NULL
        OR o.observed_at >= 'epoch'::timestamptz + $3::bigint * interval '1 microsecond')
   AND ($4::bigint IS NULL
        OR o.observed_at < 'epoch'::timestamptz + $4::bigint * interval '1 microsecond')
   AND ($5::text IS NULL OR o.oblast = $5::text)
   AND ($6::text IS NULL OR o.country = $6::text)
   AND ({equipment_filter})
   AND ($8::text = 'any' OR o.status = $8::text)
   AND ($9::text IS NULL OR o.movement = $9::text)
   AND ($10::float8 IS NULL
        OR o.location && ST_MakeEnvelope($10::float8, $11::float8, $12::float8, $13::float8, 4326))
   AND ($14::bigint IS NULL OR o.submission_id = $14::bigint))sql";

constexpr const char* kEquipmentJoin = R"sql(
 CROSS JOIN LATERAL (SELECT e->>'type' AS equipment_type, sum((e->>'count')::bigint) AS vehicles
                       FROM jsonb_array_elements(o.equipment) AS e GROUP BY 1) AS x)sql";

// The vehicles of a row split by its movement column {m} and vehicles {v}.
constexpr const char* kSplitByMovement =
    "CASE WHEN {m} = 'toward' THEN {v} ELSE 0 END AS vt, "
    "CASE WHEN {m} = 'away' THEN {v} ELSE 0 END AS va, "
    "CASE WHEN {m} = 'parallel' THEN {v} ELSE 0 END AS vp, "
    "CASE WHEN {m} = 'stationary' THEN {v} ELSE 0 END AS vs, "
    "CASE WHEN {m} = 'unknown' THEN {v} ELSE 0 END AS vu";

constexpr const char* kOuter = R"sql(
SELECT (extract(epoch FROM s.b) * 1000000)::bigint, to_char(s.b AT TIME ZONE $2::text, {label}),
       {group_columns}sum(s.n)::bigint, sum(s.v)::bigint, sum(s.vt)::bigint, sum(s.va)::bigint,
       sum(s.vp)::bigint, sum(s.vs)::bigint, sum(s.vu)::bigint,
       sum(s.km_sum) / nullif(sum(s.km_n), 0), sum(s.km_n)::bigint
  FROM (SELECT date_trunc($1::text, src.t, $2::text) AS b, src.* FROM ({source}) AS src) AS s
 GROUP BY s.b{group_by}
HAVING sum(s.n) > 0
 ORDER BY s.b{group_by}
 LIMIT $15)sql";

// Whether every offset of the zone at the given instants is whole hours; throws for a zone
// PostgreSQL does not know.
constexpr const char* kWholeHourZone = R"sql(
SELECT bool_and((extract(epoch FROM (x AT TIME ZONE $1::text) - (x AT TIME ZONE 'UTC'))::bigint
                 % 3600) = 0)
  FROM unnest(ARRAY[now(),
                    'epoch'::timestamptz + coalesce($2::bigint, 0) * interval '1 microsecond',
                    'epoch'::timestamptz + coalesce($3::bigint, 0) * interval '1 microsecond'])
       AS x)sql";

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool on_hour(const std::optional<TimePoint>& t) {
  return !t || t->time_since_epoch().count() % kMicrosPerHour == 0;
}

}  // namespace

const std::vector<std::string>& aggregate_buckets() {
  static const std::vector<std::string> v{"hour", "day", "week"};
  return v;
}

const std::vector<std::string>& aggregate_group_keys() {
  static const std::vector<std::string> v{"oblast", "country", "equipment_type", "movement",
                                          "status"};
  return v;
}

Result<AggregateResult> Aggregates::query(const AggregateQuery& q) {
  if (!contains(aggregate_buckets(), q.bucket)) {
    return Error(Code::kUnprocessable, "bucket must be one of hour, day, week", "bucket");
  }
  std::vector<std::string> groups;
  for (const auto& g : q.group_by) {
    if (!contains(aggregate_group_keys(), g)) {
      return Error(Code::kUnprocessable,
                   "group_by takes oblast, country, equipment_type, movement, status", "group_by");
    }
    if (contains(groups, g)) {
      return Error(Code::kUnprocessable, fmt::format("group_by names {} twice", g), "group_by");
    }
    groups.push_back(g);
  }
  if (q.tz.empty() || q.tz.size() > 64) {
    return Error(Code::kUnprocessable, "tz must be an IANA time zone name", "tz");
  }
  const ObservationFilter& f = q.filter;
  const bool by_equipment = contains(groups, "equipment_type") || f.equipment_type.has_value();
  const std::string status = f.status.value_or("verified");
  auto from = micros_text(f.from);
  auto to = micros_text(f.to);

  return with_connection(db_, [&](pqxx::connection& c) -> Result<AggregateResult> {
    pqxx::read_transaction tx(c);
    // The hash aggregate of a month of hours stays in memory (the default 4 MB sorts on disk).
    tx.exec0("SET LOCAL work_mem = '32MB'");
    bool whole_hours = false;
    try {
      pqxx::row zone = tx.exec_params1(kWholeHourZone, q.tz, nullable(from), nullable(to));
      whole_hours = !zone[0].is_null() && zone[0].as<bool>();
    } catch (const pqxx::data_exception&) {
      return Error(Code::kUnprocessable, fmt::format("unknown time zone {}", q.tz), "tz");
    }
    AggregateResult out;
    out.from_rollup =
        whole_hours && on_hour(f.from) && on_hour(f.to) && !f.bbox && !f.submission_id;

    std::string source;
    if (out.from_rollup) {
      const bool by_movement = contains(groups, "movement") || f.movement.has_value();
      std::string table = by_equipment ? "observation_rollup_equipment" : "observation_rollup";
      if (!by_movement) table += "_totals";
      source = fmt::format(
          kRollupSource, fmt::arg("table", table),
          fmt::arg("movement_column", by_movement ? ", movement" : ""),
          fmt::arg("equipment_column", by_equipment ? ", equipment_type" : ""),
          fmt::arg("split", by_movement ? fmt::format(kSplitByMovement, fmt::arg("m", "movement"),
                                                      fmt::arg("v", "vehicles"))
                                        : std::string("toward AS vt, away AS va, parallel AS vp, "
                                                      "stationary AS vs, unknown AS vu")),
          fmt::arg("equipment_filter", by_equipment
                                           ? "$7::text IS NULL OR equipment_type = $7::text"
                                           : "$7::text IS NULL"),
          fmt::arg("movement_filter",
                   by_movement ? "$9::text IS NULL OR movement = $9::text" : "$9::text IS NULL"));
    } else {
      const char* vehicles = by_equipment ? "x.vehicles" : "o.vehicles";
      source = fmt::format(
          kScanSource, fmt::arg("equipment_column", by_equipment ? ", x.equipment_type" : ""),
          fmt::arg("vehicles", vehicles),
          fmt::arg("split", fmt::format(kSplitByMovement, fmt::arg("m", "o.movement"),
                                        fmt::arg("v", vehicles))),
          fmt::arg("equipment_join", by_equipment ? kEquipmentJoin : ""),
          fmt::arg("equipment_filter", by_equipment
                                           ? "$7::text IS NULL OR x.equipment_type = $7::text"
                                           : "$7::text IS NULL"));
    }
    std::string group_columns, group_by;
    for (const auto& g : groups) {
      // Rollups store "no country/oblast" as ''; it comes back as null.
      group_columns += fmt::format("nullif(s.{}, ''), ", g);
      group_by += fmt::format(", s.{}", g);
    }
    std::string sql = fmt::format(
        kOuter, fmt::arg("label", q.bucket == "hour" ? "'YYYY-MM-DD\"T\"HH24:MI'" : "'YYYY-MM-DD'"),
        fmt::arg("group_columns", group_columns), fmt::arg("group_by", group_by),
        fmt::arg("source", source));

    const auto [w, s, e, n] = bbox_text(f.bbox);
    std::optional<std::string> submission;
    if (f.submission_id) submission = std::to_string(*f.submission_id);
    pqxx::result r = tx.exec_params(
        sql, q.bucket, q.tz, nullable(from), nullable(to), nullable(f.oblast), nullable(f.country),
        nullable(f.equipment_type), status, nullable(f.movement), nullable(w), nullable(s),
        nullable(e), nullable(n), nullable(submission), q.max_rows + 1);
    if (static_cast<int>(r.size()) > q.max_rows) {
      return Error(Code::kUnprocessable,
                   fmt::format("more than {} rows: narrow from/to, use a coarser bucket or fewer "
                               "groups",
                               q.max_rows),
                   "bucket");
    }
    out.rows.reserve(r.size());
    for (const auto& row : r) {
      AggregateRow a;
      a.bucket_start = TimePoint(std::chrono::microseconds(row[0].as<int64_t>()));
      a.bucket_label = row[1].as<std::string>();
      int i = 2;
      for (const auto& g : groups) {
        const pqxx::field fld = row[i++];
        a.groups[g] = fld.is_null() ? std::nullopt : std::optional(fld.as<std::string>());
      }
      a.observations = row[i++].as<int64_t>();
      a.vehicles = row[i++].as<int64_t>();
      a.toward = row[i++].as<int64_t>();
      a.away = row[i++].as<int64_t>();
      a.parallel = row[i++].as<int64_t>();
      a.stationary = row[i++].as<int64_t>();
      a.unknown = row[i++].as<int64_t>();
      const pqxx::field km = row[i++];
      if (!km.is_null()) a.mean_km_to_border = km.as<double>();
      a.with_distance = row[i].as<int64_t>();
      out.rows.push_back(std::move(a));
    }
    return out;
  });
}

}  // namespace cw::store
