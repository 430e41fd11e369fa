// /api/v1/sun (where the sun stands at a place and moment, NOAA's algorithm, geo/sun.hpp) and
// /api/v1/submissions/{id}/sun (the same for a submission's place and claimed time, with the
// shadow direction and length an analyst compares with the frames).
#include <fmt/format.h>

#include <charconv>
#include <cmath>

#include "geo/sun.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "store/analysis.hpp"
#include "store/geolocations.hpp"
#include "store/observations.hpp"
#include "store/submissions.hpp"

namespace cw::server {
namespace {

// REQUIRES: the parameter is present.
Result<double> query_number(const RequestContext& ctx, const std::string& name, double min,
                            double max) {
  auto v = ctx.query_param(name);
  double d = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
  if (ec != std::errc() || p != v->data() + v->size() || !std::isfinite(d) || d < min || d > max) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must be a number from {} to {}", name, min, max), name);
  }
  return d;
}

nlohmann::json optional_time(const std::optional<std::chrono::sys_seconds>& t) {
  return t ? nlohmann::json(format_rfc3339(TimePoint(*t))) : nlohmann::json();
}

// The sun at `where` and `when`, the day's sunrise, noon and sunset, and the shadow of a vertical
// object.
nlohmann::json sun_json(const geo::GeoPoint& where, TimePoint when) {
  const geo::SunPosition sun = geo::sun_position(where, when);
  const geo::SunTimes times = geo::sun_times(where, std::chrono::floor<std::chrono::days>(when));
  const bool up = sun.elevation_refracted_deg > 0;
  auto ratio = geo::shadow_length_ratio(sun);
  return {
      {"lat", where.lat},
      {"lon", where.lon},
      {"time", format_rfc3339(when)},
      {"azimuth_deg", sun.azimuth_deg},
      {"elevation_deg", sun.elevation_deg},
      {"elevation_refracted_deg", sun.elevation_refracted_deg},
      {"sunrise", optional_time(times.sunrise)},
      {"solar_noon", format_rfc3339(TimePoint(times.solar_noon))},
      {"sunset", optional_time(times.sunset)},
      {"sun_up", up},
      {"shadow_azimuth_deg", up ? nlohmann::json(geo::shadow_azimuth_deg(sun)) : nlohmann::json()},
      {"shadow_length_ratio", ratio ? nlohmann::json(*ratio) : nlohmann::json()}};
}

Result<Reply> get_sun(RequestContext& ctx) {
  // A malformed value is named before a missing one, whatever the order.
  std::optional<double> lat, lon;
  std::optional<TimePoint> when;
  if (ctx.query_param("lat")) {
    auto v = query_number(ctx, "lat", -90, 90);
    if (!v.ok()) return v.error();
    lat = *v;
  }
  if (ctx.query_param("lon")) {
    auto v = query_number(ctx, "lon", -180, 180);
    if (!v.ok()) return v.error();
    lon = *v;
  }
  if (auto t = ctx.query_param("time")) {
    auto v = parse_rfc3339(*t, "time");
    if (!v.ok()) return v.error();
    when = *v;
  }
  if (!lat) return Error(Code::kUnprocessable, "lat is required", "lat");
  if (!lon) return Error(Code::kUnprocessable, "lon is required", "lon");
  if (!when) return Error(Code::kUnprocessable, "time is required (RFC 3339)", "time");
  return Reply::json(http::status::ok, sun_json(geo::GeoPoint{*lat, *lon, std::nullopt}, *when));
}

// The place: the newest analyst geolocation, else the claimed point, else the video's GPS. The
// time: `time=` when given, else the video's creation time, else when it was posted.
Result<Reply> get_submission_sun(RequestContext& ctx) {
  auto id = positive_id(ctx.params.at("id"), "id", Code::kNotFound);
  if (!id.ok()) return id.error();
  auto sub = store::Submissions(ctx.services.db).get(ctx.user(), *id);
  if (!sub.ok()) return sub.error();
  std::optional<geo::GeoPoint> where;
  std::string where_from;
  auto geolocations = store::Geolocations(ctx.services.db).history(*id);
  if (!geolocations.ok()) return geolocations.error();
  if (!geolocations->empty()) {
    where = geo::GeoPoint{geolocations->front().lat, geolocations->front().lon, std::nullopt};
    where_from = "geolocation";
  }
  const auto& claim = sub->meta.claimed_location;
  if (!where && claim && claim->lat && claim->lon) {
    where = geo::GeoPoint{*claim->lat, *claim->lon, std::nullopt};
    where_from = "claimed_location";
  }
  std::optional<TimePoint> when;
  std::string when_from;
  if (auto t = ctx.query_param("time")) {
    auto parsed = parse_rfc3339(*t, "time");
    if (!parsed.ok()) return parsed.error();
    when = *parsed;
    when_from = "query";
  }
  if (sub->media && (!where || !when)) {
    auto a = store::Analyses(ctx.services.db).get(sub->media->sha256);
    if (a.ok()) {
      const nlohmann::json& media = a->first["media"];
      const nlohmann::json loc = media.value("location", nlohmann::json());
      if (!where && loc.is_object() && loc.contains("lat") && loc.contains("lon") &&
          loc["lat"].is_number() && loc["lon"].is_number()) {
        where = geo::GeoPoint{loc["lat"].get<double>(), loc["lon"].get<double>(), std::nullopt};
        where_from = "metadata_gps";
      }
      const nlohmann::json created = media.value("creation_time", nlohmann::json());
      if (!when && created.is_string()) {
        auto parsed = parse_rfc3339(created.get<std::string>(), "creation_time");
        if (parsed.ok()) {
          when = *parsed;
          when_from = "metadata_creation_time";
        }
      }
    }
  }
  if (!when && sub->meta.posted_at) {
    when = *sub->meta.posted_at;
    when_from = "posted_at";
  }
  if (!where) {
    return Error(Code::kUnprocessable,
                 "the submission has no place yet: geolocate it, or claim a point", "location");
  }
  if (!when) {
    return Error(Code::kUnprocessable, "the submission has no time: pass time=, or give posted_at",
                 "time");
  }
  nlohmann::json out = sun_json(*where, *when);
  out["submission_id"] = *id;
  out["location_from"] = where_from;
  out["time_from"] = when_from;
  return Reply::json(http::status::ok, out);
}

}  // namespace

void add_sun_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/sun", get_sun, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/submissions/{id}/sun", get_submission_sun,
             {.roles = kAnyRole});
}

}  // namespace cw::server
