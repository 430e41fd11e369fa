// Database roles: creating them, granting their rights, checking the connected login.
#include "store/roles.hpp"

#include <fmt/format.h>

#include <string>

#include "store/internal/grants.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

constexpr const char* kMayCreateRoles =
    "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user";
constexpr const char* kRoleExists = "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)";
constexpr const char* kCreateApp =
    "CREATE ROLE convoywatch_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
    "NOBYPASSRLS NOINHERIT";
constexpr const char* kCreateMaintenance =
    "CREATE ROLE convoywatch_audit_maintenance NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE "
    "NOREPLICATION NOBYPASSRLS NOINHERIT";
// Tables, views and sequences of the schema that no extension owns (PostGIS's spatial_ref_sys
// and its views keep their own grants).
constexpr const char* kObjects = R"sql(
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY c.relname)sql";
constexpr const char* kPrivileges = R"sql(
SELECT current_user::text, r.rolsuper,
       coalesce(pg_has_role(current_user, (SELECT relowner FROM pg_class
                                           WHERE oid = to_regclass('audit_log')), 'MEMBER'), false),
       pg_has_role(current_user, 'pg_execute_server_program', 'MEMBER')
FROM pg_roles r WHERE r.rolname = current_user)sql";

// Another process may create the role between the check and the CREATE: duplicate_object is
// then no error. True when this call created it.
bool create_role(pqxx::connection& c, const char* name, const char* sql) {
  {
    pqxx::read_transaction tx(c);
    if (tx.exec_params1(kRoleExists, name)[0].as<bool>()) return false;
  }
  pqxx::work tx(c);
  tx.exec0(fmt::format("DO $$ BEGIN {}; EXCEPTION WHEN duplicate_object THEN NULL; END $$", sql));
  tx.commit();
  return true;
}

// What kAppRole may do on one object of the schema.
std::string app_rights(const std::string& name, char kind) {
  if (kind == 'S') return "USAGE";
  if (kind == 'v' || kind == 'm') return "SELECT";
  if (name == "audit_log") return "SELECT, INSERT";
  if (name == "schema_migrations" || name == "signing_keys" || name.rfind("geo_", 0) == 0) {
    return "SELECT";
  }
  return "SELECT, INSERT, UPDATE, DELETE";
}

}  // namespace

void grant_roles(pqxx::work& tx) {
  if (!tx.exec_params1(kRoleExists, kAppRole)[0].as<bool>()) return;
  tx.exec0("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
  tx.exec0(fmt::format("GRANT USAGE ON SCHEMA public TO {}", kAppRole));
  for (const auto& row : tx.exec(kObjects)) {
    const std::string name = row[0].as<std::string>();
    const char kind = row[1].as<std::string>().at(0);
    const std::string object =
        std::string(kind == 'S' ? "SEQUENCE " : "TABLE ") + tx.quote_name(name);
    tx.exec0(fmt::format("REVOKE ALL ON {} FROM {}", object, kAppRole));
    tx.exec0(fmt::format("GRANT {} ON {} TO {}", app_rights(name, kind), object, kAppRole));
  }
  if (tx.exec_params1(kRoleExists, kAuditMaintenanceRole)[0].as<bool>() &&
      tx.exec1("SELECT to_regclass('audit_log') IS NOT NULL")[0].as<bool>()) {
    tx.exec0(fmt::format("GRANT SELECT, UPDATE, DELETE, TRUNCATE ON audit_log TO {}",
                         kAuditMaintenanceRole));
  }
}

Result<RolesOutcome> ensure_roles(Database& db, const std::string& app_password) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<RolesOutcome> {
    RolesOutcome out;
    {
      pqxx::read_transaction tx(c);
      pqxx::result r = tx.exec(kMayCreateRoles);
      out.may_create_roles = !r.empty() && r[0][0].as<bool>();
    }
    if (out.may_create_roles) {
      out.app_role_created = create_role(c, kAppRole, kCreateApp);
      out.maintenance_role_created = create_role(c, kAuditMaintenanceRole, kCreateMaintenance);
      if (!app_password.empty()) {
        pqxx::work tx(c);
        tx.exec0(fmt::format("ALTER ROLE {} PASSWORD {}", kAppRole, tx.quote(app_password)));
        tx.commit();
        out.password_set = true;
      }
    } else if (!app_password.empty()) {
      return Error(Code::kInvalidArgument,
                   fmt::format("the application role's password was given, but this database "
                               "login may not create or change roles; a DBA runs the SQL of "
                               "docs/database-roles.md"));
    }
    pqxx::read_transaction tx(c);
    out.app_role_exists = tx.exec_params1(kRoleExists, kAppRole)[0].as<bool>();
    return out;
  });
}

Result<Privileges> current_privileges(Database& db) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<Privileges> {
    pqxx::read_transaction tx(c);
    pqxx::row r = tx.exec1(kPrivileges);
    Privileges p;
    p.role = r[0].as<std::string>();
    p.superuser = r[1].as<bool>();
    p.owner = r[2].as<bool>();
    p.server_program = r[3].as<bool>();
    return p;
  });
}

std::string privileged_reason(const Privileges& p) {
  std::string what;
  if (p.superuser) {
    what = "is a superuser";
  } else if (p.owner) {
    what = "owns the schema (or is a member of its owner)";
  } else if (p.server_program) {
    what = "is a member of pg_execute_server_program";
  } else {
    return "";
  }
  return fmt::format(
      "the database role {} {}: serve and worker connect as the application role {} "
      "(`convoywatch migrate`, run as the owner, creates it and grants its rights; README, "
      "\"Database roles\"), or set database.allow_privileged = true to run privileged anyway",
      p.role, what, kAppRole);
}

}  // namespace cw::store
