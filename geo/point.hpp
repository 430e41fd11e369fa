// GeoPoint: a WGS-84 position, the value every geo/ function takes and returns.
//
// A plain struct; the functions that make and use it live in iso6709.hpp, geodesic.hpp,
// sun.hpp and tiles.hpp. Latitude and longitude are decimal degrees (north and east positive).
// Altitude is metres, as the source gave it (ISO 6709 leaves the vertical datum to the CRS, and
// phones write height above the ellipsoid or above sea level); it is empty when absent.
#pragma once

#include <optional>

namespace cw::geo {

inline constexpr double kMaxLatitude = 90.0;
inline constexpr double kMaxLongitude = 180.0;

struct GeoPoint {
  double lat = 0.0;
  double lon = 0.0;
  std::optional<double> alt;

  friend bool operator==(const GeoPoint&, const GeoPoint&) = default;
};

}  // namespace cw::geo
