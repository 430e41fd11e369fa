// The report scheduler that `serve` runs: builds the daily and weekly reports when their cron
// schedules ([reports] daily / weekly, in [reports] tz) fire, and at start the periods whose
// runs were missed while no server was up (at most [reports] catch_up_max of each kind, newer
// than the newest report of the kind).
//
// Several `serve` processes may run it: a period is built under a PostgreSQL advisory lock and
// only when no report of it exists, so each period gets one report. A failed build is logged
// and tried again a minute later. Thread-safe: start() and stop() from one thread.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "common/config.hpp"
#include "common/error.hpp"
#include "reports/cron.hpp"
#include "store/database.hpp"

namespace cw::reports {

class Scheduler {
 public:
  // kInvalidArgument naming the key when a schedule or the time zone is malformed.
  static Status check(const ReportsConfig& config);

  Scheduler(store::Database& db, const Config& config) : db_(db), config_(config) {}
  ~Scheduler() { stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Catches up, then runs the schedule on its own thread. REQUIRES: check() passed.
  void start();
  void stop();

  // Builds the reports of every kind whose run is due at `now` or was missed before it, once
  // each; returns how many were built. For the thread and for tests.
  Result<int> run_due(Seconds now, bool catching_up);

 private:
  void loop();

  store::Database& db_;
  const Config& config_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// Builds the report of `period` unless it exists (or another process is building it), then
// queues its webhook deliveries. true when this call built it.
Result<bool> build_once(store::Database& db, const Config& config, const ReportPeriod& period,
                        const std::string& built_by);

}  // namespace cw::reports
