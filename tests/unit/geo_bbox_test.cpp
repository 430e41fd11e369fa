// Tests for geo/bbox: a table of `bbox` query values, good and bad, each bad one with the phrase
// its error must contain, and the containment check.
#include "geo/bbox.hpp"

#include <gtest/gtest.h>

#include <string>

namespace cw::geo {
namespace {

TEST(BBoxTest, ParsesValidBoxes) {
  const struct {
    const char* input;
    BBox expected;
  } kCases[] = {
      {"30.5,49.9,36.6,50.6", {30.5, 49.9, 36.6, 50.6}},
      {" 30.5 , 49.9 ,\t36.6 , 50.6 ", {30.5, 49.9, 36.6, 50.6}},
      {"-180,-90,180,90", {-180, -90, 180, 90}},
      {"+30,+50,31,51", {30, 50, 31, 51}},
      {"30,50,30,50", {30, 50, 30, 50}},  // a point is a valid box
      {"3.05e1,4.99E1,36.6,50.6", {30.5, 49.9, 36.6, 50.6}},
      {"-.5,.5,0.5,1.", {-0.5, 0.5, 0.5, 1.0}},
      {"-0,-0,0,0", {0, 0, 0, 0}},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.input);
    Result<BBox> r = parse_bbox(c.input);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(*r, c.expected);
  }
}

TEST(BBoxTest, RejectsBadBoxes) {
  const struct {
    std::string input;
    const char* detail_contains;
  } kCases[] = {
      {"", "bbox is empty"},
      {"  ", "bbox is empty"},
      {"30,50,31", "found 3"},
      {"30", "found 1"},
      {"30,50,31,51,52", "found 5"},
      {"30,50,31,51,", "found 5"},
      {"30,50,,51", "maxLon (value 3 of bbox) is not a number"},
      {"a,50,31,51", "minLon (value 1 of bbox) is not a number"},
      {"30;50;31;51", "minLon (value 1 of bbox) is not a number"},
      {"30 50 31 51", "minLon (value 1 of bbox) is not a number"},
      {"nan,50,31,51", "minLon (value 1 of bbox) is not a number"},
      {"30,inf,31,51", "minLat (value 2 of bbox) is not a number"},
      {"30,50,31,-infinity", "maxLat (value 4 of bbox) is not a number"},
      {"0x1A,50,31,51", "minLon (value 1 of bbox) is not a number"},
      {"+-30,50,31,51", "minLon (value 1 of bbox) is not a number"},
      {"30,50,31,1e999", "maxLat (value 4 of bbox) is not a number"},
      {"30,50,31,51m", "maxLat (value 4 of bbox) is not a number"},
      {"-181,50,31,51", "minLon -181 is outside -180..180"},
      {"30,50,180.5,51", "maxLon 180.5 is outside -180..180"},
      {"30,-91,31,51", "minLat -91 is outside -90..90"},
      {"30,50,31,90.0001", "maxLat 90.0001 is outside -90..90"},
      {"170,50,-170,51", "antimeridian"},
      {"36.6,49.9,30.5,50.6", "minLon 36.6 is greater than maxLon 30.5"},
      {"30,51,31,50", "minLat 51 is greater than maxLat 50"},
      {std::string(300, '1'), "longer than 256 characters"},
  };
  for (const auto& c : kCases) {
    SCOPED_TRACE(c.input);
    Result<BBox> r = parse_bbox(c.input);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kUnprocessable);
    EXPECT_EQ(r.error().field(), "bbox");
    EXPECT_NE(r.error().detail().find(c.detail_contains), std::string::npos)
        << "detail was: " << r.error().detail();
  }
}

TEST(BBoxTest, Contains) {
  const BBox belgorod_oblast{35.3, 49.8, 39.2, 51.5};
  EXPECT_TRUE(bbox_contains(belgorod_oblast, {50.5997, 36.5983, std::nullopt}));
  EXPECT_TRUE(bbox_contains(belgorod_oblast, {49.8, 35.3, std::nullopt}));  // on the edge
  EXPECT_FALSE(bbox_contains(belgorod_oblast, {49.9935 - 0.2, 36.2304, std::nullopt}));
  EXPECT_FALSE(bbox_contains(belgorod_oblast, {50.4501, 30.5234, std::nullopt}));
}

}  // namespace
}  // namespace cw::geo
