// Reference imagery files, read with GDAL: a GeoTIFF in any CRS that GDAL/PROJ know, or a PNG or
// JPEG georeferenced by explicit corner coordinates. Gives the size, bands, geotransform, CRS and
// the footprint in WGS 84; reads the pixels as an 8-bit cv::Mat; renders Web-Mercator XYZ tiles
// (geo/tiles.hpp) as 256×256 RGBA PNGs, transparent outside the raster.
//
// Files are untrusted uploads: only the GTiff, PNG and JPEG drivers are allowed, no sibling
// files are looked at, GDAL's virtual file systems (/vsicurl/ …) are refused, the pixel count is
// bounded, and every failure is an error value (kUnprocessable, field "file") whose text never
// contains GDAL's own message. GDAL's types stay in raster.cpp.
//
// Thread-safety: a Raster holds an open GDAL dataset and must be used by one thread at a time;
// open one Raster per thread to work in parallel. The GeoReference it hands out may be used from
// any thread (its transformation is guarded by a mutex) and stays valid after the Raster is gone.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "common/error.hpp"
#include "geo/point.hpp"
#include "geo/tiles.hpp"
#include "pipeline/imagery.hpp"

namespace cw::pipeline {

struct RasterInfo {
  std::string driver;  // "GTiff", "PNG", "JPEG"
  int width = 0;
  int height = 0;
  int bands = 0;
  std::string data_type;  // GDAL's name of band 1's type: "Byte", "UInt16", "Float32", …
  // GDAL geotransform of a GeoTIFF (pixel corner (col, row) -> CRS x, y); for an image
  // georeferenced by corners, the affine fit is not meaningful and this is all zero.
  std::array<double, 6> geotransform{};
  std::string crs_wkt;  // the CRS as WKT (WGS 84's for corner-georeferenced images)
  // The outline in WGS 84 (lat, lon), clockwise on the image from its top-left corner, each edge
  // densified to points_per_edge points (so curved reprojected edges stay close); not closed.
  std::vector<geo::GeoPoint> footprint;
  // Ground size of a pixel at the image centre, metres (square root of its area).
  double ground_resolution_m = 0.0;
};

struct RasterOptions {
  // Refuse rasters with more pixels than this (decompression bombs).
  std::int64_t max_pixels = 30000LL * 30000LL;
  int points_per_edge = 8;
};

// A PNG or JPEG picture as 8-bit BGR (grey spread over the three channels, alpha left out), read
// with GDAL's drivers: what cv::imread(IMREAD_COLOR) gives for such files (a PNG with a palette
// is refused), without linking OpenCV's imgcodecs. Errors as the Raster constructors' (field
// "file").
Result<cv::Mat> read_picture(const std::string& path);

class Raster {
 public:
  // Opens a GeoTIFF. Errors (kUnprocessable, field "file"): not a readable GeoTIFF, no
  // geotransform or CRS, a CRS that cannot be transformed to WGS 84, too many pixels; kNotFound
  // when the path does not exist.
  static Result<Raster> open_geotiff(const std::string& path, const RasterOptions& options = {});
  // Opens a PNG or JPEG whose outer corners lie at `corners` (top-left, top-right, bottom-right,
  // bottom-left). Errors as open_geotiff, plus GeoReference::from_corners's.
  static Result<Raster> open_with_corners(const std::string& path,
                                          const std::array<geo::GeoPoint, 4>& corners,
                                          const RasterOptions& options = {});

  Raster(Raster&&) noexcept;
  Raster& operator=(Raster&&) noexcept;
  ~Raster();

  const RasterInfo& info() const;
  // Pixel -> WGS 84 for images read at full size; for a copy read with max_side, scale the pixel
  // coordinates by info().width / image.cols first.
  const GeoReference& georeference() const;

  // The pixels as 8-bit BGR (3 or more bands: bands 1, 2, 3 taken as R, G, B) or grey (1 or 2
  // bands), reduced so that the longer side is at most max_side (0: full size). Other data types
  // are stretched per band from the 2nd to the 98th percentile (no-data values left out), the
  // same stretch for every read and tile.
  Result<cv::Mat> read(int max_side = 0);

  // The Web-Mercator tile as a 256×256 RGBA PNG: the raster resampled (bilinear) where it covers
  // the tile, transparent elsewhere. A tile that misses the raster is fully transparent.
  Result<std::vector<std::uint8_t>> render_tile(const geo::TileId& tile);

 private:
  struct Impl;
  explicit Raster(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cw::pipeline
