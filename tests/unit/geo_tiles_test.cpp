// Tests for geo/tiles. Expected tile numbers were computed independently of the slippy-map
// formulas, by projecting with PROJ (Debian python3-pyproj 3.4.1, PROJ 9.1.1) and dividing the
// square Mercator world into 2^z tiles:
//   t = Transformer.from_crs("EPSG:4326", "EPSG:3857", always_xy=True); x, y = t.transform(lon,
//   lat) tx = floor((x + pi*R) / (2*pi*R) * 2**z); ty = floor((pi*R - y) / (2*pi*R) * 2**z), R =
//   6378137
// and the Kyiv tile's corners by transforming them back with EPSG:3857 -> EPSG:4326.
#include "geo/tiles.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace cw::geo {
namespace {

TEST(TilesTest, WorldTileCoversTheMercatorSquare) {
  const TileBounds b = tile_bounds(TileId{0, 0, 0});
  EXPECT_DOUBLE_EQ(b.west, -180.0);
  EXPECT_DOUBLE_EQ(b.east, 180.0);
  EXPECT_NEAR(b.north, 85.0511287798066, 1e-12);
  EXPECT_NEAR(b.south, -85.0511287798066, 1e-12);
}

TEST(TilesTest, BoundsAtZoomOne) {
  const TileBounds b = tile_bounds(TileId{1, 1, 0});  // north-east quarter
  EXPECT_DOUBLE_EQ(b.west, 0.0);
  EXPECT_DOUBLE_EQ(b.east, 180.0);
  EXPECT_NEAR(b.south, 0.0, 1e-12);
  EXPECT_NEAR(b.north, kMaxMercatorLatitude, 1e-12);
}

TEST(TilesTest, BoundsMatchProj) {
  // ti.transform(w, north) -> (30.23437500000001, 50.51342652633955)
  // ti.transform(e, south) -> (30.585937499999996, 50.28933925329178)
  const TileBounds b = tile_bounds(TileId{10, 598, 345});
  EXPECT_NEAR(b.west, 30.234375, 1e-9);
  EXPECT_NEAR(b.north, 50.51342652633955, 1e-9);
  EXPECT_NEAR(b.east, 30.5859375, 1e-9);
  EXPECT_NEAR(b.south, 50.28933925329178, 1e-9);
}

TEST(TilesTest, TileForMatchesProj) {
  const struct {
    const char* name;
    GeoPoint point;
    int z;
    TileId expected;
  } kCases[] = {
      {"Kyiv", {50.4501, 30.5234, std::nullopt}, 10, {10, 598, 345}},
      {"Kharkiv", {49.9935, 36.2304, std::nullopt}, 14, {14, 9840, 5557}},
      {"Belgorod", {50.5997, 36.5983, std::nullopt}, 22, {22, 2523553, 1411537}},
      {"Sydney", {-33.8688, 151.2093, std::nullopt}, 5, {5, 29, 19}},
      {"San Francisco", {37.7858, -122.4064, std::nullopt}, 12, {12, 655, 1583}},
      {"anywhere at zoom 0", {-45.0, 100.0, std::nullopt}, 0, {0, 0, 0}},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.name);
    Result<TileId> t = tile_for(c.point, c.z);
    ASSERT_TRUE(t.ok()) << t.error().to_string();
    EXPECT_EQ(*t, c.expected);
  }
}

TEST(TilesTest, EdgesFallInsideTheGrid) {
  const struct {
    GeoPoint point;
    TileId expected;
  } kCases[] = {
      {{0.0, 180.0, std::nullopt}, {3, 7, 4}},   // east edge: last column
      {{0.0, -180.0, std::nullopt}, {3, 0, 4}},  // west edge: first column
      {{0.0, 0.0, std::nullopt}, {3, 4, 4}},     // on an edge: the tile east and south of it
      {{89.0, 0.0, std::nullopt}, {3, 4, 0}},    // beyond the Mercator limit: first row
      {{90.0, 0.0, std::nullopt}, {3, 4, 0}},
      {{-90.0, 0.0, std::nullopt}, {3, 4, 7}},  // last row
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.point.lat << "," << c.point.lon);
    Result<TileId> t = tile_for(c.point, 3);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, c.expected);
  }
}

TEST(TilesTest, PointLiesInItsTile) {
  const GeoPoint kPoints[] = {{50.4501, 30.5234, std::nullopt},
                              {-33.8688, 151.2093, std::nullopt},
                              {84.9, -179.99, std::nullopt},
                              {-84.9, 179.99, std::nullopt}};
  for (const GeoPoint& p : kPoints) {
    for (int z = 0; z <= kMaxZoom; ++z) {
      SCOPED_TRACE(testing::Message() << p.lat << "," << p.lon << " z" << z);
      Result<TileId> t = tile_for(p, z);
      ASSERT_TRUE(t.ok());
      const TileBounds b = tile_bounds(*t);
      EXPECT_LE(b.west, p.lon);
      EXPECT_GT(b.east, p.lon);
      EXPECT_LT(b.south, p.lat);
      EXPECT_GE(b.north, p.lat);
    }
  }
}

TEST(TilesTest, ValidatesAddresses) {
  const struct {
    std::int64_t z, x, y;
    const char* field;  // nullptr: valid
  } kCases[] = {
      {0, 0, 0, nullptr},
      {22, 4194303, 4194303, nullptr},
      {-1, 0, 0, "z"},
      {23, 0, 0, "z"},
      {std::numeric_limits<std::int64_t>::max(), 0, 0, "z"},
      {10, -1, 0, "x"},
      {10, 1024, 0, "x"},
      {10, std::int64_t{1} << 40, 0, "x"},
      {10, 0, -1, "y"},
      {10, 1023, 1024, "y"},
      {0, 1, 0, "x"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(testing::Message() << c.z << "/" << c.x << "/" << c.y);
    Result<TileId> t = make_tile_id(c.z, c.x, c.y);
    Result<TileBounds> b = tile_bounds(c.z, c.x, c.y);
    if (c.field == nullptr) {
      ASSERT_TRUE(t.ok());
      EXPECT_EQ(*t, (TileId{static_cast<int>(c.z), static_cast<int>(c.x), static_cast<int>(c.y)}));
      EXPECT_TRUE(b.ok());
      continue;
    }
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code(), Code::kUnprocessable);
    EXPECT_EQ(t.error().field(), c.field);
    ASSERT_FALSE(b.ok());
    EXPECT_EQ(b.error().field(), c.field);
  }
  EXPECT_EQ(make_tile_id(10, 1024, 0).error().detail(),
            "tile x must be between 0 and 1023 at zoom 10");
}

TEST(TilesTest, TileForValidatesInput) {
  const struct {
    GeoPoint point;
    std::int64_t z;
    const char* field;
  } kCases[] = {
      {{50.0, 30.0, std::nullopt}, 23, "z"},
      {{50.0, 30.0, std::nullopt}, -1, "z"},
      {{90.5, 30.0, std::nullopt}, 5, "lat"},
      {{std::numeric_limits<double>::quiet_NaN(), 30.0, std::nullopt}, 5, "lat"},
      {{50.0, -180.5, std::nullopt}, 5, "lon"},
      {{50.0, std::numeric_limits<double>::infinity(), std::nullopt}, 5, "lon"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.field);
    Result<TileId> t = tile_for(c.point, c.z);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code(), Code::kUnprocessable);
    EXPECT_EQ(t.error().field(), c.field);
  }
}

}  // namespace
}  // namespace cw::geo
