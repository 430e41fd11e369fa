#include "store/reports.hpp"

#include <fmt/format.h>

#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

constexpr const char* kUpsert = R"sql(
INSERT INTO reports (id, kind, period_key, tz, period_start, period_end, body, html, csv,
                     built_by)
OVERRIDING SYSTEM VALUE
VALUES (coalesce(nullif($10::bigint, 0), nextval(pg_get_serial_sequence('reports', 'id'))), $1, $2, $3, 'epoch'::timestamptz + $4::bigint * interval '1 microsecond',
        'epoch'::timestamptz + $5::bigint * interval '1 microsecond', $6::jsonb, $7, $8, $9)
ON CONFLICT (kind, period_key) DO UPDATE
   SET tz = EXCLUDED.tz, period_start = EXCLUDED.period_start,
       period_end = EXCLUDED.period_end, body = EXCLUDED.body, html = EXCLUDED.html,
       csv = EXCLUDED.csv, built_by = EXCLUDED.built_by, built_at = now()
RETURNING id, (xmax <> 0) AS replaced)sql";

constexpr const char* kSummaryColumns = R"sql(
SELECT id, kind, period_key, tz, built_by,
       (extract(epoch FROM period_start) * 1000000)::bigint,
       (extract(epoch FROM period_end) * 1000000)::bigint,
       (extract(epoch FROM built_at) * 1000000)::bigint)sql";

ReportSummary summary_from_row(const pqxx::row& r) {
  ReportSummary s;
  s.id = r[0].as<int64_t>();
  s.kind = r[1].as<std::string>();
  s.period_key = r[2].as<std::string>();
  s.tz = r[3].as<std::string>();
  s.built_by = r[4].as<std::string>();
  s.period_start = from_micros(r[5].as<int64_t>());
  s.period_end = from_micros(r[6].as<int64_t>());
  s.built_at = from_micros(r[7].as<int64_t>());
  return s;
}

// Countries and oblasts meeting the box, and the whole border, simplified in PostGIS.
constexpr const char* kOutlines = R"sql(
WITH box AS (SELECT ST_MakeEnvelope($1::float8, $2::float8, $3::float8, $4::float8, 4326) AS g)
SELECT 'country', c.name, c.iso_a3,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Intersection(c.geom, box.g), $5::float8), 4)
  FROM geo_countries c, box WHERE c.geom && box.g
UNION ALL
SELECT 'oblast', r.name_en, r.iso_3166_2,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Intersection(r.geom, box.g), $5::float8), 4)
  FROM geo_regions r, box WHERE r.geom && box.g
UNION ALL
SELECT 'border', b.neighbour, b.neighbour,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(ST_Intersection(b.geom, box.g), $5::float8), 4)
  FROM geo_border b, box WHERE b.geom && box.g)sql";

}  // namespace

Result<int64_t> Reports::save(const Actor& actor, const StoredReport& r) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<int64_t> {
    pqxx::row row =
        tx.exec_params1(kUpsert, r.kind, r.period_key, r.tz, micros_text(r.period_start),
                        micros_text(r.period_end), r.body.dump(), r.html, r.csv, r.built_by, r.id);
    int64_t id = row[0].as<int64_t>();
    audit_append(tx, actor, "report.build", fmt::format("report:{}", id),
                 {{"kind", r.kind},
                  {"period", r.period_key},
                  {"replaced", row[1].as<bool>()},
                  {"built_by", r.built_by}});
    return id;
  });
}

Result<int64_t> Reports::reserve_id() {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<int64_t> {
    pqxx::nontransaction tx(c);
    return tx.exec("SELECT nextval(pg_get_serial_sequence('reports', 'id'))")[0][0].as<int64_t>();
  });
}

Result<StoredReport> Reports::get(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<StoredReport> {
    pqxx::read_transaction tx(c);
    pqxx::result res = tx.exec_params(
        std::string(kSummaryColumns) + ", body::text, html, csv FROM reports WHERE id = $1", id);
    if (res.empty()) return Error(Code::kNotFound, fmt::format("no report {}", id));
    ReportSummary s = summary_from_row(res[0]);
    StoredReport r;
    r.id = s.id;
    r.kind = s.kind;
    r.period_key = s.period_key;
    r.tz = s.tz;
    r.built_by = s.built_by;
    r.period_start = s.period_start;
    r.period_end = s.period_end;
    r.built_at = s.built_at;
    r.body = nlohmann::json::parse(res[0][8].as<std::string>());
    r.html = res[0][9].as<std::string>();
    r.csv = res[0][10].as<std::string>();
    return r;
  });
}

Result<std::optional<int64_t>> Reports::find(const std::string& kind,
                                             const std::string& period_key) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::optional<int64_t>> {
    pqxx::read_transaction tx(c);
    pqxx::result res = tx.exec_params("SELECT id FROM reports WHERE kind = $1 AND period_key = $2",
                                      kind, period_key);
    if (res.empty()) return std::optional<int64_t>();
    return std::optional<int64_t>(res[0][0].as<int64_t>());
  });
}

Result<std::vector<ReportSummary>> Reports::list(std::optional<std::string> kind, int64_t after_id,
                                                 int limit) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<ReportSummary>> {
    pqxx::read_transaction tx(c);
    pqxx::result res = tx.exec_params(std::string(kSummaryColumns) + R"sql(
  FROM reports r
 WHERE ($1::text IS NULL OR r.kind = $1::text)
   AND ($2::bigint = 0 OR (r.period_start, r.id) < (SELECT c.period_start, c.id FROM reports c
                                                    WHERE c.id = $2::bigint))
 ORDER BY r.period_start DESC, r.id DESC LIMIT $3)sql",
                                      kind ? kind->c_str() : nullptr, after_id, limit);
    std::vector<ReportSummary> out;
    for (const auto& row : res) out.push_back(summary_from_row(row));
    return out;
  });
}

Result<std::optional<TimePoint>> Reports::latest_period_end(const std::string& kind) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::optional<TimePoint>> {
    pqxx::read_transaction tx(c);
    pqxx::row r = tx.exec_params1(
        "SELECT (extract(epoch FROM max(period_end)) * 1000000)::bigint FROM reports "
        "WHERE kind = $1",
        kind);
    if (r[0].is_null()) return std::optional<TimePoint>();
    return std::optional<TimePoint>(from_micros(r[0].as<int64_t>()));
  });
}

Result<bool> Reports::with_period_lock(const std::string& kind, const std::string& period_key,
                                       const std::function<Status()>& fn) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<bool> {
    pqxx::work tx(c);
    // Class 7262 keeps these locks apart from the audit log's.
    bool got = tx.exec_params1("SELECT pg_try_advisory_xact_lock(7262, hashtext($1))",
                               fmt::format("{}:{}", kind, period_key))[0]
                   .as<bool>();
    if (!got) return false;
    Status s = fn();
    tx.commit();
    if (!s.ok()) return s.error();
    return true;
  });
}

Result<bool> Reports::media_shared(const std::string& sha256) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<bool> {
    pqxx::read_transaction tx(c);
    return tx
        .exec_params1(
            "SELECT EXISTS (SELECT 1 FROM submissions WHERE media_sha256 = $1 "
            "AND visibility = 'taskforce')",
            sha256)[0]
        .as<bool>();
  });
}

Result<std::vector<MapOutline>> Reports::outlines(const std::array<double, 4>& bbox,
                                                  double tolerance_deg) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<MapOutline>> {
    pqxx::read_transaction tx(c);
    pqxx::result res = tx.exec_params(kOutlines, bbox[0], bbox[1], bbox[2], bbox[3], tolerance_deg);
    std::vector<MapOutline> out;
    for (const auto& row : res) {
      if (row[3].is_null()) continue;
      out.push_back({row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>(),
                     row[3].as<std::string>()});
    }
    return out;
  });
}

}  // namespace cw::store
