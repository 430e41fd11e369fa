// ISO 6709 Annex H point strings: a hand-written scanner over the string, because the grammar is
// positional (the count of integer digits says whether a part is degrees, degrees+minutes or
// degrees+minutes+seconds) and a regular expression would still leave every check to do.
#include "geo/iso6709.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>

namespace cw::geo {
namespace {

// Real strings are under 60 characters; the cap keeps error work and number sizes bounded.
constexpr std::size_t kMaxLength = 128;
// Metres: above any aircraft, below any trench; far beyond what a phone writes.
constexpr double kMaxAltitude = 100000.0;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_crs_char(char c) {
  return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c == ':' ||
         c == '.' || c == '-';
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == '\0';
}

// Names a character without echoing control bytes back to a client.
std::string describe_char(char c) {
  auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x21 && byte < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02X", byte);
  return buf;
}

// One signed number as written: the digits before and after the decimal point.
struct Number {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
};

class Parser {
 public:
  Parser(std::string_view text, std::string_view field) : text_(text), field_(field) {}

  Result<GeoPoint> parse() {
    if (text_.empty()) return fail("ISO 6709 location is empty");
    if (text_.size() > kMaxLength) {
      return fail("ISO 6709 location is longer than " + std::to_string(kMaxLength) + " characters");
    }
    GeoPoint point;

    auto lat_number = read_number("latitude");
    if (!lat_number.ok()) return lat_number.error();
    auto lat = angle(*lat_number, "latitude", 2, kMaxLatitude);
    if (!lat.ok()) return lat.error();
    point.lat = *lat;

    if (at_end()) return fail("longitude is missing after the latitude");
    auto lon_number = read_number("longitude");
    if (!lon_number.ok()) return lon_number.error();
    auto lon = angle(*lon_number, "longitude", 3, kMaxLongitude);
    if (!lon.ok()) return lon.error();
    point.lon = *lon;

    if (!at_end() && (peek() == '+' || peek() == '-')) {
      auto alt_number = read_number("altitude");
      if (!alt_number.ok()) return alt_number.error();
      auto alt = to_double(alt_number->int_digits, alt_number->frac_digits, "altitude");
      if (!alt.ok()) return alt.error();
      // Beyond this it is no camera's position, and format_iso6709 of it would not parse back
      // (a 60-digit altitude prints longer than kMaxLength).
      if (*alt > kMaxAltitude) {
        return fail(fmt::format("altitude must be between -{0} and {0} metres", kMaxAltitude));
      }
      point.alt = alt_number->negative ? -*alt : *alt;
    }

    if (text_.substr(pos_).starts_with("CRS")) {
      pos_ += 3;
      std::size_t start = pos_;
      while (!at_end() && is_crs_char(peek())) ++pos_;
      if (pos_ == start) return fail("CRS identifier is missing after 'CRS'");
    }

    if (!at_end() && peek() == '/') {
      ++pos_;
      if (!at_end()) {
        return fail("unexpected characters after the closing '/' (only one point is allowed)");
      }
    }
    if (!at_end()) {
      return fail("unexpected character " + describe_char(peek()) + " at position " +
                  std::to_string(pos_ + 1));
    }
    return point;
  }

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  Error fail(std::string detail) const {
    return Error(Code::kUnprocessable, std::move(detail), std::string(field_));
  }

  // Reads sign, integer digits and an optional fraction; digit counts are checked by the caller.
  Result<Number> read_number(const std::string& what) {
    Number n;
    if (at_end() || (peek() != '+' && peek() != '-')) {
      std::string found = at_end() ? "the end" : describe_char(peek());
      return fail(what + " must start with '+' or '-', found " + found + " at position " +
                  std::to_string(pos_ + 1));
    }
    n.negative = peek() == '-';
    ++pos_;
    std::size_t start = pos_;
    while (!at_end() && is_digit(peek())) ++pos_;
    n.int_digits = text_.substr(start, pos_ - start);
    if (n.int_digits.empty()) return fail(what + " has no digits after its sign");
    if (!at_end() && peek() == '.') {
      ++pos_;
      start = pos_;
      while (!at_end() && is_digit(peek())) ++pos_;
      n.frac_digits = text_.substr(start, pos_ - start);
      if (n.frac_digits.empty()) return fail(what + " has a decimal point with no digits after it");
    }
    return n;
  }

  Result<double> to_double(std::string_view int_digits, std::string_view frac_digits,
                           const std::string& what) const {
    std::string s(int_digits);
    if (!frac_digits.empty()) {
      s += '.';
      s += frac_digits;
    }
    double value = 0.0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(value)) {
      return fail(what + " is not a representable number");
    }
    return value;
  }

  // Turns ±D…[MM[SS]][.f] into signed decimal degrees; `degree_digits` is 2 for latitude and 3
  // for longitude, and the total integer digit count tells which of the three forms was used.
  Result<double> angle(const Number& n, const std::string& what, std::size_t degree_digits,
                       double limit) const {
    const std::size_t count = n.int_digits.size();
    if (count != degree_digits && count != degree_digits + 2 && count != degree_digits + 4) {
      const std::string d(degree_digits, 'D');
      return fail(what + " must have " + std::to_string(degree_digits) + ", " +
                  std::to_string(degree_digits + 2) + " or " + std::to_string(degree_digits + 4) +
                  " digits before the decimal point (±" + d + ", ±" + d + "MM or ±" + d +
                  "MMSS), found " + std::to_string(count));
    }
    // Only the last part may carry the fraction, so the earlier parts are whole numbers.
    auto whole = [&](std::size_t from, std::size_t len) {
      int v = 0;
      for (char c : n.int_digits.substr(from, len)) v = v * 10 + (c - '0');
      return static_cast<double>(v);
    };
    double degrees = 0.0;
    if (count == degree_digits) {
      auto d = to_double(n.int_digits, n.frac_digits, what);
      if (!d.ok()) return d.error();
      degrees = *d;
    } else if (count == degree_digits + 2) {
      auto minutes = to_double(n.int_digits.substr(degree_digits), n.frac_digits, what);
      if (!minutes.ok()) return minutes.error();
      if (*minutes >= 60.0) return fail(what + " minutes must be below 60");
      degrees = whole(0, degree_digits) + *minutes / 60.0;
    } else {
      const double minutes = whole(degree_digits, 2);
      if (minutes >= 60.0) return fail(what + " minutes must be below 60");
      auto seconds = to_double(n.int_digits.substr(degree_digits + 2), n.frac_digits, what);
      if (!seconds.ok()) return seconds.error();
      if (*seconds >= 60.0) return fail(what + " seconds must be below 60");
      degrees = whole(0, degree_digits) + minutes / 60.0 + *seconds / 3600.0;
    }
    if (degrees > limit) {
      const std::string l = std::to_string(static_cast<int>(limit));
      return fail(what + " must be between -" + l + " and " + l + " degrees");
    }
    // -00.0 means the equator; a negative zero would print as "-0" downstream.
    if (degrees == 0.0) return 0.0;
    return n.negative ? -degrees : degrees;
  }

  std::string_view text_;
  std::string_view field_;
  std::size_t pos_ = 0;
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Rounds to the printed precision first so that a value just below zero prints as +0.
double round_to(double v, double scale) {
  if (!(std::fabs(v) < 1e15)) return v;  // no fraction left to round, and v * scale could overflow
  double r = std::round(v * scale) / scale;
  return r == 0.0 ? 0.0 : r;
}

// Sized by a first call so that no altitude, however large, is cut short.
std::string print_double(const char* format, double v) {
  const int n = std::snprintf(nullptr, 0, format, v);
  if (n <= 0) return {};
  std::string s(static_cast<std::size_t>(n), '\0');
  std::snprintf(s.data(), s.size() + 1, format, v);
  return s;
}

}  // namespace

Result<GeoPoint> parse_iso6709(std::string_view text, std::string_view field) {
  return Parser(trim(text), field).parse();
}

std::string format_iso6709(const GeoPoint& point) {
  std::string out = print_double("%+010.6f", round_to(point.lat, 1e6));
  out += print_double("%+011.6f", round_to(point.lon, 1e6));
  if (point.alt) out += print_double("%+.3f", round_to(*point.alt, 1e3));
  out += '/';
  return out;
}

}  // namespace cw::geo
