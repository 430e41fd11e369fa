// The change feed against the real PostgreSQL (migration 0010's triggers): a change committed by
// another session moves the right topics on, a rolled-back one moves nothing, and a feed whose
// connection is killed stops vouching until it listens again, with every topic moved on.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <chrono>
#include <thread>

#include "store/change_feed.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::store {
namespace {

using namespace std::chrono_literals;
using Topic = ChangeFeed::Topic;

class ChangeFeedTest : public ::testing::Test {
 protected:
  ChangeFeedTest() : db_(config()) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 2;
    return c;
  }
  // Waits until `topic` is past `v`; false after `timeout`.
  static bool moves_on(const ChangeFeed& feed, Topic topic, uint64_t v,
                       std::chrono::milliseconds timeout = 5000ms) {
    return test::wait_until(
        [&] {
          const uint64_t now = feed.version(topic);
          return now != 0 && now != v;
        },
        timeout, 5ms);
  }
  test::TestDatabase tdb_;
  Database db_;
};

TEST_F(ChangeFeedTest, ChangesByOtherSessionsMoveTheirTopicsOn) {
  ChangeFeed feed(db_);
  ASSERT_TRUE(feed.wait_live(5000ms));
  uint64_t access = feed.version(Topic::kAccess);
  uint64_t obs = feed.version(Topic::kObservations);
  ASSERT_NE(access, 0u);
  ASSERT_NE(obs, 0u);

  tdb_.exec("INSERT INTO organisations (name) VALUES ('Bellingcat')");
  EXPECT_TRUE(moves_on(feed, Topic::kAccess, access));
  // Only the access topic: nothing an observation page shows changed.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(feed.version(Topic::kObservations), obs);

  // A user's name is shown in observation pages too.
  access = feed.version(Topic::kAccess);
  tdb_.exec(
      "INSERT INTO users (name, org_id, role) SELECT 'ada', id, 'admin' FROM organisations "
      "WHERE name = 'Bellingcat'");
  EXPECT_TRUE(moves_on(feed, Topic::kAccess, access));
  EXPECT_TRUE(moves_on(feed, Topic::kObservations, obs));

  // A transaction that rolls back notifies nobody.
  access = feed.version(Topic::kAccess);
  obs = feed.version(Topic::kObservations);
  {
    pqxx::connection c(tdb_.url());
    pqxx::work tx(c);
    tx.exec0("UPDATE users SET name = 'eve'");
    tx.abort();
  }
  EXPECT_FALSE(moves_on(feed, Topic::kAccess, access, 500ms));
  EXPECT_EQ(feed.version(Topic::kObservations), obs);

  // This process's own changes move everything on at once.
  feed.touch();
  EXPECT_NE(feed.version(Topic::kAccess), access);
  EXPECT_NE(feed.version(Topic::kObservations), obs);
}

TEST_F(ChangeFeedTest, AKilledConnectionStopsTheFeedUntilItListensAgain) {
  ChangeFeed::Options options;
  options.heartbeat = 200ms;
  options.stale_after = 600ms;
  options.reconnect_delay = 300ms;
  ChangeFeed feed(db_, options);
  ASSERT_TRUE(feed.wait_live(5000ms));
  const uint64_t before = feed.version(Topic::kObservations);
  ASSERT_NE(before, 0u);
  // The server ends the listening session (what a restart or an administrator does): every
  // session of this database but the one asking, the feed's and the pool's idle one.
  EXPECT_GE(
      std::stoi(tdb_.query_value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()")),
      1);
  EXPECT_TRUE(test::wait_until([&] { return !feed.live(); }, 5s, 2ms))
      << "the feed kept vouching after its connection was killed";
  ASSERT_TRUE(feed.wait_live(5000ms));
  const uint64_t after = feed.version(Topic::kObservations);
  ASSERT_NE(after, 0u);
  EXPECT_NE(after, before) << "notifications may have been missed: the topic must move on";
}

}  // namespace
}  // namespace cw::store
