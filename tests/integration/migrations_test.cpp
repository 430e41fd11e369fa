// Migrations against the real PostgreSQL: idempotent, refusing edited files.
#include <gtest/gtest.h>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

DatabaseConfig config_for(const std::string& url) {
  DatabaseConfig c;
  c.url = url;
  c.pool_size = 2;
  return c;
}

TEST(MigrationsTest, MigrateTwiceIsANoOp) {
  test::TestDatabase tdb;
  Database db(config_for(tdb.url()));
  auto first = migrate(db, builtin_migrations());
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->size(), builtin_migrations().size());
  std::string count = tdb.query_value("SELECT count(*) FROM schema_migrations");
  auto second = migrate(db, builtin_migrations());
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  EXPECT_TRUE(second->empty());
  EXPECT_EQ(tdb.query_value("SELECT count(*) FROM schema_migrations"), count);
  auto state = migration_state(db, builtin_migrations());
  ASSERT_TRUE(state.ok());
  EXPECT_TRUE(state->pending.empty());
}

TEST(MigrationsTest, ChangedAppliedMigrationIsRefusedByName) {
  test::TestDatabase tdb;
  Database db(config_for(tdb.url()));
  auto files = std::vector<EmbeddedFile>{{"0001_a.sql", "CREATE TABLE a (x int);"},
                                         {"0002_b.sql", "CREATE TABLE b (x int);"}};
  auto migrations = parse_migrations(files);
  ASSERT_TRUE(migrations.ok());
  ASSERT_TRUE(migrate(db, *migrations).ok());
  files[1].contents = "CREATE TABLE b (x bigint);";
  auto changed = parse_migrations(files);
  ASSERT_TRUE(changed.ok());
  auto r = migrate(db, *changed);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kConflict);
  EXPECT_NE(r.error().detail().find("0002_b.sql"), std::string::npos) << r.error().detail();
  auto state = migration_state(db, *changed);
  ASSERT_FALSE(state.ok());
  EXPECT_NE(state.error().detail().find("0002_b.sql"), std::string::npos);
}

TEST(MigrationsTest, PendingAndFailingMigrations) {
  test::TestDatabase tdb;
  Database db(config_for(tdb.url()));
  auto base = parse_migrations({{"0001_a.sql", "CREATE TABLE a (x int);"}});
  ASSERT_TRUE(migrate(db, *base).ok());
  auto more =
      parse_migrations({{"0001_a.sql", "CREATE TABLE a (x int);"},
                        {"0002_bad.sql", "CREATE TABLE c (x int); SELECT nosuchfunction();"}});
  auto state = migration_state(db, *more);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->pending, std::vector<std::string>{"0002_bad.sql"});
  auto r = migrate(db, *more);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("0002_bad.sql"), std::string::npos);
  // The failed migration left nothing behind: its transaction rolled back.
  EXPECT_EQ(tdb.query_value("SELECT to_regclass('c') IS NULL"), "t");
  EXPECT_EQ(tdb.query_value("SELECT count(*) FROM schema_migrations"), "1");
}

TEST(MigrationsTest, BadFileNamesAndDuplicateNumbersAreRefused) {
  EXPECT_FALSE(parse_migrations({{"1_a.sql", ""}}).ok());
  EXPECT_FALSE(parse_migrations({{"0001_a.txt", ""}}).ok());
  EXPECT_FALSE(parse_migrations({{"0001_a.sql", ""}, {"0001_b.sql", ""}}).ok());
}

// The command line, as an operator uses it.
TEST(MigrationsTest, CommandLineMigrateTwiceAndEditedFolder) {
  test::TestDatabase tdb;
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", tdb.url()}};
  auto first = test::run_convoywatch({"migrate"}, env);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.out.find("applied 0001_platform.sql"), std::string::npos) << first.out;
  auto second = test::run_convoywatch({"migrate"}, env);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.out.find("up to date"), std::string::npos) << second.out;

  std::string dir = test::make_temp_dir("cw-mig-");
  auto copy = test::run_command(
      {"/bin/cp", "-r", std::string(CW_SOURCE_DIR) + "/schema/migrations/.", dir});
  ASSERT_EQ(copy.exit_code, 0);
  auto append =
      test::run_command({"/bin/sh", "-c", "echo '-- edited' >> " + dir + "/0001_platform.sql"});
  ASSERT_EQ(append.exit_code, 0);
  auto edited = test::run_convoywatch({"migrate", "--dir", dir}, env);
  EXPECT_NE(edited.exit_code, 0);
  EXPECT_NE(edited.err.find("0001_platform.sql"), std::string::npos) << edited.err;
}

TEST(MigrationsTest, ServeRefusesPendingMigrationsWithoutFlag) {
  test::TestDatabase tdb;
  auto r = test::run_convoywatch({"serve", "--listen", "127.0.0.1:0"},
                                 {{"CONVOYWATCH_DATABASE_URL", tdb.url()}});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("pending migration"), std::string::npos) << r.err;
}

// backend "s3" passes the configuration's checks, but the evidence store writes to storage.root
// only: serve and worker refuse it rather than silently keeping originals on local disk.
TEST(MigrationsTest, ServeAndWorkerRefuseAStorageBackendTheyDoNotWrite) {
  test::TestDatabase tdb;
  const std::map<std::string, std::string> env = {
      {"CONVOYWATCH_DATABASE_URL", tdb.url()},
      {"CONVOYWATCH_STORAGE_BACKEND", "s3"},
      {"CONVOYWATCH_STORAGE_S3_ENDPOINT", "http://127.0.0.1:9"},
      {"CONVOYWATCH_STORAGE_S3_BUCKET", "evidence"}};
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"serve", "--migrate", "--listen", "127.0.0.1:0"},
        std::vector<std::string>{"worker"}}) {
    auto r = test::run_convoywatch(args, env);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("storage.backend = \"s3\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("set storage.backend = \"fs\""), std::string::npos) << r.err;
  }
  // Nothing was done before the refusal: the database is still empty.
  EXPECT_EQ(tdb.query_value("SELECT count(*) FROM pg_tables WHERE tablename = 'audit_log'"), "0");
}

}  // namespace
}  // namespace cw::store
