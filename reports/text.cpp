// Escaping, UTF-8 repair, base64 (OpenSSL's EVP_EncodeBlock) and number formats.
#include "reports/text.hpp"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <cmath>

#include "common/utf8.hpp"

namespace cw::reports {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

void append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (std::string_view p : parts) out.append(p);
}

std::string utf8_repair(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8_sequence_length(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    std::string_view seq = s.substr(i, n);
    i += n;
    if (n == 1) {
      char c = seq[0];
      switch (c) {
        case '&':
          out += "&amp;";
          break;
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
        case '\r':
          out += c;
          break;
        default:
          if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
          break;
      }
      continue;
    }
    // U+FFFE and U+FFFF are not XML characters.
    if (seq == "\xEF\xBF\xBE" || seq == "\xEF\xBF\xBF") continue;
    out.append(seq);
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  // EVP_EncodeBlock takes an int length: encode in pieces that are a multiple of 3 bytes.
  constexpr size_t kPiece = 3 * 1024 * 1024;
  out.reserve((bytes.size() + 2) / 3 * 4 + 1);
  for (size_t pos = 0; pos < bytes.size(); pos += kPiece) {
    std::string_view part = bytes.substr(pos, kPiece);
    size_t old = out.size();
    out.resize(old + (part.size() + 2) / 3 * 4 + 1);  // + the NUL EVP_EncodeBlock writes
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data() + old),
                            reinterpret_cast<const unsigned char*>(part.data()),
                            static_cast<int>(part.size()));
    out.resize(old + static_cast<size_t>(n));
  }
  return out;
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
