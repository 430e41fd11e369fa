// The PostgreSQL connection pool that every repository works through.
//
// A Database owns up to `pool_size` connections; a connection belongs to one thread at a time
// (libpqxx's rule). Connections are opened on demand, so the server starts even while the
// database is down, and broken ones are thrown away and replaced, so it recovers without a
// restart. Database errors are mapped once, here: lost connection -> kUnavailable (503),
// unique violation -> kConflict (409), check/not-null/foreign-key violation -> kUnprocessable
// (422). Thread-safe. No libpqxx type appears in this header (store/internal/ has them).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/error.hpp"

namespace cw::store {

struct PoolStats {
  size_t in_use = 0;
  size_t idle = 0;
  size_t capacity = 0;
};

class Database {
 public:
  explicit Database(DatabaseConfig config);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // SELECT 1 on a pooled connection: ok when the database answers.
  Status ping();
  PoolStats stats() const;
  const DatabaseConfig& config() const { return config_; }

  struct Impl;
  Impl& impl() { return *impl_; }

 private:
  DatabaseConfig config_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cw::store
