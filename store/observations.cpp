// Observations in PostGIS. Locations are geometry(Point, 4326) so that bbox filters use the GiST
// index; every distance is computed on the spheroid through ::geography (observation_derived).
// libpqxx 6 has no std::optional parameters: NULLs are passed as null `const char*`, numbers as
// text, the JSON parts as jsonb text.
#include "store/observations.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "store/internal/audit_append.hpp"
#include "store/internal/copy_row.hpp"
#include "store/internal/frame_refs.hpp"
#include "store/internal/geodata_check.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

// The input columns as parameters $1..$13 (see params()).
constexpr const char* kDerivedInsert = R"sql(
INSERT INTO observations (submission_id, created_by, org_id, observed_at, time_precision,
                          location, location_precision, heading_deg, equipment, equipment_types,
                          vehicles, markings, notes, source_note, frame_refs, country, oblast,
                          nearest_place, nearest_place_km, km_to_border, bearing_to_border,
                          movement)
SELECT $1::bigint, $13::bigint, (SELECT org_id FROM users WHERE id = $13::bigint),
       'epoch'::timestamptz + $2::bigint * interval '1 microsecond', $3,
       ST_SetSRID(ST_MakePoint($5::float8, $4::float8), 4326), $6, $7::float8, $8::jsonb,
       ARRAY(SELECT DISTINCT e->>'type' FROM jsonb_array_elements($8::jsonb) e ORDER BY 1),
       (SELECT COALESCE(sum((e->>'count')::int), 0) FROM jsonb_array_elements($8::jsonb) e),
       ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), $10, $11, $12::jsonb,
       d.country, d.oblast, d.place_name, d.place_km, d.km_to_border, d.bearing_deg, d.movement
FROM observation_derived(ST_SetSRID(ST_MakePoint($5::float8, $4::float8), 4326), $7::float8) d
RETURNING id)sql";

constexpr const char* kDerivedUpdate = R"sql(
UPDATE observations o SET
  submission_id = $1::bigint,
  observed_at = 'epoch'::timestamptz + $2::bigint * interval '1 microsecond',
  time_precision = $3, location = ST_SetSRID(ST_MakePoint($5::float8, $4::float8), 4326),
  location_precision = $6, heading_deg = $7::float8, equipment = $8::jsonb,
  equipment_types = ARRAY(SELECT DISTINCT e->>'type' FROM jsonb_array_elements($8::jsonb) e
                          ORDER BY 1),
  vehicles = (SELECT COALESCE(sum((e->>'count')::int), 0) FROM jsonb_array_elements($8::jsonb) e),
  markings = ARRAY(SELECT jsonb_array_elements_text($9::jsonb)), notes = $10, source_note = $11,
  frame_refs = $12::jsonb, country = d.country, oblast = d.oblast, nearest_place = d.place_name,
  nearest_place_km = d.place_km, km_to_border = d.km_to_border,
  bearing_to_border = d.bearing_deg, movement = d.movement, updated_at = now()
FROM observation_derived(ST_SetSRID(ST_MakePoint($5::float8, $4::float8), 4326), $7::float8) d
WHERE o.id = $13::bigint)sql";

constexpr const char* kSelect = R"sql(
SELECT o.id, o.submission_id, o.frame_refs::text,
       (extract(epoch FROM o.observed_at) * 1000000)::bigint, o.time_precision,
       ST_Y(o.location), ST_X(o.location), o.location_precision, o.heading_deg, o.equipment::text,
       o.vehicles, array_to_json(o.markings)::text, o.notes, o.source_note, o.status,
       o.created_by, u.name, o.country, o.oblast, r.name_en, o.nearest_place, o.nearest_place_km,
       o.km_to_border, o.bearing_to_border, o.movement,
       (extract(epoch FROM o.created_at) * 1000000)::bigint,
       (extract(epoch FROM o.updated_at) * 1000000)::bigint
FROM observations o
JOIN users u ON u.id = o.created_by
LEFT JOIN geo_regions r ON r.iso_3166_2 = o.oblast)sql";

// The list's filters ($1..$13), shared by the list and the map tiles.
constexpr const char* kFilters = R"sql(
WHERE ($1::bigint = 0
       OR (o.observed_at, o.id) > (SELECT c.observed_at, c.id FROM observations c
                                   WHERE c.id = $1::bigint))
  AND ($2::float8 IS NULL
       OR o.location && ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, 4326))
  AND ($6::bigint IS NULL
       OR o.observed_at >= 'epoch'::timestamptz + $6::bigint * interval '1 microsecond')
  AND ($7::bigint IS NULL
       OR o.observed_at < 'epoch'::timestamptz + $7::bigint * interval '1 microsecond')
  AND ($8::text IS NULL OR o.oblast = $8::text)
  AND ($9::text IS NULL OR o.country = $9::text)
  AND ($10::text IS NULL OR o.equipment_types @> ARRAY[$10::text])
  AND (CASE WHEN $11::text IS NULL THEN o.status <> 'rejected'
            WHEN $11::text = 'any' THEN true
            ELSE o.status = $11::text END)
  AND ($12::text IS NULL OR o.movement = $12::text)
  AND ($13::bigint IS NULL OR o.submission_id = $13::bigint))sql";
constexpr const char* kListOrder = " ORDER BY o.observed_at, o.id LIMIT $14";

nlohmann::json equipment_json(const std::vector<EquipmentCount>& e) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : e) out.push_back({{"type", x.type}, {"count", x.count}});
  return out;
}

// Keeps the text parameters alive for one exec_params call.
struct Params {
  std::optional<std::string> submission, heading, notes, source_note;
  std::string observed, lat, lon, equipment, markings, frames;

  explicit Params(const ObservationInput& in)
      : submission(number_text(in.submission_id)),
        heading(number_text(in.heading_deg)),
        notes(in.notes),
        source_note(in.source_note),
        observed(std::to_string(in.observed_at.time_since_epoch().count())),
        lat(fmt::format("{}", in.lat)),
        lon(fmt::format("{}", in.lon)),
        equipment(equipment_json(in.equipment).dump()),
        markings(nlohmann::json(in.markings).dump()),
        frames(frames_json(in.frame_refs).dump()) {}
};

Observation from_row(const pqxx::row& r) {
  Observation o;
  o.id = r[0].as<int64_t>();
  if (!r[1].is_null()) o.input.submission_id = r[1].as<int64_t>();
  for (const auto& f : nlohmann::json::parse(r[2].as<std::string>())) {
    o.input.frame_refs.push_back({f.value("sha256", ""), f.value("frame", 0)});
  }
  o.input.observed_at = from_micros(r[3].as<int64_t>());
  o.input.time_precision = r[4].as<std::string>();
  o.input.lat = r[5].as<double>();
  o.input.lon = r[6].as<double>();
  o.input.location_precision = r[7].as<std::string>();
  o.input.heading_deg = opt_double(r[8]);
  for (const auto& e : nlohmann::json::parse(r[9].as<std::string>())) {
    o.input.equipment.push_back({e.value("type", ""), e.value("count", 0)});
  }
  o.vehicles = r[10].as<int>();
  o.input.markings = nlohmann::json::parse(r[11].as<std::string>()).get<std::vector<std::string>>();
  o.input.notes = opt_string(r[12]);
  o.input.source_note = opt_string(r[13]);
  o.status = r[14].as<std::string>();
  o.created_by = r[15].as<int64_t>();
  o.created_by_name = r[16].as<std::string>();
  o.derived.country = opt_string(r[17]);
  o.derived.oblast = opt_string(r[18]);
  o.derived.oblast_name = opt_string(r[19]);
  o.derived.nearest_place = opt_string(r[20]);
  o.derived.nearest_place_km = opt_double(r[21]);
  o.derived.km_to_border = opt_double(r[22]);
  o.derived.bearing_to_border_deg = opt_double(r[23]);
  o.derived.movement = r[24].as<std::string>();
  o.created_at = from_micros(r[25].as<int64_t>());
  o.updated_at = from_micros(r[26].as<int64_t>());
  return o;
}

Result<Observation> select_one(pqxx::transaction_base& tx, int64_t id) {
  pqxx::result r = tx.exec_params(std::string(kSelect) + " WHERE o.id = $1", id);
  if (r.empty()) return Error(Code::kNotFound, fmt::format("no observation {}", id));
  return from_row(r[0]);
}

// The submission named by the input must exist (a clear 422 instead of a foreign-key error).
Status check_submission(pqxx::work& tx, const ObservationInput& in) {
  if (!in.submission_id) return Status::Ok();
  if (tx.exec_params("SELECT 1 FROM submissions WHERE id = $1", *in.submission_id).empty()) {
    return Error(Code::kUnprocessable, fmt::format("no submission {}", *in.submission_id),
                 "submission_id");
  }
  return Status::Ok();
}

double round_to(double v, double unit) { return std::round(v / unit) * unit; }

}  // namespace

const std::vector<std::string>& equipment_types() {
  static const std::vector<std::string> v = {
      "tank",    "ifv",         "apc",        "sp_artillery", "towed_artillery",
      "mlrs",    "air_defense", "truck",      "fuel_truck",   "engineering",
      "command", "medical",     "helicopter", "other"};
  return v;
}
const std::vector<std::string>& time_precisions() {
  static const std::vector<std::string> v = {"exact", "hour", "day"};
  return v;
}
const std::vector<std::string>& location_precisions() {
  static const std::vector<std::string> v = {"exact", "vicinity", "locality", "region"};
  return v;
}
const std::vector<std::string>& observation_statuses() {
  static const std::vector<std::string> v = {"unverified", "verified", "disputed", "rejected"};
  return v;
}
const std::vector<std::string>& movements() {
  static const std::vector<std::string> v = {"toward", "away", "parallel", "stationary", "unknown"};
  return v;
}

Result<Observation> Observations::create(const Principal& who, const ObservationInput& in) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Observation> {
    if (Status s = require_geodata(tx); !s.ok()) return s.error();
    if (Status s = check_submission(tx, in); !s.ok()) return s.error();
    Params p(in);
    int64_t id = tx.exec_params1(kDerivedInsert, nullable(p.submission), p.observed,
                                 in.time_precision, p.lat, p.lon, in.location_precision,
                                 nullable(p.heading), p.equipment, p.markings, nullable(p.notes),
                                 nullable(p.source_note), p.frames, who.user_id)[0]
                     .as<int64_t>();
    auto o = select_one(tx, id);
    if (!o.ok()) return o.error();
    audit_append(tx, Actor{who.user_id, who.user_name}, "observation.create",
                 fmt::format("observation/{}", id), to_json(*o));
    return o;
  });
}

Result<Observation> Observations::get(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Observation> {
    pqxx::read_transaction tx(c);
    return select_one(tx, id);
  });
}

Result<std::vector<Observation>> Observations::list(const ObservationFilter& f) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Observation>> {
    // One statement (its snapshot is consistent on its own): no transaction around it, which
    // saves three round trips a page. Not prepared: a generic plan cannot know which of the
    // nullable filters are set, and the right index depends on them.
    pqxx::nontransaction tx(c);
    const auto [w, s, e, n] = bbox_text(f.bbox);
    auto from = micros_text(f.from);
    auto to = micros_text(f.to);
    auto submission = number_text(f.submission_id);
    pqxx::result r =
        tx.exec_params(std::string(kSelect) + kFilters + kListOrder, f.after_id, nullable(w),
                       nullable(s), nullable(e), nullable(n), nullable(from), nullable(to),
                       nullable(f.oblast), nullable(f.country), nullable(f.equipment_type),
                       nullable(f.status), nullable(f.movement), nullable(submission), f.limit);
    std::vector<Observation> out;
    out.reserve(r.size());
    for (const auto& row : r) out.push_back(from_row(row));
    return out;
  });
}

namespace {

// $14..$16: z, x, y; $17: the reader's organisation; $18: the most points.
constexpr const char* kTilePoints = R"sql(
WITH f AS (
  SELECT ST_AsMVTGeom(ST_Transform(o.location, 3857), ST_TileEnvelope($14, $15, $16), 4096, 64,
                      true) AS geom,
         o.id, extract(epoch FROM o.observed_at)::bigint AS observed_at, o.status, o.vehicles,
         array_to_string(o.equipment_types, ',') AS equipment_types, o.movement, o.heading_deg,
         o.location_precision, o.oblast,
         CASE WHEN s.visibility = 'taskforce' OR s.org_id = $17::bigint THEN o.submission_id END
           AS submission_id
  FROM observations o
  LEFT JOIN submissions s ON s.id = o.submission_id
  )sql";
// The newest points win when there are more than $18, and the tile's bytes do not depend on the
// plan (without an order a dense tile held an arbitrary subset, different from build to build).
constexpr const char* kTilePointsEnd = R"sql(
  ORDER BY o.observed_at DESC, o.id DESC
  LIMIT $18)
SELECT ST_AsMVT(f, 'observations', 4096, 'geom', 'id') FROM f WHERE geom IS NOT NULL)sql";

// Below kObservationPointZoom: one point per cell of a 32 × 32 grid over the tile ($17 unused:
// counts show nothing private). 32 × 32: a cell is 16 px of a 512-px tile, a cluster circle's
// size, and 1,024 cells of 26–30 bytes keep a full tile near 30 KB (64 × 64 made 107 KB at
// 10 M rows: bench/README.md). The Web-Mercator position (EPSG:3857, a sphere of radius
// 6378137 m) is computed with its formulas, x = Rλ and y = R ln tan(π/4 + φ/2), not with
// ST_Transform, which cost most of a tile over millions of rows; the tile's corner and cell
// size are constants of $14..$16 (`k`, folded when the plan is made), and the scan and the
// aggregate stand outside any CTE, so PostgreSQL may run them in parallel.
constexpr const char* kTileCells = R"sql(
WITH c AS (
  SELECT floor((q.px - k.x0) / k.cell) AS i, floor((q.py - k.y0) / k.cell) AS j,
         count(*) AS count, sum(q.v)::bigint AS vehicles, avg(q.px) AS mx, avg(q.py) AS my
  FROM (SELECT 20037508.342789244 / 180 * ST_X(o.location) AS px,
               6378137 * ln(tan(pi() / 4 + radians(least(85.0511287798066,
                                                         greatest(-85.0511287798066,
                                                                  ST_Y(o.location)))) / 2))
                 AS py,
               o.vehicles AS v
        FROM observations o
  )sql";
constexpr const char* kTileCellsEnd = R"sql() q
  CROSS JOIN (SELECT -20037508.342789244 + $15::int * w.s AS x0,
                     20037508.342789244 - ($16::int + 1) * w.s AS y0, w.s / 32 AS cell,
                     $17::bigint AS org
              FROM (SELECT 40075016.685578488 / 2 ^ $14::int AS s) w) k
  GROUP BY 1, 2 LIMIT $18),
f AS (SELECT ST_AsMVTGeom(ST_SetSRID(ST_MakePoint(c.mx, c.my), 3857),
                          ST_TileEnvelope($14::int, $15::int, $16::int), 4096, 64, true) AS geom,
             c.count, c.vehicles
      FROM c)
SELECT ST_AsMVT(f, 'observations', 4096, 'geom') FROM f WHERE geom IS NOT NULL)sql";

}  // namespace

Result<std::string> Observations::tile(const ObservationFilter& f, int64_t org_id, int z, int x,
                                       int y) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::string> {
    // Without JIT: the planner's cost of a tile over millions of rows crosses jit_above_cost,
    // and compiling the query took longer than running it (bench/README.md, map tiles).
    pqxx::work tx(c);
    tx.exec0("SET LOCAL jit = off");
    const auto [w, s, e, n] = bbox_text(f.bbox);
    auto from = micros_text(f.from);
    auto to = micros_text(f.to);
    auto submission = number_text(f.submission_id);
    const bool points = z >= kObservationPointZoom;
    const std::string sql = points ? std::string(kTilePoints) + kFilters + kTilePointsEnd
                                   : std::string(kTileCells) + kFilters + kTileCellsEnd;
    pqxx::result r =
        tx.exec_params(sql, int64_t{0}, nullable(w), nullable(s), nullable(e), nullable(n),
                       nullable(from), nullable(to), nullable(f.oblast), nullable(f.country),
                       nullable(f.equipment_type), nullable(f.status), nullable(f.movement),
                       nullable(submission), z, x, y, org_id, kMaxTilePoints);
    tx.commit();
    if (r.empty() || r[0][0].is_null()) return std::string();
    return pqxx::binarystring(r[0][0]).str();
  });
}

Result<Observation> Observations::update(const Principal& who, int64_t id,
                                         const ObservationInput& in) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Observation> {
    pqxx::result cur =
        tx.exec_params("SELECT created_by, status FROM observations WHERE id = $1 FOR UPDATE", id);
    if (cur.empty()) return Error(Code::kNotFound, fmt::format("no observation {}", id));
    if (cur[0][0].as<int64_t>() != who.user_id && who.role == Role::kContributor) {
      return Error(Code::kForbidden, "only its creator or an analyst may change an observation");
    }
    if (cur[0][1].as<std::string>() != "unverified") {
      return Error(Code::kConflict, "the observation has a verdict (" +
                                        cur[0][1].as<std::string>() +
                                        "); it can no longer be changed");
    }
    if (Status s = require_geodata(tx); !s.ok()) return s.error();
    if (Status s = check_submission(tx, in); !s.ok()) return s.error();
    auto before = select_one(tx, id);
    if (!before.ok()) return before.error();
    Params p(in);
    tx.exec_params0(kDerivedUpdate, nullable(p.submission), p.observed, in.time_precision, p.lat,
                    p.lon, in.location_precision, nullable(p.heading), p.equipment, p.markings,
                    nullable(p.notes), nullable(p.source_note), p.frames, id);
    auto after = select_one(tx, id);
    if (!after.ok()) return after.error();
    audit_append(tx, Actor{who.user_id, who.user_name}, "observation.update",
                 fmt::format("observation/{}", id),
                 nlohmann::json{{"before", to_json(*before)}, {"after", to_json(*after)}});
    return after;
  });
}

Status Observations::remove(const Principal& who, int64_t id) {
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    auto before = select_one(tx, id);
    if (!before.ok()) return before.error();
    nlohmann::json history = nlohmann::json::array();
    for (const auto& v : tx.exec_params(
             "SELECT v.verdict, v.note, u.name, v.created_at::text FROM observation_verdicts v "
             "JOIN users u ON u.id = v.analyst_id WHERE v.observation_id = $1 ORDER BY v.id",
             id)) {
      history.push_back({{"verdict", v[0].as<std::string>()},
                         {"note", v[1].as<std::string>()},
                         {"analyst", v[2].as<std::string>()},
                         {"at", v[3].as<std::string>()}});
    }
    tx.exec_params0("DELETE FROM observations WHERE id = $1", id);
    audit_append(tx, Actor{who.user_id, who.user_name}, "observation.delete",
                 fmt::format("observation/{}", id),
                 nlohmann::json{{"observation", to_json(*before)}, {"verdicts", history}});
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<Observation> Observations::verify(const Principal& who, int64_t id,
                                         const std::string& verdict, const std::string& note) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Observation> {
    pqxx::result cur =
        tx.exec_params("SELECT created_by, status FROM observations WHERE id = $1 FOR UPDATE", id);
    if (cur.empty()) return Error(Code::kNotFound, fmt::format("no observation {}", id));
    if (cur[0][0].as<int64_t>() == who.user_id) {
      return Error(Code::kForbidden,
                   "two-person rule: the creator of an observation cannot give its verdict");
    }
    std::string before = cur[0][1].as<std::string>();
    tx.exec_params0(
        "INSERT INTO observation_verdicts (observation_id, verdict, note, analyst_id) "
        "VALUES ($1, $2, $3, $4)",
        id, verdict, note, who.user_id);
    tx.exec_params0("UPDATE observations SET status = $2, updated_at = now() WHERE id = $1", id,
                    verdict);
    auto after = select_one(tx, id);
    if (!after.ok()) return after.error();
    audit_append(tx, Actor{who.user_id, who.user_name}, "observation.verify",
                 fmt::format("observation/{}", id),
                 nlohmann::json{{"from", before}, {"to", verdict}, {"note", note}});
    return after;
  });
}

Result<std::vector<Verdict>> Observations::verdicts(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Verdict>> {
    pqxx::read_transaction tx(c);
    if (tx.exec_params("SELECT 1 FROM observations WHERE id = $1", id).empty()) {
      return Error(Code::kNotFound, fmt::format("no observation {}", id));
    }
    std::vector<Verdict> out;
    for (const auto& v : tx.exec_params(
             "SELECT v.id, v.verdict, v.note, u.name, "
             "(extract(epoch FROM v.created_at) * 1000000)::bigint FROM observation_verdicts v "
             "JOIN users u ON u.id = v.analyst_id WHERE v.observation_id = $1 ORDER BY v.id",
             id)) {
      out.push_back({v[0].as<int64_t>(), v[1].as<std::string>(), v[2].as<std::string>(),
                     v[3].as<std::string>(), from_micros(v[4].as<int64_t>())});
    }
    return out;
  });
}

Result<IdRange> Observations::import(const Principal& who,
                                     const std::vector<ObservationInput>& rows,
                                     const std::string& source_sha256) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<IdRange> {
    // One statement derives every row (~0.25–2 ms each), so [database] statement_timeout_ms,
    // meant for requests, would make any large import fail however often it is retried. The
    // import is bounded by the route's body limit instead; the pool's watchdog leaves long work
    // alone while the server answers its probe, and cuts it off only if the server is gone.
    tx.exec0("SET LOCAL statement_timeout = 0");
    if (Status s = require_geodata(tx); !s.ok()) return s.error();
    tx.exec0(
        "CREATE TEMP TABLE observations_in (line int, submission_id text, observed_us text, "
        "time_precision text, lat text, lon text, location_precision text, heading text, "
        "equipment text, markings text, notes text, source_note text, frame_refs text) "
        "ON COMMIT DROP");
    {
      pqxx::stream_to copy(tx, "observations_in");
      std::vector<std::string> fields(13);
      int line = 0;
      for (const ObservationInput& in : rows) {
        Params p(in);
        fields[0] = std::to_string(++line);
        fields[1] = p.submission.value_or("");
        fields[2] = p.observed;
        fields[3] = in.time_precision;
        fields[4] = p.lat;
        fields[5] = p.lon;
        fields[6] = in.location_precision;
        fields[7] = p.heading.value_or("");
        fields[8] = p.equipment;
        fields[9] = p.markings;
        // An empty text means NULL here (the import formats cannot tell them apart either).
        fields[10] = in.notes.value_or("");
        fields[11] = in.source_note.value_or("");
        fields[12] = p.frames;
        copy << as_tuple<13>(fields);
      }
      copy.complete();
    }
    pqxx::result missing = tx.exec(
        "SELECT i.line, i.submission_id FROM observations_in i WHERE i.submission_id <> '' AND "
        "NOT EXISTS (SELECT 1 FROM submissions s WHERE s.id = i.submission_id::bigint) "
        "ORDER BY i.line LIMIT 1");
    if (!missing.empty()) {
      return Error(Code::kUnprocessable,
                   fmt::format("row {}: no submission {}", missing[0][0].as<int>(),
                               missing[0][1].as<std::string>()),
                   "submission_id");
    }
    pqxx::result ids = tx.exec_params(R"sql(
WITH ins AS (
  INSERT INTO observations (submission_id, created_by, org_id, observed_at, time_precision,
                            location, location_precision, heading_deg, equipment,
                            equipment_types, vehicles, markings, notes, source_note, frame_refs,
                            country, oblast, nearest_place, nearest_place_km, km_to_border,
                            bearing_to_border, movement)
  SELECT NULLIF(i.submission_id, '')::bigint, $1::bigint,
         (SELECT org_id FROM users WHERE id = $1::bigint),
         'epoch'::timestamptz + i.observed_us::bigint * interval '1 microsecond',
         i.time_precision, g.p, i.location_precision, NULLIF(i.heading, '')::float8,
         i.equipment::jsonb,
         ARRAY(SELECT DISTINCT e->>'type' FROM jsonb_array_elements(i.equipment::jsonb) e
               ORDER BY 1),
         (SELECT COALESCE(sum((e->>'count')::int), 0)
          FROM jsonb_array_elements(i.equipment::jsonb) e),
         ARRAY(SELECT jsonb_array_elements_text(i.markings::jsonb)), NULLIF(i.notes, ''),
         NULLIF(i.source_note, ''), i.frame_refs::jsonb, d.country, d.oblast, d.place_name,
         d.place_km, d.km_to_border, d.bearing_deg, d.movement
  FROM observations_in i
  CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_MakePoint(i.lon::float8, i.lat::float8), 4326) AS p) g
  CROSS JOIN LATERAL observation_derived(g.p, NULLIF(i.heading, '')::float8) d
  ORDER BY i.line
  RETURNING id)
SELECT min(id), max(id), count(*) FROM ins)sql",
                                      who.user_id);
    int64_t first = ids[0][0].is_null() ? 0 : ids[0][0].as<int64_t>();
    int64_t last = ids[0][1].is_null() ? 0 : ids[0][1].as<int64_t>();
    audit_append(tx, Actor{who.user_id, who.user_name}, "observation.import",
                 fmt::format("observation/{}-{}", first, last),
                 nlohmann::json{{"rows", ids[0][2].as<int64_t>()},
                                {"first_id", first},
                                {"last_id", last},
                                {"source_sha256", source_sha256}});
    return IdRange{first, last};
  });
}

nlohmann::json to_json(const Observation& o) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  auto km = [&](const std::optional<double>& v) {
    return v ? nlohmann::json(round_to(*v, 0.001)) : nlohmann::json();
  };
  nlohmann::json place = nlohmann::json();
  if (o.derived.nearest_place) {
    place = {{"name", *o.derived.nearest_place}, {"km", km(o.derived.nearest_place_km)}};
  }
  return {{"id", o.id},
          {"submission_id", opt(o.input.submission_id)},
          {"frame_refs", frames_json(o.input.frame_refs)},
          {"observed_at", format_rfc3339(o.input.observed_at)},
          {"time_precision", o.input.time_precision},
          {"location", {{"lat", o.input.lat}, {"lon", o.input.lon}}},
          {"location_precision", o.input.location_precision},
          {"heading_deg", opt(o.input.heading_deg)},
          {"equipment", equipment_json(o.input.equipment)},
          {"vehicles", o.vehicles},
          {"markings", o.input.markings},
          {"notes", opt(o.input.notes)},
          {"source_note", opt(o.input.source_note)},
          {"status", o.status},
          {"created_by", o.created_by_name},
          {"created_at", format_rfc3339(o.created_at)},
          {"updated_at", format_rfc3339(o.updated_at)},
          {"derived",
           {{"country", opt(o.derived.country)},
            {"oblast", opt(o.derived.oblast)},
            {"oblast_name", opt(o.derived.oblast_name)},
            {"nearest_place", place},
            {"km_to_border", km(o.derived.km_to_border)},
            {"bearing_to_border_deg",
             o.derived.bearing_to_border_deg
                 ? nlohmann::json(round_to(*o.derived.bearing_to_border_deg, 0.1))
                 : nlohmann::json()},
            {"movement", o.derived.movement}}}};
}

}  // namespace cw::store
