// Media-processing workers: threads that claim jobs from the queue (store/jobs.hpp) and run the
// handler registered for each job's kind. The pipeline's own kinds are registered at
// construction:
//   process_media                  analyse an original in a sandboxed child (`convoywatch analyze`)
//                                  and store the results (pipeline/job_handlers.hpp)
//   fetch_url                      download a submission's media by URL (pipeline/fetch.hpp)
//   imagery_compare, imagery_match imagery steps in a sandboxed child (imagery_tasks.hpp)
// Other modules add theirs with handle() before start() (reports/ delivers webhooks, wired by
// app/main.cpp), so that the pipeline knows nothing of them.
//
// For every claimed job the worker keeps the lease (pipeline/job_keeper.hpp) while the handler
// runs. A handler stops when JobControl::cancelled() turns true: because stop() was called (it
// hands the job back: queued again, the attempt not counted) or because the lease was lost to
// another worker (it writes nothing: the job is theirs now). Workers wake on LISTEN/NOTIFY and
// poll as a fallback.
//
// Thread-safety: handle() before start(); run_once(), start() and stop() from one controlling
// thread; the handlers run on the worker threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "pipeline/duplicates.hpp"
#include "store/database.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"

namespace cw::pipeline {

struct WorkerOptions {
  PipelineConfig pipeline;
  std::string storage_root;
  std::string analyze_binary;  // the convoywatch executable (normally /proc/self/exe)
  std::string name;            // worker id prefix (host:pid)
  FetchConfig fetch;
};

class Worker {
 public:
  Worker(store::Database& db, WorkerOptions options);
  ~Worker();  // stop()

  // Runs `handler` for jobs of `kind` (replacing any handler of that kind).
  // REQUIRES: before start() and run_once().
  void handle(const std::string& kind, store::JobHandler handler);

  // Claims and runs at most one job of a registered kind; true when there was one. For tests and
  // the loop. `worker_id` becomes the lease owner. Errors: only the claim's (store/jobs.hpp:
  // kUnavailable when the database cannot be reached); a handler's failure is recorded on the
  // job (failed, or queued again for a retry) and still returns true.
  Result<bool> run_once(const std::string& worker_id);
  // Starts `threads` loops (threads ≥ 1; 0 starts none). Each loop logs claim errors and waits
  // before it retries, so the database may come and go.
  // REQUIRES: not started.
  void start(int threads);
  // Asks the loops to stop: a job in progress is handed back (released) unless it is already
  // writing its results, which it finishes. Joins them.
  void stop();

 private:
  void loop(int n);

  store::Database& db_;  // not owned; outlives the worker
  WorkerOptions options_;
  store::MediaStore media_;
  DuplicateFinder duplicates_;  // shared by the threads: one index per process
  // Written by handle() before start(), read-only afterwards: no lock.
  std::map<std::string, store::JobHandler> handlers_;
  std::vector<std::string> kinds_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// host:pid, for lease owners.
std::string default_worker_name();

}  // namespace cw::pipeline
