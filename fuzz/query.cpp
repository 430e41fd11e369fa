// Fuzz target: request targets as the server reads them: boost::urls::parse_origin_form, the
// route table (server/routes.hpp make_router) on the decoded path segments, and every reader of
// query parameters: parse_page, positive_id and query_enum (server/pagination.hpp), the
// observation list filter (server/observation_io.hpp) and the submission list filter
// (server/submission_meta.hpp).
//
// Input: byte 0 picks the method; the rest is the request target. Accepted values must be in
// range: limits within their bounds, cursors non-negative, a bbox finite and ordered, path
// parameters those of the matched route.
#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "fuzz/fuzz.hpp"
#include "server/observation_io.hpp"
#include "server/pagination.hpp"
#include "server/router.hpp"
#include "server/routes.hpp"
#include "server/submission_meta.hpp"

namespace cw::fuzz {

void query(std::string_view data) {
  if (data.empty()) return;
  static const server::Router router = server::make_router();
  static const server::http::verb kMethods[] = {
      server::http::verb::get, server::http::verb::post, server::http::verb::patch,
      server::http::verb::delete_, server::http::verb::options};
  const auto method = kMethods[static_cast<unsigned char>(data[0]) % std::size(kMethods)];
  data.remove_prefix(1);

  auto target = boost::urls::parse_origin_form(data);
  if (!target) return;
  std::vector<std::string> segments;
  for (auto seg : target->segments()) segments.push_back(seg);
  server::QueryParams query;
  for (auto p : target->params()) query.emplace(p.key, p.value);

  server::RouteMatch m = router.match(method, segments);
  if (m.route != nullptr) {
    CW_FUZZ_CHECK(m.path_known);
    CW_FUZZ_CHECK(m.route->method == method);
    for (const auto& [name, value] : m.params) {
      CW_FUZZ_CHECK(m.route->pattern.find(fmt::format("{{{}}}", name)) != std::string::npos);
    }
  } else if (m.path_known) {
    CW_FUZZ_CHECK(!m.allowed.empty());
  }
  (void)router.methods_for(segments);

  if (auto page = server::parse_page(query); page.ok()) {
    CW_FUZZ_CHECK(page->limit >= 1 && page->limit <= 500);
    CW_FUZZ_CHECK(page->after >= 0);
  }
  for (const auto& [name, value] : query) {
    if (auto id = server::positive_id(value, name, Code::kUnprocessable); id.ok()) {
      CW_FUZZ_CHECK(*id > 0);
    }
  }
  for (auto [def, max] : {std::pair{50, 500}, std::pair{10000, 1000000}}) {
    auto f = server::parse_observation_filter(query, def, max);
    if (!f.ok()) continue;
    CW_FUZZ_CHECK(f->limit >= 1 && f->limit <= max);
    CW_FUZZ_CHECK(f->after_id >= 0);
    if (f->bbox) {
      const auto& b = *f->bbox;
      for (double v : b) CW_FUZZ_CHECK(std::isfinite(v));
      CW_FUZZ_CHECK(b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90);
      CW_FUZZ_CHECK(b[0] < b[2] && b[1] < b[3]);
    }
    if (f->submission_id) CW_FUZZ_CHECK(*f->submission_id > 0);
  }
  if (auto f = server::parse_submission_filter(query); f.ok()) {
    CW_FUZZ_CHECK(f->limit >= 1 && f->limit <= 500);
    CW_FUZZ_CHECK(f->after_id >= 0);
    if (f->submitted_by) CW_FUZZ_CHECK(*f->submitted_by > 0);
    if (f->org) CW_FUZZ_CHECK(*f->org > 0);
  }
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::query)
