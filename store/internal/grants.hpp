// Internal to store/: the grants of the database roles (store/roles.hpp), applied by migrate().
#pragma once

#include <pqxx/pqxx>

namespace cw::store {

// When kAppRole exists: gives it exactly its rights on every table, view and sequence of the
// schema that is not part of an extension (everything revoked first, then granted again, so a
// right taken away by a newer version goes), and kAuditMaintenanceRole its rights on audit_log
// when it exists. REQUIRES: the caller owns those objects (the migrating owner).
void grant_roles(pqxx::work& tx);

}  // namespace cw::store
