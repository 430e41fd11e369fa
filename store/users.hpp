// Organisations, users and API tokens. A token is `cw_` + 64 hex digits; only its SHA-256 is
// stored, so it is shown exactly once, when created. Every change is written to the audit log
// in the same transaction. Thread-safe (all state is in the database).
//
// Who manages whom (UserScope): an admin manages the users and tokens of their own organisation,
// a coordinator (the task force's, created from the command line only) those of every
// organisation, the command line everything. Users and tokens outside the caller's scope are
// reported as not found, exactly like ids that do not exist; coordinators are outside every
// admin's scope, even in the admin's own organisation (an admin who could mint a coordinator's
// token could act as one). Organisations are created explicitly (create_org), never as a side
// effect of a misspelt name in add().
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"

namespace cw::store {

// Ordered by reach: a coordinator may do everything an admin may, in every organisation.
enum class Role { kContributor, kAnalyst, kAdmin, kCoordinator };
const char* role_name(Role role);
Result<Role> parse_role(std::string_view s);

struct Principal {
  int64_t user_id = 0;
  std::string user_name;
  Role role = Role::kContributor;
  int64_t org_id = 0;
  std::string org_name;
  int64_t token_id = 0;
};

struct Organisation {
  int64_t id = 0;
  std::string name;
  TimePoint created_at{};
  int users = 0;
};

// The users a caller may see and manage.
struct UserScope {
  std::optional<int64_t> org_id;  // nullopt: every organisation
  bool coordinators = true;       // whether users with the coordinator role are in scope
  // Everything: the command line and the system.
  static UserScope all() { return {}; }
  // A principal's: a coordinator's is everything, anybody else's is their own organisation
  // without its coordinators.
  static UserScope of(const Principal& p);
};

// What add() does with an organisation name nobody created yet.
enum class NewOrg { kRefuse, kCreate };

struct User {
  int64_t id = 0;
  std::string name;
  Role role = Role::kContributor;
  int64_t org_id = 0;
  std::string org_name;
  TimePoint created_at{};
  int active_tokens = 0;
};

struct NewUser {
  User user;
  int64_t token_id = 0;
  std::string token;  // the secret, shown once
};

struct NewToken {
  int64_t id = 0;
  int64_t user_id = 0;
  std::string token;
};

class Users {
 public:
  explicit Users(Database& db) : db_(db) {}

  // Creates an organisation. kConflict (field "name") when one of that name exists;
  // kUnprocessable for an empty or too long name.
  Result<Organisation> create_org(const std::string& name, const Actor& actor);
  // Every organisation by id, with its number of users.
  Result<std::vector<Organisation>> list_orgs();

  // Creates the user with a first token. The organisation must exist (kUnprocessable, field
  // "org", otherwise) unless new_org is kCreate. kConflict when the name is taken;
  // kUnprocessable for an empty or too long name.
  Result<NewUser> add(const std::string& name, const std::string& org, Role role,
                      const Actor& actor, NewOrg new_org = NewOrg::kRefuse);
  // Users in scope with id > after_id, at most `limit`, by id.
  Result<std::vector<User>> list(int64_t after_id, int limit,
                                 const UserScope& scope = UserScope::all());
  // kNotFound when missing or out of scope.
  Result<User> get(int64_t id, const UserScope& scope = UserScope::all());
  Result<User> get_by_name(const std::string& name);
  // kNotFound when the user is missing or out of scope.
  Result<NewToken> create_token(int64_t user_id, const std::string& label, const Actor& actor,
                                const UserScope& scope = UserScope::all());
  // Revokes one token. kNotFound when it does not exist, is already revoked or its user is out
  // of scope.
  Status revoke_token(int64_t token_id, const Actor& actor,
                      const UserScope& scope = UserScope::all());
  // Revokes every active token of the user named; returns how many.
  Result<int> revoke_user(const std::string& name, const Actor& actor);

  // The principal a bearer token stands for; kUnauthenticated when unknown or revoked.
  Result<Principal> authenticate(const std::string& token);
  // The principal of an active token by its id (a signed link names the token it was made
  // with, server/signed_link.hpp); kUnauthenticated when unknown or revoked.
  Result<Principal> principal_of_token(int64_t token_id);
  // Which of these tokens are still active (not revoked): for long-lived streams, which must
  // end when their token is revoked.
  Result<std::vector<int64_t>> active_tokens(const std::vector<int64_t>& token_ids);

 private:
  Database& db_;
};

}  // namespace cw::store
