// Replays inputs through the fuzz targets (fuzz/fuzz.hpp), built normally: every saved crash
// input under fuzz/regressions/<target>/ (each one found by scripts/fuzz and fixed since), and
// every seed of fuzz/corpus/<target>/. An input fails the test when the target throws, which is
// how a broken property is reported (CheckFailure) and how the code under test would turn into
// a 500; a memory error crashes the test program.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz/fuzz.hpp"

namespace cw::fuzz {
namespace {

namespace fs = std::filesystem;

struct Target {
  const char* name;
  void (*run)(std::string_view data);
};

const std::vector<Target>& all_targets() {
  static const std::vector<Target> v = {
      {"multipart", multipart},
      {"tus", tus},
      {"iso6709", iso6709},
      {"observation_json", observation_json},
      {"observation_import", observation_import},
      {"submission_meta", submission_meta},
      {"request_bodies", request_bodies},
      {"query", query},
      {"cron", cron},
  };
  return v;
}

fs::path source_dir() {
  const char* env = std::getenv("CW_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? fs::path(env) : fs::path(CW_SOURCE_DIR);
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs every file of <dir>/<target>/ through its target; returns how many ran.
size_t replay(const fs::path& dir) {
  size_t ran = 0;
  for (const Target& t : all_targets()) {
    const fs::path folder = dir / t.name;
    if (!fs::is_directory(folder)) continue;
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (!entry.is_regular_file()) continue;
      const std::string data = read_all(entry.path());
      SCOPED_TRACE(entry.path().string());
      try {
        t.run(data);
      } catch (const std::exception& e) {
        ADD_FAILURE() << t.name << " threw on " << entry.path() << ": " << e.what();
      }
      ++ran;
    }
  }
  return ran;
}

TEST(FuzzRegressionsTest, SavedCrashInputsPass) {
  const fs::path dir = source_dir() / "fuzz" / "regressions";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  EXPECT_GT(replay(dir), 0u) << "no saved inputs under " << dir;
}

TEST(FuzzRegressionsTest, SeedCorporaPass) {
  const fs::path dir = source_dir() / "fuzz" / "corpus";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  // Every target has seeds.
  for (const Target& t : all_targets()) {
    EXPECT_TRUE(fs::is_directory(dir / t.name) && !fs::is_empty(dir / t.name)) << t.name;
  }
  EXPECT_GT(replay(dir), 0u);
}

// The checks themselves can fail: a property that does not hold throws.
TEST(FuzzRegressionsTest, CheckFailureThrows) {
  EXPECT_THROW(CW_FUZZ_CHECK(1 + 1 == 3), CheckFailure);
  EXPECT_NO_THROW(CW_FUZZ_CHECK(1 + 1 == 2));
}

}  // namespace
}  // namespace cw::fuzz
