// The command line of the real binary: global options reach the configuration every command
// loads (the file and the environment give way to them).
#include <gtest/gtest.h>

#include <string>

#include "tests/support/process.hpp"

namespace cw {
namespace {

TEST(CliTest, GlobalOptionsOverrideEnvironmentAndDefaults) {
  auto r =
      test::run_convoywatch({"--set", "server.rate_limit_per_minute=77", "--set",
                             "tracks.max_speed_kmh=55", "--log-level", "warn", "config", "show"},
                            {{"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "12"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("rate_limit_per_minute = 77\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("max_speed_kmh = 55"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("level = \"warn\"\n"), std::string::npos) << r.out;

  // Without them, the environment holds.
  auto plain = test::run_convoywatch({"config", "show"},
                                     {{"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "12"}});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("rate_limit_per_minute = 12\n"), std::string::npos) << plain.out;

  // A malformed override is refused, naming it.
  auto bad =
      test::run_convoywatch({"--set", "server.rate_limit_per_minute=lots", "config", "show"});
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.err.find("rate_limit_per_minute"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace cw
