// The job queue and its listener.
//
// Decisions worth knowing:
// - Every call that ends or extends a lease is one UPDATE guarded by `state = 'running' AND
//   lease_owner = $worker`; when it matches no row a second look tells kNotFound from kConflict.
//   A lease that ran out but was not taken over is still the owner's: only a claim moves it.
// - "Oldest" is by run_after, then id: a job taken over after its worker died keeps its early
//   run_after and so goes before newer work.
// - The lease is counted on the database's clock (now()), never the worker's, so workers on
//   machines with skewed clocks agree on who owns what.
// - When a job is queued again (fail with retries left, release, retry) lease_owner is cleared;
//   when it ends (done, failed) it is kept to show which worker ran it last.
// - fail()'s reason is machinery text (FFmpeg messages…): NULs and invalid UTF-8 are replaced and
//   it is cut at kMaxErrorBytes instead of being refused.
#include "store/jobs.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "common/utf8.hpp"
#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"
#include "store/internal/visibility_sql.hpp"

namespace cw::store {

namespace {

constexpr int kMaxListLimit = 500;
constexpr int kMaxPayloadMatches = 500;
constexpr size_t kMaxErrorBytes = 2000;
constexpr size_t kMaxWorkerIdBytes = 200;
constexpr const char* kChannel = "cw_jobs";

// The columns job_from_row() reads, in its order.
#define CW_JOB_COLUMNS                                                \
  "id, kind, payload::text, state, attempts, progress, "              \
  "(extract(epoch FROM run_after) * 1000000)::bigint, lease_owner, "  \
  "(extract(epoch FROM lease_until) * 1000000)::bigint, last_error, " \
  "(extract(epoch FROM created_at) * 1000000)::bigint, "              \
  "(extract(epoch FROM updated_at) * 1000000)::bigint, "              \
  "(extract(epoch FROM finished_at) * 1000000)::bigint"

constexpr const char* kInsert = R"sql(
INSERT INTO jobs (kind, payload, run_after)
VALUES ($1, $2::jsonb, greatest(now(), 'epoch'::timestamptz + $3::bigint * interval '1 microsecond'))
RETURNING id)sql";

// $1 worker, $2 kinds as a JSON array (empty: any), $3 lease in seconds.
constexpr const char* kClaim = R"sql(
WITH next AS (
  SELECT id AS next_id FROM jobs
  WHERE ((state = 'queued' AND run_after <= now()) OR (state = 'running' AND lease_until < now()))
    AND (jsonb_array_length($2::jsonb) = 0
         OR kind IN (SELECT jsonb_array_elements_text($2::jsonb)))
  ORDER BY run_after, id
  LIMIT 1
  FOR UPDATE SKIP LOCKED)
UPDATE jobs SET state = 'running', lease_owner = $1,
                lease_until = now() + $3::int * interval '1 second', attempts = attempts + 1,
                progress = 0, updated_at = now()
FROM next WHERE id = next_id
RETURNING )sql" CW_JOB_COLUMNS;

constexpr const char* kRenew = R"sql(
UPDATE jobs SET lease_until = now() + $3::int * interval '1 second', updated_at = now()
WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING id)sql";
constexpr const char* kProgress = R"sql(
UPDATE jobs SET progress = $4, lease_until = now() + $3::int * interval '1 second',
                updated_at = now()
WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING id)sql";
constexpr const char* kComplete = R"sql(
UPDATE jobs SET state = 'done', progress = 100, lease_until = NULL, finished_at = now(),
                updated_at = now()
WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING id)sql";
// $3 reason, $4 max attempts, $5 base backoff (s), $6 cap (s). attempts counts this one.
constexpr const char* kFail = R"sql(
UPDATE jobs SET
  state = CASE WHEN attempts < $4 THEN 'queued' ELSE 'failed' END,
  run_after = CASE WHEN attempts < $4
                   THEN now() + least($5::float8 * power(2, least(greatest(attempts - 1, 0), 30)),
                                      $6::float8) * interval '1 second'
                   ELSE run_after END,
  lease_owner = CASE WHEN attempts < $4 THEN NULL ELSE lease_owner END,
  lease_until = NULL,
  progress = CASE WHEN attempts < $4 THEN 0 ELSE progress END,
  finished_at = CASE WHEN attempts < $4 THEN NULL ELSE now() END,
  last_error = $3,
  updated_at = now()
WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING state)sql";
constexpr const char* kRelease = R"sql(
UPDATE jobs SET state = 'queued', lease_owner = NULL, lease_until = NULL,
                attempts = greatest(attempts - 1, 0), run_after = now(), progress = 0,
                updated_at = now()
WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING id)sql";
constexpr const char* kStateOf = "SELECT state FROM jobs WHERE id = $1";

constexpr const char* kLockForRetry =
    "SELECT state, kind, attempts, last_error FROM jobs WHERE id = $1 FOR UPDATE";
constexpr const char* kRetry = R"sql(
UPDATE jobs SET state = 'queued', attempts = 0, run_after = now(), lease_owner = NULL,
                lease_until = NULL, progress = 0, finished_at = NULL, updated_at = now()
WHERE id = $1)sql";

constexpr const char* kSelect = "SELECT " CW_JOB_COLUMNS " FROM jobs";
constexpr const char* kById = " WHERE id = $1";
constexpr const char* kList = R"sql(
 WHERE id > $1 AND ($2::text IS NULL OR state = $2::text) ORDER BY id LIMIT $3)sql";
// $1, $2: {key: value} as a string and (when value is a number) as a number — the GIN index
// answers these; $3/$4 keep exactly the rows whose payload->>key is the text asked for.
constexpr const char* kByPayload = R"sql(
 WHERE (payload @> $1::jsonb OR payload @> $2::jsonb) AND payload->>$3 = $4
 ORDER BY id LIMIT $5)sql";

#undef CW_JOB_COLUMNS

Job job_from_row(const pqxx::row& row) {
  Job j;
  j.id = row[0].as<int64_t>();
  j.kind = row[1].as<std::string>();
  j.payload = nlohmann::json::parse(row[2].as<std::string>());
  j.state = parse_job_state(row[3].as<std::string>()).value();
  j.attempts = row[4].as<int>();
  j.progress = row[5].as<int>();
  j.run_after = from_micros(row[6].as<int64_t>());
  j.lease_owner = opt_string(row[7]);
  j.lease_until = opt_micros(row[8]);
  j.last_error = opt_string(row[9]);
  j.created_at = from_micros(row[10].as<int64_t>());
  j.updated_at = from_micros(row[11].as<int64_t>());
  j.finished_at = opt_micros(row[12]);
  return j;
}

// Text PostgreSQL accepts (UTF-8, no NUL): kUnprocessable naming `field` otherwise.
Status check_text(std::string_view s, const char* field) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0 || s[i] == '\0') {
      return Error(Code::kUnprocessable,
                   fmt::format("{} must be UTF-8 text without NUL characters", field), field);
    }
    i += n;
  }
  return Status::Ok();
}

// `s` made storable: invalid bytes and NULs become '?', cut at max_bytes on a character boundary.
std::string clean_text(std::string_view s, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(s.size(), max_bytes));
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    std::string_view piece = (n == 0 || s[i] == '\0') ? std::string_view("?") : s.substr(i, n);
    if (out.size() + piece.size() > max_bytes) break;
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

Status check_worker(const std::string& worker_id) {
  if (worker_id.empty() || worker_id.size() > kMaxWorkerIdBytes) {
    return Error(Code::kUnprocessable, "worker_id must be 1 to 200 bytes", "worker_id");
  }
  return check_text(worker_id, "worker_id");
}

Status check_lease(std::chrono::seconds lease) {
  // An int of seconds in SQL; a day is far longer than any stage should go without renewing.
  if (lease.count() <= 0 || lease.count() > 86400) {
    return Error(Code::kUnprocessable, "lease must be between 1 second and 1 day", "lease");
  }
  return Status::Ok();
}

// After a guarded UPDATE matched nothing: why.
Error not_ours(pqxx::work& tx, int64_t id) {
  pqxx::result r = tx.exec_params(kStateOf, id);
  if (r.empty()) return Error(Code::kNotFound, fmt::format("job {} does not exist", id));
  return Error(Code::kConflict, fmt::format("job {} is not leased by this worker (it is {})", id,
                                            r[0][0].as<std::string>()));
}

Status to_status(const Result<bool>& r) {
  if (!r.ok()) return r.error();
  return Status::Ok();
}

}  // namespace

const char* job_state_name(JobState s) {
  switch (s) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
  }
  return "queued";
}

Result<JobState> parse_job_state(std::string_view s) {
  if (s == "queued") return JobState::kQueued;
  if (s == "running") return JobState::kRunning;
  if (s == "done") return JobState::kDone;
  if (s == "failed") return JobState::kFailed;
  return Error(Code::kUnprocessable, "state must be one of queued, running, done, failed", "state");
}

Result<int64_t> Jobs::enqueue(const std::string& kind, const nlohmann::json& payload,
                              TimePoint run_after) {
  if (kind.empty()) return Error(Code::kUnprocessable, "kind must not be empty", "kind");
  if (Status s = check_text(kind, "kind"); !s.ok()) return s.error();
  std::string payload_text;
  try {
    // Strict: a string that is not UTF-8 is refused rather than stored altered.
    payload_text = payload.dump();
  } catch (const nlohmann::json::exception&) {
    return Error(Code::kUnprocessable, "payload must be valid UTF-8 JSON", "payload");
  }
  if (payload_text.find("\\u0000") != std::string::npos) {
    // jsonb cannot hold U+0000.
    return Error(Code::kUnprocessable, "payload must not contain NUL characters", "payload");
  }
  int64_t micros = run_after.time_since_epoch().count();
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<int64_t> {
    return tx.exec_params1(kInsert, kind, payload_text, micros)[0].as<int64_t>();
  });
}

Result<std::optional<Job>> Jobs::claim(const std::string& worker_id,
                                       const std::vector<std::string>& kinds,
                                       std::chrono::seconds lease) {
  if (Status s = check_worker(worker_id); !s.ok()) return s.error();
  if (Status s = check_lease(lease); !s.ok()) return s.error();
  std::string kinds_json;
  try {
    kinds_json = nlohmann::json(kinds).dump();
  } catch (const nlohmann::json::exception&) {
    return Error(Code::kUnprocessable, "kinds must be valid UTF-8", "kinds");
  }
  int lease_s = static_cast<int>(lease.count());
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<std::optional<Job>> {
    pqxx::result r = tx.exec_params(kClaim, worker_id, kinds_json, lease_s);
    if (r.empty()) return std::optional<Job>();
    return std::optional<Job>(job_from_row(r[0]));
  });
}

Status Jobs::renew(int64_t id, const std::string& worker_id, std::chrono::seconds lease) {
  if (Status s = check_worker(worker_id); !s.ok()) return s;
  if (Status s = check_lease(lease); !s.ok()) return s;
  int lease_s = static_cast<int>(lease.count());
  return to_status(in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (tx.exec_params(kRenew, id, worker_id, lease_s).empty()) return not_ours(tx, id);
    return true;
  }));
}

Status Jobs::progress(int64_t id, const std::string& worker_id, int percent,
                      std::chrono::seconds lease) {
  if (percent < 0 || percent > 100) {
    return Error(Code::kUnprocessable, "progress must be between 0 and 100", "progress");
  }
  if (Status s = check_worker(worker_id); !s.ok()) return s;
  if (Status s = check_lease(lease); !s.ok()) return s;
  int lease_s = static_cast<int>(lease.count());
  return to_status(in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (tx.exec_params(kProgress, id, worker_id, lease_s, percent).empty()) {
      return not_ours(tx, id);
    }
    return true;
  }));
}

Status Jobs::complete(int64_t id, const std::string& worker_id) {
  if (Status s = check_worker(worker_id); !s.ok()) return s;
  return to_status(in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (tx.exec_params(kComplete, id, worker_id).empty()) return not_ours(tx, id);
    return true;
  }));
}

Result<FailOutcome> Jobs::fail(int64_t id, const std::string& worker_id, const std::string& reason,
                               int max_attempts, std::chrono::seconds base_backoff) {
  if (Status s = check_worker(worker_id); !s.ok()) return s.error();
  if (max_attempts < 1) {
    return Error(Code::kUnprocessable, "max_attempts must be at least 1", "max_attempts");
  }
  if (base_backoff.count() < 0) {
    return Error(Code::kUnprocessable, "base_backoff must not be negative", "base_backoff");
  }
  std::string why = clean_text(reason, kMaxErrorBytes);
  auto base = static_cast<double>(base_backoff.count());
  auto cap = static_cast<double>(kMaxBackoff.count());
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<FailOutcome> {
    pqxx::result r = tx.exec_params(kFail, id, worker_id, why, max_attempts, base, cap);
    if (r.empty()) return not_ours(tx, id);
    return r[0][0].as<std::string>() == "queued" ? FailOutcome::kWillRetry : FailOutcome::kFailed;
  });
}

Status Jobs::release(int64_t id, const std::string& worker_id) {
  if (Status s = check_worker(worker_id); !s.ok()) return s;
  return to_status(in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    if (tx.exec_params(kRelease, id, worker_id).empty()) return not_ours(tx, id);
    return true;
  }));
}

Status Jobs::retry(int64_t id, const Actor& actor) {
  return to_status(in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    pqxx::result r = tx.exec_params(kLockForRetry, id);
    if (r.empty()) return Error(Code::kNotFound, fmt::format("job {} does not exist", id));
    std::string state = r[0][0].as<std::string>();
    if (state != "failed" && state != "done") {
      return Error(Code::kConflict,
                   fmt::format("job {} is {}; only failed or done jobs can be retried", id, state));
    }
    tx.exec_params0(kRetry, id);
    audit_append(tx, actor, "job.retry", fmt::format("job/{}", id),
                 {{"kind", r[0][1].as<std::string>()},
                  {"from", state},
                  {"attempts", r[0][2].as<int>()},
                  {"last_error", r[0][3].is_null() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(r[0][3].as<std::string>())}});
    return true;
  }));
}

Result<Job> Jobs::get(int64_t id) {
  static const std::string query = std::string(kSelect) + kById;
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Job> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(query, id);
    if (r.empty()) return Error(Code::kNotFound, fmt::format("job {} does not exist", id));
    return job_from_row(r[0]);
  });
}

Result<Job> Jobs::get(const Principal& who, int64_t id) {
  static const std::string query = std::string(kSelect) + " j WHERE j.id = $1 AND " +
                                   job_visible_sql("$2::bigint", "$3::boolean");
  const bool admin = who.role == Role::kAdmin || who.role == Role::kCoordinator;
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Job> {
    pqxx::nontransaction tx(c);
    pqxx::result r = tx.exec_params(query, id, who.org_id, admin);
    if (r.empty()) return Error(Code::kNotFound, "no such job");
    return job_from_row(r[0]);
  });
}

Result<std::vector<Job>> Jobs::list(const std::optional<std::string>& state, int64_t after_id,
                                    int limit) {
  if (state) {
    if (auto parsed = parse_job_state(*state); !parsed.ok()) return parsed.error();
  }
  if (limit < 1 || limit > kMaxListLimit) {
    return Error(Code::kUnprocessable, "limit must be between 1 and 500", "limit");
  }
  static const std::string query = std::string(kSelect) + kList;
  const char* state_param = state ? state->c_str() : nullptr;
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Job>> {
    pqxx::nontransaction tx(c);
    std::vector<Job> out;
    for (const auto& row : tx.exec_params(query, after_id, state_param, limit)) {
      out.push_back(job_from_row(row));
    }
    return out;
  });
}

Result<std::vector<Job>> Jobs::for_payload(const std::string& key, const std::string& value) {
  if (Status s = check_text(key, "key"); !s.ok()) return s.error();
  if (Status s = check_text(value, "value"); !s.ok()) return s.error();
  nlohmann::json as_string = {{key, value}};
  nlohmann::json as_number = as_string;
  nlohmann::json number = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (number.is_number()) as_number = {{key, number}};
  static const std::string query = std::string(kSelect) + kByPayload;
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Job>> {
    pqxx::nontransaction tx(c);
    std::vector<Job> out;
    for (const auto& row : tx.exec_params(query, as_string.dump(), as_number.dump(), key, value,
                                          kMaxPayloadMatches)) {
      out.push_back(job_from_row(row));
    }
    return out;
  });
}

// ---- JobListener -------------------------------------------------------------------------------

namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, const std::string& channel)
      : pqxx::notification_receiver(c, channel) {}
  void operator()(const std::string&, int) override { ++received; }
  int received = 0;
};

}  // namespace

struct JobListener::Impl {
  // Declared before the receiver: the receiver must go first (it unregisters from the conn).
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;

  void drop() {
    receiver.reset();
    conn.reset();
  }
};

JobListener::JobListener(Database& db) : db_(db), impl_(std::make_unique<Impl>()) {}

JobListener::~JobListener() {
  try {
    impl_->drop();
  } catch (...) {
    // Closing a broken connection must not end the process.
  }
}

bool JobListener::listening() const { return impl_->conn && impl_->conn->is_open(); }

Status JobListener::listen() {
  if (listening() && impl_->receiver) return Status::Ok();
  try {
    impl_->drop();
    impl_->conn = db_.impl().open();
    // Registering the receiver issues LISTEN on the connection.
    impl_->receiver = std::make_unique<Receiver>(*impl_->conn, kChannel);
    return Status::Ok();
  } catch (...) {
    try {
      impl_->drop();
    } catch (...) {
    }
    return map_db_exception(std::current_exception(), "listen");
  }
}

Result<bool> JobListener::wait(std::chrono::milliseconds timeout) {
  if (!listening() || !impl_->receiver) {
    // First use, or the connection broke earlier: whatever was announced meanwhile is lost.
    if (Status s = listen(); !s.ok()) return s.error();
    return true;
  }
  using std::chrono::steady_clock;
  auto deadline = steady_clock::now() + timeout;
  try {
    impl_->receiver->received = 0;
    for (;;) {
      auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - steady_clock::now());
      if (left.count() < 0) left = std::chrono::microseconds(0);
      // Returns early on any traffic on the socket (or when it closes), not only notifications.
      impl_->conn->await_notification(static_cast<long>(left.count() / 1000000),
                                      static_cast<long>(left.count() % 1000000));
      if (impl_->receiver->received > 0) return true;
      if (!impl_->conn->is_open()) {
        throw pqxx::broken_connection("the LISTEN connection closed");
      }
      if (steady_clock::now() >= deadline) return false;
    }
  } catch (...) {
    Error e = map_db_exception(std::current_exception(), "wait for jobs");
    try {
      impl_->drop();
    } catch (...) {
    }
    return e;
  }
}

}  // namespace cw::store
