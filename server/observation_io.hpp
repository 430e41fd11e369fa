// Observations in and out of the API: the strict JSON reader (POST, PATCH after merging, NDJSON
// import lines), the CSV import reader, and the list renderings — JSON, GeoJSON (RFC 7946
// FeatureCollection), CSV and KML 2.2. Pure functions of their input: no database, no HTTP.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "server/pagination.hpp"
#include "store/observations.hpp"

namespace cw::server {

// Reads an observation object; errors name the field with `prefix` ("" or "line 3: " style
// prefixes are the caller's business). Unknown fields are errors. The fields the server sets
// (id, status, derived, created_*, vehicles) are refused as unknown.
Result<store::ObservationInput> parse_observation(const nlohmann::json& object,
                                                  const std::string& prefix = {});

// An observation as the JSON reader accepts it (for PATCH: merge the patch over this).
nlohmann::json observation_input_json(const store::ObservationInput& in);

// One problem per bad line (at most `max_problems`), or the rows. CSV: a header line naming the
// columns (any order): observed_at, time_precision, lat, lon, location_precision, heading_deg,
// equipment ("tank:3;truck:12"), markings ("Z;V"), notes, source_note, submission_id,
// frame_refs ("<sha256>#<frame>;…"); observed_at, lat, lon, location_precision and equipment
// are required. NDJSON: one observation object per line (blank lines skipped).
struct ImportResult {
  std::vector<store::ObservationInput> rows;
  std::vector<store::ImportProblem> problems;
};
ImportResult parse_import_csv(std::string_view body, size_t max_problems = 100);
ImportResult parse_import_ndjson(std::string_view body, size_t max_problems = 100);

// The list filter from the query of GET /observations: bbox, from, to, oblast, country,
// equipment_type, status, movement, submission_id, limit (default `default_limit`, at most
// `max_limit`) and cursor. 422 naming the first bad parameter.
Result<store::ObservationFilter> parse_observation_filter(const QueryParams& query,
                                                          int default_limit, int max_limit);

// The renderings of a page of observations. `next_cursor` goes into the GeoJSON as a foreign
// member and into the JSON; CSV and KML carry it in the Link header (the caller's job).
std::string render_geojson(const std::vector<store::Observation>& rows,
                           const std::string& next_cursor);
std::string render_csv(const std::vector<store::Observation>& rows);
std::string render_kml(const std::vector<store::Observation>& rows);

}  // namespace cw::server
