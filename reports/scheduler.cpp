#include "reports/scheduler.hpp"

#include <fmt/format.h>

#include "common/log.hpp"
#include "reports/build.hpp"
#include "store/reports.hpp"

namespace cw::reports {
namespace {

constexpr auto kRetryAfterFailure = std::chrono::minutes(1);

struct Scheduled {
  ReportKind kind;
  const std::string* expr;
};

std::vector<Scheduled> scheduled(const ReportsConfig& c) {
  std::vector<Scheduled> out;
  if (!c.daily.empty()) out.push_back({ReportKind::kDaily, &c.daily});
  if (!c.weekly.empty()) out.push_back({ReportKind::kWeekly, &c.weekly});
  return out;
}

Seconds now_seconds() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace

Status Scheduler::check(const ReportsConfig& config) {
  if (Status s = check_time_zone(config.tz, "reports.tz"); !s.ok()) return s;
  if (!config.daily.empty()) {
    if (auto c = parse_cron(config.daily, "reports.daily"); !c.ok()) return c.error();
  }
  if (!config.weekly.empty()) {
    if (auto c = parse_cron(config.weekly, "reports.weekly"); !c.ok()) return c.error();
  }
  return Status();
}

Result<bool> build_once(store::Database& db, const Config& config, const ReportPeriod& period,
                        const std::string& built_by) {
  const char* kind = report_kind_name(period.kind);
  store::Reports reports(db);
  auto existing = reports.find(kind, period.key);
  if (!existing.ok()) return existing.error();
  if (*existing) return false;
  bool built = false;
  auto locked = reports.with_period_lock(kind, period.key, [&]() -> Status {
    // Checked again under the lock: another server may have finished it meanwhile.
    auto again = reports.find(kind, period.key);
    if (!again.ok()) return again.error();
    if (*again) return Status();
    auto r = build_report(db, config, period, config.reports.tz, built_by,
                          store::Actor::system(built_by));
    if (!r.ok()) return r.error();
    built = true;
    log::info("report built", {{"kind", kind}, {"period", period.key}, {"id", r->id}});
    return Status();
  });
  if (!locked.ok()) return locked.error();
  return built;
}

Result<int> Scheduler::run_due(Seconds now, bool catching_up) {
  const ReportsConfig& rc = config_.reports;
  int built = 0;
  for (const auto& s : scheduled(rc)) {
    auto cron = parse_cron(*s.expr);
    if (!cron.ok()) return cron.error();
    const char* kind = report_kind_name(s.kind);
    // The periods due: the one the newest firing up to now reports on, and, when catching up,
    // those between the newest stored report and it (at most catch_up_max, the newest).
    auto horizon =
        s.kind == ReportKind::kDaily ? std::chrono::hours(24) * 8 : std::chrono::hours(24 * 7) * 2;
    auto firings = firings_between(*cron, now - horizon, now, rc.tz, 1);
    if (!firings.ok()) return firings.error();
    if (firings->times.empty()) continue;
    auto target = period_for_run(s.kind, firings->times.back(), rc.tz);
    if (!target.ok()) return target.error();
    std::vector<ReportPeriod> due{*target};
    if (catching_up) {
      auto latest = store::Reports(db_).latest_period_end(kind);
      if (!latest.ok()) return latest.error();
      if (*latest) {
        auto p = period_containing(
            s.kind, std::chrono::time_point_cast<std::chrono::seconds>(**latest), rc.tz);
        if (!p.ok()) return p.error();
        std::vector<ReportPeriod> missed;
        while (p->start < target->start) {
          missed.push_back(*p);
          p = period_containing(s.kind, p->end, rc.tz);
          if (!p.ok()) return p.error();
        }
        if (missed.size() > static_cast<size_t>(rc.catch_up_max)) {
          missed.erase(missed.begin(), missed.end() - rc.catch_up_max);
        }
        due.insert(due.begin(), missed.begin(), missed.end());
      }
    }
    for (const auto& p : due) {
      auto b = build_once(db_, config_, p, "scheduler");
      if (!b.ok()) return b.error();
      if (*b) ++built;
    }
  }
  return built;
}

void Scheduler::start() {
  stopping_ = false;
  thread_ = std::thread([this] { loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Scheduler::loop() {
  auto caught_up = run_due(now_seconds(), true);
  if (!caught_up.ok()) {
    log::warn("report catch-up failed", {{"error", caught_up.error().detail()}});
  }
  std::vector<std::pair<ReportKind, CronSchedule>> crons;
  for (const auto& s : scheduled(config_.reports)) {
    auto c = parse_cron(*s.expr);
    if (c.ok()) crons.emplace_back(s.kind, *c);
  }
  Seconds from = now_seconds();
  while (true) {
    // The next firing of any kind.
    std::optional<std::pair<Seconds, ReportKind>> next;
    for (const auto& [kind, cron] : crons) {
      auto t = next_after(cron, from, config_.reports.tz);
      if (t.ok() && (!next || *t < next->first)) next = std::pair{*t, kind};
    }
    std::unique_lock lock(mu_);
    if (!next) {
      cv_.wait(lock, [&] { return stopping_; });
      return;
    }
    if (cv_.wait_until(lock, next->first, [&] { return stopping_; })) return;
    lock.unlock();
    auto p = period_for_run(next->second, next->first, config_.reports.tz);
    Result<bool> b = p.ok() ? build_once(db_, config_, *p, "scheduler") : Result<bool>(p.error());
    if (!b.ok()) {
      log::warn("scheduled report failed; trying again in a minute",
                {{"kind", report_kind_name(next->second)}, {"error", b.error().detail()}});
      std::unique_lock again(mu_);
      if (cv_.wait_for(again, kRetryAfterFailure, [&] { return stopping_; })) return;
      continue;  // `from` unchanged: the same firing comes round again
    }
    from = next->first;
  }
}

}  // namespace cw::reports
