// Cron parsing follows cronie's entry.c field by field; evaluation walks local calendar days and
// maps each matching local minute to a UTC instant through date/tz (the system tzdata), which
// stays inside this file so no public header carries a date:: type.
#include "reports/cron.hpp"

#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <deque>
#include <exception>
#include <optional>

namespace cw::reports {
namespace {

using std::chrono::days;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::sys_days;
using std::chrono::year_month_day;

// ---- Parsing ----

constexpr std::array<std::string_view, 12> kMonthNames = {"jan", "feb", "mar", "apr", "may", "jun",
                                                          "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> kWeekdayNames = {"sun", "mon", "tue", "wed",
                                                           "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int min;
  int max;
  const std::string_view* names = nullptr;  // names[i] stands for min_name_value + i
  int name_count = 0;
  int min_name_value = 0;
};

constexpr FieldSpec kMinuteSpec{"minute", 0, 59};
constexpr FieldSpec kHourSpec{"hour", 0, 23};
constexpr FieldSpec kDayOfMonthSpec{"day-of-month", 1, 31};
constexpr FieldSpec kMonthSpec{"month", 1, 12, kMonthNames.data(), 12, 1};
constexpr FieldSpec kDayOfWeekSpec{"day-of-week", 0, 7, kWeekdayNames.data(), 7, 0};

bool is_blank(char c) { return c == ' ' || c == '\t'; }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A number or a name of the field; the reason as an error string otherwise.
std::optional<std::string> parse_value(std::string_view s, const FieldSpec& spec, int* out) {
  if (s.empty()) return std::string("a range is missing a number");
  if (all_digits(s)) {
    if (s.size() > 4) return fmt::format("{} is out of range {}-{}", s, spec.min, spec.max);
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    if (v < spec.min || v > spec.max) {
      return fmt::format("{} is out of range {}-{}", v, spec.min, spec.max);
    }
    *out = v;
    return std::nullopt;
  }
  const std::string name = lower(s);
  for (int i = 0; i < spec.name_count; ++i) {
    if (spec.names[i] == name) {
      *out = spec.min_name_value + i;
      return std::nullopt;
    }
  }
  if (spec.name_count > 0) {
    return fmt::format("'{}' is neither a number {}-{} nor a {} name ({}, ...)", s, spec.min,
                       spec.max, spec.name, spec.names[0]);
  }
  return fmt::format("'{}' is not a number {}-{}", s, spec.min, spec.max);
}

// One list element: `*`, `a`, `a-b`, `*/n`, `a-b/n`.
std::optional<std::string> parse_element(std::string_view e, const FieldSpec& spec,
                                         std::bitset<64>* bits) {
  if (e.empty()) return std::string("empty list element (two commas, or a comma at an end)");
  std::string_view base = e;
  int step = 1;
  const size_t slash = e.find('/');
  if (slash != std::string_view::npos) {
    base = e.substr(0, slash);
    std::string_view step_text = e.substr(slash + 1);
    if (!all_digits(step_text)) {
      return fmt::format("step '{}' in '{}' is not a positive number", step_text, e);
    }
    const int span = spec.max - spec.min + 1;
    if (step_text.size() > 4) return fmt::format("step {} is larger than {}", step_text, span);
    step = std::stoi(std::string(step_text));
    if (step == 0) return fmt::format("step 0 in '{}' never advances", e);
    if (step > span) return fmt::format("step {} in '{}' is larger than {}", step, e, span);
  }
  int lo = spec.min;
  int hi = spec.max;
  if (base == "*") {
    // The whole range.
  } else {
    const size_t dash = base.find('-');
    if (dash == std::string_view::npos) {
      if (auto err = parse_value(base, spec, &lo)) return err;
      if (slash != std::string_view::npos) {
        return fmt::format("step in '{}' needs '*' or a range before it (write {}-{}/{})", e, lo,
                           spec.max, step);
      }
      hi = lo;
    } else {
      if (auto err = parse_value(base.substr(0, dash), spec, &lo)) return err;
      if (auto err = parse_value(base.substr(dash + 1), spec, &hi)) return err;
      if (lo > hi) return fmt::format("range '{}' runs backwards ({} > {})", base, lo, hi);
    }
  }
  for (int v = lo; v <= hi; v += step) bits->set(static_cast<size_t>(v));
  return std::nullopt;
}

std::optional<std::string> parse_field(std::string_view text, const FieldSpec& spec,
                                       std::bitset<64>* bits) {
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    const std::string_view e =
        text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    if (auto err = parse_element(e, spec, bits)) return err;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return std::nullopt;
}

template <size_t N>
std::bitset<N> narrow(const std::bitset<64>& b) {
  std::bitset<N> out;
  for (size_t i = 0; i < N; ++i) out[i] = b[i];
  return out;
}

constexpr unsigned kMaxDaysInMonth[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

Error cron_error(std::string_view field, std::string detail) {
  return Error(Code::kInvalidArgument, std::move(detail), std::string(field));
}

// ---- Time zones ----

Result<const date::time_zone*> find_zone(std::string_view tz, std::string_view field) {
  if (tz.empty()) return cron_error(field, "time zone is empty (use an IANA name like UTC)");
  try {
    return date::locate_zone(tz);
  } catch (const std::exception&) {
    // Either the name is unknown or the database could not be read at all; tell them apart.
    try {
      (void)date::get_tzdb();
    } catch (const std::exception&) {
      return Error(Code::kInternal, "the time zone database (tzdata) could not be read", "tz");
    }
    return cron_error(field, fmt::format("unknown time zone '{}' (use an IANA name like "
                                         "Europe/Kyiv or UTC)",
                                         tz));
  }
}

using LocalSeconds = date::local_seconds;

// A local wall-clock time as an instant: a time skipped by a gap maps to the instant the gap
// ends, a repeated time to its first occurrence.
Seconds to_instant(const date::time_zone* zone, LocalSeconds local) {
  const date::local_info info = zone->get_info(local);
  switch (info.result) {
    case date::local_info::nonexistent:
      return info.second.begin;
    case date::local_info::unique:
    case date::local_info::ambiguous:
    default:
      return Seconds{local.time_since_epoch() - info.first.offset};
  }
}

// Naive local dates are carried as sys_days (same epoch and calendar as local days).
sys_days local_date(const date::time_zone* zone, Seconds t) {
  const LocalSeconds l = zone->to_local(t);
  return sys_days{std::chrono::floor<days>(l.time_since_epoch())};
}

LocalSeconds local_at(sys_days d, int hour = 0, int minute = 0) {
  return LocalSeconds{d.time_since_epoch() + hours(hour) + minutes(minute)};
}

Seconds day_start(const date::time_zone* zone, sys_days d) { return to_instant(zone, local_at(d)); }

// 0 = Sunday.
unsigned weekday_of(sys_days d) { return std::chrono::weekday{d}.c_encoding(); }

// The longest wait a valid schedule has is 40 years. When both day fields are given and one is in
// its star form (`*/2`), a day must match both (cronie's rule), so `0 0 29 2 */7` fires only on a
// 29 February that is a Sunday: 2280 and next 2320 (2300 is not a leap year). Counted over
// 1970-2400 for every date and weekday. parse_cron rejects schedules that can never fire.
constexpr int kMaxSearchDays = 40 * 366 + 7;

Result<Seconds> next_after_in(const CronSchedule& s, Seconds t, const date::time_zone* zone) {
  const LocalSeconds start = zone->to_local(t);
  sys_days day{std::chrono::floor<days>(start.time_since_epoch())};
  const auto first_minute = std::chrono::floor<minutes>(start.time_since_epoch()) -
                            std::chrono::duration_cast<minutes>(day.time_since_epoch());
  for (int i = 0; i < kMaxSearchDays; ++i, day += days(1)) {
    const year_month_day ymd{day};
    if (!s.matches_day(static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       weekday_of(day))) {
      continue;
    }
    for (int h = 0; h < 24; ++h) {
      if (!s.hours[static_cast<size_t>(h)]) continue;
      for (int m = 0; m < 60; ++m) {
        if (!s.minutes[static_cast<size_t>(m)]) continue;
        if (i == 0 && minutes(h * 60 + m) < first_minute) continue;
        const Seconds at = to_instant(zone, local_at(day, h, m));
        if (at > t) return at;
      }
    }
  }
  return Error(Code::kInternal, fmt::format("cron schedule '{}' found no firing", s.text), "cron");
}

// ---- Periods ----

std::string day_key(sys_days d) {
  const year_month_day ymd{d};
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

sys_days monday_of(sys_days d) { return d - days(std::chrono::weekday{d}.iso_encoding() - 1); }

std::string week_key(sys_days monday) {
  // The ISO year is the year of the week's Thursday.
  const sys_days thursday = monday + days(3);
  const std::chrono::year y = year_month_day{thursday}.year();
  const auto week = (thursday - sys_days{y / std::chrono::January / 1}).count() / 7 + 1;
  return fmt::format("{:04}-W{:02}", static_cast<int>(y), week);
}

ReportPeriod make_period(ReportKind kind, sys_days first_day, const date::time_zone* zone) {
  ReportPeriod p;
  p.kind = kind;
  const sys_days next = first_day + days(kind == ReportKind::kDaily ? 1 : 7);
  p.start = day_start(zone, first_day);
  p.end = day_start(zone, next);
  p.key = kind == ReportKind::kDaily ? day_key(first_day) : week_key(first_day);
  return p;
}

sys_days period_first_day(ReportKind kind, sys_days d) {
  return kind == ReportKind::kDaily ? d : monday_of(d);
}

int digits_value(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

}  // namespace

bool CronSchedule::matches_day(unsigned month, unsigned day, unsigned weekday) const {
  if (month > 12 || day > 31 || weekday > 6 || !months[month]) return false;
  const bool dom = days_of_month[day];
  const bool dow = days_of_week[weekday];
  if (day_of_month_star || day_of_week_star) return dom && dow;
  return dom || dow;
}

Result<CronSchedule> parse_cron(std::string_view expr, std::string_view field) {
  while (!expr.empty() && is_blank(expr.front())) expr.remove_prefix(1);
  while (!expr.empty() && is_blank(expr.back())) expr.remove_suffix(1);
  if (expr.empty()) return cron_error(field, "cron expression is empty");

  std::string_view text = expr;
  if (expr.front() == '@') {
    const std::string macro = lower(expr);
    if (macro == "@yearly" || macro == "@annually") {
      text = "0 0 1 1 *";
    } else if (macro == "@monthly") {
      text = "0 0 1 * *";
    } else if (macro == "@weekly") {
      text = "0 0 * * 0";
    } else if (macro == "@daily" || macro == "@midnight") {
      text = "0 0 * * *";
    } else if (macro == "@hourly") {
      text = "0 * * * *";
    } else if (macro == "@reboot") {
      return cron_error(field, "@reboot names no time; a report schedule needs one");
    } else {
      return cron_error(field, fmt::format("unknown macro '{}' (known: @hourly, @daily, "
                                           "@midnight, @weekly, @monthly, @yearly, @annually)",
                                           expr));
    }
  }

  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_blank(text[i])) ++i;
    if (i >= text.size()) break;
    const size_t begin = i;
    while (i < text.size() && !is_blank(text[i])) ++i;
    parts.push_back(text.substr(begin, i - begin));
  }
  if (parts.size() != 5) {
    return cron_error(field, fmt::format("expected 5 fields (minute hour day-of-month month "
                                         "day-of-week), got {} in '{}'",
                                         parts.size(), expr));
  }

  const FieldSpec* specs[5] = {&kMinuteSpec, &kHourSpec, &kDayOfMonthSpec, &kMonthSpec,
                               &kDayOfWeekSpec};
  std::bitset<64> bits[5];
  for (size_t f = 0; f < 5; ++f) {
    if (auto err = parse_field(parts[f], *specs[f], &bits[f])) {
      return cron_error(field, fmt::format("{}: {}", specs[f]->name, *err));
    }
  }

  CronSchedule s;
  s.minutes = narrow<60>(bits[0]);
  s.hours = narrow<24>(bits[1]);
  s.days_of_month = narrow<32>(bits[2]);
  s.months = narrow<13>(bits[3]);
  if (bits[4][7]) bits[4].set(0);  // 7 is Sunday too
  s.days_of_week = narrow<7>(bits[4]);
  s.day_of_month_star = parts[2].front() == '*';
  s.day_of_week_star = parts[4].front() == '*';
  s.text = std::string(expr);

  // With the AND rule in force (a star day field), a restricted day-of-month must exist in one of
  // the chosen months; otherwise the schedule never fires.
  if (!s.day_of_month_star) {
    bool possible = false;
    for (unsigned m = 1; m <= 12 && !possible; ++m) {
      if (!s.months[m]) continue;
      for (unsigned d = 1; d <= kMaxDaysInMonth[m]; ++d) {
        if (s.days_of_month[d]) {
          possible = true;
          break;
        }
      }
    }
    if (!possible && s.day_of_week_star) {
      return cron_error(field, fmt::format("day-of-month: '{}' never falls in month '{}', so the "
                                           "schedule never fires",
                                           parts[2], parts[3]));
    }
  }
  return s;
}

Status check_time_zone(std::string_view tz, std::string_view field) {
  auto zone = find_zone(tz, field);
  if (!zone.ok()) return zone.error();
  return Status::Ok();
}

Result<Seconds> next_after(const CronSchedule& schedule, Seconds t, std::string_view tz) {
  auto zone = find_zone(tz, "tz");
  if (!zone.ok()) return zone.error();
  return next_after_in(schedule, t, *zone);
}

Result<Firings> firings_between(const CronSchedule& schedule, Seconds from, Seconds to,
                                std::string_view tz, size_t max_count) {
  auto zone = find_zone(tz, "tz");
  if (!zone.ok()) return zone.error();
  Firings out;
  std::deque<Seconds> kept;
  Seconds cursor = from;
  while (cursor < to) {
    auto next = next_after_in(schedule, cursor, *zone);
    if (!next.ok()) return next.error();
    if (*next > to) break;
    kept.push_back(*next);
    if (kept.size() > max_count) {
      kept.pop_front();
      ++out.dropped;
    }
    cursor = *next;
  }
  out.times.assign(kept.begin(), kept.end());
  return out;
}

const char* report_kind_name(ReportKind kind) {
  return kind == ReportKind::kDaily ? "daily" : "weekly";
}

Result<ReportKind> parse_report_kind(std::string_view s, std::string_view field) {
  if (s == "daily") return ReportKind::kDaily;
  if (s == "weekly") return ReportKind::kWeekly;
  return Error(Code::kInvalidArgument, fmt::format("unknown report kind '{}' (daily or weekly)", s),
               std::string(field));
}

Result<ReportPeriod> period_containing(ReportKind kind, Seconds t, std::string_view tz) {
  auto zone = find_zone(tz, "tz");
  if (!zone.ok()) return zone.error();
  return make_period(kind, period_first_day(kind, local_date(*zone, t)), *zone);
}

Result<ReportPeriod> period_for_run(ReportKind kind, Seconds fired_at, std::string_view tz) {
  auto zone = find_zone(tz, "tz");
  if (!zone.ok()) return zone.error();
  const sys_days current = period_first_day(kind, local_date(*zone, fired_at));
  return make_period(kind, current - days(kind == ReportKind::kDaily ? 1 : 7), *zone);
}

Result<ReportPeriod> period_from_key(ReportKind kind, std::string_view key, std::string_view tz,
                                     std::string_view field) {
  auto zone = find_zone(tz, "tz");
  if (!zone.ok()) return zone.error();
  const std::string f(field);
  if (kind == ReportKind::kDaily) {
    if (key.size() != 10 || key[4] != '-' || key[7] != '-' || !all_digits(key.substr(0, 4)) ||
        !all_digits(key.substr(5, 2)) || !all_digits(key.substr(8, 2))) {
      return Error(Code::kInvalidArgument,
                   fmt::format("daily period '{}' is not a date YYYY-MM-DD", key), f);
    }
    const year_month_day ymd{
        std::chrono::year{digits_value(key.substr(0, 4))},
        std::chrono::month{static_cast<unsigned>(digits_value(key.substr(5, 2)))},
        std::chrono::day{static_cast<unsigned>(digits_value(key.substr(8, 2)))}};
    if (!ymd.ok()) {
      return Error(Code::kInvalidArgument, fmt::format("daily period '{}' is not a real date", key),
                   f);
    }
    return make_period(kind, sys_days{ymd}, *zone);
  }
  if (key.size() != 8 || key[4] != '-' || (key[5] != 'W' && key[5] != 'w') ||
      !all_digits(key.substr(0, 4)) || !all_digits(key.substr(6, 2))) {
    return Error(Code::kInvalidArgument,
                 fmt::format("weekly period '{}' is not an ISO week YYYY-Www", key), f);
  }
  const int year = digits_value(key.substr(0, 4));
  const int week = digits_value(key.substr(6, 2));
  // Week 1 is the week with the year's first Thursday, i.e. the one containing 4 January.
  const sys_days week1 = monday_of(sys_days{std::chrono::year{year} / std::chrono::January / 4});
  const sys_days monday = week1 + days(7 * (week - 1));
  ReportPeriod p = make_period(kind, monday, *zone);
  if (week < 1 || p.key != fmt::format("{:04}-W{:02}", year, week)) {
    return Error(
        Code::kInvalidArgument,
        fmt::format("weekly period '{}' does not exist (year {} has no week {})", key, year, week),
        f);
  }
  return p;
}

Result<ReportPeriod> previous_period(const ReportPeriod& p, std::string_view tz) {
  return period_containing(p.kind, p.start - std::chrono::seconds(1), tz);
}

}  // namespace cw::reports
