// The deployment's signing keys (table signing_keys, migration 0016): shared by every server of
// one database, created by the migration, read-only for the application role. Thread-safe (all
// state is in the database).
#pragma once

#include <string>

#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

// The key for `purpose` ("media_link"), raw bytes (at least 32). kUnavailable when the database
// cannot be reached; kInternal when the row is missing (a database not migrated to 0016).
Result<std::string> signing_key(Database& db, const std::string& purpose);

}  // namespace cw::store
