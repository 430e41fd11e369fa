// Web-Mercator XYZ tiles (the OpenStreetMap / "slippy map" scheme, EPSG:3857).
//
// The dashboard asks for observations tile by tile (`/tiles/{z}/{x}/{y}`); these functions check
// such an address and give the area it covers. Tile (0, 0) is the north-west corner; y grows
// southwards. These functions are pure and thread-safe.
#pragma once

#include <cstdint>

#include "common/error.hpp"
#include "geo/point.hpp"

namespace cw::geo {

inline constexpr int kMaxZoom = 22;
// Latitude of the top and bottom edges of the square Mercator world: atan(sinh(pi)) in degrees.
inline constexpr double kMaxMercatorLatitude = 85.05112877980659;

struct TileId {
  int z = 0;
  int x = 0;
  int y = 0;

  friend bool operator==(const TileId&, const TileId&) = default;
};

// Degrees; west < east and south < north for every valid tile.
struct TileBounds {
  double west = 0.0;
  double south = 0.0;
  double east = 0.0;
  double north = 0.0;
};

// Validates a tile address: z in [0, kMaxZoom], x and y in [0, 2^z). Takes 64-bit values so
// that a caller can pass whatever it parsed from a URL without narrowing it first. Errors are
// kUnprocessable with field "z", "x" or "y".
Result<TileId> make_tile_id(std::int64_t z, std::int64_t x, std::int64_t y);

// The area a tile covers. REQUIRES: `tile` came from make_tile_id or tile_for.
TileBounds tile_bounds(const TileId& tile);

// Validates and returns the bounds in one step.
Result<TileBounds> tile_bounds(std::int64_t z, std::int64_t x, std::int64_t y);

// The tile at zoom z that contains `point`. A point on a tile edge belongs to the tile east or
// south of it, except on the map's east and south edges; latitudes beyond ±kMaxMercatorLatitude
// fall in the first or last row. Errors are kUnprocessable with field "z", "lat" or "lon".
Result<TileId> tile_for(const GeoPoint& point, std::int64_t z);

}  // namespace cw::geo
