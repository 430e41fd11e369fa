// The pool's query watchdog against the real PostgreSQL: long work on a server that answers is
// left alone, whether the probe connects or is refused by the server itself; the statement
// timeout still ends what runs too long. (A server that answers nothing at all is the e2e
// DatabaseFaultTest.FrozenForTenSecondsUnderLoad.)
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "common/error.hpp"
#include "store/database.hpp"
#include "store/internal/pool.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

using Clock = std::chrono::steady_clock;

// 300 ms of statement timeout: the watchdog's patience is 1.3 s, so a 3.5 s statement is looked
// at twice.
constexpr int kStatementTimeoutMs = 300;

DatabaseConfig config_for(const std::string& url) {
  DatabaseConfig c;
  c.url = url;
  c.pool_size = 1;
  c.statement_timeout_ms = kStatementTimeoutMs;
  return c;
}

// Runs pg_sleep(seconds) with the statement timeout lifted for the transaction, as the bulk
// import does.
Result<int> sleep_without_timeout(Database& db, double seconds) {
  return in_transaction(db, [&](pqxx::work& tx) -> Result<int> {
    tx.exec0("SET LOCAL statement_timeout = 0");
    tx.exec_params1("SELECT pg_sleep($1)", seconds);
    return 1;
  });
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

TEST(QueryWatchdogTest, LongWorkOnAnAnsweringServerIsLeftAlone) {
  test::TestDatabase tdb;
  Database db(config_for(tdb.url()));
  const auto began = Clock::now();
  auto slept = sleep_without_timeout(db, 3.5);
  ASSERT_TRUE(slept.ok()) << slept.error().to_string();
  EXPECT_GE(seconds_since(began), 3.5);
  // The connection went back to the pool whole and serves the next use.
  auto again = with_connection(db, [](pqxx::connection& c) -> Result<int> {
    pqxx::nontransaction tx(c);
    return tx.exec1("SELECT 2")[0].as<int>();
  });
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_EQ(*again, 2);
}

TEST(QueryWatchdogTest, StatementTimeoutStillEndsWhatRunsTooLong) {
  test::TestDatabase tdb;
  Database db(config_for(tdb.url()));
  const auto began = Clock::now();
  auto slept = with_connection(db, [](pqxx::connection& c) -> Result<int> {
    pqxx::nontransaction tx(c);
    tx.exec0("SELECT pg_sleep(5)");
    return 1;
  });
  ASSERT_FALSE(slept.ok());
  // The server's cancellation (57014), not the watchdog's cut.
  EXPECT_EQ(slept.error().code(), Code::kUnavailable) << slept.error().to_string();
  EXPECT_NE(slept.error().to_string().find("took too long"), std::string::npos)
      << slept.error().to_string();
  EXPECT_LT(seconds_since(began), 4.5);
}

// The probe is refused by the server ("too many connections for role"): that is an answer, so
// the long statement on the pool's one allowed connection is not cut off.
TEST(QueryWatchdogTest, ProbeRefusedByTheServerStillCountsAsAnAnswer) {
  test::TestDatabase tdb;
  const std::string role = "cw_one_conn_" + std::to_string(::getpid());
  const std::string password = "watchdog-" + std::to_string(::getpid());
  tdb.exec("DROP ROLE IF EXISTS " + role);
  tdb.exec("CREATE ROLE " + role + " LOGIN CONNECTION LIMIT 1 PASSWORD '" + password + "'");
  struct DropRole {
    const test::TestDatabase& tdb;
    std::string role;
    ~DropRole() {
      try {
        tdb.exec("DROP ROLE IF EXISTS " + role);
      } catch (...) {
      }
    }
  } drop_role{tdb, role};

  // postgresql://user:password@host:port/db -> the same with the limited role.
  const std::string& url = tdb.url();
  const auto scheme_end = url.find("://") + 3;
  const auto at = url.find('@', scheme_end);
  ASSERT_NE(at, std::string::npos) << url;
  const std::string limited = url.substr(0, scheme_end) + role + ":" + password + url.substr(at);
  {
    // The limit holds: a second connection of this role is refused by the server.
    pqxx::connection first(limited);
    EXPECT_THROW(pqxx::connection second(limited), pqxx::broken_connection);
  }
  Database db(config_for(limited));
  auto slept = sleep_without_timeout(db, 3.5);
  ASSERT_TRUE(slept.ok()) << slept.error().to_string();
}

}  // namespace
}  // namespace cw::store
