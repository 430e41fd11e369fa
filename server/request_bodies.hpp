// The small JSON request bodies whose handlers read a few fields each: a new user, a token
// label, an analyst's verdict on a duplicate link or on an observation, and a geolocation.
// Pure functions of the parsed body (parse_json_object gives it): unknown fields, wrong types
// and bad values are kUnprocessable errors naming the field. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "common/error.hpp"
#include "store/geolocations.hpp"
#include "store/observations.hpp"
#include "store/users.hpp"

namespace cw::server {

// POST /api/v1/users: name (1 to 200 bytes), org (1 to 200 bytes; "" when absent: the caller's
// own), role (contributor, analyst or admin; default contributor — a coordinator is created from
// the command line only).
struct NewUser {
  std::string name;
  std::string org;
  store::Role role = store::Role::kContributor;
};
Result<NewUser> parse_new_user(const nlohmann::json& body);

// POST /api/v1/organisations: its name (1 to 200 bytes).
Result<std::string> parse_new_organisation(const nlohmann::json& body);

// POST /api/v1/users/{id}/tokens: an optional label of at most 200 bytes ("" when absent).
Result<std::string> parse_token_label(const nlohmann::json& body);

// A verdict (required, one of `allowed`) and an optional note of at most 10000 bytes.
struct VerdictBody {
  std::string verdict;
  std::string note;
};
// POST /api/v1/media/{sha256}/duplicates/{other}/verdict: confirmed | rejected.
Result<VerdictBody> parse_duplicate_verdict(const nlohmann::json& body);
// POST /api/v1/observations/{id}/verification: verified | disputed | rejected.
Result<VerdictBody> parse_observation_verdict(const nlohmann::json& body);

// POST /api/v1/submissions/{id}/geolocation: lat, lon, precision, method (required), evidence,
// frame_refs (checked as parse_observation checks them). Sets lat, lon, precision, method,
// evidence and frame_refs of the result.
Result<store::Geolocation> parse_geolocation(const nlohmann::json& body);

}  // namespace cw::server
