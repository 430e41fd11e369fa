// Audit log: append inside a transaction, verify the hash chain, list entries.
#include "store/audit.hpp"

#include <fmt/format.h>

#include "common/sha256.hpp"
#include "store/internal/audit_append.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// 'CWAUDIT' as a number: every process that appends takes this lock for its transaction.
constexpr int64_t kAuditLock = 0x4357415544495400;
constexpr const char* kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

constexpr const char* kLastHash =
    "SELECT encode(hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1";
constexpr const char* kInsert = R"sql(
INSERT INTO audit_log (id, actor_id, actor, action, object, diff)
VALUES (nextval('audit_log_id_seq'), NULLIF($1::bigint, 0), $2, $3, $4, $5::jsonb)
RETURNING id, audit_canonical(audit_log.*))sql";
constexpr const char* kSetHash = "UPDATE audit_log SET hash = decode($2, 'hex') WHERE id = $1";
constexpr const char* kChainBatch = R"sql(
SELECT id, encode(hash, 'hex'), audit_canonical(a.*) FROM audit_log a
WHERE id > $1 ORDER BY id LIMIT 5000)sql";
constexpr const char* kList = R"sql(
SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor_id, actor, action, object, diff::text,
       encode(hash, 'hex')
FROM audit_log
WHERE ($1 = '' OR object = $1 OR ($2 AND object LIKE $3)) AND id > $4
ORDER BY id LIMIT $5)sql";

std::string chain(const std::string& prev_hex, const std::string& canonical) {
  std::string prev;
  from_hex(prev_hex, &prev);
  Sha256 h;
  h.update(prev);
  h.update(canonical);
  return to_hex(h.finish());
}

}  // namespace

void audit_append(pqxx::work& tx, const Actor& actor, const std::string& action,
                  const std::string& object, const nlohmann::json& diff) {
  tx.exec_params("SELECT pg_advisory_xact_lock($1)", kAuditLock);
  pqxx::result last = tx.exec(kLastHash);
  std::string prev =
      last.empty() || last[0][0].is_null() ? kZeroHash : last[0][0].as<std::string>();
  pqxx::row row = tx.exec_params1(kInsert, actor.user_id, actor.name, action, object, diff.dump());
  int64_t id = row[0].as<int64_t>();
  tx.exec_params0(kSetHash, id, chain(prev, row[1].as<std::string>()));
}

Result<AuditVerification> AuditLog::verify() {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<AuditVerification> {
    pqxx::read_transaction tx(c);
    AuditVerification v;
    std::string prev = kZeroHash;
    int64_t after = 0;
    for (;;) {
      pqxx::result batch = tx.exec_params(kChainBatch, after);
      if (batch.empty()) break;
      for (const auto& row : batch) {
        int64_t id = row[0].as<int64_t>();
        ++v.rows;
        if (row[1].is_null()) {
          v.ok = false;
          v.first_bad_id = id;
          v.reason = fmt::format("audit row {} has no hash", id);
          return v;
        }
        std::string expected = chain(prev, row[2].as<std::string>());
        std::string stored = row[1].as<std::string>();
        if (expected != stored) {
          v.ok = false;
          v.first_bad_id = id;
          v.reason = fmt::format(
              "audit row {} does not match its hash: the row or one before it was changed or "
              "removed (stored {}, recomputed {})",
              id, stored.substr(0, 16), expected.substr(0, 16));
          return v;
        }
        prev = stored;
        after = id;
      }
    }
    return v;
  });
}

Result<std::vector<AuditEntry>> AuditLog::list(const std::string& object, int64_t after_id,
                                               int limit) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<AuditEntry>> {
    pqxx::read_transaction tx(c);
    bool prefix = !object.empty() && object.back() == '*';
    std::string like;
    if (prefix) {
      for (char ch : object.substr(0, object.size() - 1)) {
        if (ch == '%' || ch == '_' || ch == '\\') like += '\\';
        like += ch;
      }
      like += '%';
    }
    std::vector<AuditEntry> out;
    for (const auto& row : tx.exec_params(kList, prefix ? std::string("\x01") : object, prefix,
                                          like, after_id, limit)) {
      AuditEntry e;
      e.id = row[0].as<int64_t>();
      e.at = TimePoint(std::chrono::microseconds(row[1].as<int64_t>()));
      if (!row[2].is_null()) e.actor_id = row[2].as<int64_t>();
      e.actor = row[3].as<std::string>();
      e.action = row[4].as<std::string>();
      e.object = row[5].as<std::string>();
      e.diff = nlohmann::json::parse(row[6].as<std::string>());
      e.hash = row[7].is_null() ? "" : row[7].as<std::string>();
      out.push_back(std::move(e));
    }
    return out;
  });
}

}  // namespace cw::store
