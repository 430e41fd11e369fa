// GDAL-backed reference imagery (raster.hpp). Coordinates: GDAL's pixel convention (the top-left
// corner of the top-left pixel is (0, 0)) inside this file; GeoReference takes OpenCV's.
// Every CRS handle uses the traditional GIS axis order (x = easting or longitude), so points go in
// and come out as (x, y) whatever the EPSG definition's axis order is.
#include "pipeline/raster.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>
#include <utility>

#include <dlfcn.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <fmt/format.h>

#include <opencv2/imgproc.hpp>

#include "pipeline/png.hpp"

namespace cw::pipeline {
namespace {

constexpr const char* kField = "file";
constexpr int kTileSize = 256;
constexpr double kEarthRadius = 6378137.0;  // Web Mercator sphere
constexpr double kPi = 3.14159265358979323846;

Error unreadable(std::string detail) {
  return Error(Code::kUnprocessable, std::move(detail), kField);
}

// GDAL is loaded when imagery is first opened (dlopen), not when the program starts: the same
// binary runs the sandboxed video analysis, which needs no GDAL, and an empty program linking
// libgdal alone takes 47 ms to start (together with OpenCV's imgcodecs, which links GDAL too,
// the program's start went from 123 ms to 44 ms). Only this file calls GDAL, through this
// table; open_dataset() loads it, and everything else here runs on a dataset it opened.
// clang-format off
#define CW_GDAL_FUNCTIONS(X) \
  X(CPLSetConfigOption) \
  X(GDALAllRegister) \
  X(CPLPushErrorHandler) \
  X(CPLPopErrorHandler) \
  X(CPLQuietErrorHandler) \
  X(GDALClose) \
  X(OSRDestroySpatialReference) \
  X(OSRNewSpatialReference) \
  X(OSRImportFromEPSG) \
  X(OSRSetAxisMappingStrategy) \
  X(OSRExportToWkt) \
  X(VSIFree) \
  X(OCTDestroyCoordinateTransformation) \
  X(OCTTransformEx) \
  X(OCTNewCoordinateTransformation) \
  X(GDALOpenEx) \
  X(GDALGetDriverShortName) \
  X(GDALGetDatasetDriver) \
  X(GDALGetRasterXSize) \
  X(GDALGetRasterYSize) \
  X(GDALGetRasterCount) \
  X(GDALGetRasterDataType) \
  X(GDALGetRasterBand) \
  X(GDALDataTypeIsComplex) \
  X(GDALGetDataTypeName) \
  X(GDALGetRasterNoDataValue) \
  X(GDALDatasetRasterIOEx) \
  X(GDALGetGeoTransform) \
  X(GDALGetSpatialRef) \
  X(OSRClone) \
  X(GDALGetRasterColorInterpretation)
// clang-format on

struct GdalApi {
#define CW_GDAL_MEMBER(name) decltype(&::name) name = nullptr;
  CW_GDAL_FUNCTIONS(CW_GDAL_MEMBER)
#undef CW_GDAL_MEMBER
};

// The library's name: the runtime package's (scripts/packages.txt: libgdal32).
constexpr const char* kGdalLibrary = "libgdal.so.32";

struct LoadedGdal {
  GdalApi api;
  std::string error;  // empty when loaded
};

const LoadedGdal& loaded_gdal() {
  static const LoadedGdal loaded = [] {
    LoadedGdal l;
    void* lib = dlopen(kGdalLibrary, RTLD_NOW | RTLD_LOCAL);  // never closed
    if (lib == nullptr) {
      const char* why = dlerror();
      l.error = fmt::format("{} cannot be loaded: {}", kGdalLibrary, why != nullptr ? why : "");
      return l;
    }
#define CW_GDAL_RESOLVE(name)                                          \
  l.api.name = reinterpret_cast<decltype(&::name)>(dlsym(lib, #name)); \
  if (l.api.name == nullptr && l.error.empty()) {                      \
    l.error = fmt::format("{} has no symbol {}", kGdalLibrary, #name); \
  }
    CW_GDAL_FUNCTIONS(CW_GDAL_RESOLVE)
#undef CW_GDAL_RESOLVE
    if (!l.error.empty()) return l;
    // Never list the upload's directory looking for sidecar files (.aux.xml, .ovr, world files).
    l.api.CPLSetConfigOption("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR");
    l.api.CPLSetConfigOption("GDAL_PAM_ENABLED", "NO");
    l.api.GDALAllRegister();
    return l;
  }();
  return loaded;
}

// The functions; only after open_dataset() has loaded them.
const GdalApi& gdal() { return loaded_gdal().api; }

// GDAL reports errors to a per-thread handler stack; keep its messages off stderr while we work
// (the caller gets our own error values).
class QuietGdal {
 public:
  QuietGdal() { gdal().CPLPushErrorHandler(gdal().CPLQuietErrorHandler); }
  ~QuietGdal() { gdal().CPLPopErrorHandler(); }
  QuietGdal(const QuietGdal&) = delete;
  QuietGdal& operator=(const QuietGdal&) = delete;
};

struct DatasetCloser {
  void operator()(void* ds) const {
    if (ds != nullptr) gdal().GDALClose(static_cast<GDALDatasetH>(ds));
  }
};
using DatasetPtr = std::unique_ptr<void, DatasetCloser>;

struct SrsDeleter {
  void operator()(void* srs) const {
    if (srs != nullptr) gdal().OSRDestroySpatialReference(static_cast<OGRSpatialReferenceH>(srs));
  }
};
using SrsPtr = std::unique_ptr<void, SrsDeleter>;

SrsPtr epsg_srs(int code) {
  SrsPtr srs(gdal().OSRNewSpatialReference(nullptr));
  if (!srs ||
      gdal().OSRImportFromEPSG(static_cast<OGRSpatialReferenceH>(srs.get()), code) != OGRERR_NONE) {
    return nullptr;
  }
  gdal().OSRSetAxisMappingStrategy(static_cast<OGRSpatialReferenceH>(srs.get()),
                                   OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::string srs_wkt(OGRSpatialReferenceH srs) {
  char* wkt = nullptr;
  std::string out;
  if (gdal().OSRExportToWkt(srs, &wkt) == OGRERR_NONE && wkt != nullptr) out = wkt;
  gdal().VSIFree(wkt);
  return out;
}

// A coordinate transformation shared by copies of a GeoReference: PROJ objects are not
// thread-safe, so calls are serialised.
class Transform {
 public:
  explicit Transform(OGRCoordinateTransformationH ct) : ct_(ct) {}
  ~Transform() { gdal().OCTDestroyCoordinateTransformation(ct_); }
  Transform(const Transform&) = delete;
  Transform& operator=(const Transform&) = delete;

  // Transforms in place; ok[i] says whether point i was transformed.
  void run(std::vector<double>& x, std::vector<double>& y, std::vector<int>& ok) {
    std::lock_guard lock(mu_);
    QuietGdal quiet;
    ok.assign(x.size(), 0);
    if (x.empty()) return;
    gdal().OCTTransformEx(ct_, static_cast<int>(x.size()), x.data(), y.data(), nullptr, ok.data());
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!std::isfinite(x[i]) || !std::isfinite(y[i])) ok[i] = 0;
    }
  }

 private:
  std::mutex mu_;
  OGRCoordinateTransformationH ct_;
};

std::shared_ptr<Transform> make_transform(OGRSpatialReferenceH from, OGRSpatialReferenceH to) {
  OGRCoordinateTransformationH ct = gdal().OCTNewCoordinateTransformation(from, to);
  if (ct == nullptr) return nullptr;
  return std::make_shared<Transform>(ct);
}

// Opens `path` read-only with one of `drivers` (nullptr-terminated).
Result<DatasetPtr> open_dataset(const std::string& path, const char* const* drivers,
                                const char* what) {
  if (const LoadedGdal& l = loaded_gdal(); !l.error.empty()) {
    return Error(Code::kInternal, "GDAL is not available: " + l.error, kField);
  }
  // GDAL would treat these prefixes as virtual file systems (network, archives).
  if (path.rfind("/vsi", 0) == 0) {
    return unreadable("path not allowed");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Error(Code::kNotFound, "no such file", kField);
  if (!std::filesystem::is_regular_file(path, ec)) return unreadable("not a regular file");
  QuietGdal quiet;
  DatasetPtr ds(gdal().GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, drivers, nullptr,
                                  nullptr));
  if (!ds) return unreadable(fmt::format("not a readable {}", what));
  return ds;
}

}  // namespace

struct Raster::Impl {
  DatasetPtr ds;
  RasterInfo info;
  GeoReference geo;
  cv::Matx33d crs_to_pixel;                  // GDAL pixel convention
  std::shared_ptr<Transform> from_mercator;  // EPSG:3857 -> the raster's CRS
  bool byte_data = true;
  std::vector<int> band_map;                       // 3, 2, 1 (BGR) or 1
  std::vector<std::pair<double, double>> stretch;  // per band_map entry, when !byte_data
  std::vector<std::optional<double>> nodata;       // per band_map entry

  GDALDatasetH handle() const { return static_cast<GDALDatasetH>(ds.get()); }

  Status load_basics(const RasterOptions& options) {
    GDALDatasetH h = handle();
    info.driver = gdal().GDALGetDriverShortName(gdal().GDALGetDatasetDriver(h));
    info.width = gdal().GDALGetRasterXSize(h);
    info.height = gdal().GDALGetRasterYSize(h);
    info.bands = gdal().GDALGetRasterCount(h);
    if (info.width <= 0 || info.height <= 0 || info.bands <= 0) {
      return unreadable("raster has no pixels or no bands");
    }
    if (static_cast<std::int64_t>(info.width) * info.height > options.max_pixels) {
      return unreadable(fmt::format("raster too large: {}x{} pixels (limit {} pixels)", info.width,
                                    info.height, options.max_pixels));
    }
    const GDALDataType type = gdal().GDALGetRasterDataType(gdal().GDALGetRasterBand(h, 1));
    if (type == GDT_Unknown || gdal().GDALDataTypeIsComplex(type)) {
      return unreadable("unsupported pixel type");
    }
    info.data_type = gdal().GDALGetDataTypeName(type);
    byte_data = type == GDT_Byte;
    band_map = info.bands >= 3 ? std::vector<int>{3, 2, 1} : std::vector<int>{1};
    for (int b : band_map) {
      GDALRasterBandH band = gdal().GDALGetRasterBand(h, b);
      if (gdal().GDALGetRasterDataType(band) != type) return unreadable("bands of different types");
      int has = 0;
      const double v = gdal().GDALGetRasterNoDataValue(band, &has);
      nodata.push_back(has ? std::optional<double>(v) : std::nullopt);
    }
    return Status::Ok();
  }

  // Fills footprint and ground resolution from `geo`.
  Status load_footprint(const RasterOptions& options) {
    const int n = std::max(1, options.points_per_edge);
    const double w = info.width, hgt = info.height;
    std::vector<cv::Point2d> ring;
    for (int k = 0; k < n; ++k) ring.emplace_back(w * k / n, 0);
    for (int k = 0; k < n; ++k) ring.emplace_back(w, hgt * k / n);
    for (int k = 0; k < n; ++k) ring.emplace_back(w - w * k / n, hgt);
    for (int k = 0; k < n; ++k) ring.emplace_back(0, hgt - hgt * k / n);
    for (const auto& p : ring) {
      auto g = geo.to_wgs84(p - cv::Point2d(0.5, 0.5));
      if (!g) return unreadable("the raster's corners cannot be transformed to WGS 84");
      info.footprint.push_back(*g);
    }
    const auto area = geo.pixel_area_m2(cv::Point2d(w / 2, hgt / 2));
    if (!area || !(*area > 0)) return unreadable("the raster's pixel size cannot be determined");
    info.ground_resolution_m = std::sqrt(*area);
    return Status::Ok();
  }

  // Reads the window (x, y, ww, wh) into bw × bh pixels as 8-bit (BGR or grey), stretched.
  Result<cv::Mat> read_window(int x, int y, int ww, int wh, int bw, int bh) {
    const int nb = static_cast<int>(band_map.size());
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = (bw < ww || bh < wh) ? GRIORA_Average : GRIORA_NearestNeighbour;
    QuietGdal quiet;
    if (byte_data) {
      cv::Mat out(bh, bw, CV_8UC(nb));
      const CPLErr err = gdal().GDALDatasetRasterIOEx(
          handle(), GF_Read, x, y, ww, wh, out.data, bw, bh, GDT_Byte, nb, band_map.data(), nb,
          static_cast<GSpacing>(out.step[0]), 1, &extra);
      if (err != CE_None) return unreadable("the raster's pixels cannot be read (corrupt file?)");
      return out;
    }
    cv::Mat f(bh, bw, CV_32FC(nb));
    const CPLErr err =
        gdal().GDALDatasetRasterIOEx(handle(), GF_Read, x, y, ww, wh, f.data, bw, bh, GDT_Float32,
                                     nb, band_map.data(), static_cast<GSpacing>(nb * sizeof(float)),
                                     static_cast<GSpacing>(f.step[0]), sizeof(float), &extra);
    if (err != CE_None) return unreadable("the raster's pixels cannot be read (corrupt file?)");
    if (stretch.empty()) {
      if (auto s = compute_stretch(); !s) return s.error();
    }
    std::vector<cv::Mat> planes;
    cv::split(f, planes);
    for (int b = 0; b < nb; ++b) {
      cv::Mat bad = planes[b] != planes[b];  // NaN
      if (nodata[b]) bad |= planes[b] == static_cast<float>(*nodata[b]);
      const auto [lo, hi] = stretch[b];
      cv::Mat u8;
      planes[b].convertTo(u8, CV_8U, 255.0 / (hi - lo), -lo * 255.0 / (hi - lo));
      u8.setTo(0, bad);
      planes[b] = u8;
    }
    cv::Mat out;
    cv::merge(planes, out);
    return out;
  }

  // 2nd–98th percentile per band, from a copy of at most 1024 px on the longer side.
  Status compute_stretch() {
    const double s = std::min(1.0, 1024.0 / std::max(info.width, info.height));
    const int bw = std::max(1, static_cast<int>(std::lround(info.width * s)));
    const int bh = std::max(1, static_cast<int>(std::lround(info.height * s)));
    const int nb = static_cast<int>(band_map.size());
    cv::Mat f(bh, bw, CV_32FC(nb));
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = GRIORA_NearestNeighbour;  // no-data values must stay themselves
    const CPLErr err = gdal().GDALDatasetRasterIOEx(
        handle(), GF_Read, 0, 0, info.width, info.height, f.data, bw, bh, GDT_Float32, nb,
        band_map.data(), static_cast<GSpacing>(nb * sizeof(float)),
        static_cast<GSpacing>(f.step[0]), sizeof(float), &extra);
    if (err != CE_None) return unreadable("the raster's pixels cannot be read (corrupt file?)");
    std::vector<cv::Mat> planes;
    cv::split(f, planes);
    stretch.clear();
    for (int b = 0; b < nb; ++b) {
      std::vector<float> v;
      v.reserve(planes[b].total());
      for (int r = 0; r < planes[b].rows; ++r) {
        const float* p = planes[b].ptr<float>(r);
        for (int c = 0; c < planes[b].cols; ++c) {
          if (!std::isfinite(p[c])) continue;
          if (nodata[b] && p[c] == static_cast<float>(*nodata[b])) continue;
          v.push_back(p[c]);
        }
      }
      double lo = 0, hi = 1;
      if (!v.empty()) {
        auto at = [&](double q) {
          auto it = v.begin() + static_cast<std::ptrdiff_t>(q * static_cast<double>(v.size() - 1));
          std::nth_element(v.begin(), it, v.end());
          return static_cast<double>(*it);
        };
        lo = at(0.02);
        hi = at(0.98);
      }
      if (!(hi > lo)) hi = lo + 1;
      stretch.emplace_back(lo, hi);
    }
    return Status::Ok();
  }
};

Raster::Raster(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Raster::Raster(Raster&&) noexcept = default;
Raster& Raster::operator=(Raster&&) noexcept = default;
Raster::~Raster() = default;

const RasterInfo& Raster::info() const { return impl_->info; }
const GeoReference& Raster::georeference() const { return impl_->geo; }

Result<Raster> Raster::open_geotiff(const std::string& path, const RasterOptions& options) {
  static const char* const kDrivers[] = {"GTiff", nullptr};
  auto ds = open_dataset(path, kDrivers, "GeoTIFF");
  if (!ds) return ds.error();
  auto impl = std::make_unique<Impl>();
  impl->ds = std::move(*ds);
  if (auto s = impl->load_basics(options); !s) return s.error();
  GDALDatasetH h = impl->handle();
  std::array<double, 6> gt{};
  {
    QuietGdal quiet;
    if (gdal().GDALGetGeoTransform(h, gt.data()) != CE_None) {
      return unreadable("the GeoTIFF has no geotransform");
    }
  }
  const double det = gt[1] * gt[5] - gt[2] * gt[4];
  if (!std::isfinite(det) || det == 0.0)
    return unreadable("the GeoTIFF's geotransform is singular");
  OGRSpatialReferenceH raster_srs_ref = gdal().GDALGetSpatialRef(h);
  if (raster_srs_ref == nullptr)
    return unreadable("the GeoTIFF has no coordinate reference system");
  SrsPtr raster_srs(gdal().OSRClone(raster_srs_ref));
  gdal().OSRSetAxisMappingStrategy(static_cast<OGRSpatialReferenceH>(raster_srs.get()),
                                   OAMS_TRADITIONAL_GIS_ORDER);
  SrsPtr wgs84 = epsg_srs(4326);
  SrsPtr mercator = epsg_srs(3857);
  if (!wgs84 || !mercator) {
    return Error(Code::kInternal, "the PROJ database has no EPSG:4326 or EPSG:3857", kField);
  }
  std::shared_ptr<Transform> to_wgs84, from_mercator;
  {
    QuietGdal quiet;
    to_wgs84 = make_transform(static_cast<OGRSpatialReferenceH>(raster_srs.get()),
                              static_cast<OGRSpatialReferenceH>(wgs84.get()));
    from_mercator = make_transform(static_cast<OGRSpatialReferenceH>(mercator.get()),
                                   static_cast<OGRSpatialReferenceH>(raster_srs.get()));
  }
  if (!to_wgs84 || !from_mercator) {
    return unreadable("the GeoTIFF's coordinate reference system cannot be transformed to WGS 84");
  }
  impl->info.geotransform = gt;
  impl->info.crs_wkt = srs_wkt(static_cast<OGRSpatialReferenceH>(raster_srs.get()));
  impl->geo = GeoReference::from_geotransform(
      gt, [t = to_wgs84](double x, double y) -> std::optional<geo::GeoPoint> {
        std::vector<double> xs{x}, ys{y};
        std::vector<int> ok;
        t->run(xs, ys, ok);
        if (!ok[0]) return std::nullopt;
        return geo::GeoPoint{ys[0], xs[0], std::nullopt};
      });
  impl->crs_to_pixel = impl->geo.pixel_to_crs.inv();
  impl->from_mercator = std::move(from_mercator);
  if (auto s = impl->load_footprint(options); !s) return s.error();
  return Raster(std::move(impl));
}

Result<Raster> Raster::open_with_corners(const std::string& path,
                                         const std::array<geo::GeoPoint, 4>& corners,
                                         const RasterOptions& options) {
  static const char* const kDrivers[] = {"PNG", "JPEG", nullptr};
  auto ds = open_dataset(path, kDrivers, "PNG or JPEG image");
  if (!ds) return ds.error();
  auto impl = std::make_unique<Impl>();
  impl->ds = std::move(*ds);
  if (auto s = impl->load_basics(options); !s) return s.error();
  auto geo = GeoReference::from_corners(impl->info.width, impl->info.height, corners);
  if (!geo) return geo.error();
  impl->geo = std::move(*geo);
  SrsPtr wgs84 = epsg_srs(4326);
  SrsPtr mercator = epsg_srs(3857);
  if (!wgs84 || !mercator) {
    return Error(Code::kInternal, "the PROJ database has no EPSG:4326 or EPSG:3857", kField);
  }
  {
    QuietGdal quiet;
    impl->from_mercator = make_transform(static_cast<OGRSpatialReferenceH>(mercator.get()),
                                         static_cast<OGRSpatialReferenceH>(wgs84.get()));
  }
  if (!impl->from_mercator)
    return Error(Code::kInternal, "no EPSG:3857 -> WGS 84 transform", kField);
  impl->info.crs_wkt = srs_wkt(static_cast<OGRSpatialReferenceH>(wgs84.get()));
  impl->crs_to_pixel = impl->geo.pixel_to_crs.inv();
  if (auto s = impl->load_footprint(options); !s) return s.error();
  return Raster(std::move(impl));
}

Result<cv::Mat> Raster::read(int max_side) {
  const RasterInfo& in = impl_->info;
  double s = 1.0;
  if (max_side > 0 && std::max(in.width, in.height) > max_side) {
    s = static_cast<double>(max_side) / std::max(in.width, in.height);
  }
  const int bw = std::max(1, static_cast<int>(std::lround(in.width * s)));
  const int bh = std::max(1, static_cast<int>(std::lround(in.height * s)));
  return impl_->read_window(0, 0, in.width, in.height, bw, bh);
}

Result<std::vector<std::uint8_t>> Raster::render_tile(const geo::TileId& tile) {
  const geo::TileBounds b = geo::tile_bounds(tile);
  auto merc_x = [](double lon) { return kEarthRadius * lon * kPi / 180.0; };
  auto merc_y = [](double lat) {
    return kEarthRadius * std::log(std::tan(kPi / 4 + lat * kPi / 360.0));
  };
  const double x0 = merc_x(b.west), x1 = merc_x(b.east);
  const double y0 = merc_y(b.north), y1 = merc_y(b.south);
  constexpr int n = kTileSize * kTileSize;
  std::vector<double> xs(n), ys(n);
  for (int j = 0; j < kTileSize; ++j) {
    for (int i = 0; i < kTileSize; ++i) {
      xs[j * kTileSize + i] = x0 + (i + 0.5) / kTileSize * (x1 - x0);
      ys[j * kTileSize + i] = y0 + (j + 0.5) / kTileSize * (y1 - y0);
    }
  }
  std::vector<int> ok;
  impl_->from_mercator->run(xs, ys, ok);

  const RasterInfo& in = impl_->info;
  const cv::Matx33d& m = impl_->crs_to_pixel;
  std::vector<double> us(n), vs(n);
  std::vector<unsigned char> inside(n, 0);
  double umin = in.width, umax = 0, vmin = in.height, vmax = 0;
  for (int k = 0; k < n; ++k) {
    if (!ok[k]) continue;
    const double w = m(2, 0) * xs[k] + m(2, 1) * ys[k] + m(2, 2);
    if (std::abs(w) < 1e-15) continue;
    const double u = (m(0, 0) * xs[k] + m(0, 1) * ys[k] + m(0, 2)) / w;
    const double v = (m(1, 0) * xs[k] + m(1, 1) * ys[k] + m(1, 2)) / w;
    if (!(u >= 0 && u < in.width && v >= 0 && v < in.height)) continue;
    inside[k] = 1;
    us[k] = u;
    vs[k] = v;
    umin = std::min(umin, u);
    umax = std::max(umax, u);
    vmin = std::min(vmin, v);
    vmax = std::max(vmax, v);
  }
  cv::Mat rgba(kTileSize, kTileSize, CV_8UC4, cv::Scalar(0, 0, 0, 0));
  if (umax >= umin && vmax >= vmin) {
    const int wx = std::max(0, static_cast<int>(std::floor(umin)) - 1);
    const int wy = std::max(0, static_cast<int>(std::floor(vmin)) - 1);
    const int wx1 = std::min(in.width, static_cast<int>(std::ceil(umax)) + 2);
    const int wy1 = std::min(in.height, static_cast<int>(std::ceil(vmax)) + 2);
    const int ww = wx1 - wx, wh = wy1 - wy;
    const double s = std::min(1.0, 2.0 * kTileSize / std::max(ww, wh));
    const int bw = std::max(1, static_cast<int>(std::lround(ww * s)));
    const int bh = std::max(1, static_cast<int>(std::lround(wh * s)));
    auto window = impl_->read_window(wx, wy, ww, wh, bw, bh);
    if (!window) return window.error();
    cv::Mat map_x(kTileSize, kTileSize, CV_32F), map_y(kTileSize, kTileSize, CV_32F);
    const double sx = static_cast<double>(bw) / ww, sy = static_cast<double>(bh) / wh;
    for (int k = 0; k < n; ++k) {
      const int r = k / kTileSize, c = k % kTileSize;
      // Buffer pixel i covers window [i/sx, (i+1)/sx): its centre (OpenCV's i) is at (i+0.5)/sx.
      map_x.at<float>(r, c) = inside[k] ? static_cast<float>((us[k] - wx) * sx - 0.5) : -1e4f;
      map_y.at<float>(r, c) = inside[k] ? static_cast<float>((vs[k] - wy) * sy - 0.5) : -1e4f;
    }
    cv::Mat sampled;
    cv::remap(*window, sampled, map_x, map_y, cv::INTER_LINEAR, cv::BORDER_REPLICATE);
    cv::Mat bgra;
    cv::cvtColor(sampled, bgra, sampled.channels() == 1 ? cv::COLOR_GRAY2BGRA : cv::COLOR_BGR2BGRA);
    const cv::Mat alpha(kTileSize, kTileSize, CV_8U, inside.data());
    bgra.copyTo(rgba, alpha);
  }
  auto png = encode_png(rgba);
  if (!png.ok()) return Error(Code::kInternal, "could not encode the tile PNG", kField);
  return std::move(*png);
}

Result<cv::Mat> read_picture(const std::string& path) {
  static const char* const kDrivers[] = {"PNG", "JPEG", nullptr};
  auto ds = open_dataset(path, kDrivers, "PNG or JPEG image");
  if (!ds) return ds.error();
  const auto h = static_cast<GDALDatasetH>(ds->get());
  const int width = gdal().GDALGetRasterXSize(h);
  const int height = gdal().GDALGetRasterYSize(h);
  const int bands = gdal().GDALGetRasterCount(h);
  if (width <= 0 || height <= 0 || bands <= 0) return unreadable("an empty picture");
  GDALRasterBandH first = gdal().GDALGetRasterBand(h, 1);
  if (gdal().GDALGetRasterDataType(first) != GDT_Byte) return unreadable("not an 8-bit picture");
  if (gdal().GDALGetRasterColorInterpretation(first) == GCI_PaletteIndex) {
    return unreadable("a picture with a palette");
  }
  // Bands R, G, B (and alpha, left out) into B, G, R; a grey picture (with or without alpha)
  // into all three.
  int band_map[3] = {3, 2, 1};
  if (bands < 3) band_map[0] = band_map[1] = band_map[2] = 1;
  cv::Mat bgr(height, width, CV_8UC3);
  QuietGdal quiet;
  const CPLErr err = gdal().GDALDatasetRasterIOEx(h, GF_Read, 0, 0, width, height, bgr.data, width,
                                                  height, GDT_Byte, 3, band_map, 3,
                                                  static_cast<GSpacing>(bgr.step[0]), 1, nullptr);
  if (err != CE_None) return unreadable("the picture cannot be decoded");
  return bgr;
}

}  // namespace cw::pipeline
