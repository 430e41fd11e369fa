// Imagery rows, imagery tasks and their jobs in PostGIS. Numbers go in as text (libpqxx 6 has no
// std::optional parameters), polygons as GeoJSON through ST_GeomFromGeoJSON.
#include "store/imagery.hpp"

#include <fmt/format.h>

#include <cmath>

#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {
namespace {

constexpr int kMaxListLimit = 500;

constexpr const char* kInsert = R"sql(
INSERT INTO imagery (sha256, kind, original_filename, bytes, width, height, bands, driver,
                     data_type, crs_wkt, geotransform, captured_at, source, ground_resolution_m,
                     corners, footprint, created_by, org_id)
VALUES ($1, $2, $3, $4::bigint, $5::int, $6::int, $7::int, $8, $9, $10, $11::float8[],
        'epoch'::timestamptz + $12::bigint * interval '1 microsecond', $13, $14::float8,
        $15::jsonb, ST_SetSRID(ST_GeomFromGeoJSON($16), 4326), $17::bigint,
        (SELECT org_id FROM users WHERE id = $17::bigint))
RETURNING id)sql";

constexpr const char* kSelect = R"sql(
SELECT i.id, i.sha256, i.kind, i.original_filename, i.bytes, i.width, i.height, i.bands, i.driver,
       i.data_type, i.crs_wkt, array_to_json(i.geotransform)::text,
       (extract(epoch FROM i.captured_at) * 1000000)::bigint, i.source, i.ground_resolution_m,
       i.corners::text, ST_AsGeoJSON(i.footprint, 9), i.created_by, u.name, i.org_id, o.name,
       (extract(epoch FROM i.created_at) * 1000000)::bigint
FROM imagery i
JOIN users u ON u.id = i.created_by
JOIN organisations o ON o.id = i.org_id)sql";

constexpr const char* kList = R"sql(
WHERE i.id > $1::bigint
  AND ($2::float8 IS NULL
       OR ST_Intersects(i.footprint, ST_MakeEnvelope($2::float8, $3::float8, $4::float8,
                                                     $5::float8, 4326)))
  AND ($6::bigint IS NULL
       OR i.captured_at >= 'epoch'::timestamptz + $6::bigint * interval '1 microsecond')
  AND ($7::bigint IS NULL
       OR i.captured_at < 'epoch'::timestamptz + $7::bigint * interval '1 microsecond')
ORDER BY i.id LIMIT $8)sql";

constexpr const char* kInsertJob = R"sql(
INSERT INTO jobs (kind, payload) VALUES ($1, '{}'::jsonb) RETURNING id)sql";
constexpr const char* kSetJobPayload = R"sql(
UPDATE jobs SET payload = jsonb_build_object('task_id', $2::bigint) WHERE id = $1)sql";

constexpr const char* kInsertCompare = R"sql(
INSERT INTO imagery_tasks (kind, job_id, before_id, after_id, area, created_by, org_id)
VALUES ('compare', $1::bigint, $2::bigint, $3::bigint,
        CASE WHEN $4::text IS NULL THEN NULL
             ELSE ST_SetSRID(ST_GeomFromGeoJSON($4::text), 4326) END,
        $5::bigint, (SELECT org_id FROM users WHERE id = $5::bigint))
RETURNING id)sql";
constexpr const char* kInsertMatch = R"sql(
INSERT INTO imagery_tasks (kind, job_id, imagery_id, media_sha256, frame_index, created_by, org_id)
VALUES ('match', $1::bigint, $2::bigint, $3, $4::int, $5::bigint,
        (SELECT org_id FROM users WHERE id = $5::bigint))
RETURNING id)sql";

constexpr const char* kSelectTask = R"sql(
SELECT t.id, t.kind, t.job_id, t.before_id, t.after_id, ST_AsGeoJSON(t.area, 9), t.imagery_id,
       t.media_sha256, t.frame_index, t.result::text, t.created_by, u.name,
       (extract(epoch FROM t.created_at) * 1000000)::bigint,
       (extract(epoch FROM t.finished_at) * 1000000)::bigint
FROM imagery_tasks t JOIN users u ON u.id = t.created_by)sql";

constexpr const char* kSaveResult = R"sql(
UPDATE imagery_tasks SET result = $2::jsonb, finished_at = now() WHERE id = $1 RETURNING kind)sql";

// A GeoJSON Polygon from a ring of points (closed here when open).
std::string polygon_geojson(const std::vector<geo::GeoPoint>& ring) {
  nlohmann::json coords = nlohmann::json::array();
  for (const auto& p : ring) coords.push_back({p.lon, p.lat});
  if (!ring.empty() && (ring.front().lat != ring.back().lat || ring.front().lon != ring.back().lon))
    coords.push_back({ring.front().lon, ring.front().lat});
  return nlohmann::json{{"type", "Polygon"}, {"coordinates", {coords}}}.dump();
}

// The outer ring of a GeoJSON Polygon as points.
std::vector<geo::GeoPoint> ring_of(const std::string& geojson) {
  std::vector<geo::GeoPoint> out;
  auto doc = nlohmann::json::parse(geojson, nullptr, false);
  if (!doc.is_object() || !doc.contains("coordinates")) return out;
  for (const auto& c : doc["coordinates"].at(0)) {
    out.push_back(geo::GeoPoint{c.at(1).get<double>(), c.at(0).get<double>(), std::nullopt});
  }
  return out;
}

Status check_input(const ImageryInput& in) {
  auto bad = [](const std::string& detail, const char* field) {
    return Error(Code::kUnprocessable, detail, field);
  };
  for (const auto* s :
       {&in.sha256, &in.original_filename, &in.driver, &in.data_type, &in.crs_wkt, &in.source}) {
    if (s->find('\0') != std::string::npos) return bad("text must not contain NUL", "metadata");
  }
  if (in.source.empty() || in.source.size() > 200) {
    return bad("source must be 1 to 200 bytes", "source");
  }
  if (!std::isfinite(in.ground_resolution_m) || in.ground_resolution_m <= 0) {
    return bad("ground_resolution_m must be a positive number of metres", "ground_resolution_m");
  }
  if (in.footprint.size() < 3) return bad("the footprint needs at least 3 points", "file");
  if ((in.kind == ImageryKind::kGeoTiff) != in.geotransform.has_value() ||
      (in.kind == ImageryKind::kImage) != in.corners.has_value()) {
    return bad("a GeoTIFF has a geotransform, an image has corners", "corners");
  }
  return Status::Ok();
}

ImageryRecord record_from_row(const pqxx::row& r) {
  ImageryRecord out;
  out.id = r[0].as<int64_t>();
  ImageryInput& in = out.in;
  in.sha256 = r[1].as<std::string>();
  in.kind = r[2].as<std::string>() == "geotiff" ? ImageryKind::kGeoTiff : ImageryKind::kImage;
  in.original_filename = r[3].as<std::string>();
  in.bytes = static_cast<uint64_t>(r[4].as<int64_t>());
  in.width = r[5].as<int>();
  in.height = r[6].as<int>();
  in.bands = r[7].as<int>();
  in.driver = r[8].as<std::string>();
  in.data_type = r[9].as<std::string>();
  in.crs_wkt = r[10].as<std::string>();
  if (!r[11].is_null()) {
    auto gt = nlohmann::json::parse(r[11].as<std::string>());
    std::array<double, 6> a{};
    for (size_t i = 0; i < 6 && i < gt.size(); ++i) a[i] = gt[i].get<double>();
    in.geotransform = a;
  }
  in.captured_at = from_micros(r[12].as<int64_t>());
  in.source = r[13].as<std::string>();
  in.ground_resolution_m = r[14].as<double>();
  if (!r[15].is_null()) {
    auto c = nlohmann::json::parse(r[15].as<std::string>());
    std::array<geo::GeoPoint, 4> corners{};
    for (size_t i = 0; i < 4 && i < c.size(); ++i) {
      corners[i] = geo::GeoPoint{c[i].at(0).get<double>(), c[i].at(1).get<double>(), std::nullopt};
    }
    in.corners = corners;
  }
  out.footprint_geojson = r[16].as<std::string>();
  in.footprint = ring_of(out.footprint_geojson);
  if (!in.footprint.empty()) in.footprint.pop_back();  // stored closed, handed out open
  out.created_by = r[17].as<int64_t>();
  out.created_by_name = r[18].as<std::string>();
  out.org_id = r[19].as<int64_t>();
  out.org_name = r[20].as<std::string>();
  out.created_at = from_micros(r[21].as<int64_t>());
  return out;
}

ImageryTask task_from_row(const pqxx::row& r) {
  ImageryTask t;
  t.id = r[0].as<int64_t>();
  t.kind =
      r[1].as<std::string>() == "compare" ? ImageryTaskKind::kCompare : ImageryTaskKind::kMatch;
  t.job_id = r[2].as<int64_t>();
  if (!r[3].is_null()) t.before_id = r[3].as<int64_t>();
  if (!r[4].is_null()) t.after_id = r[4].as<int64_t>();
  if (!r[5].is_null()) t.area = ring_of(r[5].as<std::string>());
  if (!r[6].is_null()) t.imagery_id = r[6].as<int64_t>();
  if (!r[7].is_null()) t.media_sha256 = r[7].as<std::string>();
  if (!r[8].is_null()) t.frame_index = r[8].as<int>();
  if (!r[9].is_null()) t.result = nlohmann::json::parse(r[9].as<std::string>());
  t.created_by = r[10].as<int64_t>();
  t.created_by_name = r[11].as<std::string>();
  t.created_at = from_micros(r[12].as<int64_t>());
  if (!r[13].is_null()) t.finished_at = from_micros(r[13].as<int64_t>());
  return t;
}

std::string fmt_number(double d) { return fmt::format("{}", d); }

}  // namespace

const char* imagery_kind_name(ImageryKind k) {
  return k == ImageryKind::kGeoTiff ? "geotiff" : "image";
}

Result<ImageryRecord> Imagery::create(const Principal& who, const ImageryInput& in) {
  if (Status s = check_input(in); !s.ok()) return s.error();
  std::optional<std::string> gt, corners;
  if (in.geotransform) {
    const auto& g = *in.geotransform;
    gt = fmt::format("{{{},{},{},{},{},{}}}", fmt_number(g[0]), fmt_number(g[1]), fmt_number(g[2]),
                     fmt_number(g[3]), fmt_number(g[4]), fmt_number(g[5]));
  }
  if (in.corners) {
    nlohmann::json c = nlohmann::json::array();
    for (const auto& p : *in.corners) c.push_back({p.lat, p.lon});
    corners = c.dump();
  }
  auto id = in_transaction(db_, [&](pqxx::work& tx) -> Result<int64_t> {
    int64_t id =
        tx.exec_params1(kInsert, in.sha256, imagery_kind_name(in.kind), in.original_filename,
                        static_cast<int64_t>(in.bytes), in.width, in.height, in.bands, in.driver,
                        in.data_type, in.crs_wkt, nullable(gt), micros_text(in.captured_at),
                        in.source, fmt_number(in.ground_resolution_m), nullable(corners),
                        polygon_geojson(in.footprint), who.user_id)[0]
            .as<int64_t>();
    audit_append(tx, Actor{who.user_id, who.user_name}, "imagery.create",
                 fmt::format("imagery/{}", id),
                 {{"sha256", in.sha256},
                  {"kind", imagery_kind_name(in.kind)},
                  {"original_filename", in.original_filename},
                  {"bytes", in.bytes},
                  {"captured_at", format_rfc3339(in.captured_at)},
                  {"source", in.source},
                  {"ground_resolution_m", in.ground_resolution_m},
                  {"corners", corners ? nlohmann::json::parse(*corners) : nlohmann::json()}});
    return id;
  });
  if (!id.ok()) {
    if (id.error().code() == Code::kConflict) {
      return Error(Code::kConflict, "this file is reference imagery already", "file");
    }
    return id.error();
  }
  return get(*id);
}

Result<ImageryRecord> Imagery::get(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<ImageryRecord> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelect) + " WHERE i.id = $1", id);
    if (r.empty()) return Error(Code::kNotFound, "no such imagery");
    return record_from_row(r[0]);
  });
}

Result<std::optional<int64_t>> Imagery::find_by_sha256(const std::string& sha256) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::optional<int64_t>> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params("SELECT id FROM imagery WHERE sha256 = $1", sha256);
    if (r.empty()) return std::optional<int64_t>();
    return std::optional<int64_t>(r[0][0].as<int64_t>());
  });
}

Result<std::vector<ImageryRecord>> Imagery::list(const ImageryFilter& f) {
  if (f.limit < 1 || f.limit > kMaxListLimit + 1) {
    return Error(Code::kUnprocessable, "limit must be 1 to 500", "limit");
  }
  std::optional<std::string> w, s, e, n, from, to;
  if (f.bbox) {
    w = fmt_number(f.bbox->min_lon);
    s = fmt_number(f.bbox->min_lat);
    e = fmt_number(f.bbox->max_lon);
    n = fmt_number(f.bbox->max_lat);
  }
  if (f.from) from = micros_text(*f.from);
  if (f.to) to = micros_text(*f.to);
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<ImageryRecord>> {
    pqxx::read_transaction tx(c);
    pqxx::result r =
        tx.exec_params(std::string(kSelect) + kList, f.after_id, nullable(w), nullable(s),
                       nullable(e), nullable(n), nullable(from), nullable(to), f.limit);
    std::vector<ImageryRecord> out;
    for (const auto& row : r) out.push_back(record_from_row(row));
    return out;
  });
}

Result<ImageryTask> Imagery::create_compare(const Principal& who, int64_t before_id,
                                            int64_t after_id,
                                            const std::optional<std::vector<geo::GeoPoint>>& area) {
  if (before_id == after_id) {
    return Error(Code::kUnprocessable, "before and after must be different imagery", "after");
  }
  std::optional<std::string> area_json;
  if (area) {
    if (area->size() < 3) {
      return Error(Code::kUnprocessable, "area needs at least 3 points", "area");
    }
    area_json = polygon_geojson(*area);
  }
  auto id = in_transaction(db_, [&](pqxx::work& tx) -> Result<int64_t> {
    for (auto [field, id] : {std::pair{"before", before_id}, std::pair{"after", after_id}}) {
      if (tx.exec_params("SELECT 1 FROM imagery WHERE id = $1", id).empty()) {
        return Error(Code::kUnprocessable, fmt::format("no imagery {}", id), field);
      }
    }
    if (area_json) {
      auto valid = tx.exec_params1("SELECT ST_IsValid(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))",
                                   *area_json)[0]
                       .as<bool>();
      if (!valid) {
        return Error(Code::kUnprocessable, "area is not a valid polygon (self-intersecting?)",
                     "area");
      }
    }
    int64_t job = tx.exec_params1(kInsertJob, kCompareJob)[0].as<int64_t>();
    int64_t task = tx.exec_params1(kInsertCompare, job, before_id, after_id, nullable(area_json),
                                   who.user_id)[0]
                       .as<int64_t>();
    tx.exec_params(kSetJobPayload, job, task);
    audit_append(tx, Actor{who.user_id, who.user_name}, "imagery.compare",
                 fmt::format("imagery_task/{}", task),
                 {{"before", before_id},
                  {"after", after_id},
                  {"area", area_json ? nlohmann::json::parse(*area_json) : nlohmann::json()},
                  {"job", job}});
    return task;
  });
  if (!id.ok()) return id.error();
  return get_task(*id, ImageryTaskKind::kCompare);
}

Result<ImageryTask> Imagery::create_match(const Principal& who, int64_t imagery_id,
                                          const std::string& sha256, int frame_index) {
  auto id = in_transaction(db_, [&](pqxx::work& tx) -> Result<int64_t> {
    if (tx.exec_params("SELECT 1 FROM imagery WHERE id = $1", imagery_id).empty()) {
      return Error(Code::kUnprocessable, fmt::format("no imagery {}", imagery_id), "imagery_id");
    }
    int64_t job = tx.exec_params1(kInsertJob, kMatchJob)[0].as<int64_t>();
    int64_t task =
        tx.exec_params1(kInsertMatch, job, imagery_id, sha256, frame_index, who.user_id)[0]
            .as<int64_t>();
    tx.exec_params(kSetJobPayload, job, task);
    audit_append(tx, Actor{who.user_id, who.user_name}, "imagery.match",
                 fmt::format("imagery_task/{}", task),
                 {{"imagery_id", imagery_id},
                  {"media_sha256", sha256},
                  {"frame", frame_index},
                  {"job", job}});
    return task;
  });
  if (!id.ok()) return id.error();
  return get_task(*id, ImageryTaskKind::kMatch);
}

Result<ImageryTask> Imagery::get_task(int64_t id, ImageryTaskKind kind) {
  const char* missing = kind == ImageryTaskKind::kCompare ? "no such comparison" : "no such match";
  auto task = with_connection(db_, [&](pqxx::connection& c) -> Result<ImageryTask> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectTask) + " WHERE t.id = $1", id);
    if (r.empty()) return Error(Code::kNotFound, missing);
    return task_from_row(r[0]);
  });
  if (!task.ok()) return task.error();
  if (task->kind != kind) return Error(Code::kNotFound, missing);
  auto job = Jobs(db_).get(task->job_id);
  if (!job.ok()) return job.error();
  task->job = std::move(*job);
  return task;
}

Result<ImageryTask> Imagery::task_for_job(int64_t job_id) {
  auto task = with_connection(db_, [&](pqxx::connection& c) -> Result<ImageryTask> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectTask) + " WHERE t.job_id = $1", job_id);
    if (r.empty()) return Error(Code::kNotFound, "no task for this job");
    return task_from_row(r[0]);
  });
  if (!task.ok()) return task.error();
  auto job = Jobs(db_).get(job_id);
  if (!job.ok()) return job.error();
  task->job = std::move(*job);
  return task;
}

Status Imagery::save_result(int64_t task_id, const nlohmann::json& result) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Status {
    pqxx::result r = tx.exec_params(kSaveResult, task_id, result.dump());
    if (r.empty()) return Error(Code::kNotFound, "no such task");
    // The summary, not the blob list: the result itself is in the row.
    nlohmann::json diff = {{"kind", r[0][0].as<std::string>()}};
    for (const char* key :
         {"inliers", "residual_px", "blob_count", "count_in_area", "confidence"}) {
      if (result.contains(key)) diff[key] = result[key];
    }
    audit_append(tx, Actor::system("worker"), "imagery.result",
                 fmt::format("imagery_task/{}", task_id), diff);
    return Status::Ok();
  });
}

}  // namespace cw::store
