// What a handler sees of one request, and the services it may use.
#pragma once

#include <boost/url/url_view.hpp>

#include <map>
#include <optional>
#include <string>

#include "common/config.hpp"
#include "server/http.hpp"
#include "server/imagery_backend.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"
#include "store/users.hpp"

namespace cw::server {

class EventHub;
class Metrics;
class RateLimiter;
class Router;
struct ReadCaches;
class TileCache;

// Long-lived dependencies, shared by all requests (each is thread-safe).
struct Services {
  const Config& config;
  store::Database& db;
  store::MediaStore& media;
  Metrics& metrics;
  RateLimiter& rate_limiter;
  const Router& router;
  const ImageryBackend& imagery;
  ReadCaches* caches = nullptr;  // null when [server] read_cache_mb = 0
  EventHub* events = nullptr;    // null only in tests that build Services by hand
  TileCache* tiles = nullptr;    // null when [server] tile_cache_mb = 0
};

struct RequestContext {
  Services& services;
  Request request;
  std::string request_id;
  std::string path;                               // decoded path, for logs
  std::map<std::string, std::string> params;      // path parameters
  std::multimap<std::string, std::string> query;  // decoded query parameters
  std::optional<store::Principal> principal;      // set when the route needs a token

  // The one value of a query parameter, or nullopt. REQUIRES: nothing.
  std::optional<std::string> query_param(const std::string& name) const {
    auto it = query.find(name);
    if (it == query.end()) return std::nullopt;
    return it->second;
  }
  // REQUIRES: the route needs authentication (principal is set).
  const store::Principal& user() const { return *principal; }
  store::Actor actor() const {
    return principal ? store::Actor{principal->user_id, principal->user_name}
                     : store::Actor::system("anonymous");
  }
};

}  // namespace cw::server
