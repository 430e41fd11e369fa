// Imagery files: probe, comparison, frame matching, tiles and tie points (imagery_tasks.hpp).
//
// Comparisons and matches work on copies read at a bounded size (kCompareSide, kMatchSide): the
// algorithms scale down further themselves, and a 30000-pixel GeoTIFF read whole would not fit
// the child's memory limit. The copy's georeference is the file's scaled, so positions and areas
// in WGS 84 do not depend on the working size.
#include "pipeline/imagery_tasks.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "pipeline/png.hpp"
#include "pipeline/raster.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

namespace {

constexpr int kProbeSide = 1024;    // the probe decodes every pixel into a copy this big
constexpr int kCompareSide = 4096;  // working size of a comparison
constexpr int kMatchSide = 2048;    // working size of the imagery a frame is matched against

Result<Raster> open_imagery(const ImageryFile& f) {
  return f.corners ? Raster::open_with_corners(f.path, *f.corners) : Raster::open_geotiff(f.path);
}

// The georeference of a copy of w × h pixels read from a raster of full_w × full_h: GDAL pixel
// corners scale linearly, so the copy's pixel (corner convention) maps through diag(full/w).
GeoReference scaled(const GeoReference& g, int full_w, int full_h, int w, int h) {
  GeoReference out = g;
  const cv::Matx33d s(static_cast<double>(full_w) / w, 0, 0, 0, static_cast<double>(full_h) / h, 0,
                      0, 0, 1);
  out.pixel_to_crs = g.pixel_to_crs * s;
  return out;
}

nlohmann::json point_json(const geo::GeoPoint& p) { return {{"lat", p.lat}, {"lon", p.lon}}; }

nlohmann::json polygon_json(const std::vector<geo::GeoPoint>& ring) {
  nlohmann::json coords = nlohmann::json::array();
  for (const auto& p : ring) coords.push_back({p.lon, p.lat});
  if (!ring.empty()) coords.push_back({ring.front().lon, ring.front().lat});
  return {{"type", "Polygon"}, {"coordinates", {coords}}};
}

nlohmann::json matrix_json(const cv::Matx33d& m) {
  return {{m(0, 0), m(0, 1), m(0, 2)}, {m(1, 0), m(1, 1), m(1, 2)}, {m(2, 0), m(2, 1), m(2, 2)}};
}

Result<ImageryFile> file_from_spec(const nlohmann::json& spec, const char* name) {
  if (!spec.contains(name) || !spec[name].is_object() || !spec[name].contains("path") ||
      !spec[name]["path"].is_string()) {
    return Error(Code::kInvalidArgument, fmt::format("the spec has no {}.path", name), name);
  }
  ImageryFile f{spec[name]["path"].get<std::string>(), std::nullopt};
  if (spec[name].contains("corners") && !spec[name]["corners"].is_null()) {
    auto c = parse_corners(spec[name]["corners"], name);
    if (!c.ok()) return c.error();
    f.corners = *c;
  }
  return f;
}

// Maps a step's 0..100 into [from, to] of the whole.
ProgressFn sub_progress(const ProgressFn& p, int from, int to) {
  if (!p) return {};
  return [p, from, to](int percent) { p(from + (to - from) * percent / 100); };
}

// A footprint as match_frame's result; `k` scales working imagery pixels to full resolution
// (OpenCV pixel centres).
nlohmann::json footprint_result(const Footprint& fp, double kx, double ky) {
  auto full = [&](const cv::Point2d& p) {
    return nlohmann::json::array({(p.x + 0.5) * kx - 0.5, (p.y + 0.5) * ky - 0.5});
  };
  nlohmann::json outline = nlohmann::json::array();
  for (const auto& p : fp.outline_px) outline.push_back(full(p));
  nlohmann::json out = {{"matched", true},       {"confidence", fp.confidence},
                        {"inliers", fp.inliers}, {"residual_px", fp.residual_px},
                        {"outline_px", outline}, {"centre_px", full(fp.centre_px)}};
  out["footprint"] = fp.outline_geo.size() == 4 ? polygon_json(fp.outline_geo) : nlohmann::json();
  out["centre"] = fp.centre_geo ? point_json(*fp.centre_geo) : nlohmann::json();
  return out;
}

// The child's document has the shape probe_imagery() gives. The child parses untrusted bytes, so
// the parent trusts nothing it prints: a wrong shape is an error, never an exception later.
bool valid_probe_document(const nlohmann::json& d) {
  auto positive_int = [&](const char* k) {
    return d.contains(k) && d[k].is_number_integer() && d[k].get<int64_t>() > 0 &&
           d[k].get<int64_t>() <= 1'000'000'000;
  };
  auto text = [&](const char* k, size_t max) {
    return d.contains(k) && d[k].is_string() && d[k].get_ref<const std::string&>().size() <= max;
  };
  if (!d.is_object() || !positive_int("width") || !positive_int("height") ||
      !positive_int("bands") || !text("driver", 64) || !text("data_type", 64) ||
      !text("crs_wkt", 64 * 1024) || !d.contains("ground_resolution_m") ||
      !d["ground_resolution_m"].is_number() || !d.contains("footprint") ||
      !d["footprint"].is_array() || d["footprint"].size() < 3 || d["footprint"].size() > 10000) {
    return false;
  }
  const double gsd = d["ground_resolution_m"].get<double>();
  if (!std::isfinite(gsd) || gsd <= 0) return false;
  for (const auto& p : d["footprint"]) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return false;
    const double lat = p[0].get<double>(), lon = p[1].get<double>();
    if (!(lat >= -90 && lat <= 90 && lon >= -180 && lon <= 180)) return false;
  }
  if (!d.contains("geotransform")) return false;
  const auto& gt = d["geotransform"];
  if (gt.is_null()) return true;
  if (!gt.is_array() || gt.size() != 6) return false;
  return std::all_of(gt.begin(), gt.end(), [](const nlohmann::json& v) {
    return v.is_number() && std::isfinite(v.get<double>());
  });
}

}  // namespace

Result<std::array<geo::GeoPoint, 4>> parse_corners(const nlohmann::json& j,
                                                   const std::string& field) {
  auto bad = [&] {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must be four [lat, lon] pairs: top-left, top-right, "
                             "bottom-right, bottom-left",
                             field),
                 field);
  };
  if (!j.is_array() || j.size() != 4) return bad();
  std::array<geo::GeoPoint, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const auto& p = j[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return bad();
    const double lat = p[0].get<double>(), lon = p[1].get<double>();
    if (!std::isfinite(lat) || !std::isfinite(lon) || lat < -90 || lat > 90 || lon < -180 ||
        lon > 180) {
      return Error(Code::kUnprocessable,
                   fmt::format("{}[{}] is outside latitude -90..90, longitude -180..180", field, i),
                   field);
    }
    out[i] = geo::GeoPoint{lat, lon, std::nullopt};
  }
  return out;
}

nlohmann::json corners_json(const std::array<geo::GeoPoint, 4>& corners) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : corners) out.push_back({p.lat, p.lon});
  return out;
}

Result<nlohmann::json> probe_imagery(const ImageryFile& file) {
  auto raster = open_imagery(file);
  if (!raster.ok()) return raster.error();
  // Decode every pixel once here, in the child, before the server ever renders a tile of it.
  auto pixels = raster->read(kProbeSide);
  if (!pixels.ok()) return pixels.error();
  const RasterInfo& in = raster->info();
  nlohmann::json footprint = nlohmann::json::array();
  for (const auto& p : in.footprint) footprint.push_back({p.lat, p.lon});
  if (in.footprint.size() < 3) {
    return Error(Code::kUnprocessable, "the file's footprint cannot be computed", "file");
  }
  return nlohmann::json{
      {"driver", in.driver},
      {"width", in.width},
      {"height", in.height},
      {"bands", in.bands},
      {"data_type", in.data_type},
      {"geotransform", file.corners ? nlohmann::json() : nlohmann::json(in.geotransform)},
      {"crs_wkt", in.crs_wkt},
      {"footprint", footprint},
      {"ground_resolution_m", in.ground_resolution_m}};
}

Result<nlohmann::json> probe_imagery_sandboxed(const std::string& binary, const ImageryFile& file,
                                               const SandboxLimits& limits) {
  std::vector<std::string> argv = {binary, "imagery-probe", file.path};
  if (file.corners) {
    argv.push_back("--corners");
    argv.push_back(corners_json(*file.corners).dump());
  }
  SandboxLimits confined = limits;
  confined.read_only.push_back(file.path);  // and nothing else: the probe writes nothing
  auto run = run_sandboxed(argv, confined);
  if (!run.ok()) {
    return Error(Code::kInternal, "could not start the imagery probe: " + run.error().detail());
  }
  auto doc = nlohmann::json::parse(run->out, nullptr, false);
  if (auto reason = failure_reason(*run, limits)) {
    if (run->signal == 0 && !run->timed_out && run->exit_code == 2 && doc.is_object() &&
        doc.contains("error")) {
      return Error(Code::kUnprocessable, doc["error"].value("detail", *reason),
                   doc["error"].value("field", "file"));
    }
    if (run->exit_code == 1 && run->signal == 0 && !run->timed_out) {
      return Error(Code::kInternal, "the imagery probe failed: " + *reason);
    }
    // A crash, a limit or a hang: the file is what did it.
    return Error(Code::kUnprocessable, "the file could not be read: " + *reason, "file");
  }
  if (!valid_probe_document(doc)) {
    return Error(Code::kInternal, "the imagery probe printed no valid result");
  }
  if (file.corners.has_value() != doc["geotransform"].is_null()) {
    return Error(Code::kInternal, "the imagery probe described another kind of file");
  }
  return doc;
}

Result<nlohmann::json> compare_imagery(const nlohmann::json& spec, const std::string& out_dir,
                                       const ProgressFn& progress) {
  auto before_file = file_from_spec(spec, "before");
  if (!before_file.ok()) return before_file.error();
  auto after_file = file_from_spec(spec, "after");
  if (!after_file.ok()) return after_file.error();
  std::optional<std::vector<geo::GeoPoint>> area;
  if (spec.contains("area") && spec["area"].is_array()) {
    std::vector<geo::GeoPoint> ring;
    for (const auto& p : spec["area"]) {
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) {
        return Error(Code::kUnprocessable, "area must be [lat, lon] points", "area");
      }
      ring.push_back(geo::GeoPoint{p[0].get<double>(), p[1].get<double>(), std::nullopt});
    }
    area = std::move(ring);
  }
  auto before = open_imagery(*before_file);
  if (!before.ok()) return Error(before.error().code(), before.error().detail(), "before");
  auto after = open_imagery(*after_file);
  if (!after.ok()) return Error(after.error().code(), after.error().detail(), "after");
  if (progress) progress(2);
  auto before_px = before->read(kCompareSide);
  if (!before_px.ok()) return Error(before_px.error().code(), before_px.error().detail(), "before");
  auto after_px = after->read(kCompareSide);
  if (!after_px.ok()) return Error(after_px.error().code(), after_px.error().detail(), "after");
  if (progress) progress(10);

  auto reg = register_images(*before_px, *after_px, {}, sub_progress(progress, 10, 50));
  if (!reg.ok()) return reg.error();
  auto change = detect_changes(*before_px, *after_px, *reg, {}, sub_progress(progress, 50, 90));
  if (!change.ok()) return change.error();

  const RasterInfo& bi = before->info();
  GeoReference geo =
      scaled(before->georeference(), bi.width, bi.height, before_px->cols, before_px->rows);
  std::vector<GeoBlob> blobs = geolocate_blobs(change->blobs, geo);
  nlohmann::json count_in_area;
  if (area) {
    auto n = count_blobs_in_polygon(blobs, *area);
    if (!n.ok()) return n.error();
    count_in_area = *n;
  }

  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Error(Code::kInternal, "cannot create the output folder");
  const auto write_bytes = [&](const std::string& name, const std::vector<std::uint8_t>& bytes) {
    std::ofstream f(out_dir + "/" + name, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
    return static_cast<bool>(f);
  };
  if (!write_bytes("overlay.png", change->overlay_png)) {
    return Error(Code::kInternal, "cannot write the overlay");
  }
  auto mask_png = encode_png(change->mask);
  if (!mask_png.ok() || !write_bytes("mask.png", *mask_png)) {
    return Error(Code::kInternal, "cannot write the change mask");
  }
  if (progress) progress(95);

  nlohmann::json items = nlohmann::json::array();
  for (const auto& b : blobs) {
    items.push_back(
        {{"area_px", b.blob.area_px},
         {"area_m2", b.area_m2},
         {"centroid", point_json(b.centroid)},
         {"centroid_px", {b.blob.centroid.x, b.blob.centroid.y}},
         {"bbox_px", {b.blob.bbox.x, b.blob.bbox.y, b.blob.bbox.width, b.blob.bbox.height}}});
  }
  return nlohmann::json{
      {"inliers", reg->inliers},
      {"matches", reg->matches},
      {"keypoints_before", reg->keypoints_before},
      {"keypoints_after", reg->keypoints_after},
      {"residual_px", reg->residual_px},
      {"ecc", reg->ecc_correlation ? nlohmann::json(*reg->ecc_correlation) : nlohmann::json()},
      {"ecc_note", reg->ecc_note},
      {"homography", matrix_json(reg->homography)},
      {"scale", static_cast<double>(before_px->cols) / bi.width},
      {"width", before_px->cols},
      {"height", before_px->rows},
      {"threshold", change->threshold},
      {"overlap_fraction", change->overlap_fraction},
      {"blob_count", items.size()},
      {"blobs", items},
      {"count_in_area", count_in_area},
      {"overlay", "overlay.png"},
      {"mask", "mask.png"}};
}

Result<nlohmann::json> match_frame(const nlohmann::json& spec, const ProgressFn& progress) {
  if (!spec.contains("frame") || !spec["frame"].is_string()) {
    return Error(Code::kInvalidArgument, "the spec has no frame", "frame");
  }
  auto imagery_file = file_from_spec(spec, "imagery");
  if (!imagery_file.ok()) return imagery_file.error();
  auto read = read_picture(spec["frame"].get<std::string>());
  if (!read.ok()) return Error(Code::kUnprocessable, "the frame cannot be read", "frame");
  cv::Mat frame = std::move(*read);
  auto raster = open_imagery(*imagery_file);
  if (!raster.ok()) return Error(raster.error().code(), raster.error().detail(), "imagery");
  auto px = raster->read(kMatchSide);
  if (!px.ok()) return Error(px.error().code(), px.error().detail(), "imagery");
  if (progress) progress(5);
  const RasterInfo& in = raster->info();
  GeoReference geo = scaled(raster->georeference(), in.width, in.height, px->cols, px->rows);
  auto m = match_frame_to_imagery(frame, *px, &geo, {}, sub_progress(progress, 5, 95));
  if (!m.ok()) return m.error();
  nlohmann::json out;
  if (m->footprint) {
    out = footprint_result(*m->footprint, static_cast<double>(in.width) / px->cols,
                           static_cast<double>(in.height) / px->rows);
    if (out["footprint"].is_null() || out["centre"].is_null()) {
      out = {
          {"matched", false},
          {"reason", "no reliable match: the footprint falls outside the imagery's georeference"}};
    }
  } else {
    out = {{"matched", false}, {"reason", m->reason}};
  }
  out["matches"] = m->matches;
  out["views"] = m->views;
  if (!out.contains("inliers")) out["inliers"] = m->inliers;
  out["frame_width"] = frame.cols;
  out["frame_height"] = frame.rows;
  return out;
}

Result<std::vector<std::uint8_t>> render_imagery_tile(const ImageryFile& file,
                                                      const geo::TileId& tile) {
  auto raster = open_imagery(file);
  if (!raster.ok()) return raster.error();
  return raster->render_tile(tile);
}

Result<nlohmann::json> tie_point_footprint(const ImageryFile& file, int frame_width,
                                           int frame_height, const nlohmann::json& tie_points) {
  auto bad = [](const std::string& detail) {
    return Error(Code::kUnprocessable, detail, "tie_points");
  };
  if (!tie_points.is_array()) return bad("tie_points must be an array");
  if (tie_points.size() > 1000) return bad("at most 1000 tie points");
  auto xy = [](const nlohmann::json& p, cv::Point2d* out) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return false;
    *out = cv::Point2d(p[0].get<double>(), p[1].get<double>());
    return std::isfinite(out->x) && std::isfinite(out->y);
  };
  std::vector<TiePoint> points;
  for (const auto& t : tie_points) {
    TiePoint tp;
    if (!t.is_object() || !t.contains("frame") || !t.contains("imagery") ||
        !xy(t["frame"], &tp.frame) || !xy(t["imagery"], &tp.imagery)) {
      return bad("each tie point is {\"frame\": [x, y], \"imagery\": [x, y]} in pixels");
    }
    points.push_back(tp);
  }
  auto raster = open_imagery(file);
  if (!raster.ok()) return raster.error();
  const GeoReference& geo = raster->georeference();
  auto fp = footprint_from_tie_points(points, cv::Size(frame_width, frame_height), &geo);
  if (!fp.ok()) return fp.error();
  nlohmann::json out = footprint_result(*fp, 1.0, 1.0);
  if (out["footprint"].is_null() || out["centre"].is_null()) {
    return bad("the frame's outline falls outside the imagery's georeference");
  }
  out["tie_points"] = points.size();
  out["frame_width"] = frame_width;
  out["frame_height"] = frame_height;
  return out;
}

ProgressFn progress_file_writer(const std::string& path) {
  auto last = std::make_shared<int>(-1);
  return [path, last](int percent) {
    if (percent == *last) return;
    *last = percent;
    std::string tmp = path + ".tmp";
    {
      std::ofstream f(tmp, std::ios::trunc);
      f << percent << "\n";
    }
    std::error_code ec;
    fs::rename(tmp, path, ec);
  };
}

}  // namespace cw::pipeline
