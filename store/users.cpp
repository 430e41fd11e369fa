// Users, organisations and tokens.
#include "store/users.hpp"

#include <fmt/format.h>

#include "common/random.hpp"
#include "common/sha256.hpp"
#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

constexpr const char* kUpsertOrg = R"sql(
WITH ins AS (INSERT INTO organisations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING id)
SELECT id, true FROM ins UNION ALL SELECT id, false FROM organisations WHERE name = $1)sql";
constexpr const char* kInsertOrg = R"sql(
INSERT INTO organisations (name) VALUES ($1) ON CONFLICT (name) DO NOTHING
RETURNING id, (extract(epoch FROM created_at) * 1000000)::bigint)sql";
constexpr const char* kSelectOrgs = R"sql(
SELECT o.id, o.name, (extract(epoch FROM o.created_at) * 1000000)::bigint,
       (SELECT count(*) FROM users u WHERE u.org_id = o.id)::int
FROM organisations o ORDER BY o.id)sql";
constexpr const char* kInsertUser = R"sql(
INSERT INTO users (name, org_id, role) VALUES ($1, $2, $3::user_role)
RETURNING id, (extract(epoch FROM created_at) * 1000000)::bigint)sql";
constexpr const char* kInsertToken = R"sql(
INSERT INTO api_tokens (user_id, token_sha256, label) VALUES ($1, decode($2, 'hex'), $3) RETURNING id)sql";
constexpr const char* kSelectUsers = R"sql(
SELECT u.id, u.name, u.role::text, u.org_id, o.name,
       (extract(epoch FROM u.created_at) * 1000000)::bigint,
       (SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL)::int
FROM users u JOIN organisations o ON o.id = u.org_id)sql";
// Scope: $n::bigint is the organisation (NULL: all), $n+1 whether coordinators are in scope.
constexpr const char* kScopeAt2 =
    " AND ($2::bigint IS NULL OR u.org_id = $2::bigint) AND ($3 OR u.role <> 'coordinator')";
constexpr const char* kRevokeToken = R"sql(
UPDATE api_tokens t SET revoked_at = now() FROM users u
WHERE t.id = $1 AND t.revoked_at IS NULL AND u.id = t.user_id
  AND ($2::bigint IS NULL OR u.org_id = $2::bigint) AND ($3 OR u.role <> 'coordinator')
RETURNING t.user_id)sql";
constexpr const char* kRevokeUser = R"sql(
UPDATE api_tokens SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL RETURNING id)sql";
constexpr const char* kAuthenticate = R"sql(
SELECT u.id, u.name, u.role::text, u.org_id, o.name, t.id
FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.org_id
WHERE t.token_sha256 = decode($1, 'hex') AND t.revoked_at IS NULL)sql";
constexpr const char* kPrincipalOfToken = R"sql(
SELECT u.id, u.name, u.role::text, u.org_id, o.name, t.id
FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.org_id
WHERE t.id = $1 AND t.revoked_at IS NULL)sql";

// A row of kAuthenticate or kPrincipalOfToken.
Principal principal_from_row(const pqxx::row& row) {
  Principal p;
  p.user_id = row[0].as<int64_t>();
  p.user_name = row[1].as<std::string>();
  p.role = parse_role(row[2].as<std::string>()).value();
  p.org_id = row[3].as<int64_t>();
  p.org_name = row[4].as<std::string>();
  p.token_id = row[5].as<int64_t>();
  return p;
}

std::string new_token() { return "cw_" + random_hex(32); }

Status check_name(const std::string& name, const char* field) {
  if (name.empty() || name.size() > 200) {
    return Error(Code::kUnprocessable, fmt::format("{} must be 1 to 200 characters", field), field);
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return Error(Code::kUnprocessable,
                   fmt::format("{} must not contain control characters", field), field);
    }
  }
  return Status::Ok();
}

User user_from_row(const pqxx::row& row) {
  User u;
  u.id = row[0].as<int64_t>();
  u.name = row[1].as<std::string>();
  u.role = parse_role(row[2].as<std::string>()).value();
  u.org_id = row[3].as<int64_t>();
  u.org_name = row[4].as<std::string>();
  u.created_at = TimePoint(std::chrono::microseconds(row[5].as<int64_t>()));
  u.active_tokens = row[6].as<int>();
  return u;
}

NewToken insert_token(pqxx::work& tx, int64_t user_id, const std::string& label) {
  NewToken t;
  t.user_id = user_id;
  t.token = new_token();
  t.id =
      tx.exec_params1(kInsertToken, user_id, Sha256::hex_digest(t.token), label)[0].as<int64_t>();
  return t;
}

}  // namespace

const char* role_name(Role role) {
  switch (role) {
    case Role::kContributor:
      return "contributor";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAdmin:
      return "admin";
    case Role::kCoordinator:
      return "coordinator";
  }
  return "contributor";
}

Result<Role> parse_role(std::string_view s) {
  if (s == "contributor") return Role::kContributor;
  if (s == "analyst") return Role::kAnalyst;
  if (s == "admin") return Role::kAdmin;
  if (s == "coordinator") return Role::kCoordinator;
  return Error(Code::kUnprocessable, "role must be one of contributor, analyst, admin, coordinator",
               "role");
}

UserScope UserScope::of(const Principal& p) {
  if (p.role == Role::kCoordinator) return all();
  return UserScope{p.org_id, false};
}

Result<Organisation> Users::create_org(const std::string& name, const Actor& actor) {
  if (Status s = check_name(name, "name"); !s.ok()) return s.error();
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Organisation> {
    pqxx::result r = tx.exec_params(kInsertOrg, name);
    if (r.empty()) {
      return Error(Code::kConflict, "an organisation named " + name + " already exists", "name");
    }
    Organisation o;
    o.id = r[0][0].as<int64_t>();
    o.name = name;
    o.created_at = TimePoint(std::chrono::microseconds(r[0][1].as<int64_t>()));
    audit_append(tx, actor, "organisation.create", fmt::format("organisation/{}", o.id),
                 {{"name", name}});
    return o;
  });
}

Result<std::vector<Organisation>> Users::list_orgs() {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Organisation>> {
    pqxx::read_transaction tx(c);
    std::vector<Organisation> out;
    for (const auto& row : tx.exec(kSelectOrgs)) {
      Organisation o;
      o.id = row[0].as<int64_t>();
      o.name = row[1].as<std::string>();
      o.created_at = TimePoint(std::chrono::microseconds(row[2].as<int64_t>()));
      o.users = row[3].as<int>();
      out.push_back(std::move(o));
    }
    return out;
  });
}

Result<NewUser> Users::add(const std::string& name, const std::string& org, Role role,
                           const Actor& actor, NewOrg new_org) {
  if (Status s = check_name(name, "name"); !s.ok()) return s.error();
  if (Status s = check_name(org, "org"); !s.ok()) return s.error();
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<NewUser> {
    if (new_org == NewOrg::kRefuse &&
        tx.exec_params("SELECT 1 FROM organisations WHERE name = $1", org).empty()) {
      return Error(Code::kUnprocessable, "no organisation named " + org, "org");
    }
    pqxx::row org_row = tx.exec_params1(kUpsertOrg, org);
    int64_t org_id = org_row[0].as<int64_t>();
    if (org_row[1].as<bool>()) {
      audit_append(tx, actor, "organisation.create", fmt::format("organisation/{}", org_id),
                   {{"name", org}});
    }
    if (!tx.exec_params("SELECT 1 FROM users WHERE name = $1", name).empty()) {
      return Error(Code::kConflict, "a user named " + name + " already exists", "name");
    }
    pqxx::row row = tx.exec_params1(kInsertUser, name, org_id, role_name(role));
    NewUser out;
    out.user.id = row[0].as<int64_t>();
    out.user.name = name;
    out.user.role = role;
    out.user.org_id = org_id;
    out.user.org_name = org;
    out.user.created_at = TimePoint(std::chrono::microseconds(row[1].as<int64_t>()));
    out.user.active_tokens = 1;
    NewToken t = insert_token(tx, out.user.id, "first token");
    out.token_id = t.id;
    out.token = t.token;
    audit_append(tx, actor, "user.create", fmt::format("user/{}", out.user.id),
                 {{"name", name}, {"org", org}, {"role", role_name(role)}});
    audit_append(tx, actor, "token.create", fmt::format("token/{}", t.id),
                 {{"user_id", out.user.id}, {"label", "first token"}});
    return out;
  });
  return r;
}

Result<std::vector<User>> Users::list(int64_t after_id, int limit, const UserScope& scope) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<User>> {
    pqxx::read_transaction tx(c);
    std::vector<User> out;
    for (const auto& row : tx.exec_params(
             std::string(kSelectUsers) + " WHERE u.id > $1" + kScopeAt2 + " ORDER BY u.id LIMIT $4",
             after_id, nullable(number_text(scope.org_id)), scope.coordinators, limit)) {
      out.push_back(user_from_row(row));
    }
    return out;
  });
}

Result<User> Users::get(int64_t id, const UserScope& scope) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<User> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectUsers) + " WHERE u.id = $1" + kScopeAt2, id,
                                    nullable(number_text(scope.org_id)), scope.coordinators);
    if (r.empty()) return Error(Code::kNotFound, fmt::format("no user {}", id));
    return user_from_row(r[0]);
  });
}

Result<User> Users::get_by_name(const std::string& name) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<User> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectUsers) + " WHERE u.name = $1", name);
    if (r.empty()) return Error(Code::kNotFound, "no user named " + name, "name");
    return user_from_row(r[0]);
  });
}

Result<NewToken> Users::create_token(int64_t user_id, const std::string& label, const Actor& actor,
                                     const UserScope& scope) {
  if (label.size() > 200)
    return Error(Code::kUnprocessable, "label must be at most 200 characters", "label");
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<NewToken> {
    if (tx.exec_params(std::string("SELECT 1 FROM users u WHERE u.id = $1") + kScopeAt2, user_id,
                       nullable(number_text(scope.org_id)), scope.coordinators)
            .empty()) {
      return Error(Code::kNotFound, fmt::format("no user {}", user_id));
    }
    NewToken t = insert_token(tx, user_id, label);
    audit_append(tx, actor, "token.create", fmt::format("token/{}", t.id),
                 {{"user_id", user_id}, {"label", label}});
    return t;
  });
}

Status Users::revoke_token(int64_t token_id, const Actor& actor, const UserScope& scope) {
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    pqxx::result res = tx.exec_params(kRevokeToken, token_id, nullable(number_text(scope.org_id)),
                                      scope.coordinators);
    if (res.empty()) return Error(Code::kNotFound, fmt::format("no active token {}", token_id));
    audit_append(tx, actor, "token.revoke", fmt::format("token/{}", token_id),
                 {{"user_id", res[0][0].as<int64_t>()}});
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<int> Users::revoke_user(const std::string& name, const Actor& actor) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<int> {
    pqxx::result u = tx.exec_params("SELECT id FROM users WHERE name = $1", name);
    if (u.empty()) return Error(Code::kNotFound, "no user named " + name, "name");
    int64_t user_id = u[0][0].as<int64_t>();
    pqxx::result revoked = tx.exec_params(kRevokeUser, user_id);
    for (const auto& row : revoked) {
      audit_append(tx, actor, "token.revoke", fmt::format("token/{}", row[0].as<int64_t>()),
                   {{"user_id", user_id}});
    }
    return static_cast<int>(revoked.size());
  });
}

Result<Principal> Users::authenticate(const std::string& token) {
  if (token.size() != 67 || token.rfind("cw_", 0) != 0) {
    return Error(Code::kUnauthenticated, "the bearer token is not valid");
  }
  std::string digest = Sha256::hex_digest(token);
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Principal> {
    // Every request runs this: one statement, so no transaction around it (BEGIN, SET
    // TRANSACTION READ ONLY and ROLLBACK were three more round trips), prepared once per
    // connection (its parse and plan were most of its time).
    c.prepare("cw_authenticate", kAuthenticate);
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_prepared("cw_authenticate", digest);
    if (r.empty())
      return Error(Code::kUnauthenticated, "the bearer token is not valid or was revoked");
    return principal_from_row(r[0]);
  });
}

Result<Principal> Users::principal_of_token(int64_t token_id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Principal> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(kPrincipalOfToken, token_id);
    if (r.empty()) return Error(Code::kUnauthenticated, "the token was revoked");
    return principal_from_row(r[0]);
  });
}

Result<std::vector<int64_t>> Users::active_tokens(const std::vector<int64_t>& token_ids) {
  const std::string list = bigint_array(token_ids);
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<int64_t>> {
    pqxx::nontransaction tx(c);
    std::vector<int64_t> out;
    for (const auto& r : tx.exec_params(
             "SELECT id FROM api_tokens WHERE id = ANY($1::bigint[]) AND revoked_at IS NULL",
             list)) {
      out.push_back(r[0].as<int64_t>());
    }
    return out;
  });
}

}  // namespace cw::store
