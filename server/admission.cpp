// admit_header(): the rules applied to a request header (server/admission.hpp).
#include "server/admission.hpp"

#include <boost/url/parse.hpp>

#include <algorithm>

#include "common/utf8.hpp"
#include "server/middleware.hpp"
#include "server/problem.hpp"

namespace cw::server {

namespace {

// Beast refuses Content-Length next to a chunked Transfer-Encoding, but takes a request whose
// Transfer-Encoding does not end in chunked (or sits beside a Content-Length) as having no body
// or a Content-Length body, while a proxy in front may frame it differently: request smuggling.
// RFC 9112 section 6.1 asks for 400 and a closed connection; the only coding taken is a lone
// "chunked".
bool plain_framing(const RequestHeader& h) {
  const size_t fields = h.count(http::field::transfer_encoding);
  if (fields == 0) return true;
  if (fields > 1 || h.count(http::field::content_length) > 0) return false;
  http::token_list codings{h[http::field::transfer_encoding]};
  auto it = codings.begin();
  return it != codings.end() && beast::iequals(*it, "chunked") && ++it == codings.end();
}

std::optional<uint64_t> content_length(const RequestHeader& h) {
  auto value = h[http::field::content_length];
  if (value.empty()) return std::nullopt;
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return std::nullopt;  // Beast's parser has refused it already
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

Admission reply(Reply r, bool close_after) {
  Admission a;
  a.kind = Admission::Kind::kReply;
  a.reply = std::move(r);
  a.close_after = close_after;
  return a;
}

// The dashboard (Router::fallback) answers GET and HEAD of any path outside the API.
bool dashboard_path(http::verb method, const std::string& path) {
  return (method == http::verb::get || method == http::verb::head) && !path.starts_with("/api/") &&
         path != "/api" && path != "/healthz" && path != "/readyz" && path != "/metrics";
}

}  // namespace

Admission admit_header(const RequestHeader& h, bool body_pending, const Router& router,
                       const ServerConfig& config) {
  if (!plain_framing(h)) {
    return reply(problem(http::status::bad_request,
                         "Transfer-Encoding must be chunked alone, without Content-Length"),
                 true);
  }
  auto target = boost::urls::parse_origin_form(h.target());
  if (!target) {
    return reply(problem(http::status::bad_request, "the request target is not a valid path"),
                 body_pending);
  }
  Admission a;
  a.path = std::string(target->path());
  std::vector<std::string> segments;
  for (auto seg : target->segments()) segments.push_back(seg);
  for (auto p : target->params()) a.query.emplace(p.key, p.value);
  // Decoded parameters reach SQL as text, which PostgreSQL refuses (a 500) when it is not UTF-8.
  const bool text = std::all_of(segments.begin(), segments.end(), is_storable_text) &&
                    std::all_of(a.query.begin(), a.query.end(), [](const auto& kv) {
                      return is_storable_text(kv.first) && is_storable_text(kv.second);
                    });
  if (!text) {
    return reply(problem(http::status::bad_request,
                         "the request target decodes to a NUL byte or to text that is not UTF-8"),
                 body_pending);
  }

  const bool head = h.method() == http::verb::head;
  const http::verb method = head ? http::verb::get : h.method();
  RouteMatch m = router.match(method, segments);
  const bool preflight = h.method() == http::verb::options && h.count(http::field::origin) > 0 &&
                         h.count(http::field::access_control_request_method) > 0;
  if (h.method() == http::verb::options && m.path_known && (m.route == nullptr || preflight)) {
    return reply(options_reply(config, h, router.methods_for(segments)), body_pending);
  }
  if (m.route == nullptr) {
    if (!m.path_known && router.fallback() != nullptr && dashboard_path(method, a.path)) {
      m.route = router.fallback();
    } else if (!m.path_known) {
      return reply(problem(http::status::not_found, "no such resource: " + a.path), body_pending);
    } else {
      Reply r = problem(http::status::method_not_allowed,
                        std::string(h.method_string()) + " is not allowed on " + a.path);
      Reply opts = options_reply(config, h, m.allowed);
      r.headers.set(http::field::allow, opts.headers[http::field::allow]);
      return reply(std::move(r), body_pending);
    }
  }
  a.route = m.route;
  a.params = std::move(m.params);

  const RouteOptions& o = a.route->options;
  const std::optional<uint64_t> length = content_length(h);
  std::string too_large;
  if (o.open_stream && o.streams_when && o.streams_when(h)) {
    a.kind = Admission::Kind::kStream;
    a.body_limit = o.stream_limit > 0 ? o.stream_limit : config.max_upload_bytes;
    too_large =
        "the upload is larger than the server accepts (" + std::to_string(a.body_limit) + " bytes)";
  } else if (o.roles.empty() && o.body_limit == 0) {
    // A route open to everybody (health, metrics, the OpenAPI document, the dashboard, tus
    // OPTIONS) takes no body unless it says so: nobody without a token makes the server read one.
    a.kind = Admission::Kind::kBuffered;
    a.body_limit = 0;
    too_large = "this route takes no request body";
  } else {
    a.kind = Admission::Kind::kBuffered;
    a.body_limit = o.body_limit > 0 ? o.body_limit : config.max_json_bytes;
    too_large = "the request body is larger than this route accepts (" +
                std::to_string(a.body_limit) + " bytes)";
  }
  if (length && *length > static_cast<uint64_t>(a.body_limit)) {
    Reply r = problem(http::status::payload_too_large, too_large);
    if (o.roles.empty()) return reply(std::move(r), true);
    a.after_auth = std::move(r);
  }
  return a;
}

}  // namespace cw::server
