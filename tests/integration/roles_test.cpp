// The database roles of store/roles.hpp against the test cluster, where scripts/test's `migrate`
// created them: the application role (as which every test's serve and worker run) may not
// rewrite history, change the schema or reach the host; the audit trigger refuses everyone but
// the maintenance role; serve and worker refuse a privileged login, naming the fix. Each refusal
// is paired with the same statement succeeding for a role that may run it, so a statement that
// fails for another reason (a typo, a missing object) cannot pass as a refusal.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/roles.hpp"
#include "store/users.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

constexpr const char* kInsufficientPrivilege = "42501";

class RolesTest : public ::testing::Test {
 protected:
  RolesTest() : db_(config(tdb_.url())), app_db_(config(test::app_url(tdb_.url()))) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    // A few audit rows, appended as the application role.
    Users users(app_db_);
    EXPECT_TRUE(users.add("ada", "cit", Role::kAdmin, Actor::system("test"), NewOrg::kCreate).ok());
    EXPECT_TRUE(
        users.add("bo", "cit", Role::kAnalyst, Actor::system("test"), NewOrg::kCreate).ok());
  }
  static DatabaseConfig config(const std::string& url) {
    DatabaseConfig c;
    c.url = url;
    c.pool_size = 1;
    return c;
  }
  // Runs `sql` in a transaction that is rolled back as `url`'s login; "" when it succeeded,
  // else "42501 " (insufficient privilege) or "other " and the message.
  static std::string run(const std::string& url, const std::string& sql) {
    try {
      pqxx::connection c(url);
      pqxx::work tx(c);
      tx.exec(sql);
      tx.abort();
      return "";
    } catch (const pqxx::insufficient_privilege& e) {  // SQLSTATE 42501
      return std::string(kInsufficientPrivilege) + " " + e.what();
    } catch (const pqxx::sql_error& e) {
      return std::string("other ") + e.what();
    }
  }
  std::string as_app(const std::string& sql) const { return run(test::app_url(tdb_.url()), sql); }
  std::string as_superuser(const std::string& sql) const { return run(tdb_.url(), sql); }

  test::TestDatabase tdb_;
  Database db_;
  Database app_db_;
};

TEST_F(RolesTest, ApplicationRoleCannotRewriteTheAuditLog) {
  // It appends: the rows above were written by it, and the chain verifies.
  auto v = AuditLog(app_db_).verify();
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_GE(v->rows, 4);
  for (const std::string sql :
       {"UPDATE audit_log SET diff = '{}'", "DELETE FROM audit_log", "TRUNCATE audit_log"}) {
    const std::string app = as_app(sql);
    EXPECT_EQ(app.rfind(kInsufficientPrivilege, 0), 0u) << sql << ": " << app;
    EXPECT_NE(app.find("permission denied"), std::string::npos) << sql << ": " << app;
    // Not the grant but the trigger stops the superuser; the maintenance role gets through.
    const std::string super = as_superuser(sql);
    EXPECT_NE(super.find("audit_log is append-only"), std::string::npos) << sql << ": " << super;
    EXPECT_EQ(as_superuser("SET ROLE convoywatch_audit_maintenance; " + sql), "") << sql;
  }
  // Its other tables it may change.
  EXPECT_EQ(as_app("UPDATE users SET name = name"), "");
  EXPECT_EQ(as_app("DELETE FROM api_tokens WHERE false"), "");
}

TEST_F(RolesTest, ApplicationRoleCannotChangeTheSchemaOrReachTheHost) {
  const std::vector<std::string> statements = {
      "CREATE TABLE evil (x int)",
      "ALTER FUNCTION audit_log_refuse_change() SECURITY DEFINER",
      "CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RETURN NEW; END $$",
      "DROP TRIGGER audit_log_append_only ON audit_log",
      "ALTER TABLE audit_log DISABLE TRIGGER USER",
      // A program that reads what it is sent: one that exits at once (true) races the write
      // (EPIPE).
      "COPY (SELECT 1) TO PROGRAM 'cat > /dev/null'",
      "CREATE EXTENSION hstore",
      "INSERT INTO schema_migrations (version, file, checksum) VALUES (9999, 'x', 'x')",
      "DELETE FROM geo_places",
      "UPDATE signing_keys SET key = key",
  };
  for (const auto& sql : statements) {
    const std::string app = as_app(sql);
    EXPECT_EQ(app.rfind(kInsufficientPrivilege, 0), 0u) << sql << ": " << app;
    EXPECT_EQ(as_superuser(sql), "") << sql << ": the statement itself is valid";
  }
}

TEST_F(RolesTest, ApplicationRoleHasNoPrivilegeToSpare) {
  auto p = current_privileges(app_db_);
  ASSERT_TRUE(p.ok()) << p.error().to_string();
  EXPECT_EQ(p->role, kAppRole);
  EXPECT_FALSE(p->superuser);
  EXPECT_FALSE(p->owner);
  EXPECT_FALSE(p->server_program);
  EXPECT_EQ(privileged_reason(*p), "");
  auto su = current_privileges(db_);
  ASSERT_TRUE(su.ok()) << su.error().to_string();
  EXPECT_TRUE(su->superuser);
  EXPECT_NE(privileged_reason(*su).find("database.allow_privileged"), std::string::npos);
  // It owns no function, so it can redefine none.
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM pg_proc p JOIN pg_roles r ON r.oid = p.proowner "
                             "WHERE r.rolname = 'convoywatch_app'"),
            "0");
}

// The canonical text the program hashes is the one the SQL function audit_canonical() of
// migration 0001 produced, so chains written before migration 0014 still verify.
TEST_F(RolesTest, ChainsOfTheFormerSqlCanonicalFormStillVerify) {
  tdb_.exec(R"sql(
CREATE FUNCTION old_canonical(a audit_log) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT concat_ws(E'\x1f', a.id::text,
                   to_char(a.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                   coalesce(a.actor_id::text, ''), a.actor, a.action, a.object, a.diff::text)
$$)sql");
  EXPECT_EQ(tdb_.query_value(R"sql(
SELECT count(*) FROM (
  SELECT hash, sha256(coalesce(lag(hash) OVER (ORDER BY id), decode(repeat('00', 32), 'hex')) ||
                      convert_to(old_canonical(a), 'UTF8')) AS recomputed
  FROM audit_log a) c
WHERE hash <> recomputed)sql"),
            "0");
  EXPECT_NE(tdb_.query_value("SELECT count(*) FROM audit_log"), "0");
}

TEST_F(RolesTest, ServeAndWorkerRefuseAPrivilegedLogin) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"serve", "--listen", "127.0.0.1:0"},
        std::vector<std::string>{"worker"}}) {
    auto r = test::run_convoywatch(args, {{"CONVOYWATCH_DATABASE_URL", tdb_.url()}});
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    EXPECT_NE(r.err.find("is a superuser"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("convoywatch_app"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("database.allow_privileged"), std::string::npos) << r.err;
  }
  // `serve --migrate` needs the owner, so it needs the switch too.
  auto m = test::run_convoywatch({"serve", "--migrate", "--listen", "127.0.0.1:0"},
                                 {{"CONVOYWATCH_DATABASE_URL", tdb_.url()}});
  EXPECT_EQ(m.exit_code, 2) << m.err;
  EXPECT_NE(m.err.find("convoywatch migrate"), std::string::npos) << m.err;
  // With the switch it starts (and says it runs privileged).
  test::ServerProcess privileged({{"CONVOYWATCH_DATABASE_URL", tdb_.url()},
                                  {"CONVOYWATCH_DATABASE_ALLOW_PRIVILEGED", "true"}});
  EXPECT_NE(privileged.log().find("running privileged"), std::string::npos) << privileged.log();
  // As the application role it starts without a word about privileges.
  test::ServerProcess app({{"CONVOYWATCH_DATABASE_URL", tdb_.url()}});
  EXPECT_EQ(app.log().find("running privileged"), std::string::npos) << app.log();
}

}  // namespace
}  // namespace cw::store
