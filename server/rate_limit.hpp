// Per-token rate limit: a token bucket per API token, refilled at `per_minute` / 60 per second
// up to `burst`. Thread-safe. A limit of 0 disables it.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace cw::server {

class RateLimiter {
 public:
  RateLimiter(int per_minute, int burst) : per_minute_(per_minute), burst_(burst) {}

  // True when the request may go ahead; otherwise *retry_after_s is the wait in whole seconds.
  bool allow(int64_t token_id, int* retry_after_s,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  int per_minute_;
  int burst_;
  std::mutex mu_;
  std::unordered_map<int64_t, Bucket> buckets_;
};

}  // namespace cw::server
