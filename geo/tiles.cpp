// Web-Mercator tile arithmetic: the formulas of the OSM wiki's "Slippy map tilenames", with the
// range checks a URL-supplied address needs.
#include "geo/tiles.hpp"

#include <algorithm>
#include <cmath>
#include <string>

namespace cw::geo {
namespace {

constexpr double kPi = 3.14159265358979323846;

Error unprocessable(std::string detail, std::string field) {
  return Error(Code::kUnprocessable, std::move(detail), std::move(field));
}

Status check_zoom(std::int64_t z) {
  if (z < 0 || z > kMaxZoom) {
    return unprocessable("zoom must be between 0 and " + std::to_string(kMaxZoom), "z");
  }
  return Status::Ok();
}

// Latitude of the top edge of tile row y at zoom z (row 2^z gives the map's bottom edge).
double row_top_lat(double y, double n) {
  return std::atan(std::sinh(kPi * (1.0 - 2.0 * y / n))) * 180.0 / kPi;
}

}  // namespace

Result<TileId> make_tile_id(std::int64_t z, std::int64_t x, std::int64_t y) {
  if (Status s = check_zoom(z); !s.ok()) return s.error();
  const std::int64_t n = std::int64_t{1} << z;
  const std::string range =
      " must be between 0 and " + std::to_string(n - 1) + " at zoom " + std::to_string(z);
  if (x < 0 || x >= n) return unprocessable("tile x" + range, "x");
  if (y < 0 || y >= n) return unprocessable("tile y" + range, "y");
  return TileId{static_cast<int>(z), static_cast<int>(x), static_cast<int>(y)};
}

TileBounds tile_bounds(const TileId& tile) {
  const double n = std::ldexp(1.0, tile.z);
  TileBounds b;
  b.west = tile.x / n * 360.0 - 180.0;
  b.east = (tile.x + 1) / n * 360.0 - 180.0;
  b.north = row_top_lat(tile.y, n);
  b.south = row_top_lat(tile.y + 1, n);
  return b;
}

Result<TileBounds> tile_bounds(std::int64_t z, std::int64_t x, std::int64_t y) {
  auto tile = make_tile_id(z, x, y);
  if (!tile.ok()) return tile.error();
  return tile_bounds(*tile);
}

Result<TileId> tile_for(const GeoPoint& point, std::int64_t z) {
  if (Status s = check_zoom(z); !s.ok()) return s.error();
  if (!(point.lat >= -kMaxLatitude && point.lat <= kMaxLatitude)) {
    return unprocessable("latitude must be between -90 and 90 degrees", "lat");
  }
  if (!(point.lon >= -kMaxLongitude && point.lon <= kMaxLongitude)) {
    return unprocessable("longitude must be between -180 and 180 degrees", "lon");
  }
  const double n = std::ldexp(1.0, static_cast<int>(z));
  const double lat = std::clamp(point.lat, -kMaxMercatorLatitude, kMaxMercatorLatitude);
  const double fx = (point.lon + 180.0) / 360.0 * n;
  const double fy = (1.0 - std::asinh(std::tan(lat * kPi / 180.0)) / kPi) / 2.0 * n;
  // Clamping puts lon 180 and the map's bottom edge into the last column and row.
  const double last = n - 1.0;
  const int x = static_cast<int>(std::clamp(std::floor(fx), 0.0, last));
  const int y = static_cast<int>(std::clamp(std::floor(fy), 0.0, last));
  return TileId{static_cast<int>(z), x, y};
}

}  // namespace cw::geo
