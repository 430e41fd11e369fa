// The process_media job: the original is analysed by `convoywatch analyze` in a sandboxed child;
// its frames go to a fresh folder that replaces the media's only when the analysis succeeded,
// then the results, the near-duplicate links and the submissions' status are written.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/random.hpp"
#include "pipeline/job_handlers.hpp"
#include "pipeline/sandbox.hpp"
#include "store/analysis.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

Status process_media(const PipelineJobs& env, const store::Job& job,
                     const store::JobControl& control) {
  store::Jobs jobs(env.db);
  store::Analyses analyses(env.db);
  const PipelineConfig& cfg = env.options.pipeline;
  const int64_t job_id = job.id;
  const std::string sha = job.payload.value("sha256", "");
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("job failed", {{"job", job_id}, {"sha256", sha}, {"reason", reason}});
    int max = permanent ? job.attempts : cfg.max_attempts;
    auto outcome = jobs.fail(job_id, control.worker_id, reason, max,
                             std::chrono::seconds(cfg.retry_backoff_s));
    if (outcome.ok() && *outcome == store::FailOutcome::kFailed) {
      log_side_failure(analyses.set_status(sha, "failed"), "the analysis status", job_id);
    }
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  auto path = env.media.path_of(sha);
  if (!path.ok() || !env.media.exists(sha)) {
    return fail("the original is missing from the store", true);
  }
  log_side_failure(analyses.set_status(sha, "processing"), "the analysis status", job_id);
  control.progress(10);

  // Frames go to a fresh folder that replaces the old one only when the analysis succeeded.
  const std::string root = env.options.storage_root;
  const std::string derived = root + "/derived/" + sha;
  const std::string work = derived + ".tmp-" + random_hex(6);
  // A worker killed mid-job leaves its half-written folder behind; the job is ours now.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root + "/derived", ec)) {
    if (entry.path().filename().string().rfind(sha + ".tmp-", 0) == 0) {
      fs::remove_all(entry.path(), ec);
    }
  }
  fs::create_directories(work, ec);
  if (ec) return fail("cannot create the output folder: " + ec.message(), false);
  SandboxLimits limits = sandbox_limits(cfg);
  limits.cancel = control.cancelled;
  limits.read_only = {*path};  // the one original, read-only
  limits.output_dir = work;    // the only place the child can write
  Result<SandboxResult> run = run_sandboxed({env.options.analyze_binary, "analyze", *path, "--out",
                                             work, "--max-frames", std::to_string(cfg.max_frames)},
                                            limits);
  if (!run.ok()) {
    fs::remove_all(work, ec);
    return fail("could not start the analysis: " + run.error().detail(), false);
  }
  if (control.lease_lost()) {
    // Another worker has the job: its result, not ours, is the one that counts.
    fs::remove_all(work, ec);
    log::warn("analysis abandoned: the lease was lost", {{"job", job_id}, {"sha256", sha}});
    return Status::Ok();
  }
  if (run->cancelled) {
    fs::remove_all(work, ec);
    log::info("job handed back", {{"job", job_id}, {"sha256", sha}});
    log_side_failure(analyses.set_status(sha, "queued"), "the analysis status", job_id);
    return jobs.release(job_id, control.worker_id);
  }
  if (auto failed = child_failure(*run, limits)) {
    fs::remove_all(work, ec);
    return fail(failed->reason, failed->permanent);
  }
  auto result = nlohmann::json::parse(run->out, nullptr, false);
  if (!result.is_object() || !result.contains("media")) {
    fs::remove_all(work, ec);
    return fail("the analysis printed no result", false);
  }
  // What the child left is checked before it is moved into place: frames and thumbnails only.
  if (Status s = check_child_output(work, 2, 4 * static_cast<size_t>(cfg.max_frames) + 64,
                                    limits.file_size_bytes);
      !s.ok()) {
    fs::remove_all(work, ec);
    return fail(s.error().detail(), true);
  }
  control.progress(90);
  fs::remove_all(derived, ec);
  fs::rename(work, derived, ec);
  if (ec) return fail("cannot store the frames: " + ec.message(), false);
  if (Status s = analyses.save(sha, result); !s.ok()) {
    return fail("cannot save the analysis: " + s.error().detail(), false);
  }
  // Near-duplicates are suggestions; failing to find them does not fail the analysis. They are
  // written before the submissions say "done", so a client that sees "done" sees the links.
  if (auto linked = env.duplicates.link(sha); !linked.ok()) {
    log::warn("near-duplicate search failed",
              {{"sha256", sha}, {"error", linked.error().to_string()}});
  }
  if (Status s = analyses.set_status(sha, "done"); !s.ok()) {
    return fail("cannot mark the submissions done: " + s.error().detail(), false);
  }
  log::info("media analysed", {{"job", job_id},
                               {"sha256", sha},
                               {"seconds", run->seconds},
                               {"frames", result["frames"]["frames"].size()}});
  return jobs.complete(job_id, control.worker_id);
}

}  // namespace cw::pipeline
