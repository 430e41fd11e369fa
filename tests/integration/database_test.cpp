// The pool's query watchdog against the real PostgreSQL: long work on a server that answers is
// left alone, whether the probe connects or is refused by the server itself; the statement
// timeout still ends what runs too long. Its probe (postgres_answers) against the real server and
// against listeners that answer or stay silent, over TCP and Unix sockets. (A server that answers
// nothing at all is the e2e DatabaseFaultTest.FrozenForTenSecondsUnderLoad.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

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

// The server refuses new connections of the role ("too many connections for role"): it is still
// there, so the long statement on the pool's one allowed connection is not cut off. (A probe that
// opened a connection was refused here, and had to read the refusal's text to tell it from a
// server that is gone.)
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

TEST(ServerAddressTest, ReadsTheFirstHostAndPortOfEitherForm) {
  struct Case {
    const char* conninfo;
    const char* host;
    const char* port;
  };
  const Case cases[] = {
      {"postgresql://u:secret@127.0.0.1:5433/db?connect_timeout=3", "127.0.0.1", "5433"},
      {"postgresql://db1.example:6001,db2.example:6002/db", "db1.example", "6001"},
      {"host=/run/pg port=6543 dbname=x user=y", "/run/pg", "6543"},
      // hostaddr is where libpq connects when both are given.
      {"host=db.example hostaddr=10.1.2.3 port=7000", "10.1.2.3", "7000"},
  };
  for (const Case& c : cases) {
    auto address = server_address(c.conninfo);
    ASSERT_TRUE(address.has_value()) << c.conninfo;
    EXPECT_EQ(address->host, c.host) << c.conninfo;
    EXPECT_EQ(address->port, c.port) << c.conninfo;
  }
  EXPECT_FALSE(server_address("this is not = a connection string").has_value());
  EXPECT_FALSE(server_address("postgresql://[::1").has_value());
}

TEST(ServerAddressTest, FallsBackToTheEnvironmentAndLibpqsDefaults) {
  const char* saved_host = std::getenv("PGHOST");
  const char* saved_port = std::getenv("PGPORT");
  const std::string host = saved_host ? saved_host : "";
  const std::string port = saved_port ? saved_port : "";
  ::unsetenv("PGHOST");
  ::unsetenv("PGPORT");
  ::unsetenv("PGHOSTADDR");
  auto defaults = server_address("dbname=x");
  ::setenv("PGHOST", "pg.example,other.example", 1);
  ::setenv("PGPORT", "5999", 1);
  auto from_env = server_address("postgresql:///db");
  ::unsetenv("PGHOST");
  ::unsetenv("PGPORT");
  if (saved_host) ::setenv("PGHOST", host.c_str(), 1);
  if (saved_port) ::setenv("PGPORT", port.c_str(), 1);
  ASSERT_TRUE(defaults.has_value());
  EXPECT_EQ(defaults->host, "/var/run/postgresql");
  EXPECT_EQ(defaults->port, "5432");
  ASSERT_TRUE(from_env.has_value());
  EXPECT_EQ(from_env->host, "pg.example");
  EXPECT_EQ(from_env->port, "5999");
}

TEST(PostgresAnswersTest, TheTestServerAnswers) {
  test::TestDatabase tdb;
  auto address = server_address(tdb.url());
  ASSERT_TRUE(address.has_value()) << tdb.url();
  EXPECT_TRUE(postgres_answers(*address, std::chrono::seconds(5)));
}

// A listening socket that accepts (the kernel does, into its backlog) and, when `reply` is set,
// answers the first thing it reads with that byte, as a server does to an SSLRequest.
class Listener {
 public:
  // TCP on 127.0.0.1, a free port.
  explicit Listener(std::optional<char> reply) : reply_(reply) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
    socklen_t size = sizeof in;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&in), &size);
    address_ = ServerAddress{"127.0.0.1", std::to_string(ntohs(in.sin_port))};
    start();
  }
  // A Unix socket `dir`/.s.PGSQL.`port`.
  Listener(std::optional<char> reply, const std::filesystem::path& dir, int port) : reply_(reply) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    const std::string path = (dir / (".s.PGSQL." + std::to_string(port))).string();
    std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&un), sizeof un), 0) << path;
    address_ = ServerAddress{dir.string(), std::to_string(port)};
    start();
  }
  ~Listener() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    if (thread_.joinable()) thread_.join();
  }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  const ServerAddress& address() const { return address_; }

 private:
  void start() {
    EXPECT_EQ(::listen(fd_, 4), 0);
    if (!reply_) return;  // silent: nobody accepts, the kernel's backlog holds the connection
    thread_ = std::thread([this] {
      const int conn = ::accept(fd_, nullptr, nullptr);
      if (conn < 0) return;
      char request[8];
      if (::recv(conn, request, sizeof request, MSG_WAITALL) == sizeof request) {
        ::send(conn, &*reply_, 1, MSG_NOSIGNAL);
      }
      ::close(conn);
    });
  }

  std::optional<char> reply_;
  int fd_ = -1;
  ServerAddress address_;
  std::thread thread_;
};

TEST(PostgresAnswersTest, AnAnswerOfOneByteCountsOverTcpAndUnixSockets) {
  {
    Listener tcp('N');
    EXPECT_TRUE(postgres_answers(tcp.address(), std::chrono::seconds(5)));
  }
  const auto dir =
      std::filesystem::temp_directory_path() / ("cw-probe-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    Listener unix_socket('E', dir, 6123);
    EXPECT_TRUE(postgres_answers(unix_socket.address(), std::chrono::seconds(5)));
  }
  std::filesystem::remove_all(dir);
}

TEST(PostgresAnswersTest, SilenceAndRefusalDoNotCount) {
  {
    Listener silent(std::nullopt);  // a frozen server: the TCP connection is made, nothing comes
    const auto began = Clock::now();
    EXPECT_FALSE(postgres_answers(silent.address(), std::chrono::milliseconds(400)));
    const double waited = seconds_since(began);
    EXPECT_GE(waited, 0.35);
    EXPECT_LT(waited, 3.0);
  }
  ServerAddress closed;
  {
    Listener gone('N');  // its port, free again once it is closed: connections are refused
    closed = gone.address();
  }
  EXPECT_FALSE(postgres_answers(closed, std::chrono::seconds(2)));
  EXPECT_FALSE(
      postgres_answers(ServerAddress{"/nonexistent-cw-dir", "5432"}, std::chrono::seconds(2)));
}

}  // namespace
}  // namespace cw::store
