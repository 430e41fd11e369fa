// Vector tiles kept in memory while the change feed (store/change_feed.hpp) vouches that what
// they were built from has not changed: the base layers until other geodata is loaded, the
// observation and convoy layers until an observation or a convoy edit changes, imagery until a
// footprint is added. Keys carry everything the tile depends on: the layer, the address, the
// filters and, for the data layers, the caller's organisation. Bounded by bytes
// ([server] tile_cache_mb); the least recently used go first. A tile being built is built once:
// other requests for it wait for that build (flights()). Thread-safe.
#pragma once

#include <chrono>
#include <string>

#include "server/read_cache.hpp"
#include "server/single_flight.hpp"
#include "store/change_feed.hpp"

namespace cw::server {

struct CachedTile {
  std::string body;  // the MVT bytes (empty: a tile with no features)
  std::string etag;  // quoted
};

class TileCache {
 public:
  // An answer the feed missed is served for at most this long.
  static constexpr std::chrono::minutes kMaxAge{10};

  TileCache(store::ChangeFeed& feed, size_t max_bytes) : feed_(feed), tiles_(max_bytes, kMaxAge) {}

  store::ChangeFeed& feed() { return feed_; }
  VersionedCache<CachedTile>& tiles() { return tiles_; }
  // Keyed by the cache key and the version it is built under.
  SingleFlight<Result<CachedTile>>& flights() { return flights_; }

 private:
  store::ChangeFeed& feed_;
  VersionedCache<CachedTile> tiles_;
  SingleFlight<Result<CachedTile>> flights_;
};

}  // namespace cw::server
