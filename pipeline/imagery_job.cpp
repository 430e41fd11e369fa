// The imagery_compare and imagery_match jobs: the task's imagery (and, to match, the media's
// frame) go to a sandboxed child (`convoywatch imagery-compare|imagery-match SPEC --out DIR`,
// pipeline/imagery_tasks.hpp), which reports its progress through a file in DIR; its outputs
// replace <storage_root>/derived/imagery/task-<id>/ only when it succeeded.
#include <filesystem>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/random.hpp"
#include "pipeline/imagery_tasks.hpp"
#include "pipeline/job_handlers.hpp"
#include "pipeline/sandbox.hpp"
#include "store/analysis.hpp"
#include "store/imagery.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

Status run_imagery_task(const PipelineJobs& env, const store::Job& job,
                        const store::JobControl& control) {
  store::Jobs jobs(env.db);
  store::Imagery imagery(env.db);
  const PipelineConfig& cfg = env.options.pipeline;
  const int64_t job_id = job.id;
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("imagery job failed", {{"job", job_id}, {"reason", reason}});
    int max = permanent ? job.attempts : cfg.max_attempts;
    auto outcome = jobs.fail(job_id, control.worker_id, reason, max,
                             std::chrono::seconds(cfg.retry_backoff_s));
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  auto task = imagery.task_for_job(job_id);
  if (!task.ok()) {
    return task.error().code() == Code::kNotFound ? fail("the job has no imagery task", true)
                                                  : fail(task.error().detail(), false);
  }
  // What the child may read: the originals of the spec (and the frame), nothing else.
  std::vector<std::string> inputs;
  // An imagery row as the child's spec: the stored original and, for an image, its corners.
  auto file_of = [&](int64_t id) -> Result<nlohmann::json> {
    auto row = imagery.get(id);
    if (!row.ok()) return row.error();
    auto path = env.media.path_of(row->in.sha256);
    if (!path.ok() || !env.media.exists(row->in.sha256)) {
      return Error(Code::kNotFound, fmt::format("the original of imagery {} is missing", id));
    }
    inputs.push_back(*path);
    nlohmann::json f = {{"path", *path}};
    if (row->in.corners) f["corners"] = corners_json(*row->in.corners);
    return f;
  };
  const bool compare = task->kind == store::ImageryTaskKind::kCompare;
  nlohmann::json spec;
  if (compare) {
    auto before = file_of(task->before_id);
    if (!before.ok()) return fail(before.error().detail(), true);
    auto after = file_of(task->after_id);
    if (!after.ok()) return fail(after.error().detail(), true);
    spec = {{"before", *before}, {"after", *after}};
    if (task->area) {
      nlohmann::json ring = nlohmann::json::array();
      for (const auto& p : *task->area) ring.push_back({p.lat, p.lon});
      spec["area"] = ring;
    }
  } else {
    auto target = file_of(task->imagery_id);
    if (!target.ok()) return fail(target.error().detail(), true);
    auto analysis = store::Analyses(env.db).get(task->media_sha256);
    if (!analysis.ok()) return fail("the media has no analysis", true);
    std::string name;
    for (const auto& f : analysis->first["frames"]["frames"]) {
      if (f.value("index", -1) == task->frame_index) name = f.value("file", "");
    }
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return fail(fmt::format("the media has no frame {}", task->frame_index), true);
    }
    std::string frame = env.options.storage_root + "/derived/" + task->media_sha256 + "/" + name;
    inputs.push_back(frame);
    spec = {{"frame", frame}, {"imagery", *target}};
  }
  control.progress(5);

  // Outputs go to a fresh folder that replaces the task's only when the run succeeded.
  const std::string base = env.options.storage_root + "/derived/imagery";
  const std::string final_dir = fmt::format("{}/task-{}", base, task->id);
  const std::string work = final_dir + ".tmp-" + random_hex(6);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(base, ec)) {
    if (entry.path().filename().string().rfind(fmt::format("task-{}.tmp-", task->id), 0) == 0) {
      fs::remove_all(entry.path(), ec);
    }
  }
  fs::create_directories(work, ec);
  if (ec) return fail("cannot create the output folder: " + ec.message(), false);
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code e;
      if (!path.empty()) fs::remove_all(path, e);
    }
  } cleanup{work};
  {
    std::ofstream f(work + "/spec.json");
    f << spec.dump();
    if (!f) return fail("cannot write the task spec", false);
  }
  SandboxLimits limits = sandbox_limits(cfg);
  limits.cancel = control.cancelled;
  limits.read_only = inputs;
  limits.output_dir = work;
  // The child writes 0..100 into the file; the job shows 10..95.
  control.watch_progress_file(work + "/progress", 10, 95);
  Result<SandboxResult> run =
      run_sandboxed({env.options.analyze_binary, compare ? "imagery-compare" : "imagery-match",
                     work + "/spec.json", "--out", work},
                    limits);
  control.watch_progress_file("", 0, 0);
  if (!run.ok()) return fail("could not start the imagery step: " + run.error().detail(), false);
  if (control.lease_lost()) {
    log::warn("imagery step abandoned: the lease was lost", {{"job", job_id}});
    return Status::Ok();
  }
  if (run->cancelled) {
    log::info("job handed back", {{"job", job_id}});
    return jobs.release(job_id, control.worker_id);
  }
  if (auto failed = child_failure(*run, limits)) return fail(failed->reason, failed->permanent);
  auto result = nlohmann::json::parse(run->out, nullptr, false);
  if (!result.is_object()) return fail("the imagery step printed no result", false);
  // What the child left is checked before it is moved into place (no links, no odd names).
  if (Status s = check_child_output(work, 1, 64, limits.file_size_bytes); !s.ok()) {
    return fail(s.error().detail(), true);
  }
  fs::remove(work + "/spec.json", ec);
  fs::remove(work + "/progress", ec);
  fs::remove_all(final_dir, ec);
  fs::rename(work, final_dir, ec);
  if (ec) return fail("cannot store the outputs: " + ec.message(), false);
  cleanup.path.clear();
  if (Status s = imagery.save_result(task->id, result); !s.ok()) {
    return fail("cannot save the result: " + s.error().detail(), false);
  }
  log::info("imagery task done", {{"job", job_id},
                                  {"task", task->id},
                                  {"kind", compare ? "compare" : "match"},
                                  {"seconds", run->seconds}});
  return jobs.complete(job_id, control.worker_id);
}

}  // namespace cw::pipeline
