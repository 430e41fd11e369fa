// Schema migrations: schema/migrations/NNNN_name.sql, forward-only, applied in order, each in
// its own transaction together with its record (version, name, SHA-256 of the file).
// Re-running is a no-op; a file whose text changed after it was applied is refused by name.
// The files are compiled into the binary; a folder can be given instead (tests, operators).
#pragma once

#include <string>
#include <vector>

#include "common/embedded.hpp"
#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

struct Migration {
  int version = 0;
  std::string file;  // "0001_platform.sql"
  std::string sql;
  std::string checksum;  // hex SHA-256 of sql
};

// The migrations compiled into this binary, in order.
const std::vector<Migration>& builtin_migrations();
// Parses a set of files named NNNN_name.sql (any order in; sorted out; duplicates refused).
Result<std::vector<Migration>> parse_migrations(const std::vector<EmbeddedFile>& files);
Result<std::vector<Migration>> load_migrations_dir(const std::string& dir);

struct MigrationState {
  std::vector<std::string> applied;  // files already in the database
  std::vector<std::string> pending;  // files not yet applied
};

// Compares the database with `migrations`. Error (kConflict) naming the file when an applied
// migration's checksum differs or the database has a migration this binary does not know.
Result<MigrationState> migration_state(Database& db, const std::vector<Migration>& migrations);
// Applies what is pending, under an advisory lock so that concurrent starts do not race, then
// grants the application role its rights on the schema when that role exists (store/roles.hpp).
// Returns the files applied now (empty when up to date).
Result<std::vector<std::string>> migrate(Database& db, const std::vector<Migration>& migrations);

}  // namespace cw::store
