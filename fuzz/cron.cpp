// Fuzz target: report schedules and periods (reports/cron.hpp). Cron expressions come from the
// configuration; period keys come from requests (POST /api/v1/reports, `report run --date`).
//
// Input: byte 0 chooses the mode (bit 0: 0 = a cron expression, 1 = a period key), the report
// kind of a key (bit 1: daily or weekly) and the zone (bits 2-4, one of kZones); bytes 1-4 an
// instant (a little-endian count of minutes from 2000-01-01, within 2000-2035); the rest is the
// text. Properties:
// - cron: an accepted schedule has a value in every field and reads back the same from its own
//   text; its next firing after the instant is later than it, within the forty years the
//   search covers, and the firing at the end of the list of firings up to it; in UTC (no daylight
//   saving) the firing's minute, hour and day match the schedule, and the firing found from a
//   minute before it is the same one;
// - a period key: an accepted period has start < end (23 to 25 hours for a day, 7 days give or
//   take an hour for a week), its key reads back to the same period, the period containing its
//   start is itself, and the period before it ends where it starts.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz.hpp"
#include "reports/cron.hpp"

namespace cw::fuzz {
namespace {

constexpr const char* kZones[] = {"UTC",
                                  "Europe/Kyiv",
                                  "Europe/Moscow",
                                  "America/Santiago",
                                  "Australia/Lord_Howe",
                                  "Asia/Kathmandu",
                                  "Pacific/Chatham",
                                  "America/St_Johns"};

using std::chrono::hours;
using std::chrono::minutes;

void check_cron(std::string_view text, reports::Seconds t, std::string_view zone) {
  Result<reports::CronSchedule> s = reports::parse_cron(text);
  if (!s.ok()) {
    CW_FUZZ_CHECK(s.error().code() == Code::kInvalidArgument);
    return;
  }
  CW_FUZZ_CHECK(s->minutes.any() && s->hours.any() && s->days_of_month.any() && s->months.any() &&
                s->days_of_week.any());
  Result<reports::CronSchedule> again = reports::parse_cron(s->text);
  CW_FUZZ_CHECK(again.ok());
  CW_FUZZ_CHECK(again->minutes == s->minutes && again->hours == s->hours &&
                again->days_of_month == s->days_of_month && again->months == s->months &&
                again->days_of_week == s->days_of_week &&
                again->day_of_month_star == s->day_of_month_star &&
                again->day_of_week_star == s->day_of_week_star && again->text == s->text);

  Result<reports::Seconds> next = reports::next_after(*s, t, zone);
  CW_FUZZ_CHECK(next.ok());
  CW_FUZZ_CHECK(*next > t);
  CW_FUZZ_CHECK(*next - t <= hours(24 * (40 * 366 + 8)));
  Result<reports::Firings> firings = reports::firings_between(*s, t, *next, zone, 2);
  CW_FUZZ_CHECK(firings.ok());
  CW_FUZZ_CHECK(firings->times.size() == 1 && firings->dropped == 0);
  CW_FUZZ_CHECK(firings->times.back() == *next);

  if (zone != "UTC") return;
  const auto day = std::chrono::floor<std::chrono::days>(*next);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss<std::chrono::seconds> time{*next - day};
  CW_FUZZ_CHECK(time.seconds().count() == 0);
  CW_FUZZ_CHECK(s->minutes[static_cast<size_t>(time.minutes().count())]);
  CW_FUZZ_CHECK(s->hours[static_cast<size_t>(time.hours().count())]);
  CW_FUZZ_CHECK(s->matches_day(static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                               std::chrono::weekday{day}.c_encoding()));
  if (*next - minutes(1) > t) {
    Result<reports::Seconds> from_before = reports::next_after(*s, *next - minutes(1), zone);
    CW_FUZZ_CHECK(from_before.ok() && *from_before == *next);
  }
}

void check_period(std::string_view key, reports::ReportKind kind, std::string_view zone) {
  Result<reports::ReportPeriod> p = reports::period_from_key(kind, key, zone);
  if (!p.ok()) {
    CW_FUZZ_CHECK(p.error().code() == Code::kInvalidArgument);
    return;
  }
  CW_FUZZ_CHECK(p->kind == kind);
  CW_FUZZ_CHECK(p->start < p->end);
  const auto length = p->end - p->start;
  if (kind == reports::ReportKind::kDaily) {
    CW_FUZZ_CHECK(length >= hours(22) && length <= hours(26));
  } else {
    CW_FUZZ_CHECK(length >= hours(7 * 24 - 2) && length <= hours(7 * 24 + 2));
  }
  Result<reports::ReportPeriod> back = reports::period_from_key(kind, p->key, zone);
  CW_FUZZ_CHECK(back.ok() && *back == *p);
  Result<reports::ReportPeriod> containing = reports::period_containing(kind, p->start, zone);
  CW_FUZZ_CHECK(containing.ok() && *containing == *p);
  Result<reports::ReportPeriod> previous = reports::previous_period(*p, zone);
  CW_FUZZ_CHECK(previous.ok() && previous->end == p->start && previous->start < p->start);
}

}  // namespace

void cron(std::string_view data) {
  if (data.size() < 5) return;
  const auto mode = static_cast<uint8_t>(data[0]);
  const std::string_view zone = kZones[(mode >> 2) & 7];
  uint32_t raw = 0;
  for (int i = 4; i >= 1; --i) raw = raw << 8 | static_cast<uint8_t>(data[static_cast<size_t>(i)]);
  // 2000-01-01 plus at most 36 years (2035-12-31), in minutes.
  const uint32_t span = 36u * 365u * 24u * 60u;
  const reports::Seconds t =
      reports::Seconds{std::chrono::seconds{946'684'800}} + minutes(raw % span);
  const std::string_view text = data.substr(5);
  if ((mode & 1) == 0) {
    check_cron(text, t, zone);
  } else {
    check_period(text, (mode & 2) != 0 ? reports::ReportKind::kWeekly : reports::ReportKind::kDaily,
                 zone);
  }
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::cron)
