// Fuzz target: the observation JSON reader (server/observation_io.hpp parse_observation), as
// POST /observations and PATCH /observations/{id} (a merge patch over a stored observation) use
// it.
//
// Input: a request body, read by parse_json_object as the routes read it. An accepted observation
// must have its values in range and its text storable (valid UTF-8 without NUL), keep the frame
// numbers and counts it was sent, and survive observation_input_json → parse_observation
// unchanged (that is what a PATCH does to the stored row).
#include <cmath>
#include <nlohmann/json.hpp>

#include "fuzz/fuzz.hpp"
#include "common/utf8.hpp"
#include "server/json_body.hpp"
#include "server/observation_io.hpp"

namespace cw::fuzz {
namespace {

void check_accepted(const nlohmann::json& doc, const store::ObservationInput& in) {
  CW_FUZZ_CHECK(std::isfinite(in.lat) && in.lat >= -90 && in.lat <= 90);
  CW_FUZZ_CHECK(std::isfinite(in.lon) && in.lon >= -180 && in.lon <= 180);
  if (in.heading_deg) CW_FUZZ_CHECK(*in.heading_deg >= 0 && *in.heading_deg < 360);
  CW_FUZZ_CHECK(!in.equipment.empty());
  for (const auto& m : in.markings) CW_FUZZ_CHECK(is_storable_text(m));
  if (in.notes) CW_FUZZ_CHECK(is_storable_text(*in.notes));
  if (in.source_note) CW_FUZZ_CHECK(is_storable_text(*in.source_note));
  if (const auto refs = doc.find("frame_refs"); refs != doc.end() && refs->is_array()) {
    CW_FUZZ_CHECK(refs->size() == in.frame_refs.size());
    for (size_t i = 0; i < in.frame_refs.size(); ++i) {
      CW_FUZZ_CHECK((*refs)[i]["frame"] == nlohmann::json(in.frame_refs[i].frame));
    }
  }
  if (const auto eq = doc.find("equipment"); eq != doc.end() && eq->is_array()) {
    CW_FUZZ_CHECK(eq->size() == in.equipment.size());
    for (size_t i = 0; i < in.equipment.size(); ++i) {
      CW_FUZZ_CHECK((*eq)[i]["count"] == nlohmann::json(in.equipment[i].count));
    }
  }
  const nlohmann::json again = server::observation_input_json(in);
  auto back = server::parse_observation(again);
  CW_FUZZ_CHECK(back.ok());
  CW_FUZZ_CHECK(server::observation_input_json(*back) == again);
}

}  // namespace

void observation_json(std::string_view data) {
  // As the routes read it: a strict application/json body.
  server::Request request(server::http::verb::post, "/api/v1/observations", 11);
  request.set(server::http::field::content_type, "application/json");
  request.body() = std::string(data);
  Result<nlohmann::json> body = server::parse_json_object(request);
  if (!body.ok()) return;
  const nlohmann::json& doc = *body;
  if (auto in = server::parse_observation(doc); in.ok()) check_accepted(doc, *in);

  // PATCH: the document as a merge patch over a valid stored observation.
  static const nlohmann::json base = nlohmann::json::parse(R"({
    "observed_at": "2026-03-01T08:15:00Z", "time_precision": "exact",
    "location": {"lat": 50.6, "lon": 36.6}, "location_precision": "vicinity",
    "heading_deg": 45, "equipment": [{"type": "tank", "count": 3}],
    "markings": ["Z"], "notes": "seen from the road"})");
  nlohmann::json merged = server::observation_input_json(server::parse_observation(base).value());
  merged.merge_patch(doc);
  if (auto in = server::parse_observation(merged); in.ok()) check_accepted(merged, *in);
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::observation_json)
