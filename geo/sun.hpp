// Where the sun stands, seen from a place at a moment: the NOAA Solar Calculator algorithm.
//
// Analysts check a video's claimed time against its shadows: direction from the sun's azimuth,
// length from its elevation. The formulas are those of NOAA's solar calculation spreadsheet
// (after Meeus, "Astronomical Algorithms"), reproduced term by term so that results match the
// spreadsheet to 1e-6 degrees; NOAA gives the accuracy as about 1 minute of arc for positions and
// about a minute of time for sunrise and sunset between latitudes ±72°. Times are UTC. These
// functions are pure and thread-safe.
// REQUIRES for every GeoPoint argument: lat in [-90, 90], lon in [-180, 180], both finite.
#pragma once

#include <chrono>
#include <optional>

#include "geo/point.hpp"

namespace cw::geo {

struct SunPosition {
  double azimuth_deg = 0.0;              // clockwise from true north, [0, 360)
  double elevation_deg = 0.0;            // geometric, above the horizon, [-90, 90]
  double elevation_refracted_deg = 0.0;  // as seen through the atmosphere (the spreadsheet's
                                         // "corrected for atmospheric refraction")
};

// Sunrise and sunset are the moments the sun's centre is 0.833° below the horizon (refraction
// plus the sun's radius), as in the spreadsheet. Both are empty in polar day and polar night; to
// tell which, look at sun_position(where, solar_noon).elevation_deg.
struct SunTimes {
  std::optional<std::chrono::sys_seconds> sunrise;
  std::optional<std::chrono::sys_seconds> sunset;
  std::chrono::sys_seconds solar_noon;
};

// The sun at `unix_seconds` (seconds since 1970-01-01T00:00:00Z, fractions allowed).
SunPosition sun_position(const GeoPoint& where, double unix_seconds);

template <typename Duration>
SunPosition sun_position(const GeoPoint& where, std::chrono::sys_time<Duration> when) {
  return sun_position(where, std::chrono::duration<double>(when.time_since_epoch()).count());
}

// Solar noon, sunrise and sunset for the UTC date `day`: the spreadsheet's figures with time
// zone 0, each refined once at its own instant as NOAA's web calculator does. They belong to one
// day arc around the solar noon nearest 12:00 - lon/15 h UTC, so far from the Greenwich meridian
// sunrise may fall on the previous UTC date (east) or sunset on the next (west). Rounded to the
// nearest second.
SunTimes sun_times(const GeoPoint& where, std::chrono::sys_days day);

// Direction a vertical object's shadow points: opposite the sun, degrees clockwise from north in
// [0, 360). Meaningful only while the sun is up.
double shadow_azimuth_deg(const SunPosition& sun);

// Shadow length divided by the height of the vertical object casting it on level ground, from the
// refracted elevation (what the camera saw). Empty when the sun is not above the horizon.
std::optional<double> shadow_length_ratio(const SunPosition& sun);

}  // namespace cw::geo
