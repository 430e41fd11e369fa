// server/single_flight.hpp: concurrent callers of one key share one load; other keys do not wait.
#include "server/single_flight.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/wait.hpp"

namespace cw::server {
namespace {

using namespace std::chrono_literals;

TEST(SingleFlightTest, CallersOfOneKeyShareOneLoad) {
  SingleFlight<std::string> flights;
  constexpr int kCallers = 8;
  std::atomic<int> loads{0};
  std::atomic<int> joined{0};
  std::vector<std::string> results(kCallers);
  // The first load lasts until every other caller waits for it.
  auto load = [&] {
    ++loads;
    EXPECT_TRUE(test::wait_until([&] { return flights.waiters("tile") == kCallers - 1; }, 30s));
    return std::string("bytes");
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < kCallers; ++i) {
    threads.emplace_back([&, i] {
      bool j = false;
      results[i] = flights.run("tile", load, &j);
      joined += j;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads, 1);
  EXPECT_EQ(joined, kCallers - 1);
  for (const auto& r : results) EXPECT_EQ(r, "bytes");
  // Once it ended, the next call loads again.
  bool j = true;
  EXPECT_EQ(flights.run("tile", [] { return std::string("again"); }, &j), "again");
  EXPECT_FALSE(j);
}

TEST(SingleFlightTest, AnotherKeyDoesNotWait) {
  SingleFlight<int> flights;
  std::atomic<bool> release{false};
  std::thread slow([&] {
    flights.run("slow", [&] {
      EXPECT_TRUE(test::wait_until([&] { return release.load(); }, 30s));
      return 1;
    });
  });
  EXPECT_EQ(flights.run("fast", [] { return 2; }), 2);
  release = true;
  slow.join();
}

TEST(SingleFlightTest, WaitersGetTheLoadersException) {
  SingleFlight<int> flights;
  std::atomic<int> caught{0};
  auto load = [&]() -> int {
    EXPECT_TRUE(test::wait_until([&] { return flights.waiters("k") == 1; }, 30s));
    throw std::runtime_error("database gone");
  };
  auto call = [&] {
    try {
      flights.run("k", load);
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "database gone");
      ++caught;
    }
  };
  std::thread a(call);
  std::thread b(call);
  a.join();
  b.join();
  EXPECT_EQ(caught, 2);
}

}  // namespace
}  // namespace cw::server
