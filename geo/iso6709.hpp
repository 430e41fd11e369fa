// ISO 6709 point strings, the form cameras and phones write GPS into video metadata.
//
// Apple writes `com.apple.quicktime.location.ISO6709` as `+37.7858-122.4064+012.345/`, Android
// writes `location` as `+37.7858-122.4064/`; both are ISO 6709:2008 Annex H strings. These
// functions are pure and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"
#include "geo/point.hpp"

namespace cw::geo {

// Parses one ISO 6709 point: latitude, longitude, optional altitude, optional `CRSxxxx` and an
// optional `/` terminator. Latitude is ±DD, ±DDMM or ±DDMMSS and longitude ±DDD, ±DDDMM or
// ±DDDMMSS, each with an optional decimal fraction on its last part; altitude is ±A with any
// number of digits. Leading and trailing whitespace is ignored. The CRS is accepted but not
// applied: every CRS met in practice is WGS-84 or within metres of it.
//
// Bad input is a kUnprocessable Error naming `field` and saying what is wrong.
Result<GeoPoint> parse_iso6709(std::string_view text, std::string_view field = "location");

// Formats as decimal degrees with 6 decimals (about 0.1 m), then the altitude with 3 decimals
// if present, then `/`: `+37.785800-122.406400+12.345/`. parse_iso6709 reads it back.
// REQUIRES: lat in [-90, 90], lon in [-180, 180], all values finite.
std::string format_iso6709(const GeoPoint& point);

}  // namespace cw::geo
