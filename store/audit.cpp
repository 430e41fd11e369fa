// Audit log: append inside a transaction, verify the hash chain, list entries.
#include "store/audit.hpp"

#include <fmt/format.h>

#include <string>
#include <vector>

#include "common/sha256.hpp"
#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"
#include "store/internal/visibility_sql.hpp"

namespace cw::store {

namespace {

// 'CWAUDIT' as a number: every process that appends takes this lock for its transaction.
constexpr int64_t kAuditLock = 0x4357415544495400;
constexpr const char* kZeroHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

constexpr const char* kLastHash =
    "SELECT encode(hash, 'hex') FROM audit_log ORDER BY id DESC LIMIT 1";
// The row's id, its time as the canonical text shows it, and the diff as jsonb prints it: what
// the hash covers is known before the row is written, so the row goes in whole and is never
// updated (the application role may not UPDATE audit_log).
constexpr const char* kNext = R"sql(
SELECT nextval('audit_log_id_seq'), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       $1::jsonb::text)sql";
constexpr const char* kInsert = R"sql(
INSERT INTO audit_log (id, at, actor_id, actor, action, object, diff, hash)
VALUES ($1, now(), NULLIF($2::bigint, 0), $3, $4, $5, $6::jsonb, decode($7, 'hex')))sql";
// Built-in casts and to_char only: the application role cannot redefine them, so a rewritten
// row cannot be made to verify by rewriting a function (migration 0014 dropped the SQL
// audit_canonical() that did this before).
constexpr const char* kChainBatch = R"sql(
SELECT id, encode(hash, 'hex'), to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       coalesce(actor_id::text, ''), actor, action, object, diff::text
FROM audit_log WHERE id > $1 ORDER BY id LIMIT 5000)sql";
constexpr const char* kList = R"sql(
SELECT id, (extract(epoch FROM at) * 1000000)::bigint, actor_id, actor, action, object, diff::text,
       encode(hash, 'hex')
FROM audit_log a
WHERE ($1 = '' OR object = $1 OR ($2 AND object LIKE $3)) AND id > $4 AND {}
ORDER BY id LIMIT $5)sql";

// The canonical text of a row: id, time (UTC, microseconds), actor id ("" for the system),
// actor, action, object and the diff as jsonb prints it, joined by U+001F. Unchanged since the
// first audit row, so chains written by the SQL function verify.
std::string canonical_text(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += '\x1f';
    out += fields[i];
  }
  return out;
}

// Whether the row `a` is about nothing hidden from organisation $6: rows about a submission,
// a media link, an imagery task or a job are shown when their object is visible (rows about an
// object that no longer exists are not); every other row is.
std::string visible_row_sql() {
  const std::string org = "$6::bigint";
  return fmt::format(
      "(CASE WHEN a.object LIKE 'submission/%' THEN {} "
      "WHEN a.object LIKE 'media\\_link/%' THEN {} AND {} "
      "WHEN a.object LIKE 'imagery\\_task/%' THEN {} "
      "WHEN a.object LIKE 'job/%' THEN EXISTS (SELECT 1 FROM jobs j WHERE j.id = (CASE WHEN "
      "substr(a.object, 5) ~ '^[0-9]{{1,18}}$' THEN substr(a.object, 5)::bigint END) AND {}) "
      "ELSE true END)",
      submission_visible_sql("substr(a.object, 12)", org),
      media_visible_sql("split_part(a.object, '/', 2)", org),
      media_visible_sql("split_part(a.object, '/', 3)", org),
      imagery_task_visible_sql("substr(a.object, 14)", org), job_visible_sql(org, "true"));
}

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
  pqxx::row next = tx.exec_params1(kNext, diff.dump());
  const int64_t id = next[0].as<int64_t>();
  const std::string diff_text = next[2].as<std::string>();
  const std::string hash =
      chain(prev, canonical_text({std::to_string(id), next[1].as<std::string>(),
                                  actor.user_id == 0 ? "" : std::to_string(actor.user_id),
                                  actor.name, action, object, diff_text}));
  tx.exec_params0(kInsert, id, actor.user_id, actor.name, action, object, diff_text, hash);
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
        std::vector<std::string> fields{std::to_string(id)};
        for (int i = 2; i < 8; ++i) fields.push_back(row[i].as<std::string>());
        std::string expected = chain(prev, canonical_text(fields));
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
                                               int limit, std::optional<int64_t> reader_org) {
  static const std::string visible_query = fmt::format(fmt::runtime(kList), visible_row_sql());
  static const std::string all_query = fmt::format(fmt::runtime(kList), "$6::bigint IS NULL");
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
    for (const auto& row : tx.exec_params(reader_org ? visible_query : all_query,
                                          prefix ? std::string("\x01") : object, prefix, like,
                                          after_id, limit, nullable(number_text(reader_org)))) {
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
