// The worker loop and the process_media job.
#include "pipeline/worker.hpp"

#include <unistd.h>

#include <fmt/format.h>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/sha256.hpp"
#include "pipeline/fetch.hpp"
#include "pipeline/imagery_tasks.hpp"
#include "pipeline/sandbox.hpp"
#include "reports/webhook.hpp"
#include "store/analysis.hpp"
#include "store/imagery.hpp"
#include "store/jobs.hpp"
#include "store/reports.hpp"
#include "store/submissions.hpp"
#include "store/video_sniff.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kKinds = {"process_media", "fetch_url", "deliver_report",
                                         store::Imagery::kCompareJob, store::Imagery::kMatchJob};

// How a sandboxed analysis or imagery step failed, if it did. Exit status 2 means the input
// itself cannot give a result (an unreadable file, a registration refused): permanent, with the
// child's own reason when it printed one; crashes, limits and other exits may pass on a retry.
struct ChildFailure {
  std::string reason;
  bool permanent = false;
};
std::optional<ChildFailure> child_failure(const SandboxResult& run, const SandboxLimits& limits) {
  auto reason = failure_reason(run, limits);
  if (!reason) return std::nullopt;
  ChildFailure f{*reason, run.signal == 0 && !run.timed_out && run.exit_code == 2};
  if (f.permanent) {
    auto doc = nlohmann::json::parse(run.out, nullptr, false);
    if (doc.is_object() && doc.contains("error")) f.reason = doc["error"].value("detail", f.reason);
  }
  return f;
}

// Keeps a running job's lease while its child runs, on its own thread: renews it every lease/3.
// With a progress file (a sandboxed imagery step writes its percentage there), reads it every
// second and records a new value as the job's progress (10..95), which renews the lease too.
class JobKeeper {
 public:
  JobKeeper(store::Database& db, int64_t job, std::string worker, std::chrono::seconds lease,
            std::string progress_file = {})
      : thread_([this, &db, job, worker = std::move(worker), lease,
                 file = std::move(progress_file)] {
          store::Jobs jobs(db);
          const auto third = std::chrono::milliseconds(lease) / 3;
          const auto tick = file.empty() ? third : std::min(third, std::chrono::milliseconds(1000));
          int last = -1;
          auto renewed = std::chrono::steady_clock::now();
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, tick, [this] { return done_; })) {
            lock.unlock();
            int percent = -1;
            if (!file.empty()) {
              if (FILE* f = fopen(file.c_str(), "re")) {
                if (fscanf(f, "%d", &percent) != 1) percent = -1;
                fclose(f);
              }
            }
            auto now = std::chrono::steady_clock::now();
            if (percent >= 0 && percent <= 100 && percent != last) {
              last = percent;
              (void)jobs.progress(job, worker, 10 + percent * 85 / 100, lease);
              renewed = now;
            } else if (file.empty() || now - renewed >= third) {
              if (Status s = jobs.renew(job, worker, lease); !s.ok()) {
                log::warn("lease renewal failed", {{"job", job}, {"error", s.error().to_string()}});
              }
              renewed = now;
            }
            lock.lock();
          }
        }) {}
  ~JobKeeper() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  JobKeeper(const JobKeeper&) = delete;
  JobKeeper& operator=(const JobKeeper&) = delete;

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
    : db_(db), options_(std::move(options)), media_(options_.storage_root), duplicates_(db) {}

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
  limits.cancel = &stopping_;
  Result<SandboxResult> run = [&] {
    JobKeeper keeper(db_, job_id, worker_id, std::chrono::seconds(cfg.lease_s));
    return run_sandboxed({options_.analyze_binary, "analyze", *path, "--out", work, "--max-frames",
                          std::to_string(cfg.max_frames)},
                         limits);
  }();
  std::error_code ec;
  if (!run.ok()) {
    fs::remove_all(work, ec);
    return fail("could not start the analysis: " + run.error().detail(), false);
  }
  if (run->cancelled) {
    fs::remove_all(work, ec);
    log::info("job handed back", {{"job", job_id}, {"sha256", sha}});
    (void)store::Analyses(db_).set_status(sha, "queued");
    return jobs.release(job_id, worker_id);
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
  (void)jobs.progress(job_id, worker_id, 90, std::chrono::seconds(cfg.lease_s));
  fs::remove_all(derived, ec);
  fs::rename(work, derived, ec);
  if (ec) return fail("cannot store the frames: " + ec.message(), false);
  if (Status s = store::Analyses(db_).save(sha, result); !s.ok()) {
    return fail("cannot save the analysis: " + s.error().detail(), false);
  }
  // Near-duplicates are suggestions; failing to find them does not fail the analysis. They are
  // written before the submissions say "done", so a client that sees "done" sees the links.
  if (auto linked = duplicates_.link(sha); !linked.ok()) {
    log::warn("near-duplicate search failed",
              {{"sha256", sha}, {"error", linked.error().to_string()}});
  }
  if (Status s = store::Analyses(db_).set_status(sha, "done"); !s.ok()) {
    return fail("cannot mark the submissions done: " + s.error().detail(), false);
  }
  log::info("media analysed", {{"job", job_id},
                               {"sha256", sha},
                               {"seconds", run->seconds},
                               {"frames", result["frames"]["frames"].size()}});
  return jobs.complete(job_id, worker_id);
}

namespace {

// The last path segment of a URL, as the "original file name" of fetched media.
std::string file_name_of(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  size_t scheme = path.find("://");
  if (scheme != std::string::npos && path.find('/', scheme + 3) == std::string::npos) return "";
  std::string name = path.substr(path.rfind('/') + 1);
  return name.size() <= 255 ? name : name.substr(0, 255);
}

// Streams a downloaded file into the writer.
Status copy_into(const std::string& path, store::MediaWriter& writer) {
  std::unique_ptr<FILE, decltype(&fclose)> f(fopen(path.c_str(), "rbe"), fclose);
  if (!f) return Error(Code::kInternal, "cannot read the downloaded file");
  std::string buf(1 << 20, '\0');
  for (;;) {
    size_t got = fread(buf.data(), 1, buf.size(), f.get());
    if (got > 0) {
      if (Status s = writer.write(std::string_view(buf.data(), got)); !s.ok()) return s;
    }
    if (got < buf.size()) break;
  }
  if (ferror(f.get())) return Error(Code::kInternal, "cannot read the downloaded file");
  return Status::Ok();
}

}  // namespace

Result<nlohmann::json> Worker::download(const std::string& url, store::MediaWriter& writer) {
  const FetchConfig& cfg = options_.fetch;
  FetchOptions fo;
  fo.allow_private = cfg.allow_private;
  fo.max_bytes = static_cast<uint64_t>(cfg.max_bytes);
  fo.connect_timeout = std::chrono::seconds(cfg.connect_timeout_s);
  fo.timeout = std::chrono::seconds(cfg.timeout_s);
  fo.max_redirects = cfg.max_redirects;
  fo.cancel = &stopping_;
  auto direct = fetch_media(url, fo, [&](std::string_view b) { return writer.write(b); });
  if (direct.ok()) {
    return nlohmann::json{{"url", url},
                          {"final_url", direct->final_url},
                          {"content_type", direct->content_type},
                          {"http_status", direct->http_status},
                          {"redirects", direct->redirects},
                          {"bytes", direct->bytes},
                          {"via", "http"}};
  }
  bool page = direct.error().code() == Code::kUnsupportedMedia &&
              direct.error().detail().rfind("a web page", 0) == 0;
  if (!page) return direct.error();
  if (cfg.downloader.empty()) {
    return Error(Code::kUnsupportedMedia,
                 direct.error().detail() +
                     "; post pages need an external downloader ([fetch] downloader, e.g. yt-dlp)",
                 "source_url");
  }
  if (writer.size() != 0) return Error(Code::kInternal, "the page left bytes in the temp file");
  if (Status s = check_public_host(url, cfg.allow_private); !s.ok()) return s.error();
  // The downloader writes into a folder of its own; the largest file it leaves is the media.
  std::string dir = options_.storage_root + "/tmp/fetch-dl-" + random_hex(16);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Code::kInternal, "cannot create the download folder: " + ec.message());
  struct RemoveDir {
    std::string path;
    ~RemoveDir() {
      std::error_code e;
      fs::remove_all(path, e);
    }
  } cleanup{dir};
  auto argv = downloader_argv(cfg.downloader, url, dir);
  if (!argv.ok()) return argv.error();
  SandboxLimits limits;
  limits.cpu_seconds = cfg.timeout_s;
  limits.address_space_bytes = static_cast<uint64_t>(options_.pipeline.memory_mb) << 20;
  limits.file_size_bytes = static_cast<uint64_t>(cfg.max_bytes);
  limits.wall_timeout = std::chrono::seconds(cfg.timeout_s);
  limits.cancel = &stopping_;
  auto run = run_sandboxed(*argv, limits);
  if (!run.ok()) return run.error();
  if (run->cancelled) return Error(Code::kUnavailable, "cancelled", "source_url");
  if (auto reason = failure_reason(*run, limits)) {
    // A downloader that ran out of time may succeed later; one that said no will say it again.
    Code code = run->timed_out ? Code::kUnavailable : Code::kUnprocessable;
    return Error(code, "the downloader failed: " + *reason, "source_url");
  }
  std::string best;
  uintmax_t best_size = 0;
  for (const auto& entry : fs::recursive_directory_iterator(dir, ec)) {
    if (entry.is_regular_file(ec) && !entry.is_symlink(ec) && entry.file_size(ec) > best_size) {
      best_size = entry.file_size(ec);
      best = entry.path().string();
    }
  }
  if (best.empty()) {
    return Error(Code::kUnprocessable, "the downloader produced no file", "source_url");
  }
  if (best_size > static_cast<uintmax_t>(cfg.max_bytes)) {
    return Error(Code::kPayloadTooLarge,
                 fmt::format("larger than the limit of {} bytes", cfg.max_bytes), "source_url");
  }
  if (Status s = copy_into(best, writer); !s.ok()) return s.error();
  return nlohmann::json{{"url", url},
                        {"bytes", writer.size()},
                        {"via", "downloader"},
                        {"downloader", cfg.downloader.front()},
                        {"downloaded_file", fs::path(best).filename().string()}};
}

Status Worker::process_fetch(int64_t job_id, const std::string& worker_id,
                             const nlohmann::json& payload, int attempts) {
  store::Jobs jobs(db_);
  store::Submissions submissions(db_);
  const PipelineConfig& cfg = options_.pipeline;
  int64_t submission = payload.value("submission_id", int64_t{0});
  std::string url = payload.value("url", "");
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("fetch failed", {{"job", job_id}, {"url", url}, {"reason", reason}});
    int max = permanent ? attempts : cfg.max_attempts;
    auto outcome =
        jobs.fail(job_id, worker_id, reason, max, std::chrono::seconds(cfg.retry_backoff_s));
    if (outcome.ok()) {
      (void)submissions.set_status(submission,
                                   *outcome == store::FailOutcome::kFailed ? "failed" : "queued");
    }
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  if (submission <= 0 || url.empty()) return fail("the job has no submission_id or url", true);
  (void)submissions.set_status(submission, "fetching");
  (void)jobs.progress(job_id, worker_id, 5, std::chrono::seconds(cfg.lease_s));

  auto writer = media_.begin_write(store::TempKind::kFetch);
  if (!writer.ok()) return fail("cannot create a temp file: " + writer.error().detail(), false);
  Result<nlohmann::json> got = [&] {
    JobKeeper keeper(db_, job_id, worker_id, std::chrono::seconds(cfg.lease_s));
    return download(url, **writer);
  }();
  if (!got.ok()) {
    (*writer)->abort();
    if (stopping_ && got.error().detail() == "cancelled") {
      log::info("job handed back", {{"job", job_id}, {"url", url}});
      (void)submissions.set_status(submission, "queued");
      return jobs.release(job_id, worker_id);
    }
    bool permanent = got.error().code() != Code::kUnavailable &&
                     got.error().code() != Code::kInternal &&
                     got.error().code() != Code::kInsufficientStorage;
    return fail(got.error().detail(), permanent);
  }
  auto container = store::sniff_video((*writer)->first_bytes());
  if (!container) {
    (*writer)->abort();
    return fail("the downloaded file is not a recognised video container", true);
  }
  (void)jobs.progress(job_id, worker_id, 80, std::chrono::seconds(cfg.lease_s));
  auto stored = (*writer)->commit();
  if (!stored.ok()) return fail("cannot store the download: " + stored.error().detail(), false);
  store::MediaInput media{stored->sha256, stored->size, store::container_name(*container),
                          store::container_mime(*container),
                          file_name_of(got->value("final_url", url))};
  auto attached = submissions.attach_fetched(submission, media, *got);
  if (!attached.ok()) {
    if (attached.error().code() == Code::kConflict) {
      // An earlier attempt attached it and died before completing the job.
      return jobs.complete(job_id, worker_id);
    }
    if (attached.error().code() == Code::kNotFound) return fail(attached.error().detail(), true);
    return fail("cannot record the download: " + attached.error().detail(), false);
  }
  log::info("media fetched", {{"job", job_id},
                              {"submission", submission},
                              {"sha256", stored->sha256},
                              {"bytes", stored->size},
                              {"media_new", attached->media_new}});
  return jobs.complete(job_id, worker_id);
}

Status Worker::process_delivery(int64_t job_id, const std::string& worker_id,
                                const nlohmann::json& payload) {
  store::Jobs jobs(db_);
  const PipelineConfig& cfg = options_.pipeline;
  int64_t report_id = payload.value("report_id", int64_t{0});
  std::string url = payload.value("url", "");
  auto fail = [&](const std::string& reason) -> Status {
    log::warn("report delivery failed", {{"job", job_id}, {"url", url}, {"reason", reason}});
    auto outcome = jobs.fail(job_id, worker_id, reason, cfg.max_attempts,
                             std::chrono::seconds(cfg.retry_backoff_s));
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  auto report = store::Reports(db_).get(report_id);
  if (!report.ok())
    return fail("report " + std::to_string(report_id) + ": " + report.error().detail());
  std::string body = report->body.dump();
  auto at = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
  std::string signature = std::string(reports::kSignatureHeader) + ": " +
                          reports::sign_webhook(options_.reports.webhook_secret, body, at);
  std::string id_header = "ConvoyWatch-Report: " + std::to_string(report_id);
  auto posted =
      post_json(url, body, {signature, id_header}, std::chrono::seconds(options_.fetch.timeout_s));
  if (!posted.ok()) return fail(posted.error().detail());
  log::info("report delivered", {{"job", job_id}, {"report", report_id}, {"url", url}});
  return jobs.complete(job_id, worker_id);
}

Status Worker::process_imagery(int64_t job_id, const std::string& worker_id, int attempts) {
  store::Jobs jobs(db_);
  store::Imagery imagery(db_);
  const PipelineConfig& cfg = options_.pipeline;
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("imagery job failed", {{"job", job_id}, {"reason", reason}});
    int max = permanent ? attempts : cfg.max_attempts;
    auto outcome =
        jobs.fail(job_id, worker_id, reason, max, std::chrono::seconds(cfg.retry_backoff_s));
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  auto task = imagery.task_for_job(job_id);
  if (!task.ok()) {
    return task.error().code() == Code::kNotFound ? fail("the job has no imagery task", true)
                                                  : fail(task.error().detail(), false);
  }
  // An imagery row as the child's spec: the stored original and, for an image, its corners.
  auto file_of = [&](int64_t id) -> Result<nlohmann::json> {
    auto row = imagery.get(id);
    if (!row.ok()) return row.error();
    auto path = media_.path_of(row->in.sha256);
    if (!path.ok() || !media_.exists(row->in.sha256)) {
      return Error(Code::kNotFound, fmt::format("the original of imagery {} is missing", id));
    }
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
    auto analysis = store::Analyses(db_).get(task->media_sha256);
    if (!analysis.ok()) return fail("the media has no analysis", true);
    std::string name;
    for (const auto& f : analysis->first["frames"]["frames"]) {
      if (f.value("index", -1) == task->frame_index) name = f.value("file", "");
    }
    if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
      return fail(fmt::format("the media has no frame {}", task->frame_index), true);
    }
    spec = {{"frame", options_.storage_root + "/derived/" + task->media_sha256 + "/" + name},
            {"imagery", *target}};
  }
  (void)jobs.progress(job_id, worker_id, 5, std::chrono::seconds(cfg.lease_s));

  // Outputs go to a fresh folder that replaces the task's only when the run succeeded.
  std::string base = options_.storage_root + "/derived/imagery";
  std::string final_dir = fmt::format("{}/task-{}", base, task->id);
  std::string work = final_dir + ".tmp-" + random_hex(6);
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
  SandboxLimits limits;
  limits.cpu_seconds = cfg.cpu_seconds;
  limits.address_space_bytes = static_cast<uint64_t>(cfg.memory_mb) << 20;
  limits.wall_timeout = std::chrono::seconds(cfg.job_timeout_s);
  limits.cancel = &stopping_;
  Result<SandboxResult> run = [&] {
    JobKeeper keeper(db_, job_id, worker_id, std::chrono::seconds(cfg.lease_s), work + "/progress");
    return run_sandboxed({options_.analyze_binary, compare ? "imagery-compare" : "imagery-match",
                          work + "/spec.json", "--out", work},
                         limits);
  }();
  if (!run.ok()) return fail("could not start the imagery step: " + run.error().detail(), false);
  if (run->cancelled) {
    log::info("job handed back", {{"job", job_id}});
    return jobs.release(job_id, worker_id);
  }
  if (auto failed = child_failure(*run, limits)) return fail(failed->reason, failed->permanent);
  auto result = nlohmann::json::parse(run->out, nullptr, false);
  if (!result.is_object()) return fail("the imagery step printed no result", false);
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
  return jobs.complete(job_id, worker_id);
}

Result<bool> Worker::run_once(const std::string& worker_id) {
  store::Jobs jobs(db_);
  auto job = jobs.claim(worker_id, kKinds, std::chrono::seconds(options_.pipeline.lease_s));
  if (!job.ok()) return job.error();
  if (!job->has_value()) return false;
  const store::Job& j = **job;
  Status s = j.kind == "fetch_url"        ? process_fetch(j.id, worker_id, j.payload, j.attempts)
             : j.kind == "deliver_report" ? process_delivery(j.id, worker_id, j.payload)
             : j.kind == store::Imagery::kCompareJob || j.kind == store::Imagery::kMatchJob
                 ? process_imagery(j.id, worker_id, j.attempts)
                 : process_media(j.id, worker_id, j.payload, j.attempts);
  if (!s.ok()) {
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
  if (threads > 0) {
    if (Status s = duplicates_.refresh(); !s.ok()) {
      log::warn("cannot load the near-duplicate index", {{"error", s.error().to_string()}});
    } else {
      log::info("near-duplicate index loaded", {{"frames", duplicates_.indexed_frames()}});
    }
  }
  // Downloads left by a worker that died; a day is longer than any download may take.
  (void)media_.remove_stale_temp_files(std::chrono::hours(24), store::TempKind::kFetch);
  std::error_code ec;
  auto day_ago = fs::file_time_type::clock::now() - std::chrono::hours(24);
  for (const auto& entry : fs::directory_iterator(options_.storage_root + "/tmp", ec)) {
    if (entry.path().filename().string().rfind("fetch-dl-", 0) == 0 &&
        entry.last_write_time(ec) < day_ago) {
      fs::remove_all(entry.path(), ec);
    }
  }
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { loop(i); });
  if (threads > 0) log::info("workers started", {{"threads", threads}, {"name", options_.name}});
}

void Worker::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace cw::pipeline
