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
constexpr const char* kRevokeToken = R"sql(
UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL RETURNING user_id)sql";
constexpr const char* kRevokeUser = R"sql(
UPDATE api_tokens SET revoked_at = now()
WHERE user_id = $1 AND revoked_at IS NULL RETURNING id)sql";
constexpr const char* kAuthenticate = R"sql(
SELECT u.id, u.name, u.role::text, u.org_id, o.name, t.id
FROM api_tokens t JOIN users u ON u.id = t.user_id JOIN organisations o ON o.id = u.org_id
WHERE t.token_sha256 = decode($1, 'hex') AND t.revoked_at IS NULL)sql";

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
  }
  return "contributor";
}

Result<Role> parse_role(std::string_view s) {
  if (s == "contributor") return Role::kContributor;
  if (s == "analyst") return Role::kAnalyst;
  if (s == "admin") return Role::kAdmin;
  return Error(Code::kUnprocessable, "role must be one of contributor, analyst, admin", "role");
}

Result<NewUser> Users::add(const std::string& name, const std::string& org, Role role,
                           const Actor& actor) {
  if (Status s = check_name(name, "name"); !s.ok()) return s.error();
  if (Status s = check_name(org, "org"); !s.ok()) return s.error();
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<NewUser> {
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

Result<std::vector<User>> Users::list(int64_t after_id, int limit) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<User>> {
    pqxx::read_transaction tx(c);
    std::vector<User> out;
    for (const auto& row :
         tx.exec_params(std::string(kSelectUsers) + " WHERE u.id > $1 ORDER BY u.id LIMIT $2",
                        after_id, limit)) {
      out.push_back(user_from_row(row));
    }
    return out;
  });
}

Result<User> Users::get(int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<User> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectUsers) + " WHERE u.id = $1", id);
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

Result<NewToken> Users::create_token(int64_t user_id, const std::string& label,
                                     const Actor& actor) {
  if (label.size() > 200)
    return Error(Code::kUnprocessable, "label must be at most 200 characters", "label");
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<NewToken> {
    if (tx.exec_params("SELECT 1 FROM users WHERE id = $1", user_id).empty()) {
      return Error(Code::kNotFound, fmt::format("no user {}", user_id));
    }
    NewToken t = insert_token(tx, user_id, label);
    audit_append(tx, actor, "token.create", fmt::format("token/{}", t.id),
                 {{"user_id", user_id}, {"label", label}});
    return t;
  });
}

Status Users::revoke_token(int64_t token_id, const Actor& actor) {
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    pqxx::result res = tx.exec_params(kRevokeToken, token_id);
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
    Principal p;
    p.user_id = r[0][0].as<int64_t>();
    p.user_name = r[0][1].as<std::string>();
    p.role = parse_role(r[0][2].as<std::string>()).value();
    p.org_id = r[0][3].as<int64_t>();
    p.org_name = r[0][4].as<std::string>();
    p.token_id = r[0][5].as<int64_t>();
    return p;
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
