// The routing table: (method, path pattern) -> handler with its options. Matching gives the
// handler and the path parameters, or says 404 (no pattern matches the path) or 405 (a pattern
// matches but not for this method, with the methods that would). Built once at start, then
// read-only and thread-safe.
//
// Patterns are literal segments and `{name}` parameters: "/api/v1/users/{id}/tokens".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "server/http.hpp"
#include "store/users.hpp"

namespace cw::server {

struct RequestContext;
using Handler = std::function<Result<Reply>(RequestContext&)>;

struct RouteOptions {
  // Which roles may call; empty = no authentication at all (health checks, OpenAPI).
  std::vector<store::Role> roles;
  // Largest request body; 0 = the [server] max_json_bytes default.
  int64_t body_limit = 0;
  // false: the handler is cheap and never blocks, so it runs on the I/O thread.
  bool blocking = true;
};

struct Route {
  http::verb method;
  std::string pattern;
  Handler handler;
  RouteOptions options;
  std::vector<std::string> segments;  // split pattern
};

struct RouteMatch {
  const Route* route = nullptr;               // set when found
  std::map<std::string, std::string> params;  // decoded path parameters
  std::vector<http::verb> allowed;            // set on 405
  bool path_known = false;                    // some pattern matches the path
};

class Router {
 public:
  void add(http::verb method, std::string pattern, Handler handler, RouteOptions options = {});
  // `segments` are the decoded path segments of the request target.
  RouteMatch match(http::verb method, const std::vector<std::string>& segments) const;
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

// Roles that may read: everybody with a token.
inline const std::vector<store::Role> kAnyRole = {store::Role::kContributor, store::Role::kAnalyst,
                                                  store::Role::kAdmin};
inline const std::vector<store::Role> kAnalysts = {store::Role::kAnalyst, store::Role::kAdmin};
inline const std::vector<store::Role> kAdmins = {store::Role::kAdmin};

}  // namespace cw::server
