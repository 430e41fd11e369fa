// JobKeeper: the lease renewal thread of a running job.
#include "pipeline/job_keeper.hpp"

#include <cstdio>

#include "common/log.hpp"
#include "store/jobs.hpp"

namespace cw::pipeline {

JobKeeper::JobKeeper(store::Database& db, int64_t job, std::string worker_id,
                     std::chrono::seconds lease)
    : db_(db), job_(job), worker_id_(std::move(worker_id)), lease_(lease), thread_([this] {
        run();
      }) {}

JobKeeper::~JobKeeper() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void JobKeeper::progress(int percent) {
  if (percent >= 0 && percent <= 100) pending_progress_.store(percent);
}

void JobKeeper::watch_progress_file(std::string path, int from, int to) {
  std::lock_guard lock(mu_);
  progress_file_ = std::move(path);
  file_from_ = from;
  file_to_ = to;
}

int JobKeeper::read_progress_file() {
  std::string path;
  int from = 0, to = 100;
  {
    std::lock_guard lock(mu_);
    path = progress_file_;
    from = file_from_;
    to = file_to_;
  }
  if (path.empty()) return -1;
  int percent = -1;
  if (FILE* f = fopen(path.c_str(), "re")) {
    if (fscanf(f, "%d", &percent) != 1) percent = -1;
    fclose(f);
  }
  if (percent < 0 || percent > 100) return -1;
  return from + percent * (to - from) / 100;
}

void JobKeeper::run() {
  store::Jobs jobs(db_);
  const auto third = std::chrono::duration_cast<std::chrono::milliseconds>(lease_) / 3;
  const auto tick = std::min(third, std::chrono::milliseconds(1000));
  int recorded = -1;
  auto renewed = std::chrono::steady_clock::now();
  std::unique_lock lock(mu_);
  while (!cv_.wait_for(lock, tick, [this] { return done_; })) {
    lock.unlock();
    int percent = pending_progress_.exchange(-1);
    if (int from_file = read_progress_file(); from_file >= 0) percent = from_file;
    const auto now = std::chrono::steady_clock::now();
    Status s = Status::Ok();
    bool asked = false;
    if (percent >= 0 && percent != recorded) {
      s = jobs.progress(job_, worker_id_, percent, lease_);
      asked = true;
      if (s.ok()) recorded = percent;
    } else if (now - renewed >= third) {
      s = jobs.renew(job_, worker_id_, lease_);
      asked = true;
    }
    if (asked && s.ok()) renewed = now;
    if (!s.ok()) {
      const Code code = s.error().code();
      if (code == Code::kConflict || code == Code::kNotFound) {
        log::warn("lease lost: the job was taken over or is gone; stopping its work",
                  {{"job", job_}, {"worker", worker_id_}, {"reason", s.error().detail()}});
        lost_.store(true);
        return;
      }
      log::warn("lease renewal failed; trying again",
                {{"job", job_}, {"error", s.error().to_string()}});
    }
    lock.lock();
  }
}

}  // namespace cw::pipeline
