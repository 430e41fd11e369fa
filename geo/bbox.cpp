// Parsing and checking of `bbox` query parameters. Numbers go through std::from_chars, which is
// locale-independent (a German locale must not turn "30.5" into 30), and then a finiteness check,
// because from_chars happily reads "nan" and "inf".
#include "geo/bbox.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <system_error>

namespace cw::geo {
namespace {

constexpr std::size_t kMaxLength = 256;
constexpr std::array<const char*, 4> kNames = {"minLon", "minLat", "maxLon", "maxLat"};

Error bad(std::string detail) { return Error(Code::kUnprocessable, std::move(detail), "bbox"); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A plain decimal number, optionally signed, optionally with an exponent; nothing else.
std::optional<double> to_number(std::string_view s) {
  // from_chars takes no leading '+', so one is removed here, but not in front of a '-'.
  if (!s.empty() && s.front() == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s.front() == '-') return std::nullopt;
  }
  if (s.empty()) return std::nullopt;
  // from_chars would also take "inf", "nan" and "infinity"; only these characters may pass.
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' || c == 'E')) {
      return std::nullopt;
    }
  }
  double v = 0.0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string show(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

}  // namespace

Result<BBox> parse_bbox(std::string_view text) {
  if (trim(text).empty()) return bad("bbox is empty; expected minLon,minLat,maxLon,maxLat");
  if (text.size() > kMaxLength) {
    return bad("bbox is longer than " + std::to_string(kMaxLength) + " characters");
  }
  std::array<double, 4> values{};
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    const std::string_view part =
        trim(text.substr(start, comma == std::string_view::npos ? text.npos : comma - start));
    if (count < values.size()) {
      auto v = to_number(part);
      if (!v) {
        return bad(std::string(kNames[count]) + " (value " + std::to_string(count + 1) +
                   " of bbox) is not a number; expected minLon,minLat,maxLon,maxLat");
      }
      values[count] = *v;
    }
    ++count;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (count != values.size()) {
    return bad("bbox must have 4 comma-separated numbers minLon,minLat,maxLon,maxLat; found " +
               std::to_string(count));
  }

  const BBox box{values[0], values[1], values[2], values[3]};
  for (std::size_t i = 0; i < values.size(); ++i) {
    const double limit = (i % 2 == 0) ? kMaxLongitude : kMaxLatitude;
    if (values[i] < -limit || values[i] > limit) {
      return bad(std::string(kNames[i]) + " " + show(values[i]) + " is outside -" + show(limit) +
                 ".." + show(limit));
    }
  }
  if (box.min_lon > box.max_lon) {
    return bad("minLon " + show(box.min_lon) + " is greater than maxLon " + show(box.max_lon) +
               ": boxes crossing the antimeridian are not supported; split the box in two at "
               "180 degrees");
  }
  if (box.min_lat > box.max_lat) {
    return bad("minLat " + show(box.min_lat) + " is greater than maxLat " + show(box.max_lat));
  }
  return box;
}

bool bbox_contains(const BBox& box, const GeoPoint& point) {
  return point.lon >= box.min_lon && point.lon <= box.max_lon && point.lat >= box.min_lat &&
         point.lat <= box.max_lat;
}

}  // namespace cw::geo
