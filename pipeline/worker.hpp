// Media-processing workers: threads that claim jobs from the queue — `fetch_url` (download a
// submission's media by URL, pipeline/fetch.hpp), `process_media` (analyse the original in a
// sandboxed child, `convoywatch analyze`, and write the results), `deliver_report` (POST a
// built report to a configured webhook, signed as reports/webhook.hpp says) and
// `imagery_compare` / `imagery_match` (imagery_tasks.hpp, in a sandboxed child too). They wake on
// LISTEN/NOTIFY and poll as a fallback; a running job's lease is renewed while it works, so a
// worker that dies loses its job to another after the lease. stop() hands the jobs in progress back
// (the child or the download is cut off, the job is queued again without counting the attempt) and
// returns. Thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "pipeline/duplicates.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"

namespace cw::pipeline {

struct WorkerOptions {
  PipelineConfig pipeline;
  std::string storage_root;
  std::string analyze_binary;  // the convoywatch executable (normally /proc/self/exe)
  std::string name;            // worker id prefix (host:pid)
  FetchConfig fetch;
  ReportsConfig reports;  // webhook secret for `deliver_report` jobs
};

class Worker {
 public:
  Worker(store::Database& db, WorkerOptions options);
  ~Worker();

  // Claims and processes at most one job; true when there was one. For tests and the loop.
  Result<bool> run_once(const std::string& worker_id);
  // Starts `threads` loops.
  void start(int threads);
  // Asks the loops to stop: a job in progress is handed back (released) unless it is already
  // writing its results, which it finishes. Joins them.
  void stop();

 private:
  void loop(int n);
  Status process_media(int64_t job_id, const std::string& worker_id, const nlohmann::json& payload,
                       int attempts);
  Status process_fetch(int64_t job_id, const std::string& worker_id, const nlohmann::json& payload,
                       int attempts);
  // Runs an imagery task (`imagery_compare`, `imagery_match`) in the sandboxed child
  // (`convoywatch imagery-compare|imagery-match SPEC --out DIR`); its progress comes through a
  // file in DIR; outputs go to <storage_root>/derived/imagery/task-<id>/.
  Status process_imagery(int64_t job_id, const std::string& worker_id, int attempts);
  // POSTs a built report's JSON, signed, to one webhook URL; retried with backoff.
  Status process_delivery(int64_t job_id, const std::string& worker_id,
                          const nlohmann::json& payload);
  // Downloads into `writer`: directly, or through [fetch] downloader for a web page.
  Result<nlohmann::json> download(const std::string& url, store::MediaWriter& writer);

  store::Database& db_;
  WorkerOptions options_;
  store::MediaStore media_;
  DuplicateFinder duplicates_;  // shared by the threads: one index per process
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

// host:pid, for lease owners.
std::string default_worker_name();

}  // namespace cw::pipeline
