// Authentication, authorisation, rate limits, CORS and request ids.
#include "server/middleware.hpp"

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/sha256.hpp"
#include "server/metrics.hpp"
#include "server/problem.hpp"
#include "server/rate_limit.hpp"
#include "server/read_cache.hpp"

namespace cw::server {

namespace {

constexpr const char* kAllowedHeaders =
    "Authorization, Content-Type, Idempotency-Key, X-Request-Id, Tus-Resumable, Upload-Length, "
    "Upload-Offset, Upload-Metadata, Upload-Defer-Length, Range, If-None-Match";
constexpr const char* kExposedHeaders =
    "Location, X-Request-Id, ETag, Retry-After, Content-Disposition, Tus-Resumable, Tus-Version, "
    "Tus-Extension, Tus-Max-Size, Upload-Offset, Upload-Length, Upload-Expires, Upload-Metadata";

Reply unauthenticated(const std::string& detail) {
  Reply r = problem(http::status::unauthorized, detail);
  r.headers.set(http::field::www_authenticate, "Bearer realm=\"convoywatch\"");
  return r;
}

std::string join_methods(const std::vector<http::verb>& methods) {
  std::vector<std::string> names;
  for (http::verb v : methods) names.emplace_back(http::to_string(v));
  if (std::find(names.begin(), names.end(), "GET") != names.end() &&
      std::find(names.begin(), names.end(), "HEAD") == names.end()) {
    names.emplace_back("HEAD");
  }
  if (std::find(names.begin(), names.end(), "OPTIONS") == names.end())
    names.emplace_back("OPTIONS");
  std::string out;
  for (const auto& n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

// Who the token is: from the token cache while the change feed vouches for it, else from the
// database (and then kept). Refusals are not kept: a flood of made-up tokens must not fill it.
Result<store::Principal> authenticate(RequestContext& ctx, const std::string& token) {
  return read_through(
      ctx.services.caches, &ReadCaches::tokens, store::ChangeFeed::Topic::kAccess,
      ctx.services.metrics, "tokens",
      [&token] {
        const Sha256Digest digest = Sha256::digest(token);
        return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
      },
      [&] { return store::Users(ctx.services.db).authenticate(token); },
      [](const store::Principal& p) { return p.user_name.size() + p.org_name.size(); });
}

}  // namespace

std::optional<Reply> admit(const Route& route, RequestContext& ctx) {
  if (route.options.roles.empty()) return std::nullopt;
  auto auth = ctx.request[http::field::authorization];
  if (auth.empty()) return unauthenticated("this route needs an Authorization: Bearer token");
  if (auth.size() < 8 || !boost::algorithm::istarts_with(auth, "bearer ")) {
    return unauthenticated("the Authorization header must be \"Bearer <token>\"");
  }
  std::string token(auth.substr(7));
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  Result<store::Principal> who = authenticate(ctx, token);
  if (!who.ok()) {
    if (who.error().code() == Code::kUnauthenticated) return unauthenticated(who.error().detail());
    return problem(who.error());
  }
  int retry_after = 0;
  if (!ctx.services.rate_limiter.allow(who->token_id, &retry_after)) {
    Reply r =
        problem(http::status::too_many_requests, "rate limit for this token exceeded; retry later");
    r.headers.set(http::field::retry_after, std::to_string(retry_after));
    return r;
  }
  const auto& roles = route.options.roles;
  if (std::find(roles.begin(), roles.end(), who->role) == roles.end()) {
    return problem(http::status::forbidden, std::string("the role ") + store::role_name(who->role) +
                                                " may not use this route");
  }
  ctx.principal = std::move(who.value());
  return std::nullopt;
}

Reply guarded(const Route& route, RequestContext& ctx, const std::function<Result<Reply>()>& fn) {
  try {
    Result<Reply> r = fn();
    if (!r.ok()) {
      if (r.error().code() == Code::kInternal) {
        log::error("request failed",
                   {{"request_id", ctx.request_id}, {"error", r.error().to_string()}});
      }
      return problem(r.error());
    }
    return std::move(r).value();
  } catch (const std::exception& e) {
    log::error("handler threw",
               {{"request_id", ctx.request_id}, {"route", route.pattern}, {"error", e.what()}});
    return problem(http::status::internal_server_error,
                   "internal error; the request id identifies it in the server log");
  }
}

Reply run_handler(const Route& route, RequestContext& ctx) {
  std::optional<Reply> refused;
  Reply r = guarded(route, ctx, [&]() -> Result<Reply> {
    if (!ctx.principal) refused = admit(route, ctx);
    if (refused) return Reply{};
    return route.handler(ctx);
  });
  return refused ? std::move(*refused) : std::move(r);
}

std::string request_id_for(std::string_view v) {
  bool sane = !v.empty() && v.size() <= 128 && std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
  return sane ? std::string(v) : random_hex(8);
}

void add_cors_headers(const ServerConfig& config, std::string_view origin, http::fields& headers) {
  if (origin.empty()) return;
  const auto& allowed = config.cors_origins;
  if (std::find(allowed.begin(), allowed.end(), origin) == allowed.end()) return;
  headers.set(http::field::access_control_allow_origin, origin);
  headers.set(http::field::access_control_allow_credentials, "true");
  headers.set(http::field::access_control_expose_headers, kExposedHeaders);
  headers.set(http::field::vary, "Origin");
}

Reply options_reply(const ServerConfig& config, const RequestHeader& request,
                    const std::vector<http::verb>& methods) {
  Reply r = Reply::empty(http::status::no_content);
  std::string allow = join_methods(methods);
  r.headers.set(http::field::allow, allow);
  auto origin = request[http::field::origin];
  if (!origin.empty() && request.count(http::field::access_control_request_method) > 0) {
    add_cors_headers(config, origin, r.headers);
    if (r.headers.count(http::field::access_control_allow_origin) > 0) {
      r.headers.set(http::field::access_control_allow_methods, allow);
      r.headers.set(http::field::access_control_allow_headers, kAllowedHeaders);
      r.headers.set(http::field::access_control_max_age, "600");
    }
  }
  return r;
}

}  // namespace cw::server
