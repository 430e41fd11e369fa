// Connection pool and the mapping of database failures to error values.
#include "store/database.hpp"

#include <sys/socket.h>

#include <string_view>

#include <fmt/format.h>

#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// libpq takes either a URI or key=value words; connect_timeout is added in the matching form.
std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") +
           fmt::format("connect_timeout={}", seconds);
  }
  return url + fmt::format(" connect_timeout={}", seconds);
}

constexpr int kNoStatementTimeoutPatienceMs = 30000;
constexpr int kPatienceGraceMs = 1000;

}  // namespace

QueryWatchdog::QueryWatchdog(const DatabaseConfig& config)
    : probe_url_(with_connect_timeout(config.url, config.connect_timeout_s)),
      patience_(std::chrono::milliseconds((config.statement_timeout_ms > 0
                                               ? config.statement_timeout_ms
                                               : kNoStatementTimeoutPatienceMs) +
                                          kPatienceGraceMs)),
      thread_([this] { run(); }) {}

QueryWatchdog::~QueryWatchdog() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t QueryWatchdog::watch(int fd) {
  uint64_t id = 0;
  {
    const std::lock_guard lock(mu_);
    id = next_id_++;
    watches_[id] = Watch{fd, Clock::now() + patience_, false};
  }
  changed_.notify_all();
  return id;
}

bool QueryWatchdog::unwatch(uint64_t id) {
  const std::lock_guard lock(mu_);
  const auto it = watches_.find(id);
  if (it == watches_.end()) return false;
  const bool fired = it->second.fired;
  watches_.erase(it);  // under mu_: the watchdog never touches this fd again
  return fired;
}

bool QueryWatchdog::server_answers() const {
  try {
    pqxx::connection probe(probe_url_);
    return probe.is_open();
  } catch (const std::exception& e) {
    // A refusal sent by the server itself (too many clients, starting up, authentication) is an
    // answer: the server is there, the long work is only long. A timeout, a refused or reset TCP
    // connection is not.
    return std::string_view(e.what()).find("FATAL:") != std::string_view::npos;
  }
}

void QueryWatchdog::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, w] : watches_) {
      if (!w.fired) next = std::min(next, w.check_at);
    }
    if (next == Clock::time_point::max()) {
      changed_.wait(lock);
      continue;
    }
    if (Clock::now() < next) {
      changed_.wait_until(lock, next);
      continue;
    }
    // A use has run past its patience: is the server there at all? (Not under the lock: the
    // probe takes up to connect_timeout, and watch/unwatch must not wait for it.)
    lock.unlock();
    const bool answers = server_answers();
    lock.lock();
    const Clock::time_point now = Clock::now();
    int cut = 0;
    for (auto& [id, w] : watches_) {
      if (w.fired || w.check_at > now) continue;
      if (answers) {
        w.check_at = now + patience_;  // long, not stuck: look again later
      } else {
        ::shutdown(w.fd, SHUT_RDWR);  // libpq's pending read or write fails now
        w.fired = true;
        ++cut;
      }
    }
    if (cut > 0) {
      log::warn("database did not answer; cut off the queries waiting for it",
                {{"queries", cut},
                 {"waited_ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(patience_).count()}});
    }
  }
}

Error unanswered_error(const Database::Impl& impl) {
  return Error(Code::kUnavailable,
               fmt::format("the database did not answer within {} s; retry shortly",
                           std::chrono::duration_cast<std::chrono::seconds>(
                               impl.watchdog.patience() +
                               std::chrono::seconds(impl.config.connect_timeout_s))
                               .count()));
}

Database::Database(DatabaseConfig config)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_)) {}

Database::~Database() = default;

std::unique_ptr<pqxx::connection> Database::Impl::open() {
  auto conn = std::make_unique<pqxx::connection>(
      with_connect_timeout(config.url, config.connect_timeout_s));
  const uint64_t watch = watchdog.watch(conn->sock());
  try {
    pqxx::nontransaction tx(*conn);
    tx.exec0(fmt::format("SET statement_timeout = {}", config.statement_timeout_ms));
    tx.exec0("SET TIME ZONE 'UTC'");
  } catch (...) {
    if (watchdog.unwatch(watch)) throw pqxx::broken_connection("the database did not answer");
    throw;
  }
  if (watchdog.unwatch(watch)) throw pqxx::broken_connection("the database did not answer");
  return conn;
}

Result<std::unique_ptr<pqxx::connection>> Database::Impl::acquire(bool* reused) {
  std::unique_lock lock(mu);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config.acquire_timeout_ms);
  while (idle.empty() && in_use >= static_cast<size_t>(config.pool_size)) {
    if (cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
        in_use >= static_cast<size_t>(config.pool_size)) {
      return Error(Code::kUnavailable, "all database connections are busy; retry shortly");
    }
  }
  ++in_use;
  if (!idle.empty()) {
    auto conn = std::move(idle.front());
    idle.pop_front();
    *reused = true;
    return conn;
  }
  lock.unlock();
  *reused = false;
  try {
    return open();
  } catch (...) {
    release(nullptr);
    return map_db_exception(std::current_exception(), "connect");
  }
}

void Database::Impl::release(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard lock(mu);
    --in_use;
    if (conn && conn->is_open()) idle.push_back(std::move(conn));
  }
  cv.notify_one();
}

Error map_db_exception(std::exception_ptr e, const char* what) {
  try {
    std::rethrow_exception(e);
  } catch (const pqxx::broken_connection& ex) {
    log::warn("database connection lost", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kUnavailable, "the database is unavailable; retry shortly");
  } catch (const pqxx::in_doubt_error& ex) {
    log::error("transaction outcome unknown", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kUnavailable, "the database connection was lost during commit; retry");
  } catch (const pqxx::unique_violation&) {
    return Error(Code::kConflict, "the object already exists");
  } catch (const pqxx::check_violation&) {
    return Error(Code::kUnprocessable, "a value is out of its allowed range");
  } catch (const pqxx::not_null_violation&) {
    return Error(Code::kUnprocessable, "a required value is missing");
  } catch (const pqxx::foreign_key_violation&) {
    return Error(Code::kUnprocessable, "a referenced object does not exist");
  } catch (const pqxx::sql_error& ex) {
    // Connection-class SQLSTATEs (08xxx, 57P01 admin shutdown) mean the server went away.
    const std::string& state = ex.sqlstate();
    if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
      log::warn("database unavailable", {{"during", what}, {"sqlstate", state}});
      return Error(Code::kUnavailable, "the database is unavailable; retry shortly");
    }
    if (state == "57014") {
      return Error(Code::kUnavailable, "the database query took too long; retry later");
    }
    log::error(
        "database error",
        {{"during", what}, {"sqlstate", state}, {"error", ex.what()}, {"query", ex.query()}});
    return Error(Code::kInternal, "database error");
  } catch (const std::exception& ex) {
    log::error("unexpected error in the store", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kInternal, "internal error");
  } catch (...) {
    return Error(Code::kInternal, "internal error");
  }
}

Status Database::ping() {
  Result<bool> r = with_connection(*this, [](pqxx::connection& c) -> Result<bool> {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

PoolStats Database::stats() const {
  std::lock_guard lock(impl_->mu);
  return PoolStats{impl_->in_use, impl_->idle.size(), static_cast<size_t>(config_.pool_size)};
}

}  // namespace cw::store
