// Connection pool and the mapping of database failures to error values.
#include "store/database.hpp"

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

}  // namespace

Database::Database(DatabaseConfig config)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_)) {}

Database::~Database() = default;

std::unique_ptr<pqxx::connection> Database::Impl::open() {
  auto conn = std::make_unique<pqxx::connection>(
      with_connect_timeout(config.url, config.connect_timeout_s));
  pqxx::nontransaction tx(*conn);
  tx.exec0(fmt::format("SET statement_timeout = {}", config.statement_timeout_ms));
  tx.exec0("SET TIME ZONE 'UTC'");
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
