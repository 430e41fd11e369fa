// Keeps a claimed job's lease while its handler works, on a thread of its own, and notices when
// the lease is lost.
//
// Every lease/3 (and within a second of new progress) it renews the lease, recording the latest
// progress with it. When the database answers that the job is no longer ours (kConflict: another
// worker took it over after our lease ran out, e.g. while this process was stalled or cut off;
// kNotFound: the job is gone), lost() becomes true and renewing stops: the handler must stop at
// once and write nothing (the sandboxed child is killed through JobControl::cancelled). Other
// errors (the database is briefly away) are logged and the next tick tries again; the lease runs
// out only if they last longer than two thirds of it.
//
// A sandboxed imagery step reports its percentage in a file; watch_progress_file() maps it into
// a range of the job's progress.
//
// Thread-safe: progress(), lost() and watch_progress_file() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "store/database.hpp"

namespace cw::pipeline {

class JobKeeper {
 public:
  // Starts keeping the lease of `job`, held by `worker_id`, `lease` long.
  JobKeeper(store::Database& db, int64_t job, std::string worker_id, std::chrono::seconds lease);
  ~JobKeeper();  // stops keeping (the handler has ended the job or let it go)
  JobKeeper(const JobKeeper&) = delete;
  JobKeeper& operator=(const JobKeeper&) = delete;

  // Records `percent` (0..100) with the next renewal, within a second.
  void progress(int percent);
  // Reads `path` every second; a number p (0..100) in it becomes progress from + p * (to-from)/100.
  void watch_progress_file(std::string path, int from, int to);
  // The job was taken over or is gone: stop and write nothing.
  bool lost() const { return lost_.load(); }

 private:
  void run();
  int read_progress_file();  // -1 when there is none or it is unreadable

  store::Database& db_;
  const int64_t job_;
  const std::string worker_id_;
  const std::chrono::seconds lease_;
  std::atomic<int> pending_progress_{-1};
  std::atomic<bool> lost_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;          // guarded by mu_
  std::string progress_file_;  // guarded by mu_
  int file_from_ = 0;          // guarded by mu_
  int file_to_ = 100;          // guarded by mu_
  std::thread thread_;         // last: starts once the rest is built
};

}  // namespace cw::pipeline
