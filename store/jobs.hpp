// The durable job queue in PostgreSQL (table `jobs`) and the listener that wakes idle workers.
//
// A worker claims the oldest claimable job of the kinds it runs and holds a lease on it
// (lease_owner = its id, lease_until); it renews the lease while it works and ends the job with
// complete(), fail() or release(). A worker that dies stops renewing; once lease_until has passed
// another worker's claim takes the job over, and every later call of the old owner on that job
// answers kConflict. Claims use SELECT … FOR UPDATE SKIP LOCKED, so any number of workers in any
// number of processes never take the same job twice. State changes of jobs are not audited
// (machinery), except an operator's retry().
//
// Jobs is thread-safe (all state is in the database). JobListener is used by one thread at a
// time and owns one connection of its own, outside the pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

enum class JobState { kQueued, kRunning, kDone, kFailed };
const char* job_state_name(JobState s);
// kUnprocessable (field "state") for anything but queued, running, done, failed.
Result<JobState> parse_job_state(std::string_view s);

struct Job {
  int64_t id = 0;
  std::string kind;
  nlohmann::json payload;
  JobState state = JobState::kQueued;
  int attempts = 0;  // claims so far, the current one included
  int progress = 0;  // 0..100
  TimePoint run_after{};
  std::optional<std::string> lease_owner;  // the worker running it, or the one that ended it
  std::optional<TimePoint> lease_until;    // set while running
  std::optional<std::string> last_error;   // the reason of the last fail(), kept after success
  TimePoint created_at{};
  TimePoint updated_at{};
  std::optional<TimePoint> finished_at;  // done or failed
};

// What fail() did with the job.
enum class FailOutcome { kWillRetry, kFailed };

// What a job's handler is given besides the job (pipeline::Worker runs handlers and fills it;
// other modules, reports/ for webhook deliveries, register handlers without knowing the worker).
// The worker renews the lease for as long as the handler runs.
struct JobControl {
  std::string worker_id;  // the lease owner: pass it to Jobs' complete(), fail(), release()
  std::chrono::seconds lease{60};
  // True once the handler must stop and let go of the job: its worker is stopping (hand the job
  // back with release()) or the lease was lost to another worker (write nothing; the job is not
  // ours: lease_lost() says which).
  std::function<bool()> cancelled;
  std::function<bool()> lease_lost;
  // Records progress (0..100) with the next lease renewal, within a second; never blocks.
  std::function<void(int percent)> progress;
  // Reads a file that a child writes its percentage p into, every second, as progress
  // from + p * (to - from) / 100; an empty path stops reading it.
  std::function<void(std::string path, int from, int to)> watch_progress_file;
};
// Runs one claimed job to its end: complete(), fail() or release() it through Jobs (or nothing
// when the lease was lost). The Status is the bookkeeping's: an error is logged by the worker.
using JobHandler = std::function<Status(const Job& job, const JobControl& control)>;

class Jobs {
 public:
  // A retry never waits longer than this, whatever the attempt.
  static constexpr std::chrono::seconds kMaxBackoff{3600};

  explicit Jobs(Database& db) : db_(db) {}

  // Adds a queued job; it becomes claimable at run_after (a time in the past, the default
  // included, means now by the database's clock). Workers LISTENing are woken at commit.
  // kUnprocessable for an empty kind, one over 100 characters, or a payload that is not JSON
  // text PostgreSQL accepts.
  Result<int64_t> enqueue(const std::string& kind, const nlohmann::json& payload,
                          TimePoint run_after = TimePoint{});

  // Claims the oldest claimable job whose kind is in `kinds` (any kind when empty): a queued job
  // that is due, or a running one whose lease ran out. It becomes running, owned by worker_id
  // until now + lease, attempts + 1, progress 0. nullopt when there is none.
  // REQUIRES: worker_id is unique among live workers; lease > 0.
  Result<std::optional<Job>> claim(const std::string& worker_id,
                                   const std::vector<std::string>& kinds,
                                   std::chrono::seconds lease);

  // The calls below act only on a running job leased by worker_id (kConflict otherwise — the
  // lease was taken over, or the job was already ended; kNotFound when there is no such job).
  // A lease that ran out but was not taken over yet is still ours.

  // lease_until = now + lease.
  Status renew(int64_t id, const std::string& worker_id, std::chrono::seconds lease);
  // Records progress (0..100, else kUnprocessable) and renews the lease like renew().
  Status progress(int64_t id, const std::string& worker_id, int percent,
                  std::chrono::seconds lease);
  // The job is done: progress 100, finished_at now.
  Status complete(int64_t id, const std::string& worker_id);
  // The attempt failed with `reason` (kept as last_error, cut at 2000 bytes). When attempts <
  // max_attempts the job is queued again with run_after = now + base_backoff * 2^(attempts-1),
  // at most kMaxBackoff (kWillRetry); otherwise it stays failed (kFailed).
  Result<FailOutcome> fail(int64_t id, const std::string& worker_id, const std::string& reason,
                           int max_attempts, std::chrono::seconds base_backoff);
  // Hands the job back unfinished (the worker is shutting down): queued, due now, lease cleared,
  // progress 0, and the attempt is not counted.
  Status release(int64_t id, const std::string& worker_id);

  // An operator's `jobs retry ID`: a failed or done job is queued again, due now, attempts 0;
  // audited as job.retry by `actor`. kNotFound when missing, kConflict when queued or running.
  Status retry(int64_t id, const Actor& actor);

  // kNotFound when missing.
  Result<Job> get(int64_t id);
  // The job as `who` may see it: kNotFound, exactly as for a missing id, unless `who` may see
  // what it works on (the submission it analyses or downloads, the video of an imagery match;
  // comparisons are the task force's; store/internal/visibility_sql.hpp has the rule). A job
  // about none of these (a report delivery, whose payload is a webhook URL) only for admins
  // and coordinators.
  Result<Job> get(const Principal& who, int64_t id);
  // Jobs with id > after_id, by id, at most limit (1..500); only those in `state` when given
  // (kUnprocessable for an unknown state).
  Result<std::vector<Job>> list(const std::optional<std::string>& state, int64_t after_id,
                                int limit);
  // Jobs whose payload has `key` with value `value` (a string, or a number written as `value`),
  // oldest first: e.g. ("sha256", hex) for the processing state of a media.
  Result<std::vector<Job>> for_payload(const std::string& key, const std::string& value);

 private:
  Database& db_;
};

// Wakes an idle worker when a job is enqueued or queued again, through LISTEN cw_jobs on a
// connection of its own (opened with the Database's configuration, not taken from the pool).
// Notifications are a shortcut, not a guarantee: jobs whose backoff ends or whose lease runs out
// send none, and a broken connection loses them, so a worker still polls every few seconds.
//
// Use: listen(); then loop { claim until there is nothing; wait(poll interval); }. Listening
// before the first claim means a job enqueued in between is not missed.
// Not thread-safe: one thread at a time. Never throws.
class JobListener {
 public:
  explicit JobListener(Database& db);
  ~JobListener();
  JobListener(const JobListener&) = delete;
  JobListener& operator=(const JobListener&) = delete;

  // Opens the connection and LISTENs when not yet listening. kUnavailable when the database
  // cannot be reached.
  Status listen();
  // Waits up to `timeout` for a notification: true when one (or more) arrived, false on timeout.
  // When the connection broke it is dropped and an error (kUnavailable) comes back at once; the
  // next call reconnects and then answers true, because notifications may have been lost in
  // between (the caller should look for work).
  Result<bool> wait(std::chrono::milliseconds timeout);
  bool listening() const;

 private:
  struct Impl;
  Database& db_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cw::store
