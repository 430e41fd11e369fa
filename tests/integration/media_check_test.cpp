// store/media_check.hpp and `convoywatch media verify` against a real PostgreSQL and a real
// evidence store: intact originals pass; a changed byte, a deleted file and a row whose size
// disagrees are each named, and the command exits 4.
#include "store/media_check.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "store/migrations.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

namespace fs = std::filesystem;

class MediaCheckTest : public ::testing::Test {
 protected:
  MediaCheckTest() : db_(config()), store_((dir_ / "media").string()) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_TRUE(store_.prepare().ok());
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 2;
    return c;
  }
  // Stores `bytes` and records its media row; returns the SHA-256.
  std::string put(const std::string& bytes) {
    auto w = store_.begin_write();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->write(bytes).ok());
    auto stored = (*w)->commit();
    EXPECT_TRUE(stored.ok());
    tdb_.exec("INSERT INTO media (sha256, size, container, mime) VALUES ('" + stored->sha256 +
              "', " + std::to_string(bytes.size()) + ", 'mp4', 'video/mp4')");
    return stored->sha256;
  }
  std::string path(const std::string& sha) { return *store_.path_of(sha); }

  test::TestDatabase tdb_;
  test::TempDir dir_;
  Database db_;
  MediaStore store_;
};

TEST_F(MediaCheckTest, NamesEveryOriginalThatIsMissingOrChanged) {
  const std::string intact = put(std::string(100'000, 'a'));
  const std::string changed = put(std::string(50'000, 'b'));
  const std::string gone = put("deleted later");
  const std::string resized = put("size recorded wrongly");

  auto all = check_media(db_, store_, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.error().to_string();
  EXPECT_EQ(all->checked, 4u);
  EXPECT_TRUE(all->problems.empty());
  EXPECT_EQ(all->bytes, 100'000u + 50'000u + 13u + 21u);

  // One byte flipped in place (the file is read-only: as root the mode does not stop it, and an
  // intruder would chmod first).
  ::chmod(path(changed).c_str(), 0640);
  {
    std::fstream f(path(changed), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(25'000);
    f.put('c');
  }
  fs::remove(path(gone));
  tdb_.exec("UPDATE media SET size = 3 WHERE sha256 = '" + resized + "'");

  uint64_t progress = 0;
  auto bad = check_media(db_, store_, std::nullopt, [&](uint64_t n) { progress = n; });
  ASSERT_TRUE(bad.ok()) << bad.error().to_string();
  EXPECT_EQ(bad->checked, 4u);
  EXPECT_EQ(progress, 4u);
  std::map<std::string, std::string> found;
  for (const auto& p : bad->problems) found[p.sha256] = p.what;
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found.count(intact), 0u);
  EXPECT_EQ(found[changed].rfind("changed: the file now hashes to ", 0), 0u) << found[changed];
  EXPECT_EQ(found[changed].find(changed), std::string::npos);  // names the new hash, not the old
  EXPECT_EQ(found[gone].rfind("missing", 0), 0u) << found[gone];
  EXPECT_EQ(found[resized], "size: the media row records 3 bytes, the file has 21");

  auto sample = check_media(db_, store_, 2);
  ASSERT_TRUE(sample.ok());
  EXPECT_EQ(sample->checked, 2u);

  // The command line: one line per problem, exit 4; a sample checks that many.
  const std::map<std::string, std::string> env = {
      {"CONVOYWATCH_DATABASE_URL", tdb_.url()},
      {"CONVOYWATCH_STORAGE_ROOT", (dir_ / "media").string()}};
  auto run = test::run_convoywatch({"media", "verify"}, env);
  EXPECT_EQ(run.exit_code, 4) << run.out << run.err;
  EXPECT_NE(run.out.find(changed + ": changed"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(gone + ": missing"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find(resized + ": size"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find(intact), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("1 of 4 originals"), std::string::npos) << run.out;
  EXPECT_NE(run.err.find("3 original(s) missing or changed"), std::string::npos) << run.err;

  tdb_.exec("DELETE FROM media WHERE sha256 <> '" + intact + "'");
  auto ok = test::run_convoywatch({"media", "verify", "--sample", "5"}, env);
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("1 of 1 originals"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("random sample"), std::string::npos) << ok.out;
}

}  // namespace
}  // namespace cw::store
