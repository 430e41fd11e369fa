// The read caches' store (server/read_cache.hpp): versions, age, the byte bound and its order.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

#include "server/read_cache.hpp"

namespace cw::server {
namespace {

using namespace std::chrono_literals;

TEST(VersionedCacheTest, ServedOnlyUnderTheVersionItWasReadWith) {
  VersionedCache<std::string> cache(1 << 20, 60s);
  EXPECT_FALSE(cache.get("a", 1).has_value());
  cache.put("a", "first", 1, 5);
  ASSERT_TRUE(cache.get("a", 1).has_value());
  EXPECT_EQ(*cache.get("a", 1), "first");
  // The topic moved on: the entry is gone, even for a reader still holding the old version.
  EXPECT_FALSE(cache.get("a", 2).has_value());
  EXPECT_FALSE(cache.get("a", 1).has_value());
  EXPECT_EQ(cache.bytes(), 0u);
  // An answer read under an older version never replaces a newer one.
  cache.put("a", "new", 3, 3);
  cache.put("a", "old", 2, 3);
  EXPECT_EQ(cache.get("a", 3).value_or(""), "new");
}

TEST(VersionedCacheTest, TooOldIsNotServed) {
  VersionedCache<std::string> cache(1 << 20, 50ms);
  cache.put("a", "x", 7, 1);
  EXPECT_TRUE(cache.get("a", 7).has_value());
  std::this_thread::sleep_for(80ms);
  EXPECT_FALSE(cache.get("a", 7).has_value());
}

TEST(VersionedCacheTest, BoundedByBytesLeastRecentlyUsedFirst) {
  // Each entry costs its value's bytes plus the key and bookkeeping; 64 KiB holds a few 10 KiB
  // values, and a value over an eighth (8 KiB) is not kept at all.
  VersionedCache<std::string> cache(64 << 10, 60s);
  const std::string value(6000, 'v');
  for (int i = 0; i < 20; ++i) cache.put("k" + std::to_string(i), value, 1, value.size());
  EXPECT_LE(cache.bytes(), 64u << 10);
  EXPECT_FALSE(cache.get("k0", 1).has_value());  // the oldest went first
  EXPECT_TRUE(cache.get("k19", 1).has_value());  // the newest stayed
  // Using an entry keeps it: k10 is read, then more are added; k10 outlives its neighbours.
  int kept = 0;
  for (int i = 0; i < 20; ++i) kept += cache.get("k" + std::to_string(i), 1).has_value();
  ASSERT_GT(kept, 2);
  const int first_kept = 20 - kept;
  ASSERT_TRUE(cache.get("k" + std::to_string(first_kept), 1).has_value());
  cache.put("x1", value, 1, value.size());
  cache.put("x2", value, 1, value.size());
  EXPECT_TRUE(cache.get("k" + std::to_string(first_kept), 1).has_value());
  EXPECT_FALSE(cache.get("k" + std::to_string(first_kept + 1), 1).has_value());

  const std::string big(9000, 'b');
  cache.put("big", big, 1, big.size());
  EXPECT_FALSE(cache.get("big", 1).has_value());
}

}  // namespace
}  // namespace cw::server
