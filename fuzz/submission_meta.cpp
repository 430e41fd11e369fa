// Fuzz target: submission metadata (server/submission_meta.hpp parse_submission_metadata), as
// the JSON body of POST /submissions and as the `metadata` part of a multipart upload.
//
// Input: a JSON document. Accepted metadata has its values in range, text the database stores,
// a posted_at that prints and reads back, and a submission_json that dumps.
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/time.hpp"
#include "fuzz/fuzz.hpp"
#include "common/utf8.hpp"
#include "server/submission_meta.hpp"

namespace cw::fuzz {
namespace {

void check_accepted(const store::SubmissionInput& in) {
  for (const auto* s : {&in.source_url, &in.platform, &in.author, &in.description}) {
    if (*s) CW_FUZZ_CHECK(is_storable_text(**s));
  }
  for (const auto& t : in.tags) CW_FUZZ_CHECK(!t.empty() && is_storable_text(t));
  if (in.claimed_location) {
    const auto& c = *in.claimed_location;
    if (c.place) CW_FUZZ_CHECK(is_storable_text(*c.place));
    if (c.lat) CW_FUZZ_CHECK(std::isfinite(*c.lat) && *c.lat >= -90 && *c.lat <= 90);
    if (c.lon) CW_FUZZ_CHECK(std::isfinite(*c.lon) && *c.lon >= -180 && *c.lon <= 180);
    if (c.radius_m) CW_FUZZ_CHECK(std::isfinite(*c.radius_m) && *c.radius_m >= 0);
  }
  if (in.posted_at) {
    auto back = parse_rfc3339(format_rfc3339(*in.posted_at), "posted_at");
    CW_FUZZ_CHECK(back.ok());
    CW_FUZZ_CHECK(*back == *in.posted_at);
  }
  store::Submission s;
  s.meta = in;
  s.status = "queued";
  (void)server::submission_json(s).dump();  // throws on text JSON cannot print
}

}  // namespace

void submission_meta(std::string_view data) {
  const nlohmann::json doc = nlohmann::json::parse(data, nullptr, false);
  if (doc.is_discarded()) return;
  for (const char* prefix : {"", "metadata."}) {
    auto in = server::parse_submission_metadata(doc, prefix);
    if (in.ok()) check_accepted(*in);
  }
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::submission_meta)
