// Distances and bearings on the WGS-84 ellipsoid (Karney's geodesics, via GeographicLib).
//
// Exact to a few nanometres at any distance, antipodes included, which matters when an
// observation's "km to the border" is published as evidence. Altitude is ignored: every point is
// taken on the ellipsoid surface. These functions are pure and thread-safe.
// REQUIRES for every GeoPoint argument: lat in [-90, 90], lon finite; otherwise results are NaN.
#pragma once

#include "geo/point.hpp"

namespace cw::geo {

// Length of the shortest geodesic from a to b, in metres.
double distance_m(const GeoPoint& a, const GeoPoint& b);

// Direction of the geodesic as it leaves a towards b: degrees clockwise from true north, in
// [0, 360). 0 when a and b coincide.
double initial_bearing_deg(const GeoPoint& a, const GeoPoint& b);

// Both of the above from one solution of the inverse problem (the same values, half the cost).
struct DistanceBearing {
  double distance_m = 0.0;
  double initial_bearing_deg = 0.0;
};
DistanceBearing distance_and_bearing(const GeoPoint& a, const GeoPoint& b);

// The point reached by going distance_m metres from start along the geodesic whose initial
// bearing is bearing_deg (degrees clockwise from north; any finite value, taken modulo 360).
// Negative distances go backwards. The result has lon in [-180, 180] and no altitude.
GeoPoint destination(const GeoPoint& start, double bearing_deg, double distance_m);

// Smallest absolute difference between two headings in degrees, in [0, 180]: 350 and 10 are 20
// apart. Any finite inputs; NaN if either is not finite.
double angle_diff_deg(double a_deg, double b_deg);

}  // namespace cw::geo
