// Tests for reports/cron: parsing, next firing in a time zone (Europe/Kyiv DST changes
// included), catch-up lists, and report periods.
//
// Expected instants are worked out by hand from the calendar and the zone rules, and the DST
// ones were checked against Python's zoneinfo (an independent reader of the same tzdata):
//   Europe/Kyiv is EET (UTC+2) / EEST (UTC+3). 2022-03-27: local 03:00 EET jumps to 04:00 EEST at
//   01:00 UTC. 2022-10-30: local 04:00 EEST falls back to 03:00 EET at 01:00 UTC, so local
//   03:00-03:59 happens twice (00:00-00:59 UTC, then 01:00-01:59 UTC).
//   America/Havana 2022-03-13: local midnight is skipped (00:00 CST -> 01:00 CDT at 05:00 UTC).
#include "reports/cron.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cw::reports {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  const std::chrono::sys_days day{std::chrono::year{y} / std::chrono::month{mo} /
                                  std::chrono::day{d}};
  return Seconds{day.time_since_epoch() + hours(h) + minutes(mi) + std::chrono::seconds(s)};
}

CronSchedule must_parse(std::string_view expr) {
  auto s = parse_cron(expr);
  EXPECT_TRUE(s.ok()) << expr << ": " << (s.ok() ? "" : s.error().to_string());
  return s.ok() ? *s : CronSchedule{};
}

struct NextCase {
  const char* name;
  const char* expr;
  const char* tz;
  Seconds after;
  Seconds expected;
};

TEST(CronTest, NextAfterTable) {
  const NextCase kCases[] = {
      {"step minutes", "*/15 * * * *", "UTC", utc(2022, 2, 16, 6, 7, 30), utc(2022, 2, 16, 6, 15)},
      {"strictly after a firing", "0 6 * * *", "UTC", utc(2022, 2, 16, 6), utc(2022, 2, 17, 6)},
      {"second before a firing", "0 6 * * *", "UTC", utc(2022, 2, 16, 5, 59, 59),
       utc(2022, 2, 16, 6)},
      {"range with step", "1-30/5 * * * *", "UTC", utc(2022, 2, 16, 10, 27),
       utc(2022, 2, 16, 11, 1)},
      {"list", "5,50 8 * * *", "UTC", utc(2022, 2, 16, 8, 6), utc(2022, 2, 16, 8, 50)},
      {"weekdays by name, over a weekend", "0 9 * * mon-fri", "UTC", utc(2022, 2, 18, 10),
       utc(2022, 2, 21, 9)},
      {"7 is Sunday", "0 0 * * 7", "UTC", utc(2022, 2, 16), utc(2022, 2, 20)},
      {"0 is Sunday", "0 0 * * 0", "UTC", utc(2022, 2, 16), utc(2022, 2, 20)},
      {"SUN is Sunday", "0 0 * * SUN", "UTC", utc(2022, 2, 16), utc(2022, 2, 20)},
      {"range ending in 7", "0 0 * * 6-7", "UTC", utc(2022, 2, 16), utc(2022, 2, 19)},
      // Both day fields restricted: the 13th OR a Friday.
      {"OR rule, the Friday first", "0 0 13 * 5", "UTC", utc(2022, 3, 5), utc(2022, 3, 11)},
      {"OR rule, the 13th first", "0 0 13 * 5", "UTC", utc(2022, 3, 11), utc(2022, 3, 13)},
      // A day field starting with '*' counts as unrestricted, so the fields AND (as in cronie):
      // odd days that are Mondays. 2022-02-23 is odd but a Wednesday, 2022-02-28 a Monday but
      // even; 2022-03-07 is both.
      {"star step makes AND", "0 0 */2 * 1", "UTC", utc(2022, 2, 22), utc(2022, 3, 7)},
      {"Feb 29 waits for a leap year", "0 12 29 2 *", "UTC", utc(2022, 2, 16),
       utc(2024, 2, 29, 12)},
      {"Feb 29 skips 2100", "0 12 29 2 *", "UTC", utc(2096, 3, 1), utc(2104, 2, 29, 12)},
      {"month names", "0 0 1 jan,jul *", "UTC", utc(2022, 2, 16), utc(2022, 7, 1)},
      {"month name range with step", "0 0 1 JAN-MAR/2 *", "UTC", utc(2022, 2, 16), utc(2022, 3, 1)},
      {"31st skips short months", "0 0 31 * *", "UTC", utc(2022, 3, 31, 1), utc(2022, 5, 31)},
      {"@hourly", "@hourly", "UTC", utc(2022, 2, 16, 6, 1), utc(2022, 2, 16, 7)},
      {"@daily", "@daily", "UTC", utc(2022, 2, 16, 6), utc(2022, 2, 17)},
      {"@weekly is Sunday midnight", "@weekly", "UTC", utc(2022, 2, 16), utc(2022, 2, 20)},
      {"@monthly", "@monthly", "UTC", utc(2022, 2, 16), utc(2022, 3, 1)},
      {"@yearly", "@yearly", "UTC", utc(2022, 2, 16), utc(2023, 1, 1)},
      {"year end rollover", "59 23 31 12 *", "UTC", utc(2022, 12, 31, 23, 59),
       utc(2023, 12, 31, 23, 59)},
      // Kyiv in winter: 06:00 EET is 04:00 UTC.
      {"Kyiv winter", "0 6 * * *", "Europe/Kyiv", utc(2022, 2, 16, 5), utc(2022, 2, 17, 4)},
      {"Kyiv summer", "0 6 * * *", "Europe/Kyiv", utc(2022, 7, 1, 5), utc(2022, 7, 2, 3)},
      {"old link name Europe/Kiev", "0 6 * * *", "Europe/Kiev", utc(2022, 2, 16, 5),
       utc(2022, 2, 17, 4)},
      // Spring forward, 2022-03-27: 03:30 does not exist; it fires once when the gap ends.
      {"spring gap fires at gap end", "30 3 * * *", "Europe/Kyiv", utc(2022, 3, 26, 12),
       utc(2022, 3, 27, 1)},
      {"spring gap, next day normal", "30 3 * * *", "Europe/Kyiv", utc(2022, 3, 27, 1),
       utc(2022, 3, 28, 0, 30)},
      {"before the gap is normal", "0 2 * * *", "Europe/Kyiv", utc(2022, 3, 26, 12),
       utc(2022, 3, 27)},
      {"right after the gap", "0 4 * * *", "Europe/Kyiv", utc(2022, 3, 26, 12),
       utc(2022, 3, 27, 1)},
      // Fall back, 2022-10-30: 03:30 happens twice; it fires at the first.
      {"autumn repeat fires first", "30 3 * * *", "Europe/Kyiv", utc(2022, 10, 29, 12),
       utc(2022, 10, 30, 0, 30)},
      {"autumn repeat not again", "30 3 * * *", "Europe/Kyiv", utc(2022, 10, 30, 0, 30),
       utc(2022, 10, 31, 1, 30)},
      {"from inside the second pass", "30 3 * * *", "Europe/Kyiv", utc(2022, 10, 30, 1, 10),
       utc(2022, 10, 31, 1, 30)},
      {"after the repeat", "0 4 * * *", "Europe/Kyiv", utc(2022, 10, 30, 0, 30),
       utc(2022, 10, 30, 2)},
      // 2023 changes: last Sundays are 26 March and 29 October.
      {"2023 spring gap", "15 3 * * *", "Europe/Kyiv", utc(2023, 3, 25, 12), utc(2023, 3, 26, 1)},
      {"2023 autumn repeat", "15 3 * * *", "Europe/Kyiv", utc(2023, 10, 28, 12),
       utc(2023, 10, 29, 0, 15)},
  };
  for (const NextCase& c : kCases) {
    SCOPED_TRACE(c.name);
    const CronSchedule s = must_parse(c.expr);
    auto next = next_after(s, c.after, c.tz);
    ASSERT_TRUE(next.ok()) << next.error().to_string();
    EXPECT_EQ(next->time_since_epoch().count(), c.expected.time_since_epoch().count());
  }
}

std::vector<Seconds> all_firings(std::string_view expr, Seconds from, Seconds to,
                                 std::string_view tz) {
  auto f = firings_between(must_parse(expr), from, to, tz, 1000);
  EXPECT_TRUE(f.ok());
  return f.ok() ? f->times : std::vector<Seconds>{};
}

TEST(CronTest, SpringGapCollapsesIntoOneFiring) {
  // 03:00, 03:20 and 03:40 are all skipped on 2022-03-27 and fire once, at 04:00 EEST.
  EXPECT_EQ(all_firings("*/20 3 * * *", utc(2022, 3, 26, 12), utc(2022, 3, 28, 12), "Europe/Kyiv"),
            (std::vector<Seconds>{utc(2022, 3, 27, 1), utc(2022, 3, 28, 0), utc(2022, 3, 28, 0, 20),
                                  utc(2022, 3, 28, 0, 40)}));
}

TEST(CronTest, AutumnRepeatedHourFiresOnce) {
  // 02:30, 03:00, 03:30 EEST; the second 03:00 and 03:30 (EET) do not fire; 04:00 EET on.
  EXPECT_EQ(all_firings("*/30 * * * *", utc(2022, 10, 29, 23), utc(2022, 10, 30, 3), "Europe/Kyiv"),
            (std::vector<Seconds>{utc(2022, 10, 29, 23, 30), utc(2022, 10, 30, 0),
                                  utc(2022, 10, 30, 0, 30), utc(2022, 10, 30, 2),
                                  utc(2022, 10, 30, 2, 30), utc(2022, 10, 30, 3)}));
}

TEST(CronTest, FiringsBetweenIsHalfOpenAndKeepsTheNewest) {
  const CronSchedule s = must_parse("0 6 * * *");
  // 06:00 Kyiv is 04:00 UTC in February. (from, to] excludes the firing at `from` and includes
  // the one at `to`.
  auto all = firings_between(s, utc(2022, 2, 10, 4), utc(2022, 2, 16, 4), "Europe/Kyiv", 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->times.size(), 6u);
  EXPECT_EQ(all->times.front(), utc(2022, 2, 11, 4));
  EXPECT_EQ(all->times.back(), utc(2022, 2, 16, 4));
  EXPECT_EQ(all->dropped, 0u);

  auto capped = firings_between(s, utc(2022, 2, 10), utc(2022, 2, 16, 12), "Europe/Kyiv", 3);
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->times,
            (std::vector<Seconds>{utc(2022, 2, 14, 4), utc(2022, 2, 15, 4), utc(2022, 2, 16, 4)}));
  EXPECT_EQ(capped->dropped, 4u);

  auto none = firings_between(s, utc(2022, 2, 16, 12), utc(2022, 2, 16), "Europe/Kyiv", 3);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->times.empty());

  auto zero_cap = firings_between(s, utc(2022, 2, 10), utc(2022, 2, 16, 12), "UTC", 0);
  ASSERT_TRUE(zero_cap.ok());
  EXPECT_TRUE(zero_cap->times.empty());
  EXPECT_EQ(zero_cap->dropped, 7u);
}

TEST(CronTest, ParsedFields) {
  const CronSchedule a = must_parse("1-30/5 0,12 * jan-mar/2 5-7");
  EXPECT_EQ(a.minutes.count(), 6u);
  for (int m : {1, 6, 11, 16, 21, 26}) EXPECT_TRUE(a.minutes[m]) << m;
  EXPECT_EQ(a.hours.count(), 2u);
  EXPECT_TRUE(a.hours[0] && a.hours[12]);
  EXPECT_EQ(a.days_of_month.count(), 31u);
  EXPECT_FALSE(a.days_of_month[0]);
  EXPECT_EQ(a.months.count(), 2u);
  EXPECT_TRUE(a.months[1] && a.months[3]);
  EXPECT_EQ(a.days_of_week.count(), 3u);  // Fri, Sat, Sun (7 -> 0)
  EXPECT_TRUE(a.days_of_week[0] && a.days_of_week[5] && a.days_of_week[6]);
  EXPECT_TRUE(a.day_of_month_star);
  EXPECT_FALSE(a.day_of_week_star);

  const CronSchedule b = must_parse("  0\t6  *  *  mon,WED,Fri  ");
  EXPECT_EQ(b.days_of_week.to_ulong(), (1u << 1) | (1u << 3) | (1u << 5));
  EXPECT_EQ(b.text, "0\t6  *  *  mon,WED,Fri");
}

struct ErrorCase {
  const char* expr;
  const char* detail_has;
};

TEST(CronTest, ErrorsNameTheFieldAndReason) {
  const ErrorCase kCases[] = {
      {"", "empty"},
      {"   ", "empty"},
      {"* * * *", "expected 5 fields"},
      {"* * * * * *", "expected 5 fields"},
      {"60 * * * *", "minute: 60 is out of range 0-59"},
      {"* 24 * * *", "hour: 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month: 0 is out of range 1-31"},
      {"* * 32 * *", "day-of-month: 32 is out of range 1-31"},
      {"* * * 13 *", "month: 13 is out of range 1-12"},
      {"* * * 0 *", "month: 0 is out of range 1-12"},
      {"* * * * 8", "day-of-week: 8 is out of range 0-7"},
      {"99999999 * * * *", "minute:"},
      {"*/0 * * * *", "minute: step 0"},
      {"*/61 * * * *", "minute: step 61"},
      {"*/x * * * *", "minute: step 'x'"},
      {"5/10 * * * *", "needs '*' or a range before it (write 5-59/10)"},
      {"30-10 * * * *", "minute: range '30-10' runs backwards"},
      {"* * * * sat-sun", "day-of-week: range 'sat-sun' runs backwards"},
      {"1,,2 * * * *", "minute: empty list element"},
      {"1, * * * *", "minute: empty list element"},
      {"-5 * * * *", "minute: a range is missing a number"},
      {"* * * foo *", "month: 'foo' is neither a number 1-12 nor a month name"},
      {"* * * * monday", "day-of-week: 'monday' is neither"},
      {"* mon * * *", "hour: 'mon' is not a number 0-23"},
      {"@reboot", "@reboot"},
      {"@often", "unknown macro '@often'"},
      {"@daily 5", "unknown macro"},
      {"0 0 30 2 *", "day-of-month: '30' never falls in month '2'"},
      {"0 0 31 4,6,9,11 *", "never fires"},
  };
  for (const ErrorCase& c : kCases) {
    SCOPED_TRACE(c.expr);
    auto s = parse_cron(c.expr, "reports.daily");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(s.error().field(), "reports.daily");
    EXPECT_NE(s.error().detail().find(c.detail_has), std::string::npos) << s.error().detail();
  }
}

TEST(CronTest, ImpossibleDayIsFineUnderTheOrRule) {
  // 30 February never comes, but any Monday in February does.
  const CronSchedule s = must_parse("0 0 30 2 mon");
  auto next = next_after(s, utc(2022, 2, 16), "UTC");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(*next, utc(2022, 2, 21));
}

TEST(CronTest, FortyYearsIsTheLongestWait) {
  // A day field in its star form makes both day fields count (cronie): 29 February on a Sunday,
  // which comes in 2280 and then not before 2320.
  const CronSchedule s = must_parse("0 0 29 2 */7");
  auto next = next_after(s, utc(2280, 3, 1), "UTC");
  ASSERT_TRUE(next.ok()) << next.error().detail();
  EXPECT_EQ(*next, utc(2320, 2, 29));
  // Found by the cron fuzz target (each answered "found no firing"): Sundays in March on the 1st,
  // 8th, 15th, 22nd or 29th, ten years on; 29 February on a Sunday, Tuesday, Thursday or
  // Saturday, sixteen years on.
  const CronSchedule march = must_parse("5-20/5 2,15 */7 3 0,0");
  auto then = next_after(march, utc(2027, 3, 12, 6, 57), "UTC");
  ASSERT_TRUE(then.ok()) << then.error().detail();
  EXPECT_EQ(*then, utc(2037, 3, 1, 2, 5));
  const CronSchedule leap = must_parse("1\t0 29 2 */2");
  auto leap_next = next_after(leap, utc(2032, 6, 27, 17, 36), "UTC");
  ASSERT_TRUE(leap_next.ok()) << leap_next.error().detail();
  EXPECT_EQ(*leap_next, utc(2048, 2, 29, 0, 1));
}

TEST(CronTest, UnknownTimeZoneIsAnError) {
  const CronSchedule s = must_parse("0 6 * * *");
  for (const char* tz : {"Mars/Olympus", "", "europe/kyiv", "UTC+3"}) {
    SCOPED_TRACE(tz);
    auto next = next_after(s, utc(2022, 2, 16), tz);
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error().code(), Code::kInvalidArgument);
    Status st = check_time_zone(tz, "reports.tz");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().field(), "reports.tz");
  }
  EXPECT_TRUE(check_time_zone("Europe/Kyiv").ok());
  EXPECT_TRUE(check_time_zone("UTC").ok());
  EXPECT_FALSE(firings_between(s, utc(2022, 2, 1), utc(2022, 2, 2), "Nowhere/Atall", 5).ok());
  EXPECT_FALSE(period_for_run(ReportKind::kDaily, utc(2022, 2, 1), "Nowhere/Atall").ok());
}

struct PeriodCase {
  const char* name;
  ReportKind kind;
  Seconds fired_at;
  const char* tz;
  const char* key;
  Seconds start;
  Seconds end;
};

TEST(ReportPeriodTest, PeriodForRunTable) {
  const PeriodCase kCases[] = {
      // Daily run at 06:00 Kyiv on the 17th covers the 16th, 00:00 EET to 00:00 EET.
      {"daily Kyiv", ReportKind::kDaily, utc(2022, 2, 17, 4), "Europe/Kyiv", "2022-02-16",
       utc(2022, 2, 15, 22), utc(2022, 2, 16, 22)},
      // 23:30 UTC on the 16th is already the 17th in Kyiv.
      {"daily Kyiv, UTC still the day before", ReportKind::kDaily, utc(2022, 2, 16, 23, 30),
       "Europe/Kyiv", "2022-02-16", utc(2022, 2, 15, 22), utc(2022, 2, 16, 22)},
      {"daily UTC", ReportKind::kDaily, utc(2022, 2, 17, 6), "UTC", "2022-02-16", utc(2022, 2, 16),
       utc(2022, 2, 17)},
      {"daily across New Year", ReportKind::kDaily, utc(2023, 1, 1, 4), "Europe/Kyiv", "2022-12-31",
       utc(2022, 12, 30, 22), utc(2022, 12, 31, 22)},
      // The spring-forward day has 23 hours, the fall-back day 25.
      {"23-hour day", ReportKind::kDaily, utc(2022, 3, 28, 3), "Europe/Kyiv", "2022-03-27",
       utc(2022, 3, 26, 22), utc(2022, 3, 27, 21)},
      {"25-hour day", ReportKind::kDaily, utc(2022, 10, 31, 4), "Europe/Kyiv", "2022-10-30",
       utc(2022, 10, 29, 21), utc(2022, 10, 30, 22)},
      // Havana skips midnight: the day starts when the gap ends.
      {"skipped midnight", ReportKind::kDaily, utc(2022, 3, 14, 12), "America/Havana", "2022-03-13",
       utc(2022, 3, 13, 5), utc(2022, 3, 14, 4)},
      {"before skipped midnight", ReportKind::kDaily, utc(2022, 3, 13, 12), "America/Havana",
       "2022-03-12", utc(2022, 3, 12, 5), utc(2022, 3, 13, 5)},
      // Weekly run on Monday 2022-02-21 06:00 Kyiv covers Mon 14 - Sun 20 February.
      {"weekly Kyiv", ReportKind::kWeekly, utc(2022, 2, 21, 4), "Europe/Kyiv", "2022-W07",
       utc(2022, 2, 13, 22), utc(2022, 2, 20, 22)},
      {"weekly fired mid-week", ReportKind::kWeekly, utc(2022, 2, 24, 12), "Europe/Kyiv",
       "2022-W07", utc(2022, 2, 13, 22), utc(2022, 2, 20, 22)},
      // 2021-01-04 is Monday of 2021-W01; the week before is 2020-W53 (2020 has 53 weeks).
      {"week 53", ReportKind::kWeekly, utc(2021, 1, 4, 6), "UTC", "2020-W53", utc(2020, 12, 28),
       utc(2021, 1, 4)},
      // 2020-01-06 is Monday of W02; W01 began on Monday 2019-12-30.
      {"week 1 starting in December", ReportKind::kWeekly, utc(2020, 1, 6, 6), "UTC", "2020-W01",
       utc(2019, 12, 30), utc(2020, 1, 6)},
      // The week with the spring change is an hour short.
      {"week with DST change", ReportKind::kWeekly, utc(2022, 3, 28, 3), "Europe/Kyiv", "2022-W12",
       utc(2022, 3, 20, 22), utc(2022, 3, 27, 21)},
  };
  for (const PeriodCase& c : kCases) {
    SCOPED_TRACE(c.name);
    auto p = period_for_run(c.kind, c.fired_at, c.tz);
    ASSERT_TRUE(p.ok()) << p.error().to_string();
    EXPECT_EQ(p->kind, c.kind);
    EXPECT_EQ(p->key, c.key);
    EXPECT_EQ(p->start, c.start);
    EXPECT_EQ(p->end, c.end);
    // The key names the same period, and the one before ends where this one starts.
    auto again = period_from_key(c.kind, c.key, c.tz);
    ASSERT_TRUE(again.ok()) << again.error().to_string();
    EXPECT_EQ(*again, *p);
    auto prev = previous_period(*p, c.tz);
    ASSERT_TRUE(prev.ok());
    EXPECT_EQ(prev->end, p->start);
    EXPECT_NE(prev->key, p->key);
  }
}

TEST(ReportPeriodTest, ContainingAndPrevious) {
  auto p = period_containing(ReportKind::kWeekly, utc(2021, 1, 1, 12), "UTC");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->key, "2020-W53");
  auto q = period_containing(ReportKind::kWeekly, utc(2026, 12, 31), "UTC");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->key, "2026-W53");

  auto w1 = period_from_key(ReportKind::kWeekly, "2022-W01", "UTC");
  ASSERT_TRUE(w1.ok());
  EXPECT_EQ(w1->start, utc(2022, 1, 3));
  auto w52 = previous_period(*w1, "UTC");
  ASSERT_TRUE(w52.ok());
  EXPECT_EQ(w52->key, "2021-W52");

  auto mar1 = period_from_key(ReportKind::kDaily, "2024-03-01", "Europe/Kyiv");
  ASSERT_TRUE(mar1.ok());
  auto feb29 = previous_period(*mar1, "Europe/Kyiv");
  ASSERT_TRUE(feb29.ok());
  EXPECT_EQ(feb29->key, "2024-02-29");
  EXPECT_EQ(feb29->start, utc(2024, 2, 28, 22));
}

TEST(ReportPeriodTest, BadKeys) {
  const std::pair<ReportKind, const char*> kCases[] = {
      {ReportKind::kDaily, "2022-02-30"}, {ReportKind::kDaily, "2023-02-29"},
      {ReportKind::kDaily, "2022-2-16"},  {ReportKind::kDaily, "2022-02-16T00"},
      {ReportKind::kDaily, "2022-W07"},   {ReportKind::kDaily, ""},
      {ReportKind::kDaily, "2022-13-01"}, {ReportKind::kWeekly, "2021-W53"},
      {ReportKind::kWeekly, "2022-W00"},  {ReportKind::kWeekly, "2022-W54"},
      {ReportKind::kWeekly, "2022-W7"},   {ReportKind::kWeekly, "2022-02-16"},
      {ReportKind::kWeekly, "2022W07"},
  };
  for (const auto& [kind, key] : kCases) {
    SCOPED_TRACE(key);
    auto p = period_from_key(kind, key, "UTC", "period");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.error().field(), "period");
  }
  EXPECT_TRUE(period_from_key(ReportKind::kWeekly, "2020-W53", "UTC").ok());
  EXPECT_TRUE(period_from_key(ReportKind::kDaily, "2024-02-29", "UTC").ok());
}

TEST(ReportPeriodTest, KindNames) {
  EXPECT_EQ(*parse_report_kind("daily"), ReportKind::kDaily);
  EXPECT_EQ(*parse_report_kind("weekly"), ReportKind::kWeekly);
  EXPECT_STREQ(report_kind_name(ReportKind::kWeekly), "weekly");
  auto bad = parse_report_kind("hourly");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().field(), "kind");
}

}  // namespace
}  // namespace cw::reports
