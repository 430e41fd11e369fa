// What happens around every handler: authentication, role check, rate limit, error mapping,
// CORS headers and request ids. Pure functions of the request and the services, so the
// transport (session.cpp) knows nothing of resources.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "server/context.hpp"
#include "server/router.hpp"

namespace cw::server {

// Runs the route's handler with authentication and limits; never throws, never returns an
// exception text to the client.
Reply run_handler(const Route& route, RequestContext& ctx);

// The client's X-Request-Id when it is 1-128 characters of [A-Za-z0-9._:-], else a new one.
std::string request_id_for(std::string_view client_value);

// CORS headers for a response to `origin` (nothing unless the origin is configured).
void add_cors_headers(const ServerConfig& config, std::string_view origin, http::fields& headers);
// The answer to OPTIONS on a known path: Allow, and the CORS preflight headers when allowed.
Reply options_reply(const ServerConfig& config, const RequestHeader& request,
                    const std::vector<http::verb>& methods);

}  // namespace cw::server
