// The worker loop and the process_media job.
#include "pipeline/worker.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/sha256.hpp"
#include "pipeline/sandbox.hpp"
#include "store/analysis.hpp"
#include "store/jobs.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kKinds = {"process_media"};

// Renews the lease every lease/3 while the child runs, on its own thread.
class LeaseKeeper {
 public:
  LeaseKeeper(store::Database& db, int64_t job, std::string worker, std::chrono::seconds lease)
      : thread_([this, &db, job, worker = std::move(worker), lease] {
          store::Jobs jobs(db);
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, lease / 3, [this] { return done_; })) {
            lock.unlock();
            if (Status s = jobs.renew(job, worker, lease); !s.ok()) {
              log::warn("lease renewal failed", {{"job", job}, {"error", s.error().to_string()}});
            }
            lock.lock();
          }
        }) {}
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

std::string default_worker_name() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, getpid());
}

Worker::Worker(store::Database& db, WorkerOptions options)
    : db_(db), options_(std::move(options)), media_(options_.storage_root) {}

Worker::~Worker() { stop(); }

Status Worker::process_media(int64_t job_id, const std::string& worker_id,
                             const nlohmann::json& payload, int attempts) {
  store::Jobs jobs(db_);
  const PipelineConfig& cfg = options_.pipeline;
  std::string sha = payload.value("sha256", "");
  auto path = media_.path_of(sha);
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("job failed", {{"job", job_id}, {"sha256", sha}, {"reason", reason}});
    int max = permanent ? attempts : cfg.max_attempts;
    auto outcome =
        jobs.fail(job_id, worker_id, reason, max, std::chrono::seconds(cfg.retry_backoff_s));
    if (outcome.ok() && *outcome == store::FailOutcome::kFailed) {
      (void)store::Analyses(db_).set_status(sha, "failed");
    }
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  if (!path.ok() || !media_.exists(sha))
    return fail("the original is missing from the store", true);
  (void)store::Analyses(db_).set_status(sha, "processing");
  (void)jobs.progress(job_id, worker_id, 10, std::chrono::seconds(cfg.lease_s));

  // Frames go to a fresh folder that replaces the old one only when the analysis succeeded.
  std::string derived = options_.storage_root + "/derived/" + sha;
  std::string work = derived + ".tmp-" + random_hex(6);
  // A worker killed mid-job leaves its half-written folder behind; the job is ours now.
  std::error_code sweep_ec;
  for (const auto& entry : fs::directory_iterator(options_.storage_root + "/derived", sweep_ec)) {
    if (entry.path().filename().string().rfind(sha + ".tmp-", 0) == 0) {
      fs::remove_all(entry.path(), sweep_ec);
    }
  }
  SandboxLimits limits;
  limits.cpu_seconds = cfg.cpu_seconds;
  limits.address_space_bytes = static_cast<uint64_t>(cfg.memory_mb) << 20;
  limits.wall_timeout = std::chrono::seconds(cfg.job_timeout_s);
  Result<SandboxResult> run = [&] {
    LeaseKeeper keeper(db_, job_id, worker_id, std::chrono::seconds(cfg.lease_s));
    return run_sandboxed({options_.analyze_binary, "analyze", *path, "--out", work, "--max-frames",
                          std::to_string(cfg.max_frames)},
                         limits);
  }();
  std::error_code ec;
  if (!run.ok()) {
    fs::remove_all(work, ec);
    return fail("could not start the analysis: " + run.error().detail(), false);
  }
  if (auto reason = failure_reason(*run, limits)) {
    fs::remove_all(work, ec);
    // Exit status 2: the file itself cannot be analysed; trying again will not help.
    bool permanent = run->signal == 0 && !run->timed_out && run->exit_code == 2;
    if (permanent) {
      auto doc = nlohmann::json::parse(run->out, nullptr, false);
      if (doc.is_object() && doc.contains("error")) reason = doc["error"].value("detail", *reason);
    }
    return fail(*reason, permanent);
  }
  auto result = nlohmann::json::parse(run->out, nullptr, false);
  if (!result.is_object() || !result.contains("media")) {
    fs::remove_all(work, ec);
    return fail("the analysis printed no result", false);
  }
  (void)jobs.progress(job_id, worker_id, 90, std::chrono::seconds(cfg.lease_s));
  fs::remove_all(derived, ec);
  fs::rename(work, derived, ec);
  if (ec) return fail("cannot store the frames: " + ec.message(), false);
  if (Status s = store::Analyses(db_).save(sha, result); !s.ok()) {
    return fail("cannot save the analysis: " + s.error().detail(), false);
  }
  log::info("media analysed", {{"job", job_id},
                               {"sha256", sha},
                               {"seconds", run->seconds},
                               {"frames", result["frames"]["frames"].size()}});
  return jobs.complete(job_id, worker_id);
}

Result<bool> Worker::run_once(const std::string& worker_id) {
  store::Jobs jobs(db_);
  auto job = jobs.claim(worker_id, kKinds, std::chrono::seconds(options_.pipeline.lease_s));
  if (!job.ok()) return job.error();
  if (!job->has_value()) return false;
  const store::Job& j = **job;
  if (Status s = process_media(j.id, worker_id, j.payload, j.attempts); !s.ok()) {
    log::warn("job bookkeeping failed", {{"job", j.id}, {"error", s.error().to_string()}});
  }
  return true;
}

void Worker::loop(int n) {
  std::string worker_id = fmt::format("{}/{}", options_.name, n);
  store::JobListener listener(db_);
  while (!stopping_) {
    auto did = run_once(worker_id);
    if (did.ok() && *did) continue;
    if (!did.ok()) log::warn("cannot claim jobs", {{"error", did.error().to_string()}});
    if (!listener.listening()) (void)listener.listen();
    auto poll = std::chrono::milliseconds(options_.pipeline.poll_interval_ms);
    // Short waits so that stop() is noticed quickly.
    for (auto waited = std::chrono::milliseconds(0); waited < poll && !stopping_;
         waited += std::chrono::milliseconds(250)) {
      auto woke = listener.wait(std::min(poll - waited, std::chrono::milliseconds(250)));
      if (!woke.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        break;
      }
      if (*woke) break;
    }
  }
}

void Worker::start(int threads) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { loop(i); });
  if (threads > 0) log::info("workers started", {{"threads", threads}, {"name", options_.name}});
}

void Worker::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace cw::pipeline
