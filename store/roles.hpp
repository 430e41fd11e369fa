// Database roles: who may do what in ConvoyWatch's database.
//
// - The owner (the role `convoywatch migrate` runs as) owns the schema and runs migrations.
// - The application role kAppRole runs `serve` and `worker`: it may read and write the rows of
//   the tables it needs (SELECT, INSERT, UPDATE, DELETE), only SELECT and INSERT on audit_log,
//   only SELECT on the reference geodata and schema_migrations, and use the sequences. It owns
//   nothing, may create nothing (no DDL), is no superuser and no member of
//   pg_execute_server_program, so it cannot redefine a function, COPY … TO PROGRAM, or create
//   an extension.
// - kAuditMaintenanceRole (no login) is the one role the audit_log trigger lets UPDATE, DELETE
//   or TRUNCATE (migration 0014), reached with SET ROLE by a member, for maintenance only.
// A DBA who does not let `migrate` create roles runs the SQL of docs/database-roles.md.
#pragma once

#include <string>

#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

inline constexpr const char* kAppRole = "convoywatch_app";
inline constexpr const char* kAuditMaintenanceRole = "convoywatch_audit_maintenance";

struct RolesOutcome {
  bool may_create_roles = false;  // the login is a superuser or has CREATEROLE
  bool app_role_created = false;
  bool maintenance_role_created = false;
  bool password_set = false;
  bool app_role_exists = false;  // after the call
};

// Creates kAppRole (LOGIN, nothing else) and kAuditMaintenanceRole (NOLOGIN) when they are
// missing and this login may create roles, and sets kAppRole's password when `app_password` is
// not empty (kInvalidArgument when it is but the login may not create roles). Idempotent.
Result<RolesOutcome> ensure_roles(Database& db, const std::string& app_password);

// migrate() grants kAppRole and kAuditMaintenanceRole their rights on every table and sequence
// after the migrations, when kAppRole exists (store/internal/grants.hpp).

// What the connected login may do beyond the application role.
struct Privileges {
  std::string role;
  bool superuser = false;
  bool owner = false;           // owns audit_log (or is a member of its owner)
  bool server_program = false;  // a member of pg_execute_server_program
};
Result<Privileges> current_privileges(Database& db);

// Empty when `p` is fit for serve and worker; otherwise why not and the fix, for the log.
std::string privileged_reason(const Privileges& p);

}  // namespace cw::store
