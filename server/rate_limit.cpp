// Token buckets.
#include "server/rate_limit.hpp"

#include <algorithm>
#include <cmath>

namespace cw::server {

bool RateLimiter::allow(int64_t token_id, int* retry_after_s,
                        std::chrono::steady_clock::time_point now) {
  if (per_minute_ <= 0) return true;
  double rate = per_minute_ / 60.0;  // tokens per second
  std::lock_guard lock(mu_);
  auto [it, inserted] = buckets_.try_emplace(token_id, Bucket{double(burst_), now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::chrono::duration<double>(now - b.updated).count();
    b.tokens = std::min<double>(burst_, b.tokens + elapsed * rate);
    b.updated = now;
  }
  if (b.tokens >= 1.0) {
    b.tokens -= 1.0;
    return true;
  }
  *retry_after_s = std::max(1, static_cast<int>(std::ceil((1.0 - b.tokens) / rate)));
  return false;
}

}  // namespace cw::server
