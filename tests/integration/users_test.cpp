// Users, tokens and the audit chain against the real PostgreSQL, and through the CLI.
#include <gtest/gtest.h>

#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/users.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

class UsersTest : public ::testing::Test {
 protected:
  UsersTest() : db_(config()) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 2;
    return c;
  }
  test::TestDatabase tdb_;
  Database db_;
};

TEST_F(UsersTest, AddAuthenticateRevoke) {
  Users users(db_);
  auto added = users.add("alice", "Conflict Intelligence Team", Role::kAnalyst,
                         Actor::system("test"), NewOrg::kCreate);
  ASSERT_TRUE(added.ok()) << added.error().to_string();
  EXPECT_EQ(added->token.size(), 67u);
  // Only the hash is stored.
  EXPECT_EQ(tdb_.query_value(
                "SELECT count(*) FROM api_tokens WHERE encode(token_sha256, 'escape') LIKE '%" +
                added->token.substr(3, 16) + "%'"),
            "0");
  auto who = users.authenticate(added->token);
  ASSERT_TRUE(who.ok()) << who.error().to_string();
  EXPECT_EQ(who->user_name, "alice");
  EXPECT_EQ(who->role, Role::kAnalyst);
  EXPECT_EQ(who->org_name, "Conflict Intelligence Team");

  auto bad = users.authenticate("cw_" + std::string(64, '0'));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), Code::kUnauthenticated);
  EXPECT_FALSE(users.authenticate("garbage").ok());

  auto revoked = users.revoke_user("alice", Actor::system("test"));
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(*revoked, 1);
  auto after = users.authenticate(added->token);
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code(), Code::kUnauthenticated);
}

TEST_F(UsersTest, DuplicateNamesAndSharedOrganisations) {
  Users users(db_);
  ASSERT_TRUE(
      users.add("a", "Bellingcat", Role::kContributor, Actor::system("t"), NewOrg::kCreate).ok());
  ASSERT_TRUE(
      users.add("b", "Bellingcat", Role::kContributor, Actor::system("t"), NewOrg::kCreate).ok());
  auto dup = users.add("a", "Other", Role::kAdmin, Actor::system("t"), NewOrg::kCreate);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Code::kConflict);
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM organisations"), "1");
  EXPECT_FALSE(users.add("", "x", Role::kAdmin, Actor::system("t"), NewOrg::kCreate).ok());
  auto list = users.list(0, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ(list->at(0).org_name, "Bellingcat");
}

TEST_F(UsersTest, AuditChainVerifiesAndCatchesTampering) {
  Users users(db_);
  auto a = users.add("alice", "The Insider", Role::kAdmin, Actor::system("test"), NewOrg::kCreate);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(users.create_token(a->user.id, "laptop", Actor{a->user.id, "alice"}).ok());
  ASSERT_TRUE(users.revoke_token(a->token_id, Actor{a->user.id, "alice"}).ok());
  AuditLog audit(db_);
  auto v = audit.verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->reason;
  EXPECT_EQ(v->rows, 5);  // organisation, user, first token, second token, revocation
  auto entries = audit.list("token/*", 0, 50);
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 3u);

  // Someone with the audit maintenance role (store/roles.hpp; the trigger refuses everyone
  // else) rewrites history.
  std::string victim = tdb_.query_value("SELECT min(id) + 2 FROM audit_log");
  tdb_.exec(
      "SET ROLE convoywatch_audit_maintenance; UPDATE audit_log SET diff = '{\"role\": "
      "\"contributor\"}' WHERE id = " +
      victim);
  v = audit.verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
  EXPECT_EQ(std::to_string(*v->first_bad_id), victim);

  // The command line says the same and exits non-zero.
  auto cli = test::run_convoywatch({"audit", "verify"}, {{"CONVOYWATCH_DATABASE_URL", tdb_.url()}});
  EXPECT_EQ(cli.exit_code, 4);
  EXPECT_NE(cli.err.find("row " + victim), std::string::npos) << cli.err;
}

TEST_F(UsersTest, DeletedAuditRowBreaksTheChain) {
  Users users(db_);
  ASSERT_TRUE(users.add("x", "o", Role::kAdmin, Actor::system("t"), NewOrg::kCreate).ok());
  ASSERT_TRUE(users.add("y", "o", Role::kAdmin, Actor::system("t"), NewOrg::kCreate).ok());
  tdb_.exec(
      "SET ROLE convoywatch_audit_maintenance; "
      "DELETE FROM audit_log WHERE id = (SELECT min(id) + 1 FROM audit_log)");
  auto v = AuditLog(db_).verify();
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->ok);
}

TEST_F(UsersTest, CommandLineAddListRevoke) {
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", tdb_.url()}};
  auto add = test::run_convoywatch({"user", "add", "--create-org", "--name", "bob", "--org",
                                    "Bellingcat", "--role", "contributor"},
                                   env);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  // stdout is the token and only the token.
  ASSERT_EQ(add.out.size(), 68u) << add.out;
  EXPECT_EQ(add.out.substr(0, 3), "cw_");
  EXPECT_EQ(add.out.back(), '\n');
  std::string token = add.out.substr(0, 67);
  EXPECT_TRUE(Users(db_).authenticate(token).ok());

  auto list = test::run_convoywatch({"user", "list"}, env);
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_NE(list.out.find("bob"), std::string::npos);
  EXPECT_NE(list.out.find("Bellingcat"), std::string::npos);

  auto bad_role = test::run_convoywatch(
      {"user", "add", "--create-org", "--name", "c", "--org", "o", "--role", "king"}, env);
  EXPECT_NE(bad_role.exit_code, 0);
  EXPECT_TRUE(bad_role.out.empty());

  auto revoke = test::run_convoywatch({"user", "revoke", "bob"}, env);
  ASSERT_EQ(revoke.exit_code, 0) << revoke.err;
  EXPECT_FALSE(Users(db_).authenticate(token).ok());
  auto missing = test::run_convoywatch({"user", "revoke", "nobody"}, env);
  EXPECT_NE(missing.exit_code, 0);

  auto verify = test::run_convoywatch({"audit", "verify"}, env);
  EXPECT_EQ(verify.exit_code, 0) << verify.err;
}

}  // namespace
}  // namespace cw::store
