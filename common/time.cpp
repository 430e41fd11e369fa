// RFC 3339 formatting and strict parsing with <chrono> calendar types.
#include "common/time.hpp"

#include <fmt/format.h>

namespace cw {

namespace {

bool read_digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::string format_rfc3339(TimePoint t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  auto tod = t - days;
  auto h = duration_cast<hours>(tod);
  auto m = duration_cast<minutes>(tod - h);
  auto s = duration_cast<seconds>(tod - h - m);
  auto us = (tod - h - m - s).count();
  std::string out =
      fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), h.count(), m.count(), s.count());
  if (us != 0) {
    std::string frac = fmt::format("{:06d}", us);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  out += "Z";
  return out;
}

Result<TimePoint> parse_rfc3339(std::string_view s, std::string_view field) {
  using namespace std::chrono;
  auto bad = [&](const char* why) {
    return Error(
        Code::kUnprocessable,
        fmt::format("{}: expected an RFC 3339 time such as 2022-02-16T06:05:00Z ({})", field, why),
        std::string(field));
  };
  int y, mo, d, h, mi, sec;
  if (s.size() < 20 || !read_digits(s, 0, 4, &y) || s[4] != '-' || !read_digits(s, 5, 2, &mo) ||
      s[7] != '-' || !read_digits(s, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_digits(s, 11, 2, &h) || s[13] != ':' || !read_digits(s, 14, 2, &mi) || s[16] != ':' ||
      !read_digits(s, 17, 2, &sec)) {
    return bad("malformed");
  }
  year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok()) return bad("no such date");
  if (h > 23 || mi > 59 || sec > 60) return bad("time of day out of range");
  if (sec == 60) sec = 59;  // leap second: clamp, as PostgreSQL would reject it
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (scale > 0) micros += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return bad("empty fraction");
  }
  int offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
      return bad("bad UTC offset");
    }
    offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return bad("missing time zone (Z or ±HH:MM)");
  }
  if (pos != s.size()) return bad("trailing characters");
  TimePoint t = sys_days{ymd} + hours{h} + minutes{mi} + seconds{sec} + microseconds{micros} -
                minutes{offset_min};
  return t;
}

}  // namespace cw
