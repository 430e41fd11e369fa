// The routing table: (method, path pattern) -> handler with its options. Matching gives the
// handler and the path parameters, or says 404 (no pattern matches the path) or 405 (a pattern
// matches but not for this method, with the methods that would). Built once at start, then
// read-only and thread-safe.
//
// Patterns are literal segments and `{name}` parameters, optionally with a literal suffix:
// "/api/v1/users/{id}/tokens", "/api/v1/media/{sha256}/frames/{n}.jpg".
#pragma once

#include <functional>
#include <map>
#include <memory>
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

// A request body consumed as it arrives (video uploads) instead of being buffered.
// The session calls write() on the I/O thread with chunks of up to 1 MiB, then finish() on the
// blocking pool once the body is complete. When write() returns an error the sink has already
// cleaned up after itself; the session answers with the error and closes the connection.
// When the client goes away or the server stops first, the sink is destroyed without finish():
// its destructor decides what survives (nothing for a plain upload; the bytes so far for tus).
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual Status write(std::string_view chunk) = 0;
  virtual Result<Reply> finish(RequestContext& ctx) = 0;
  // Headers of the protocol the sink speaks that the answer to a failed write() must carry
  // too (tus: Tus-Resumable). Default: none.
  virtual void add_error_headers(Reply& /*reply*/) const {}
};

// What opening a stream gives: a sink to feed, or an immediate reply (e.g. a replayed
// Idempotency-Key answer) sent without reading the body.
struct StreamStart {
  std::unique_ptr<BodySink> sink;
  std::optional<Reply> reply;
};
using OpenStream = std::function<Result<StreamStart>(RequestContext&)>;
using StreamsWhen = std::function<bool(const RequestHeader&)>;

struct RouteOptions {
  // Which roles may call; empty = no authentication at all (health checks, OpenAPI).
  std::vector<store::Role> roles;
  // Largest request body; 0 = the [server] max_json_bytes default, or no body at all on a route
  // without roles (one that needs no token reads a body only when it sets a limit).
  int64_t body_limit = 0;
  // false: the handler is cheap and never blocks, so it runs on the I/O thread.
  bool blocking = true;
  // Streaming bodies: when `streams_when(header)` holds, `open_stream` (run on the blocking
  // pool after authentication) takes the body instead of `handler`; the body limit is then
  // `stream_limit` (0 = [server] max_upload_bytes), checked against Content-Length up front.
  OpenStream open_stream = nullptr;
  StreamsWhen streams_when = nullptr;
  int64_t stream_limit = 0;
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
  // Every method some route accepts on this path (for OPTIONS and Allow).
  std::vector<http::verb> methods_for(const std::vector<std::string>& segments) const;
  const std::vector<Route>& routes() const { return routes_; }

  // The route for GET and HEAD of paths outside the API that no pattern matches (the dashboard's
  // files and its client-side routes); admission.hpp decides which paths qualify.
  void set_fallback(Handler handler, RouteOptions options = {});
  const Route* fallback() const { return fallback_.get(); }

 private:
  std::vector<Route> routes_;
  std::unique_ptr<Route> fallback_;
};

// Roles that may read: everybody with a token.
inline const std::vector<store::Role> kAnyRole = {store::Role::kContributor, store::Role::kAnalyst,
                                                  store::Role::kAdmin, store::Role::kCoordinator};
inline const std::vector<store::Role> kAnalysts = {store::Role::kAnalyst, store::Role::kAdmin,
                                                   store::Role::kCoordinator};
// Admins manage their own organisation, coordinators every one (the handlers scope it).
inline const std::vector<store::Role> kAdmins = {store::Role::kAdmin, store::Role::kCoordinator};
inline const std::vector<store::Role> kCoordinators = {store::Role::kCoordinator};

}  // namespace cw::server
