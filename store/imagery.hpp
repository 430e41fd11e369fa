// Reference imagery and the tasks run on it (migration 0009).
//
// Imagery: a GeoTIFF, or a PNG/JPEG with its corner coordinates, whose bytes are already in the
// evidence store (MediaStore, by SHA-256) and whose header the sandboxed probe has read; one row
// per file with the footprint as a PostGIS polygon. Every row is readable by every member of the
// task force (reference imagery is shared); the uploader's organisation is kept for the record.
//
// Tasks: a before/after comparison or a frame-to-imagery match, written in one transaction with
// the job that runs it and the audit row; the worker stores the result when the job is done.
// The job's state, progress and last_error are the task's.
//
// Thread-safe (all state is in the database).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "geo/bbox.hpp"
#include "geo/point.hpp"
#include "store/database.hpp"
#include "store/jobs.hpp"
#include "store/users.hpp"

namespace cw::store {

enum class ImageryKind { kGeoTiff, kImage };
const char* imagery_kind_name(ImageryKind k);  // "geotiff", "image"

// What an upload brings, validated by server/ and read by the sandboxed probe.
struct ImageryInput {
  std::string sha256;
  ImageryKind kind = ImageryKind::kGeoTiff;
  std::string original_filename;
  uint64_t bytes = 0;
  int width = 0;
  int height = 0;
  int bands = 0;
  std::string driver;     // GDAL driver: GTiff, PNG, JPEG
  std::string data_type;  // GDAL type of band 1: Byte, UInt16, …
  std::string crs_wkt;
  std::optional<std::array<double, 6>> geotransform;  // GeoTIFF only
  TimePoint captured_at{};
  std::string source;  // Sentinel-2, Maxar, Planet, aerial photo, …
  double ground_resolution_m = 0;
  std::optional<std::array<geo::GeoPoint, 4>> corners;  // image only: TL, TR, BR, BL
  std::vector<geo::GeoPoint> footprint;                 // outline, not closed, ≥ 3 points
};

struct ImageryRecord {
  int64_t id = 0;
  ImageryInput in;
  std::string footprint_geojson;  // the stored polygon as a GeoJSON geometry
  int64_t created_by = 0;
  std::string created_by_name;
  int64_t org_id = 0;
  std::string org_name;
  TimePoint created_at{};
};

struct ImageryFilter {
  std::optional<geo::BBox> bbox;  // footprint intersects
  std::optional<TimePoint> from;  // captured_at >= from
  std::optional<TimePoint> to;    // captured_at < to
  int64_t after_id = 0;
  int limit = 50;
};

enum class ImageryTaskKind { kCompare, kMatch };

struct ImageryTask {
  int64_t id = 0;
  ImageryTaskKind kind = ImageryTaskKind::kCompare;
  int64_t job_id = 0;
  // compare
  int64_t before_id = 0;
  int64_t after_id = 0;
  std::optional<std::vector<geo::GeoPoint>> area;  // outer ring, closed
  // match
  int64_t imagery_id = 0;
  std::string media_sha256;
  int frame_index = 0;

  std::optional<nlohmann::json> result;  // once done
  int64_t created_by = 0;
  std::string created_by_name;
  TimePoint created_at{};
  std::optional<TimePoint> finished_at;
  Job job;  // its state, progress and last_error
};

class Imagery {
 public:
  // The job kinds the worker runs for tasks; payload {"task_id": N}.
  static constexpr const char* kCompareJob = "imagery_compare";
  static constexpr const char* kMatchJob = "imagery_match";

  explicit Imagery(Database& db) : db_(db) {}

  // Inserts the row and the audit row `imagery.create` in one transaction. kConflict when the
  // same bytes are imagery already; kUnprocessable for values the table refuses.
  Result<ImageryRecord> create(const Principal& who, const ImageryInput& in);
  // kNotFound when missing.
  Result<ImageryRecord> get(int64_t id);
  // The row of these bytes, if any.
  Result<std::optional<int64_t>> find_by_sha256(const std::string& sha256);
  // By id ascending, at most filter.limit (1..500).
  Result<std::vector<ImageryRecord>> list(const ImageryFilter& filter);

  // A comparison of `after` onto `before` (both must exist: kUnprocessable naming the field
  // otherwise; the same id twice is kUnprocessable), counting changes inside `area` (a ring of
  // ≥ 3 points; closed here when open). Task, job and audit row `imagery.compare` in one
  // transaction.
  Result<ImageryTask> create_compare(const Principal& who, int64_t before_id, int64_t after_id,
                                     const std::optional<std::vector<geo::GeoPoint>>& area);
  // A match of frame `frame_index` of media `sha256` against imagery `imagery_id`; audit row
  // `imagery.match`; kUnprocessable (field imagery_id) for missing imagery. REQUIRES: the caller
  // checked that `who` may see the media and the frame.
  Result<ImageryTask> create_match(const Principal& who, int64_t imagery_id,
                                   const std::string& sha256, int frame_index);
  // The task with its job; kNotFound when missing or not of `kind`.
  Result<ImageryTask> get_task(int64_t id, ImageryTaskKind kind);
  // The task whose job is `job_id` (for the worker).
  Result<ImageryTask> task_for_job(int64_t job_id);
  // Stores the result (the worker, before it completes the job) with finished_at = now.
  Status save_result(int64_t task_id, const nlohmann::json& result);

 private:
  Database& db_;
};

}  // namespace cw::store
