// Tests for geo/geodesic against independent reference values.
//
// References come from PROJ's geodesic code (a separate C implementation of Karney's algorithm),
// through Debian's python3-pyproj 3.4.1 / PROJ 9.1.1:
//   from pyproj import Geod; g = Geod(ellps='WGS84')
//   g.inv(lon1, lat1, lon2, lat2) -> (az12, az21, distance_m)
//   g.fwd(lon, lat, az, distance_m) -> (lon2, lat2, back_az)
// pyproj gives azimuths in (-180, 180]; the expected bearings below are the same angles in
// [0, 360). The two implementations agree to well under a micrometre.
#include "geo/geodesic.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace cw::geo {
namespace {

constexpr GeoPoint kKyiv{50.4501, 30.5234, std::nullopt};
constexpr GeoPoint kKharkiv{49.9935, 36.2304, std::nullopt};
constexpr GeoPoint kBelgorod{50.5997, 36.5983, std::nullopt};

constexpr double kMetreTolerance = 1e-6;
constexpr double kDegreeTolerance = 1e-9;

struct InverseCase {
  const char* name;
  GeoPoint a;
  GeoPoint b;
  double distance_m;
  double bearing_deg;
};

TEST(GeodesicTest, MatchesPyprojInverse) {
  const InverseCase kCases[] = {
      // g.inv(30.5234, 50.4501, 36.2304, 49.9935)
      //   -> (94.90864192463192, -80.7038508040275, 410332.278790928)
      {"Kyiv-Kharkiv", kKyiv, kKharkiv, 410332.278790928, 94.90864192463192},
      // g.inv(36.5983, 50.5997, 36.2304, 49.9935)
      //   -> (-158.61426792481257, 21.1026795589282, 72346.56499101089)
      {"Belgorod-Kharkiv", kBelgorod, kKharkiv, 72346.56499101089, 360 - 158.61426792481257},
      // g.inv(36.2304, 49.9935, 36.5983, 50.5997)
      //   -> (21.102679558928212, -158.61426792481257, 72346.56499101089)
      {"Kharkiv-Belgorod", kKharkiv, kBelgorod, 72346.56499101089, 21.102679558928212},
      // g.inv(-170, 10, 170, 10) -> (-88.24610217828312, 88.24610217828312, 2192447.564666481)
      {"across the antimeridian",
       {10, -170, std::nullopt},
       {10, 170, std::nullopt},
       2192447.564666481,
       360 - 88.24610217828312},
      // g.inv(0, 0, 179.7, 0.5) -> (15.556882793490542, -15.55748610914506, 19944127.420750458)
      {"nearly antipodal",
       {0, 0, std::nullopt},
       {0.5, 179.7, std::nullopt},
       19944127.420750458,
       15.556882793490542},
  };
  for (const InverseCase& c : kCases) {
    SCOPED_TRACE(c.name);
    EXPECT_NEAR(distance_m(c.a, c.b), c.distance_m, kMetreTolerance);
    EXPECT_NEAR(initial_bearing_deg(c.a, c.b), c.bearing_deg, kDegreeTolerance);
  }
}

TEST(GeodesicTest, IgnoresAltitude) {
  const GeoPoint high{kKyiv.lat, kKyiv.lon, 8000.0};
  EXPECT_EQ(distance_m(high, kKharkiv), distance_m(kKyiv, kKharkiv));
}

TEST(GeodesicTest, CoincidentPointsHaveZeroDistanceAndBearing) {
  EXPECT_EQ(distance_m(kKharkiv, kKharkiv), 0.0);
  EXPECT_EQ(initial_bearing_deg(kKharkiv, kKharkiv), 0.0);
}

TEST(GeodesicTest, BearingsStayInRange) {
  // Due north, east, south and west of Kharkiv.
  EXPECT_NEAR(initial_bearing_deg(kKharkiv, {51.0, 36.2304, std::nullopt}), 0.0, 1e-9);
  EXPECT_NEAR(initial_bearing_deg(kKharkiv, {49.0, 36.2304, std::nullopt}), 180.0, 1e-9);
  const double west = initial_bearing_deg(kKharkiv, {49.9935, 35.0, std::nullopt});
  EXPECT_GT(west, 270.0);  // a geodesic between points on one parallel leaves poleward
  EXPECT_LT(west, 360.0);
}

struct DirectCase {
  const char* name;
  GeoPoint start;
  double bearing_deg;
  double distance_m;
  double lat;
  double lon;
};

TEST(GeodesicTest, MatchesPyprojDirect) {
  const DirectCase kCases[] = {
      // g.fwd(36.2304, 49.9935, 15.0, 40000.0) -> (36.3758282523693, 50.340763861435974, ...)
      {"Kharkiv 15 deg 40 km", kKharkiv, 15.0, 40000.0, 50.340763861435974, 36.3758282523693},
      // g.fwd(179.9, 10.0, 90.0, 50000.0) -> (-179.64395970291315, 9.999687605741055, ...)
      {"east over the antimeridian",
       {10.0, 179.9, std::nullopt},
       90.0,
       50000.0,
       9.999687605741055,
       -179.64395970291315},
      // g.fwd(30.5234, 50.4501, -45.0, 1000000.0) -> (19.07251921600352, 56.29865080635038, ...)
      {"Kyiv 1000 km north-west", kKyiv, -45.0, 1000000.0, 56.29865080635038, 19.07251921600352},
      {"same bearing written as 315", kKyiv, 315.0, 1000000.0, 56.29865080635038,
       19.07251921600352},
  };
  for (const DirectCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const GeoPoint p = destination(c.start, c.bearing_deg, c.distance_m);
    EXPECT_NEAR(p.lat, c.lat, kDegreeTolerance);
    EXPECT_NEAR(p.lon, c.lon, kDegreeTolerance);
    EXPECT_FALSE(p.alt.has_value());
  }
}

TEST(GeodesicTest, DestinationInvertsDistanceAndBearing) {
  const GeoPoint p = destination(kBelgorod, initial_bearing_deg(kBelgorod, kKharkiv),
                                 distance_m(kBelgorod, kKharkiv));
  EXPECT_NEAR(p.lat, kKharkiv.lat, 1e-12);
  EXPECT_NEAR(p.lon, kKharkiv.lon, 1e-12);
}

TEST(GeodesicTest, AngleDiff) {
  const struct {
    double a, b, expected;
  } kCases[] = {
      {350, 10, 20},     {10, 350, 20},        {0, 180, 180},   {180, 0, 180},  {90, 90, 0},
      {-10, 10, 20},     {370, 10, 0},         {0, 359.5, 0.5}, {765, -45, 90}, {-720, 720, 0},
      {1e300, 1e300, 0}, {45.25, 225.25, 180}, {200, 10, 170},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.a << " vs " << c.b);
    EXPECT_NEAR(angle_diff_deg(c.a, c.b), c.expected, 1e-12);
  }
  EXPECT_TRUE(std::isnan(angle_diff_deg(std::numeric_limits<double>::quiet_NaN(), 0)));
  EXPECT_TRUE(std::isnan(angle_diff_deg(0, std::numeric_limits<double>::infinity())));
}

}  // namespace
}  // namespace cw::geo
