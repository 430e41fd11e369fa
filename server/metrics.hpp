// Prometheus metrics (prometheus-cpp core): requests by route and status, latency histogram,
// in-flight requests, the database pool and the hashing of resumable uploads. Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "store/database.hpp"
#include "store/media_store.hpp"

namespace prometheus {
class Registry;
template <typename T>
class Family;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace cw::server {

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void request_started();
  // `route` is the pattern ("/api/v1/users/{id}"), never the raw path, to bound cardinality.
  void request_finished(const std::string& route, const std::string& method, int status,
                        double seconds);
  // A look-up in a read cache (server/read_cache.hpp, tile_cache.hpp): `cache` is "tokens",
  // "lists" or "tiles"; a miss includes the feed not vouching for anything.
  void cache_lookup(std::string_view cache, bool hit);
  // How children that decode untrusted files are confined ([pipeline] sandbox):
  // convoywatch_sandbox_mode{mode="namespaces"} 1.
  void sandbox_mode(const std::string& mode);
  // Prometheus text exposition format 0.0.4. `tus`: the media store's counters
  // (convoywatch_tus_bytes_received_total, convoywatch_tus_bytes_hashed_total and
  // convoywatch_tus_resumes_total{hash_state="memory"|"reread"}).
  std::string render(const store::PoolStats& pool, const store::TusHashStats& tus = {});

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* latency_;
  prometheus::Gauge* in_flight_;
  prometheus::Gauge* pool_in_use_;
  prometheus::Gauge* pool_idle_;
  prometheus::Gauge* pool_capacity_;
  prometheus::Counter* token_hits_;
  prometheus::Counter* token_misses_;
  prometheus::Counter* list_hits_;
  prometheus::Counter* list_misses_;
  prometheus::Counter* tile_hits_;
  prometheus::Counter* tile_misses_;
  prometheus::Counter* tus_received_;
  prometheus::Counter* tus_hashed_;
  prometheus::Counter* tus_resumed_memory_;
  prometheus::Counter* tus_resumed_reread_;
  std::mutex render_mu_;  // the tus counters are brought up to the store's totals one at a time
};

}  // namespace cw::server
