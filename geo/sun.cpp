// NOAA solar calculation spreadsheet (NOAA_Solar_Calculations_day.xls), column by column.
//
// Each step is written as the spreadsheet writes it, with the column letter beside it, and keeps
// Excel's semantics (MOD takes the sign of the divisor), because the tests hold the result to the
// spreadsheet's own figures. The spreadsheet's time zone is always 0 here: inputs are UTC. Where
// Excel would show #NUM! or #DIV/0! (arguments a rounding error outside acos's domain, the sun at
// the zenith, a pole) the code clamps or takes the limit instead, so no NaN escapes.
#include "geo/sun.hpp"

#include <algorithm>
#include <cmath>

namespace cw::geo {
namespace {

constexpr double kPi = 3.14159265358979323846;
constexpr double kSecondsPerDay = 86400.0;
constexpr double kMinutesPerDay = 1440.0;
constexpr double kUnixEpochJulianDay = 2440587.5;  // 1970-01-01T00:00:00Z
constexpr double kJ2000JulianDay = 2451545.0;
// Sun's centre this far below the horizon at sunrise/sunset: refraction 34' + radius 16'.
constexpr double kSunriseZenithDeg = 90.833;

double radians(double deg) { return deg * kPi / 180.0; }
double degrees(double rad) { return rad * 180.0 / kPi; }
double excel_mod(double n, double d) { return n - d * std::floor(n / d); }
double clamped_acos(double x) { return std::acos(std::clamp(x, -1.0, 1.0)); }
// excel_mod can round up to exactly 360 for a tiny negative input; azimuths promise [0, 360).
double wrap_360(double deg) {
  const double r = excel_mod(deg, 360.0);
  return r >= 360.0 ? 0.0 : r;
}

// The two date-dependent results the rest of the sheet needs (columns T and V).
struct SolarTerms {
  double declination_deg;
  double eq_of_time_min;
};

SolarTerms solar_terms(double julian_day) {
  const double g = (julian_day - kJ2000JulianDay) / 36525.0;                                 // G
  const double mean_long = excel_mod(280.46646 + g * (36000.76983 + g * 0.0003032), 360.0);  // I
  const double mean_anom = 357.52911 + g * (35999.05029 - 0.0001537 * g);                    // J
  const double eccent = 0.016708634 - g * (0.000042037 + 0.0000001267 * g);                  // K
  const double eq_of_ctr =
      std::sin(radians(mean_anom)) * (1.914602 - g * (0.004817 + 0.000014 * g)) +
      std::sin(radians(2 * mean_anom)) * (0.019993 - 0.000101 * g) +
      std::sin(radians(3 * mean_anom)) * 0.000289;  // L
  const double true_long = mean_long + eq_of_ctr;   // M
  const double app_long =
      true_long - 0.00569 - 0.00478 * std::sin(radians(125.04 - 1934.136 * g));  // P
  const double mean_obliq =
      23 + (26 + ((21.448 - g * (46.815 + g * (0.00059 - g * 0.001813)))) / 60) / 60;         // Q
  const double obliq_corr = mean_obliq + 0.00256 * std::cos(radians(125.04 - 1934.136 * g));  // R
  const double declination =
      degrees(std::asin(std::sin(radians(obliq_corr)) * std::sin(radians(app_long))));         // T
  const double var_y = std::tan(radians(obliq_corr / 2)) * std::tan(radians(obliq_corr / 2));  // U
  const double eq_of_time =
      4 *
      degrees(var_y * std::sin(2 * radians(mean_long)) - 2 * eccent * std::sin(radians(mean_anom)) +
              4 * eccent * var_y * std::sin(radians(mean_anom)) * std::cos(2 * radians(mean_long)) -
              0.5 * var_y * var_y * std::sin(4 * radians(mean_long)) -
              1.25 * eccent * eccent * std::sin(2 * radians(mean_anom)));  // V
  return {declination, eq_of_time};
}

// Column W: hour angle of sunrise in degrees, or empty when the sun never reaches the sunrise
// zenith that day (polar night) or never drops to it (polar day).
std::optional<double> sunrise_hour_angle_deg(double lat_deg, double declination_deg) {
  const double x = std::cos(radians(kSunriseZenithDeg)) /
                       (std::cos(radians(lat_deg)) * std::cos(radians(declination_deg))) -
                   std::tan(radians(lat_deg)) * std::tan(radians(declination_deg));
  if (!(x >= -1.0 && x <= 1.0)) return std::nullopt;
  return degrees(std::acos(x));
}

// The Julian day `minutes` after the midnight whose Julian day is `midnight_jd`.
double julian_day_at(double midnight_jd, double minutes) {
  return midnight_jd + minutes / kMinutesPerDay;
}

std::chrono::sys_seconds at_minutes(std::chrono::sys_days day, double minutes) {
  return std::chrono::sys_seconds(day) +
         std::chrono::seconds(static_cast<long long>(std::llround(minutes * 60.0)));
}

}  // namespace

SunPosition sun_position(const GeoPoint& where, double unix_seconds) {
  // The spreadsheet adds the time of day to the date's Julian day (column F); splitting the
  // instant the same way keeps the time-of-day fraction (column E) exact for column AB.
  const double days = std::floor(unix_seconds / kSecondsPerDay);
  const double day_fraction = (unix_seconds - days * kSecondsPerDay) / kSecondsPerDay;  // E
  const double julian_day = (days + kUnixEpochJulianDay) + day_fraction;                // F
  const SolarTerms terms = solar_terms(julian_day);
  const double lat = where.lat;
  const double dec = terms.declination_deg;

  const double true_solar_time =
      excel_mod(day_fraction * kMinutesPerDay + terms.eq_of_time_min + 4 * where.lon,
                kMinutesPerDay);  // AB
  const double hour_angle =
      true_solar_time / 4 < 0 ? true_solar_time / 4 + 180 : true_solar_time / 4 - 180;  // AC
  const double zenith = degrees(clamped_acos(std::sin(radians(lat)) * std::sin(radians(dec)) +
                                             std::cos(radians(lat)) * std::cos(radians(dec)) *
                                                 std::cos(radians(hour_angle))));  // AD
  const double elevation = 90 - zenith;                                            // AE

  double refraction_arcsec = 0.0;  // AF, before its /3600
  if (elevation > 85) {
    refraction_arcsec = 0;
  } else if (elevation > 5) {
    const double t = std::tan(radians(elevation));
    refraction_arcsec = 58.1 / t - 0.07 / std::pow(t, 3) + 0.000086 / std::pow(t, 5);
  } else if (elevation > -0.575) {
    refraction_arcsec =
        1735 +
        elevation * (-518.2 + elevation * (103.4 + elevation * (-12.79 + elevation * 0.711)));
  } else {
    refraction_arcsec = -20.772 / std::tan(radians(elevation));
  }

  double azimuth = 0.0;  // AH
  const double denominator = std::cos(radians(lat)) * std::sin(radians(zenith));
  if (std::fabs(denominator) > 1e-12) {
    const double a = degrees(clamped_acos(
        ((std::sin(radians(lat)) * std::cos(radians(zenith))) - std::sin(radians(dec))) /
        denominator));
    azimuth = hour_angle > 0 ? wrap_360(a + 180) : wrap_360(540 - a);
  } else {
    // At a pole or with the sun at the zenith the spreadsheet divides by zero; the atan2 form
    // of the same azimuth has a limit there (at the north pole, the hour angle plus 180).
    const double h = radians(hour_angle);
    azimuth = wrap_360(
        degrees(std::atan2(std::sin(h), std::cos(h) * std::sin(radians(lat)) -
                                            std::tan(radians(dec)) * std::cos(radians(lat)))) +
        180);
  }

  return SunPosition{azimuth, elevation, elevation + refraction_arcsec / 3600};  // AG
}

SunTimes sun_times(const GeoPoint& where, std::chrono::sys_days day) {
  const double midnight_jd =
      static_cast<double>(day.time_since_epoch().count()) + kUnixEpochJulianDay;
  // Column X with time zone 0, in minutes: 720 - 4*lon - eq_of_time. Evaluated first at mean
  // solar noon, then again at the noon found, as the web calculator refines its times.
  double noon_min = 720 - 4 * where.lon;
  SolarTerms noon_terms{};
  for (int pass = 0; pass < 2; ++pass) {
    noon_terms = solar_terms(julian_day_at(midnight_jd, noon_min));
    noon_min = 720 - 4 * where.lon - noon_terms.eq_of_time_min;
  }

  SunTimes out;
  out.solar_noon = at_minutes(day, noon_min);

  // Columns Y and Z: noon -/+ 4 minutes per degree of the sunrise hour angle, first with the
  // noon declination, then recomputed at the estimated event.
  auto event = [&](double sign) -> std::optional<std::chrono::sys_seconds> {
    auto ha = sunrise_hour_angle_deg(where.lat, noon_terms.declination_deg);
    if (!ha) return std::nullopt;
    const double estimate = noon_min + sign * 4 * *ha;
    const SolarTerms terms = solar_terms(julian_day_at(midnight_jd, estimate));
    ha = sunrise_hour_angle_deg(where.lat, terms.declination_deg);
    if (!ha) return std::nullopt;
    return at_minutes(day, 720 - 4 * where.lon - terms.eq_of_time_min + sign * 4 * *ha);
  };
  out.sunrise = event(-1);
  out.sunset = event(+1);
  return out;
}

double shadow_azimuth_deg(const SunPosition& sun) { return wrap_360(sun.azimuth_deg + 180); }

std::optional<double> shadow_length_ratio(const SunPosition& sun) {
  if (!(sun.elevation_refracted_deg > 0)) return std::nullopt;
  return 1 / std::tan(radians(sun.elevation_refracted_deg));
}

}  // namespace cw::geo
