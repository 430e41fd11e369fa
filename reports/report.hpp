// A built report as plain values, and its renderers: the JSON document, the per-oblast CSV, the
// map and bar-chart SVGs, and the self-contained HTML page that holds them all.
//
// The data layer (aggregates and tracks from PostgreSQL) fills a ReportData; everything here is
// a pure function of it — no database, no clock, no files — so a report renders the same bytes
// every time and the renderers are tested on hand-made data. Every text that came from a user
// (names, notes, sources) is escaped for the output it goes into; invalid UTF-8 is replaced by
// U+FFFD, so no input makes a renderer throw. Thread-safe (no shared state).
//
// Conventions of the model:
// - Vehicle counts by movement are vehicles (the sum of the equipment counts), not
//   observations. `movement` is one of kMovements; any other value is drawn as "unknown".
// - Times are UTC instants; the report's time zone (`tz`) only names how the period and the
//   days were cut (DayBar::day is a local date made by the data layer).
// - Lists are rendered in the order given: the data layer sorts (oblasts by vehicles, newest
//   observations newest first, disputes oldest first).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"

namespace cw::reports {

// Movement relative to the border (store/observations.hpp movements()), in drawing order.
inline constexpr std::array<std::string_view, 5> kMovements = {"toward", "away", "parallel",
                                                               "stationary", "unknown"};

struct Totals {
  int64_t observations = 0;
  int64_t vehicles = 0;  // sum of the equipment counts
  // Vehicles by movement; they add up to `vehicles`.
  int64_t toward = 0;
  int64_t away = 0;
  int64_t parallel = 0;
  int64_t stationary = 0;
  int64_t unknown = 0;
  // Mean over the observations that have a distance; none when no observation has one.
  std::optional<double> mean_km_to_border;

  // Vehicles of one of kMovements (0 for any other name).
  int64_t by_movement(std::string_view movement) const;
};

// Change of a count against the previous period. `percent` is none when the previous count is 0
// (no finite percentage exists).
struct Change {
  int64_t delta = 0;
  std::optional<double> percent;
};
Change change_between(int64_t now, int64_t previous);

struct OblastRow {
  std::string code;     // ISO 3166-2, e.g. "RU-BEL"
  std::string name;     // English name
  std::string country;  // ISO 3166-1 alpha-3
  Totals now;
  Totals previous;
};

// Vehicles seen on one local day, by movement.
struct DayBar {
  std::string day;  // YYYY-MM-DD in the report's time zone
  int64_t toward = 0;
  int64_t away = 0;
  int64_t parallel = 0;
  int64_t stationary = 0;
  int64_t unknown = 0;

  int64_t total() const { return toward + away + parallel + stationary + unknown; }
};

// One observation as a map mark.
struct MapObservation {
  int64_t id = 0;
  double lat = 0;
  double lon = 0;
  int64_t vehicles = 0;
  std::string movement;
  TimePoint observed_at{};
};

struct LonLat {
  double lon = 0;
  double lat = 0;
};

// A convoy track: its sightings in time order.
struct TrackLine {
  int64_t id = 0;
  std::vector<LonLat> points;
  int64_t vehicles = 0;
  double net_km_toward_border = 0;  // positive: ended nearer the border than it started
  double mean_speed_kmh = 0;
  TimePoint start{};
  TimePoint end{};
};

// A recent verified observation, shown with one keyframe of its video.
struct NewestObservation {
  int64_t id = 0;
  TimePoint observed_at{};
  std::string oblast;  // name (the code when the name is unknown)
  std::string place;   // nearest place
  std::string movement;
  int64_t vehicles = 0;
  std::string equipment_summary;  // e.g. "4 tank, 2 ifv"
  std::string source_note;
  std::string source_url;  // linked only when http(s)
  // The keyframe: media SHA-256 and frame index, for the JSON's thumbnail URL ...
  std::string media_sha256;
  std::optional<int> frame;
  // ... and its JPEG bytes, embedded in the HTML (empty: no picture).
  std::string thumbnail_jpeg;
};

// An observation in the `disputed` state and the verdict that put it there.
struct Dispute {
  int64_t observation_id = 0;
  std::string status;
  std::string note;
  std::string by;  // analyst's name
  TimePoint at{};
};

// Reference geometry drawn under the data.
struct Outline {
  std::string kind;  // "country", "oblast" or "border"
  std::string name;
  // GeoJSON geometry in lon/lat: Polygon, MultiPolygon, LineString or MultiLineString (others
  // and malformed coordinates are skipped).
  nlohmann::json geometry;
};

struct ReportData {
  int64_t id = 0;
  std::string kind;        // "daily" or "weekly"
  std::string period_key;  // "2022-02-16" or "2022-W07"
  std::string tz;          // IANA name, e.g. "Europe/Kyiv"
  TimePoint period_start{};
  TimePoint period_end{};  // exclusive
  TimePoint generated_at{};
  Totals totals;
  Totals previous;  // the period of the same length just before
  std::vector<OblastRow> oblasts;
  std::vector<DayBar> days;
  std::vector<MapObservation> observations;
  std::vector<TrackLine> tracks;
  std::vector<NewestObservation> newest;
  std::vector<Dispute> disputes;
  std::vector<Outline> outlines;
  std::string map_attribution;  // e.g. "© OpenStreetMap contributors (ODbL)"; empty: none
};

// "/api/v1/media/{sha}/frames/{n}/thumb.jpg", or empty when there is no keyframe reference.
std::string thumbnail_url(const NewestObservation& o);

// The report's JSON document (the API's GET /reports/{id} and the webhook body):
// {"id", "kind", "period": {"key", "tz", "start", "end"}, "generated_at",
//  "totals": T, "previous": T, "change": {"observations": C, "vehicles": C, "toward": C,
//  "away": C}, "oblasts": [{"code", "name", "country", "totals": T, "previous": T,
//  "change": {"vehicles": C}}], "days": [{"day", "toward", …, "total"}],
//  "observations": [{"id", "lat", "lon", "vehicles", "movement", "observed_at"}],
//  "tracks": [{"id", "coordinates": [[lon, lat]…], "vehicles", "net_km_toward_border",
//  "mean_speed_kmh", "start", "end"}],
//  "newest": [{"id", "observed_at", "oblast", "place", "movement", "vehicles", "equipment",
//  "source_note", "source_url", "thumbnail_url"}], "disputes": [{"observation_id", "status",
//  "note", "by", "at"}], "links": {"html", "csv"}}
// where T = {"observations", "vehicles", "toward", "away", "parallel", "stationary", "unknown",
// "mean_km_to_border"} and C = {"delta", "percent"} (percent null when the previous count is 0).
// No outlines and no thumbnail bytes.
nlohmann::json to_json(const ReportData& r);

// The per-oblast table, RFC 4180 (CRLF line ends, quoted where needed, formula-looking text
// neutralised): code, name, country, observations, vehicles, toward, away, parallel,
// stationary, unknown, mean_km_to_border, previous_vehicles, change_vehicles, change_percent.
std::string render_csv(const ReportData& r);

// The map: an SVG fitted to the observations and tracks (to the border, or the outlines, when
// there are none), equirectangular with the longitude scaled by cos(middle latitude).
// Observations are <circle class="obs" data-id="…"> with area proportional to vehicles,
// coloured by movement; tracks are <polyline class="track" data-id="…"> with arrowheads.
std::string render_map_svg(const ReportData& r);

// Vehicles per day stacked by movement, with axes and a legend.
std::string render_bars_svg(const ReportData& r);

// One self-contained HTML page: inline CSS and SVG, thumbnails as data: URIs, no script and no
// external resource (a Content-Security-Policy says so to the browser too). Prints on A4.
std::string render_html(const ReportData& r);

// Outlines from a GeoJSON FeatureCollection as data/geodata holds them (countries.geojson
// "name", regions.geojson "name_en", border.geojson "neighbour_name"), each of `kind`.
// kUnprocessable when the text is not a FeatureCollection.
Result<std::vector<Outline>> outlines_from_geojson(std::string_view text, std::string_view kind);

}  // namespace cw::reports
