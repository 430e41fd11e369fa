// Report schedules: 5-field cron expressions evaluated in an IANA time zone, and the period a
// report run covers.
//
// Syntax is cronie's (the cron Debian ships): `minute hour day-of-month month day-of-week`, each
// field `*`, a number, a range `a-b`, a step over `*` or a range (`*/15`, `1-30/5`), or a comma
// list of those; month names jan..dec and weekday names sun..sat (any case); day of week 0-7 with
// both 0 and 7 meaning Sunday; the macros @hourly, @daily (@midnight), @weekly, @monthly,
// @yearly (@annually). The day fields combine as in cronie: when both day-of-month and
// day-of-week are restricted, a day matches if EITHER matches; a field counts as unrestricted
// when it begins with `*` (so `*/2` is unrestricted, exactly as cronie reads it).
//
// Daylight-saving time. A schedule names local wall-clock times; each one fires at most once:
// - a local time that a spring-forward gap skips fires once, at the instant the gap ends
//   (Europe/Kyiv, last Sunday of March: `30 3 * * *` fires at 04:00 EEST; several skipped times
//   collapse into that one firing);
// - a local time that an autumn fall-back repeats fires once, at its first occurrence (Kyiv,
//   last Sunday of October: `30 3 * * *` fires at 03:30 EEST, not again at 03:30 EET).
// This is cronie's rule for fixed-time jobs. For jobs with `*` in the minute or hour field cronie
// differs: it runs them again in a repeated hour, and does not catch up the ones a gap skipped. We
// treat every schedule alike, so a report schedule never builds the same local slot twice and
// never loses one.
// Zone rules come from the system tzdata (Debian's tzdata package). Its files as read here carry
// explicit transitions up to 2037; later instants use the zone's last standard offset.
//
// Everything here is a pure function of its arguments and thread-safe (the time zone database is
// loaded once, on first use, behind a function-local static).
#pragma once

#include <bitset>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace cw::reports {

using Seconds = std::chrono::sys_seconds;

// A parsed cron expression: the set of matching values per field.
struct CronSchedule {
  std::bitset<60> minutes;         // 0-59
  std::bitset<24> hours;           // 0-23
  std::bitset<32> days_of_month;   // 1-31 (bit 0 unused)
  std::bitset<13> months;          // 1-12 (bit 0 unused)
  std::bitset<7> days_of_week;     // 0 = Sunday .. 6 = Saturday
  bool day_of_month_star = false;  // the field began with '*'
  bool day_of_week_star = false;   // the field began with '*'
  std::string text;                // the expression as given, trimmed

  // Whether a local calendar day (month 1-12, day 1-31, weekday 0 = Sunday) matches the month
  // and day fields, with the OR rule above.
  bool matches_day(unsigned month, unsigned day, unsigned weekday) const;
};

// Parses an expression. A bad one gives kInvalidArgument whose detail names the cron field and
// the reason ("hour: 24 is out of range 0-23"); `field` is the input field the expression came
// from ("reports.daily") and becomes Error::field(). A schedule that can never fire (`0 0 30 2 *`)
// is an error too.
Result<CronSchedule> parse_cron(std::string_view expr, std::string_view field = "cron");

// kOk when `tz` names a zone in the time zone database ("Europe/Kyiv", "UTC"); otherwise
// kInvalidArgument naming `field`.
Status check_time_zone(std::string_view tz, std::string_view field = "tz");

// The first firing strictly after t, with the DST rules above. kInvalidArgument for an unknown
// zone.
// REQUIRES: `schedule` came from parse_cron.
Result<Seconds> next_after(const CronSchedule& schedule, Seconds t, std::string_view tz);

// Firings in (from, to], for catching up runs missed while the server was down.
struct Firings {
  std::vector<Seconds> times;  // the newest at most max_count firings, oldest first
  size_t dropped = 0;          // older firings in (from, to] left out because of max_count
};
// An empty list when to <= from. kInvalidArgument for an unknown zone.
// REQUIRES: `schedule` came from parse_cron.
Result<Firings> firings_between(const CronSchedule& schedule, Seconds from, Seconds to,
                                std::string_view tz, size_t max_count);

// ---- Report periods ----

enum class ReportKind { kDaily, kWeekly };

const char* report_kind_name(ReportKind kind);  // "daily", "weekly"
Result<ReportKind> parse_report_kind(std::string_view s, std::string_view field = "kind");

// The span a report covers, as UTC instants [start, end), and its key: a local calendar day
// ("2022-02-16") or an ISO week, Monday to Sunday ("2022-W07"). Local midnights map to instants
// with the DST rules above, so a daily period is 23, 24 or 25 hours long.
struct ReportPeriod {
  ReportKind kind = ReportKind::kDaily;
  Seconds start{};
  Seconds end{};
  std::string key;

  friend bool operator==(const ReportPeriod&, const ReportPeriod&) = default;
};

// The period a run firing at `fired_at` reports on: daily, the local calendar day before the
// one `fired_at` falls on; weekly, the ISO week before the one it falls in.
Result<ReportPeriod> period_for_run(ReportKind kind, Seconds fired_at, std::string_view tz);

// The period of `kind` that contains instant t.
Result<ReportPeriod> period_containing(ReportKind kind, Seconds t, std::string_view tz);

// The period named by a key ("2022-02-16" for daily, "2022-W07" for weekly). A malformed key or a
// date that does not exist ("2022-02-30", "2021-W53") gives kInvalidArgument naming `field`.
Result<ReportPeriod> period_from_key(ReportKind kind, std::string_view key, std::string_view tz,
                                     std::string_view field = "period");

// The period just before `p` (for "change against the previous period").
Result<ReportPeriod> previous_period(const ReportPeriod& p, std::string_view tz);

}  // namespace cw::reports
