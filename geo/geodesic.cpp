// Thin wrappers over GeographicLib::Geodesic::WGS84(), which keeps GeographicLib's headers out
// of geo/'s public surface and fixes the conventions (bearing range, altitude) in one place.
#include "geo/geodesic.hpp"

#include <GeographicLib/Geodesic.hpp>

#include <cmath>

namespace cw::geo {
namespace {

// WGS84() is a function-local static built once, and Inverse/Direct are const, so concurrent
// callers share it safely.
const GeographicLib::Geodesic& wgs84() { return GeographicLib::Geodesic::WGS84(); }

double wrap_360(double deg) {
  double r = std::fmod(deg, 360.0);
  if (r < 0.0) r += 360.0;
  // fmod of a tiny negative value plus 360 rounds to exactly 360.
  return r >= 360.0 ? 0.0 : r;
}

}  // namespace

double distance_m(const GeoPoint& a, const GeoPoint& b) {
  double s12 = 0.0;
  wgs84().Inverse(a.lat, a.lon, b.lat, b.lon, s12);
  return s12;
}

double initial_bearing_deg(const GeoPoint& a, const GeoPoint& b) {
  double s12 = 0.0;
  double azi1 = 0.0;
  double azi2 = 0.0;
  wgs84().Inverse(a.lat, a.lon, b.lat, b.lon, s12, azi1, azi2);
  // For coincident points GeographicLib still picks an azimuth (0 or 180); make it predictable.
  if (s12 == 0.0) return 0.0;
  return wrap_360(azi1);
}

DistanceBearing distance_and_bearing(const GeoPoint& a, const GeoPoint& b) {
  double s12 = 0.0;
  double azi1 = 0.0;
  double azi2 = 0.0;
  wgs84().Inverse(a.lat, a.lon, b.lat, b.lon, s12, azi1, azi2);
  return {s12, s12 == 0.0 ? 0.0 : wrap_360(azi1)};
}

GeoPoint destination(const GeoPoint& start, double bearing_deg, double distance_m) {
  GeoPoint out;
  wgs84().Direct(start.lat, start.lon, bearing_deg, distance_m, out.lat, out.lon);
  return out;
}

double angle_diff_deg(double a_deg, double b_deg) {
  // Reducing each first keeps a - b finite for huge inputs.
  double d = std::fabs(std::fmod(std::fmod(a_deg, 360.0) - std::fmod(b_deg, 360.0), 360.0));
  return d > 180.0 ? 360.0 - d : d;
}

}  // namespace cw::geo
