// What happens around every handler: authentication, role check, rate limit, error mapping,
// CORS headers and request ids. Pure functions of the request and the services, so the
// transport (session.cpp) knows nothing of resources.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/context.hpp"
#include "server/router.hpp"

namespace cw::server {

// Authentication, rate limit and role check for the route: nullopt when the request may go on
// (ctx.principal is then set for routes that need a token), else the reply to send.
std::optional<Reply> admit(const Route& route, RequestContext& ctx);

// Runs fn() -> Result<Reply>, mapping errors to problem documents and exceptions to a 500 that
// never shows the exception text.
Reply guarded(const Route& route, RequestContext& ctx, const std::function<Result<Reply>()>& fn);

// admit() (unless the session admitted the caller already, before reading the body) then the
// route's handler, guarded.
Reply run_handler(const Route& route, RequestContext& ctx);

// The client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-], else a new one.
std::string request_id_for(std::string_view client_value);

// CORS headers for a response to `origin` (nothing unless the origin is configured).
void add_cors_headers(const ServerConfig& config, std::string_view origin, http::fields& headers);
// The answer to OPTIONS on a known path: Allow, and the CORS preflight headers when allowed.
Reply options_reply(const ServerConfig& config, const RequestHeader& request,
                    const std::vector<http::verb>& methods);

}  // namespace cw::server
