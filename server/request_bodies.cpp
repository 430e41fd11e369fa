// Readers of the small request bodies (see request_bodies.hpp).
#include "server/request_bodies.hpp"

#include <vector>

#include "server/json_body.hpp"
#include "server/observation_io.hpp"

namespace cw::server {

namespace {

Result<VerdictBody> parse_verdict(const nlohmann::json& body,
                                  const std::vector<std::string>& allowed) {
  FieldReader r(body);
  auto verdict = r.optional_enum("verdict", allowed);
  if (!verdict.ok()) return verdict.error();
  if (!*verdict) return Error(Code::kUnprocessable, "verdict is required", "verdict");
  auto note = r.optional_string("note", 10000);
  if (!note.ok()) return note.error();
  if (Status s = r.finish(); !s.ok()) return s.error();
  return VerdictBody{**verdict, note->value_or("")};
}

}  // namespace

Result<NewUser> parse_new_user(const nlohmann::json& body) {
  FieldReader r(body);
  auto name = r.required_string("name", 1, 200);
  if (!name.ok()) return name.error();
  auto org = r.optional_string("org", 200);
  if (!org.ok()) return org.error();
  if (*org && (*org)->empty()) return Error(Code::kUnprocessable, "org must not be empty", "org");
  auto role_text = r.optional_enum("role", {"contributor", "analyst", "admin"});
  if (!role_text.ok()) return role_text.error();
  if (Status s = r.finish(); !s.ok()) return s.error();
  return NewUser{*name, org->value_or(""),
                 store::parse_role(role_text->value_or("contributor")).value()};
}

Result<std::string> parse_new_organisation(const nlohmann::json& body) {
  FieldReader r(body);
  auto name = r.required_string("name", 1, 200);
  if (!name.ok()) return name.error();
  if (Status s = r.finish(); !s.ok()) return s.error();
  return *name;
}

Result<std::string> parse_token_label(const nlohmann::json& body) {
  FieldReader r(body);
  auto l = r.optional_string("label", 200);
  if (!l.ok()) return l.error();
  if (Status s = r.finish(); !s.ok()) return s.error();
  return l->value_or("");
}

Result<VerdictBody> parse_duplicate_verdict(const nlohmann::json& body) {
  return parse_verdict(body, {"confirmed", "rejected"});
}

Result<VerdictBody> parse_observation_verdict(const nlohmann::json& body) {
  return parse_verdict(body, {"verified", "disputed", "rejected"});
}

Result<store::Geolocation> parse_geolocation(const nlohmann::json& body) {
  FieldReader r(body);
  store::Geolocation g;
  auto lat = r.optional_number("lat", -90, 90);
  if (!lat.ok()) return lat.error();
  auto lon = r.optional_number("lon", -180, 180);
  if (!lon.ok()) return lon.error();
  if (!*lat) return Error(Code::kUnprocessable, "lat is required", "lat");
  if (!*lon) return Error(Code::kUnprocessable, "lon is required", "lon");
  g.lat = **lat;
  g.lon = **lon;
  auto precision = r.optional_enum("precision", store::location_precisions());
  if (!precision.ok()) return precision.error();
  if (!*precision) return Error(Code::kUnprocessable, "precision is required", "precision");
  g.precision = **precision;
  auto method = r.optional_enum("method", store::geolocation_methods());
  if (!method.ok()) return method.error();
  if (!*method) return Error(Code::kUnprocessable, "method is required", "method");
  g.method = **method;
  auto evidence = r.optional_string("evidence", 20000);
  if (!evidence.ok()) return evidence.error();
  g.evidence = evidence->value_or("");
  if (const nlohmann::json* refs = r.optional_value("frame_refs")) {
    // The observation reader checks frame references; reuse it on a minimal object.
    nlohmann::json probe = {{"observed_at", "2000-01-01T00:00:00Z"},
                            {"location", {{"lat", 0}, {"lon", 0}}},
                            {"location_precision", "exact"},
                            {"equipment", {{{"type", "other"}, {"count", 1}}}},
                            {"frame_refs", *refs}};
    auto checked = parse_observation(probe);
    if (!checked.ok()) return checked.error();
    g.frame_refs = checked->frame_refs;
  }
  if (Status s = r.finish(); !s.ok()) return s.error();
  return g;
}

}  // namespace cw::server
