// Organisations, users and API tokens. A token is `cw_` + 64 hex digits; only its SHA-256 is
// stored, so it is shown exactly once, when created. Every change is written to the audit log
// in the same transaction. Thread-safe (all state is in the database).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"

namespace cw::store {

enum class Role { kContributor, kAnalyst, kAdmin };
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

  // Creates the user (and the organisation when new) with a first token.
  // kConflict when the name is taken; kUnprocessable for an empty or too long name.
  Result<NewUser> add(const std::string& name, const std::string& org, Role role,
                      const Actor& actor);
  // Users with id > after_id, at most `limit`, by id.
  Result<std::vector<User>> list(int64_t after_id, int limit);
  Result<User> get(int64_t id);
  Result<User> get_by_name(const std::string& name);
  Result<NewToken> create_token(int64_t user_id, const std::string& label, const Actor& actor);
  // Revokes one token. kNotFound when it does not exist or is already revoked.
  Status revoke_token(int64_t token_id, const Actor& actor);
  // Revokes every active token of the user named; returns how many.
  Result<int> revoke_user(const std::string& name, const Actor& actor);

  // The principal a bearer token stands for; kUnauthenticated when unknown or revoked.
  Result<Principal> authenticate(const std::string& token);
  // Which of these tokens are still active (not revoked): for long-lived streams, which must
  // end when their token is revoked.
  Result<std::vector<int64_t>> active_tokens(const std::vector<int64_t>& token_ids);

 private:
  Database& db_;
};

}  // namespace cw::store
