// Media-processing workers: threads that claim `process_media` jobs from the queue, analyse
// the original in a sandboxed child (`convoywatch analyze`), and write the results. They wake
// on LISTEN/NOTIFY and poll as a fallback; a running job's lease is renewed while the child
// works, so a worker that dies loses its job to another after the lease. stop() lets each
// thread finish the job it is on, then returns. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"

namespace cw::pipeline {

struct WorkerOptions {
  PipelineConfig pipeline;
  std::string storage_root;
  std::string analyze_binary;  // the convoywatch executable (normally /proc/self/exe)
  std::string name;            // worker id prefix (host:pid)
};

class Worker {
 public:
  Worker(store::Database& db, WorkerOptions options);
  ~Worker();

  // Claims and processes at most one job; true when there was one. For tests and the loop.
  Result<bool> run_once(const std::string& worker_id);
  // Starts `threads` loops.
  void start(int threads);
  // Asks the loops to finish their current job and return; joins them.
  void stop();

 private:
  void loop(int n);
  Status process_media(int64_t job_id, const std::string& worker_id, const nlohmann::json& payload,
                       int attempts);

  store::Database& db_;
  WorkerOptions options_;
  store::MediaStore media_;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// host:pid, for lease owners.
std::string default_worker_name();

}  // namespace cw::pipeline
