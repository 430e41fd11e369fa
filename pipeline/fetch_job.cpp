// The fetch_url job: a submission's media downloaded by URL — directly (pipeline/fetch.hpp), or
// through the configured external downloader in a sandboxed child for a post page — into a temp
// file of the store, committed by its SHA-256 and attached to the submission.
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "common/random.hpp"
#include "pipeline/fetch.hpp"
#include "pipeline/job_handlers.hpp"
#include "pipeline/sandbox.hpp"
#include "store/submissions.hpp"
#include "store/video_sniff.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

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

// Downloads into `writer`: directly, or through [fetch] downloader for a web page.
Result<nlohmann::json> download(const PipelineJobs& env, const std::string& url,
                                store::MediaWriter& writer, const std::function<bool()>& cancel) {
  const FetchConfig& cfg = env.options.fetch;
  FetchOptions fo;
  fo.allow_private = cfg.allow_private;
  fo.max_bytes = static_cast<uint64_t>(cfg.max_bytes);
  fo.connect_timeout = std::chrono::seconds(cfg.connect_timeout_s);
  fo.timeout = std::chrono::seconds(cfg.timeout_s);
  fo.max_redirects = cfg.max_redirects;
  fo.cancel = cancel;
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
  std::string dir = env.options.storage_root + "/tmp/fetch-dl-" + random_hex(16);
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
  limits.address_space_bytes = static_cast<uint64_t>(env.options.pipeline.memory_mb) << 20;
  limits.file_size_bytes = static_cast<uint64_t>(cfg.max_bytes);
  limits.wall_timeout = std::chrono::seconds(cfg.timeout_s);
  limits.cancel = cancel;
  // Namespaces like the decoders, but with the host's network: it has to download. Its only
  // writable place is its folder; it sees nothing of the store, the config or the environment.
  limits.mode = sandbox_mode_of(env.options.pipeline);
  limits.output_dir = dir;
  limits.network = true;
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

}  // namespace

Status fetch_url(const PipelineJobs& env, const store::Job& job, const store::JobControl& control) {
  store::Jobs jobs(env.db);
  store::Submissions submissions(env.db);
  const PipelineConfig& cfg = env.options.pipeline;
  const int64_t job_id = job.id;
  const int64_t submission = job.payload.value("submission_id", int64_t{0});
  const std::string url = job.payload.value("url", "");
  auto set_status = [&](const char* status) {
    log_side_failure(submissions.set_status(submission, status), "the submission status", job_id);
  };
  auto fail = [&](const std::string& reason, bool permanent) -> Status {
    log::warn("fetch failed", {{"job", job_id}, {"url", url}, {"reason", reason}});
    int max = permanent ? job.attempts : cfg.max_attempts;
    auto outcome = jobs.fail(job_id, control.worker_id, reason, max,
                             std::chrono::seconds(cfg.retry_backoff_s));
    if (outcome.ok()) set_status(*outcome == store::FailOutcome::kFailed ? "failed" : "queued");
    return outcome.ok() ? Status::Ok() : Status(outcome.error());
  };
  if (submission <= 0 || url.empty()) return fail("the job has no submission_id or url", true);
  set_status("fetching");
  control.progress(5);

  auto writer = env.media.begin_write(store::TempKind::kFetch);
  if (!writer.ok()) return fail("cannot create a temp file: " + writer.error().detail(), false);
  Result<nlohmann::json> got = download(env, url, **writer, control.cancelled);
  if (control.lease_lost()) {
    (*writer)->abort();
    log::warn("download abandoned: the lease was lost", {{"job", job_id}, {"url", url}});
    return Status::Ok();
  }
  if (!got.ok()) {
    (*writer)->abort();
    if (control.cancelled() && got.error().detail() == "cancelled") {
      log::info("job handed back", {{"job", job_id}, {"url", url}});
      set_status("queued");
      return jobs.release(job_id, control.worker_id);
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
  control.progress(80);
  auto stored = (*writer)->commit();
  if (!stored.ok()) return fail("cannot store the download: " + stored.error().detail(), false);
  store::MediaInput media{stored->sha256, stored->size, store::container_name(*container),
                          store::container_mime(*container),
                          file_name_of(got->value("final_url", url))};
  auto attached = submissions.attach_fetched(submission, media, *got);
  if (!attached.ok()) {
    if (attached.error().code() == Code::kConflict) {
      // An earlier attempt attached it and died before completing the job.
      return jobs.complete(job_id, control.worker_id);
    }
    if (attached.error().code() == Code::kNotFound) return fail(attached.error().detail(), true);
    return fail("cannot record the download: " + attached.error().detail(), false);
  }
  log::info("media fetched", {{"job", job_id},
                              {"submission", submission},
                              {"sha256", stored->sha256},
                              {"bytes", stored->size},
                              {"media_new", attached->media_new}});
  return jobs.complete(job_id, control.worker_id);
}

}  // namespace cw::pipeline
