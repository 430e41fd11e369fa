// Fuzz target: the JSON request bodies of the remaining routes: parse_json_object (the strict
// body reader every JSON route starts with, server/json_body.hpp) and the readers of
// server/request_bodies.hpp (new user, token label, duplicate and observation verdicts,
// geolocation).
//
// Input: the Content-Type header value up to the first '\n', then the body. Whatever a reader
// accepts has its values in range and its text storable (valid UTF-8 without NUL).
#include <cmath>

#include "common/utf8.hpp"
#include "fuzz/fuzz.hpp"
#include "server/json_body.hpp"
#include "server/request_bodies.hpp"

namespace cw::fuzz {

void request_bodies(std::string_view data) {
  const size_t nl = data.find('\n');
  server::Request request(server::http::verb::post, "/api/v1/users", 11);
  request.set(server::http::field::content_type, data.substr(0, nl));
  request.body() = nl == std::string_view::npos ? std::string() : std::string(data.substr(nl + 1));
  Result<nlohmann::json> doc = server::parse_json_object(request);
  if (!doc.ok()) return;
  CW_FUZZ_CHECK(doc->is_object());

  if (auto u = server::parse_new_user(*doc); u.ok()) {
    CW_FUZZ_CHECK(!u->name.empty() && u->name.size() <= 200 && is_storable_text(u->name));
    CW_FUZZ_CHECK(u->org.size() <= 200 && is_storable_text(u->org));  // "": the caller's own
  }
  if (auto l = server::parse_token_label(*doc); l.ok()) {
    CW_FUZZ_CHECK(l->size() <= 200 && is_storable_text(*l));
  }
  for (auto parse : {server::parse_duplicate_verdict, server::parse_observation_verdict}) {
    if (auto v = parse(*doc); v.ok()) {
      CW_FUZZ_CHECK(!v->verdict.empty());
      CW_FUZZ_CHECK(v->note.size() <= 10000 && is_storable_text(v->note));
    }
  }
  if (auto g = server::parse_geolocation(*doc); g.ok()) {
    CW_FUZZ_CHECK(std::isfinite(g->lat) && g->lat >= -90 && g->lat <= 90);
    CW_FUZZ_CHECK(std::isfinite(g->lon) && g->lon >= -180 && g->lon <= 180);
    CW_FUZZ_CHECK(!g->precision.empty() && !g->method.empty());
    CW_FUZZ_CHECK(is_storable_text(g->evidence));
    for (const auto& f : g->frame_refs) CW_FUZZ_CHECK(f.frame >= 0 && f.frame <= 100000);
  }
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::request_bodies)
