// Number formats and colours of the reports (escaping, UTF-8 repair and base64 are in common/).
#include "reports/text.hpp"

#include <fmt/format.h>

#include <cmath>

namespace cw::reports {

void append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) out.append(p);
}

std::string format_fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  std::string s = fmt::format("{:.{}f}", v, decimals);
  if (s[0] == '-' && s.find_first_not_of("-0.") == std::string::npos) s.erase(0, 1);
  return s;
}

std::string format_signed(int64_t v) {
  return v > 0 ? fmt::format("+{}", v) : fmt::format("{}", v);
}

std::string format_signed_fixed(double v, int decimals) {
  std::string s = format_fixed(v, decimals);
  if (s[0] == '-' || s.find_first_not_of("0.") == std::string::npos || s == "n/a") return s;
  std::string out = "+";
  out += s;
  return out;
}

std::string format_percent(std::optional<double> pct, std::string_view none) {
  if (!pct || !std::isfinite(*pct)) return std::string(none);
  std::string s = format_signed_fixed(*pct, 1);
  s += '%';
  return s;
}

double round_to(double x, int decimals) {
  if (!std::isfinite(x)) return x;
  double f = std::pow(10.0, decimals);
  return std::round(x * f) / f;
}

std::string_view movement_colour(std::string_view movement) {
  // Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
  if (movement == "toward") return "#d55e00";
  if (movement == "away") return "#0072b2";
  if (movement == "parallel") return "#e69f00";
  if (movement == "stationary") return "#009e73";
  return "#8c8c8c";
}

std::string format_utc_minute(TimePoint t) {
  using namespace std::chrono;
  auto days = floor<std::chrono::days>(t);
  year_month_day ymd{days};
  hh_mm_ss hms{floor<minutes>(t - days)};
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d} UTC", int(ymd.year()),
                     unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                     hms.minutes().count());
}

}  // namespace cw::reports
