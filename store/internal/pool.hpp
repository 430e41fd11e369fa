// Internal to store/: the pool's implementation and the one place exceptions from libpqxx become
// cw::Error values. Repositories call with_connection() / in_transaction().
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <type_traits>

#include "common/log.hpp"
#include "store/database.hpp"

namespace cw::store {

struct Database::Impl {
  explicit Impl(DatabaseConfig c) : config(std::move(c)) {}

  DatabaseConfig config;
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
    try {
      auto result = fn(*conn);
      impl.release(std::move(conn));
      return result;
    } catch (const pqxx::broken_connection&) {
      impl.release(nullptr);
      // An idle connection may have died while it sat in the pool (server restart): nothing was
      // done on it, so trying once more on a fresh one is safe.
      if (reused && attempt == 0) continue;
      return map_db_exception(std::current_exception(), "query");
    } catch (...) {
      bool alive = conn && conn->is_open();
      impl.release(alive ? std::move(conn) : nullptr);
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
