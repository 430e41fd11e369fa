// The worker loop: claim a job of a registered kind, keep its lease, run its handler.
#include "pipeline/worker.hpp"

#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "common/log.hpp"
#include "pipeline/job_handlers.hpp"
#include "pipeline/job_keeper.hpp"
#include "store/imagery.hpp"

namespace cw::pipeline {

namespace fs = std::filesystem;

std::string default_worker_name() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return fmt::format("{}:{}", host, getpid());
}

Worker::Worker(store::Database& db, WorkerOptions options)
    : db_(db), options_(std::move(options)), media_(options_.storage_root), duplicates_(db) {
  const PipelineJobs env{db_, options_, media_, duplicates_};
  auto bind = [env](auto fn) {
    return [env, fn](const store::Job& job, const store::JobControl& control) {
      return fn(env, job, control);
    };
  };
  handle("process_media", bind(process_media));
  handle("fetch_url", bind(fetch_url));
  handle(store::Imagery::kCompareJob, bind(run_imagery_task));
  handle(store::Imagery::kMatchJob, bind(run_imagery_task));
}

Worker::~Worker() { stop(); }

void Worker::handle(const std::string& kind, store::JobHandler handler) {
  if (handlers_.emplace(kind, handler).second) {
    kinds_.push_back(kind);
  } else {
    handlers_[kind] = std::move(handler);
  }
}

Result<bool> Worker::run_once(const std::string& worker_id) {
  store::Jobs jobs(db_);
  const auto lease = std::chrono::seconds(options_.pipeline.lease_s);
  auto claimed = jobs.claim(worker_id, kinds_, lease);
  if (!claimed.ok()) return claimed.error();
  if (!claimed->has_value()) return false;
  const store::Job& job = **claimed;
  JobKeeper keeper(db_, job.id, worker_id, lease);
  store::JobControl control;
  control.worker_id = worker_id;
  control.lease = lease;
  control.cancelled = [this, &keeper] { return stopping_.load() || keeper.lost(); };
  control.lease_lost = [&keeper] { return keeper.lost(); };
  control.progress = [&keeper](int percent) { keeper.progress(percent); };
  control.watch_progress_file = [&keeper](std::string path, int from, int to) {
    keeper.watch_progress_file(std::move(path), from, to);
  };
  Status s = handlers_.at(job.kind)(job, control);
  if (!s.ok()) {
    log::warn("job bookkeeping failed", {{"job", job.id}, {"error", s.error().to_string()}});
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
    if (!listener.listening()) {
      // Without it the poll below still finds the work, only later.
      if (Status s = listener.listen(); !s.ok()) {
        log::debug("cannot listen for new jobs", {{"error", s.error().to_string()}});
      }
    }
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
  auto removed = media_.remove_stale_temp_files(std::chrono::hours(24), store::TempKind::kFetch);
  if (!removed.ok()) {
    log::warn("cannot remove stale downloads", {{"error", removed.error().to_string()}});
  }
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
