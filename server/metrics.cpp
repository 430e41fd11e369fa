// Metrics over prometheus-cpp's registry and text serializer.
#include "server/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace cw::server {

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("convoywatch_http_requests_total")
                   .Help("HTTP requests answered, by route pattern, method and status")
                   .Register(*registry_);
  latency_ = &prometheus::BuildHistogram()
                  .Name("convoywatch_http_request_duration_seconds")
                  .Help("Time from the request header to the end of the response, by route")
                  .Register(*registry_);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("convoywatch_http_requests_in_flight")
                    .Help("Requests being read, handled or answered")
                    .Register(*registry_)
                    .Add({});
  auto& pool = prometheus::BuildGauge()
                   .Name("convoywatch_db_pool_connections")
                   .Help("Database pool connections by state")
                   .Register(*registry_);
  pool_in_use_ = &pool.Add({{"state", "in_use"}});
  pool_idle_ = &pool.Add({{"state", "idle"}});
  pool_capacity_ = &pool.Add({{"state", "capacity"}});
  auto& cache = prometheus::BuildCounter()
                    .Name("convoywatch_read_cache_lookups_total")
                    .Help("Look-ups in the read caches, by cache and result")
                    .Register(*registry_);
  token_hits_ = &cache.Add({{"cache", "tokens"}, {"result", "hit"}});
  token_misses_ = &cache.Add({{"cache", "tokens"}, {"result", "miss"}});
  list_hits_ = &cache.Add({{"cache", "lists"}, {"result", "hit"}});
  list_misses_ = &cache.Add({{"cache", "lists"}, {"result", "miss"}});
  tile_hits_ = &cache.Add({{"cache", "tiles"}, {"result", "hit"}});
  tile_misses_ = &cache.Add({{"cache", "tiles"}, {"result", "miss"}});
  tus_received_ = &prometheus::BuildCounter()
                       .Name("convoywatch_tus_bytes_received_total")
                       .Help("Bytes appended to resumable (tus) uploads")
                       .Register(*registry_)
                       .Add({});
  tus_hashed_ = &prometheus::BuildCounter()
                     .Name("convoywatch_tus_bytes_hashed_total")
                     .Help(
                         "Bytes of resumable uploads put through SHA-256: each received byte "
                         "once, plus whole files re-read when a PATCH resumes without a kept "
                         "hash state (after a restart)")
                     .Register(*registry_)
                     .Add({});
  auto& resumes = prometheus::BuildCounter()
                      .Name("convoywatch_tus_resumes_total")
                      .Help("PATCHes of resumable uploads by where the hash state came from")
                      .Register(*registry_);
  tus_resumed_memory_ = &resumes.Add({{"hash_state", "memory"}});
  tus_resumed_reread_ = &resumes.Add({{"hash_state", "reread"}});
}

Metrics::~Metrics() = default;

void Metrics::sandbox_mode(const std::string& mode) {
  prometheus::BuildGauge()
      .Name("convoywatch_sandbox_mode")
      .Help("How analysis, imagery and downloader children are confined ([pipeline] sandbox)")
      .Register(*registry_)
      .Add({{"mode", mode}})
      .Set(1);
}

void Metrics::request_started() { in_flight_->Increment(); }

void Metrics::request_finished(const std::string& route, const std::string& method, int status,
                               double seconds) {
  in_flight_->Decrement();
  requests_->Add({{"route", route}, {"method", method}, {"status", std::to_string(status)}})
      .Increment();
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
  latency_->Add({{"route", route}}, kBuckets).Observe(seconds);
}

void Metrics::cache_lookup(std::string_view cache, bool hit) {
  if (cache == "tokens") {
    (hit ? token_hits_ : token_misses_)->Increment();
  } else if (cache == "tiles") {
    (hit ? tile_hits_ : tile_misses_)->Increment();
  } else {
    (hit ? list_hits_ : list_misses_)->Increment();
  }
}

std::string Metrics::render(const store::PoolStats& pool, const store::TusHashStats& tus) {
  {
    std::lock_guard lock(render_mu_);
    auto catch_up = [](prometheus::Counter* c, uint64_t total) {
      const double delta = static_cast<double>(total) - c->Value();
      if (delta > 0) c->Increment(delta);
    };
    catch_up(tus_received_, tus.bytes_written);
    catch_up(tus_hashed_, tus.bytes_hashed);
    catch_up(tus_resumed_memory_, tus.resumed_from_memory);
    catch_up(tus_resumed_reread_, tus.resumed_by_rereading);
  }
  pool_in_use_->Set(static_cast<double>(pool.in_use));
  pool_idle_->Set(static_cast<double>(pool.idle));
  pool_capacity_->Set(static_cast<double>(pool.capacity));
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

}  // namespace cw::server
