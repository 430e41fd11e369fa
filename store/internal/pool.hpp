// Internal to store/: the pool's implementation and the one place exceptions from libpqxx become
// cw::Error values. Repositories call with_connection() / in_transaction().
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "common/log.hpp"
#include "store/database.hpp"

namespace cw::store {

// Where a libpq connection string (URI or key=value words) connects first: its first host (or
// hostaddr) and port, else PGHOST / PGPORT, else libpq's defaults (the Unix socket directory
// /var/run/postgresql, port 5432). A host starting with '/' is a Unix socket directory.
struct ServerAddress {
  std::string host;
  std::string port;
};
std::optional<ServerAddress> server_address(const std::string& conninfo);

// Whether a PostgreSQL server is there at `address`: sent the 8-byte SSLRequest that
// may start any connection, it answers with one byte ('S', 'N', or the first of an error) within
// `timeout`. A server that refuses to serve (too many clients, starting up, a role's connection
// limit) still answers; a stopped one refuses the TCP connection; a frozen one, whose kernel may
// still accept it, does not answer. Nothing is authenticated or logged, and unlike libpq's error
// text the answer does not depend on the server's message language.
bool postgres_answers(const ServerAddress& address, std::chrono::milliseconds timeout);

// Query deadlines. A slow statement ends by the server's statement_timeout, but a server that stops
// answering altogether (a frozen process, a network that drops packets while the kernel keeps the
// TCP connection up) would hold the calling thread, and the client's request, for as long as it
// is gone. Every use of a pooled connection is watched: once it has run longer than
// statement_timeout (30 s when there is none) plus a second, the watchdog thread asks the server
// whether it is there (postgres_answers, within connect_timeout). If it is, the work is
// merely long and is left alone (looked at again after the same time); if it is not, the
// watchdog shuts down the socket of every connection that has waited that long, so libpq fails
// the call at once (broken_connection) and with_connection answers kUnavailable (503). A
// connection whose socket was shut down is never reused.
class QueryWatchdog {
 public:
  using Clock = std::chrono::steady_clock;

  explicit QueryWatchdog(const DatabaseConfig& config);
  ~QueryWatchdog();
  QueryWatchdog(const QueryWatchdog&) = delete;
  QueryWatchdog& operator=(const QueryWatchdog&) = delete;

  // Starts watching the socket `fd` of a connection in use; the id for unwatch().
  uint64_t watch(int fd);
  // Stops watching; true when the watchdog shut the socket down (the connection is dead).
  bool unwatch(uint64_t id);
  // How long a use runs before the watchdog checks on the server.
  Clock::duration patience() const { return patience_; }

 private:
  struct Watch {
    int fd = -1;
    Clock::time_point check_at;
    bool fired = false;
  };
  void run();
  bool server_answers() const;

  const std::optional<ServerAddress> probe_address_;  // nullopt: the URL does not parse
  const std::chrono::milliseconds probe_timeout_;
  const Clock::duration patience_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::map<uint64_t, Watch> watches_;  // guarded by mu_
  uint64_t next_id_ = 1;               // guarded by mu_
  bool stopping_ = false;              // guarded by mu_
  std::thread thread_;                 // last: starts once the rest is built
};

struct Database::Impl {
  explicit Impl(DatabaseConfig c) : config(std::move(c)), watchdog(config) {}

  DatabaseConfig config;
  QueryWatchdog watchdog;
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<std::unique_ptr<pqxx::connection>> idle;
  size_t in_use = 0;

  // REQUIRES: release() is called with the result (or nullptr if it broke).
  Result<std::unique_ptr<pqxx::connection>> acquire(bool* reused);
  void release(std::unique_ptr<pqxx::connection> conn);
  std::unique_ptr<pqxx::connection> open();
};

// Maps an exception thrown by libpqxx (or anything else) to an Error; logs what is not the
// client's fault.
Error map_db_exception(std::exception_ptr e, const char* what);

// The error of a use the watchdog cut off.
Error unanswered_error(const Database::Impl& impl);

// Runs fn(pqxx::connection&) on a pooled connection. A connection found dead when first used is
// replaced once; errors come back as values.
template <typename Fn>
auto with_connection(Database& db, Fn&& fn) -> std::invoke_result_t<Fn, pqxx::connection&> {
  Database::Impl& impl = db.impl();
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    auto acquired = impl.acquire(&reused);
    if (!acquired.ok()) return acquired.error();
    std::unique_ptr<pqxx::connection> conn = std::move(acquired.value());
    const uint64_t watch = impl.watchdog.watch(conn->sock());
    const auto stop_watching = [&] { return impl.watchdog.unwatch(watch); };
    try {
      auto result = fn(*conn);
      const bool cut = stop_watching();
      impl.release(cut ? nullptr : std::move(conn));
      return result;
    } catch (const pqxx::broken_connection&) {
      const bool cut = stop_watching();
      impl.release(nullptr);
      if (cut) return unanswered_error(impl);
      // An idle connection may have died while it sat in the pool (server restart): nothing was
      // done on it, so trying once more on a fresh one is safe.
      if (reused && attempt == 0) continue;
      return map_db_exception(std::current_exception(), "query");
    } catch (...) {
      const bool cut = stop_watching();
      bool alive = !cut && conn && conn->is_open();
      impl.release(alive ? std::move(conn) : nullptr);
      if (cut) return unanswered_error(impl);
      return map_db_exception(std::current_exception(), "query");
    }
  }
}

// Runs fn(pqxx::work&) in a transaction and commits when fn returns an ok value.
template <typename Fn>
auto in_transaction(Database& db, Fn&& fn) -> std::invoke_result_t<Fn, pqxx::work&> {
  return with_connection(db, [&](pqxx::connection& c) -> std::invoke_result_t<Fn, pqxx::work&> {
    pqxx::work tx(c);
    auto result = fn(tx);
    if (result.ok()) tx.commit();
    return result;
  });
}

}  // namespace cw::store
