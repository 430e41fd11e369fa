// The hash-chained audit log. Every change to the evidence and the users appends a row in the
// same transaction as the change (see append() in store/internal/audit_append.hpp);
// row hash = SHA-256(previous hash || canonical row text), the first row chaining from zeros.
// verify() walks the chain and names the first row that does not match.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"

namespace cw::store {

// Who made a change: a user, or the command line / the system (user_id 0).
struct Actor {
  int64_t user_id = 0;
  std::string name;
  static Actor system(std::string name) { return Actor{0, std::move(name)}; }
};

struct AuditEntry {
  int64_t id = 0;
  TimePoint at{};
  std::optional<int64_t> actor_id;
  std::string actor;
  std::string action;
  std::string object;
  nlohmann::json diff;
  std::string hash;  // hex
};

struct AuditVerification {
  bool ok = true;
  int64_t rows = 0;
  std::optional<int64_t> first_bad_id;
  std::string reason;
};

// Reading the audit log (rows are appended by the repositories, never through this class).
// Thread-safe: it holds no state but the Database, which it does not own (it must outlive the
// log); each call runs in a read transaction of its own. Errors are what the store maps database
// failures to (store/database.hpp): kUnavailable when no connection can be had, a query times
// out or the connection is lost (retry). Returned values are the caller's.
class AuditLog {
 public:
  explicit AuditLog(Database& db) : db_(db) {}

  // Walks the whole chain in id order, recomputing every row hash. A broken chain is not an
  // error: the result says ok = false and names the first row that does not match.
  Result<AuditVerification> verify();
  // Entries about `object` (prefix match when it ends with '*'), oldest first, after `after_id`,
  // at most `limit` (the caller bounds it). Empty when there are none. With `reader_org`, only
  // the entries a member of that organisation may see: entries about a submission, media link,
  // imagery task or job that concerns another organisation's private submission are left out
  // whole (store/internal/visibility_sql.hpp has the rule); without it, every entry (the
  // command line).
  Result<std::vector<AuditEntry>> list(const std::string& object, int64_t after_id, int limit,
                                       std::optional<int64_t> reader_org = std::nullopt);

 private:
  Database& db_;
};

}  // namespace cw::store
