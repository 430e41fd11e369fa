// Tests for geo/iso6709: tables of strings as Apple and Android phones and other cameras write
// them, the malformed strings a parser must refuse (each with the phrase its error must contain),
// and formatting with a round trip.
#include "geo/iso6709.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace cw::geo {
namespace {

struct ValidCase {
  const char* input;
  double lat;
  double lon;
  std::optional<double> alt;
};

TEST(Iso6709Test, ParsesValidStrings) {
  const ValidCase kCases[] = {
      // Apple QuickTime com.apple.quicktime.location.ISO6709.
      {"+37.7858-122.4064+012.345/", 37.7858, -122.4064, 12.345},
      // Android MP4 `location`.
      {"+37.7858-122.4064/", 37.7858, -122.4064, std::nullopt},
      {"+40.20361-075.00417CRSWGS_84/", 40.20361, -75.00417, std::nullopt},
      {"+40.20361-075.00417+350.517CRSWGS_84/", 40.20361, -75.00417, 350.517},
      {"+40.20361-075.00417CRSEPSG:4326/", 40.20361, -75.00417, std::nullopt},
      {"+40.20361-075.00417", 40.20361, -75.00417, std::nullopt},  // no terminator
      // Degrees and decimal minutes.
      {"+4012.217-07500.250/", 40.0 + 12.217 / 60, -(75.0 + 0.25 / 60), std::nullopt},
      // Degrees, minutes and decimal seconds, with altitude.
      {"+401213.1-0750015.1+2.5/", 40.0 + 12.0 / 60 + 13.1 / 3600, -(75.0 + 15.1 / 3600), 2.5},
      // Whole numbers in each form.
      {"+40-075/", 40.0, -75.0, std::nullopt},
      {"+4012-07500/", 40.2, -75.0, std::nullopt},
      {"+401213-0750015/", 40.0 + 12.0 / 60 + 13.0 / 3600, -(75.0 + 15.0 / 3600), std::nullopt},
      {"+35.6895+139.6917-012.5/", 35.6895, 139.6917, -12.5},
      {"  +50.4501+030.5234/ \n", 50.4501, 30.5234, std::nullopt},  // whitespace around
      {"-90+180/", -90.0, 180.0, std::nullopt},
      {"+90.0-180.0/", 90.0, -180.0, std::nullopt},
      {"+9000-18000/", 90.0, -180.0, std::nullopt},
      {"-00.5+000.5/", -0.5, 0.5, std::nullopt},
      {"-00-000/", 0.0, 0.0, std::nullopt},
      {"+50.4501+030.5234+0/", 50.4501, 30.5234, 0.0},
  };
  for (const ValidCase& c : kCases) {
    SCOPED_TRACE(c.input);
    Result<GeoPoint> r = parse_iso6709(c.input);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_NEAR(r->lat, c.lat, 1e-12);
    EXPECT_NEAR(r->lon, c.lon, 1e-12);
    ASSERT_EQ(r->alt.has_value(), c.alt.has_value());
    if (c.alt) {
      EXPECT_NEAR(*r->alt, *c.alt, 1e-12);
    }
  }
}

struct MalformedCase {
  std::string input;
  const char* detail_contains;
};

TEST(Iso6709Test, RejectsMalformedStrings) {
  const MalformedCase kCases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"37.7858-122.4064/", "latitude must start with '+' or '-'"},
      {"+37.7858", "longitude is missing"},
      {"+37.7858/", "longitude must start with '+' or '-', found '/'"},
      {"+37.7858122.4064/", "longitude must start with '+' or '-'"},
      {"+40,5-075.0/", "longitude must start with '+' or '-', found ','"},
      {"+40.0 -075.0/", "longitude must start with '+' or '-', found 0x20"},
      {"+377.858-122.4064/", "latitude must have 2, 4 or 6 digits"},
      {"+4.5-075.0/", "latitude must have 2, 4 or 6 digits"},
      {"+37.7858-22.4064/", "longitude must have 3, 5 or 7 digits"},
      {"+37.7858-12260.5/", "longitude minutes must be below 60"},
      {"+4060.0-07500.0/", "latitude minutes must be below 60"},
      {"+4059.9999999-07500.0/", nullptr},  // just under 60: valid, checked below
      {"+406000-0750000/", "latitude minutes must be below 60"},
      {"+401260-0750000/", "latitude seconds must be below 60"},
      {"+401259.99-0750060.0/", "longitude seconds must be below 60"},
      {"+91.0-075.0/", "latitude must be between -90 and 90"},
      {"-90.000001+075.0/", "latitude must be between -90 and 90"},
      {"+9000.1-075.0/", "latitude must be between -90 and 90"},
      {"+40.0-180.5/", "longitude must be between -180 and 180"},
      {"+40.0+181/", "longitude must be between -180 and 180"},
      {"+NaN-NaN/", "latitude has no digits after its sign"},
      {"nan", "latitude must start with '+' or '-'"},
      {"+40.0-inf/", "longitude has no digits after its sign"},
      {"+40.-075.0/", "latitude has a decimal point with no digits after it"},
      {"+40.0-075./", "longitude has a decimal point with no digits after it"},
      {"+40.0-075.0+/", "altitude has no digits after its sign"},
      {"+40.0-075.0+1./", "altitude has a decimal point with no digits after it"},
      {"+40.0-075.0/+41.0-076.0/", "after the closing '/'"},
      {"+40.0-075.0//", "after the closing '/'"},
      {"+40.0-075.0/x", "after the closing '/'"},
      {"+40.0-075.0CRS/", "CRS identifier is missing"},
      {"+40.0-075.0x/", "unexpected character 'x' at position 12"},
      {"+40.0-075.0+12.5m/", "unexpected character 'm'"},
      {std::string("+40.0-075.0\x01/", 13), "unexpected character 0x01"},
      {"+40.0-075.0+" + std::string(200, '1') + "/", "longer than 128 characters"},
      {"hello world", "latitude must start with '+' or '-', found 'h'"},
  };
  for (const MalformedCase& c : kCases) {
    SCOPED_TRACE(c.input);
    Result<GeoPoint> r = parse_iso6709(c.input);
    if (c.detail_contains == nullptr) {
      EXPECT_TRUE(r.ok());
      continue;
    }
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kUnprocessable);
    EXPECT_EQ(r.error().field(), "location");
    EXPECT_NE(r.error().detail().find(c.detail_contains), std::string::npos)
        << "detail was: " << r.error().detail();
  }
}

TEST(Iso6709Test, NamesTheCallersField) {
  Result<GeoPoint> r = parse_iso6709("+91-075/", "metadata.location");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().field(), "metadata.location");
}

TEST(Iso6709Test, FormatsDecimalDegrees) {
  const struct {
    GeoPoint point;
    const char* expected;
  } kCases[] = {
      {{37.7858, -122.4064, 12.345}, "+37.785800-122.406400+12.345/"},
      {{-33.8688, 151.2093, std::nullopt}, "-33.868800+151.209300/"},
      {{50.4501, 30.5234, -3.0}, "+50.450100+030.523400-3.000/"},
      {{0.0, 0.0, std::nullopt}, "+00.000000+000.000000/"},
      {{-0.0000001, 5.5, std::nullopt}, "+00.000000+005.500000/"},  // rounds to +0, not -0
      {{90.0, -180.0, 0.0}, "+90.000000-180.000000+0.000/"},
      {{1.23456789, -9.87654321, 1234567.8915}, "+01.234568-009.876543+1234567.892/"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(format_iso6709(c.point), c.expected);
  }
}

TEST(Iso6709Test, FormatReadsBack) {
  const GeoPoint kPoints[] = {
      {50.4501, 30.5234, std::nullopt},
      {-12.3456789, -170.0000004, 88.8},
      {89.9999996, 179.9999996, -400.25},
  };
  for (const GeoPoint& p : kPoints) {
    const std::string s = format_iso6709(p);
    SCOPED_TRACE(s);
    Result<GeoPoint> r = parse_iso6709(s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_NEAR(r->lat, p.lat, 5e-7);
    EXPECT_NEAR(r->lon, p.lon, 5e-7);
    ASSERT_EQ(r->alt.has_value(), p.alt.has_value());
    if (p.alt) {
      EXPECT_NEAR(*r->alt, *p.alt, 5e-4);
    }
  }
}

}  // namespace
}  // namespace cw::geo
