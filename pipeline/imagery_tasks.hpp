// Reference imagery as files: the steps the API and the worker run on uploaded imagery, built
// on raster.hpp (GDAL) and imagery.hpp (registration, change, matching).
//
// Untrusted files are parsed by GDAL only in the sandboxed child (`convoywatch imagery-probe`,
// `imagery-compare`, `imagery-match`, run through run_sandboxed like `analyze`):
// - probe_imagery() runs in the child at upload: it opens the file, reads its header and decodes
//   all its pixels once (a reduced copy), and prints what the imagery row needs. The upload is
//   refused unless it succeeds, so only files that GDAL has read without fault in a child are
//   kept. probe_imagery_sandboxed() is the parent's side.
// - compare_imagery() and match_frame() run in the child for the worker's jobs.
// - render_imagery_tile() and tie_point_footprint() run in the calling process, on files the
//   probe has accepted: a tile must come back in milliseconds, which a child per tile cannot do.
//
// Outputs are JSON documents (the API shows them as they are); errors are kUnprocessable with a
// field for files or values that cannot be used, as imagery.hpp says.
// Thread-safe: every call opens its own Raster.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "geo/point.hpp"
#include "geo/tiles.hpp"
#include "pipeline/imagery.hpp"
#include "pipeline/sandbox.hpp"

namespace cw::pipeline {

// An imagery file: a GeoTIFF (no corners) or a PNG/JPEG with its outer corners (top-left,
// top-right, bottom-right, bottom-left).
struct ImageryFile {
  std::string path;
  std::optional<std::array<geo::GeoPoint, 4>> corners;
};

// Corners as the API and the child's argument write them: [[lat, lon] × 4]. kUnprocessable
// (field `field`) unless exactly four pairs of finite numbers in range.
Result<std::array<geo::GeoPoint, 4>> parse_corners(const nlohmann::json& j,
                                                   const std::string& field = "corners");
nlohmann::json corners_json(const std::array<geo::GeoPoint, 4>& corners);

// In the child: {"driver", "width", "height", "bands", "data_type", "geotransform" ([6] or
// null), "crs_wkt", "footprint" ([[lat, lon], …], not closed), "ground_resolution_m"}.
Result<nlohmann::json> probe_imagery(const ImageryFile& file);

// In the parent: runs `binary imagery-probe PATH [--corners JSON]` in the sandbox. A file the
// child refuses, or one that crashes it, runs out of a limit or hangs it, is kUnprocessable
// (field "file" or "corners") with the reason; kInternal when the child cannot start or prints a
// document of another shape (its output is checked, not trusted).
Result<nlohmann::json> probe_imagery_sandboxed(const std::string& binary, const ImageryFile& file,
                                               const SandboxLimits& limits);

// In the child, for an `imagery_compare` job. spec: {"before": {"path", "corners"?}, "after":
// {…}, "area": [[lat, lon], …]?}. Writes out_dir/overlay.png and out_dir/mask.png (before's
// grid). Result: {"inliers", "matches", "keypoints_before", "keypoints_after", "residual_px",
// "ecc" (or null), "ecc_note", "homography", "scale", "threshold", "overlap_fraction",
// "blob_count", "blobs": [{"area_px", "area_m2", "centroid": {"lat", "lon"}, "centroid_px",
// "bbox_px"}], "count_in_area" (or null), "overlay", "mask", "width", "height"}. Pixel values
// are in before's full-resolution grid. An unreliable registration is kUnprocessable (field
// "registration") with imagery.hpp's reason.
Result<nlohmann::json> compare_imagery(const nlohmann::json& spec, const std::string& out_dir,
                                       const ProgressFn& progress = {});

// In the child, for an `imagery_match` job. spec: {"frame": path, "imagery": {"path",
// "corners"?}}. Result: {"matched": true, "footprint": GeoJSON Polygon, "centre": {"lat",
// "lon"}, "confidence", "inliers", "residual_px", "outline_px", "centre_px", "matches",
// "views"} or {"matched": false, "reason": "no reliable match: …", "matches", "inliers",
// "views"}: a frame that is not found gets no location.
Result<nlohmann::json> match_frame(const nlohmann::json& spec, const ProgressFn& progress = {});

// In this process: the Web-Mercator tile as a 256×256 RGBA PNG (raster.hpp).
Result<std::vector<std::uint8_t>> render_imagery_tile(const ImageryFile& file,
                                                      const geo::TileId& tile);

// In this process: the footprint of a frame of `frame_width` × `frame_height` from analyst-picked
// pairs {"frame": [x, y], "imagery": [x, y]} (imagery full-resolution pixels), as match_frame's
// result with "matched": true, or kUnprocessable (field "tie_points").
Result<nlohmann::json> tie_point_footprint(const ImageryFile& file, int frame_width,
                                           int frame_height, const nlohmann::json& tie_points);

// ProgressFn that writes the percentage to `path` (replaced atomically), for the worker to read.
ProgressFn progress_file_writer(const std::string& path);

}  // namespace cw::pipeline
