// tus 1.0.0 header parsing and formatting: Upload-Length, Upload-Offset, Upload-Metadata
// (values decoded by common/base64.hpp's strict decoder), Tus-Resumable and the HTTP date for
// Upload-Expires.
#include "server/tus.hpp"

#include <array>
#include <cstdio>

#include "common/base64.hpp"

namespace cw::server {
namespace {

Result<uint64_t> parse_decimal(std::string_view value, const char* field) {
  if (value.empty()) return Error(Code::kInvalidArgument, "value is empty", field);
  uint64_t n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return Error(Code::kInvalidArgument, "value must be a non-negative decimal integer", field);
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) {
      return Error(Code::kInvalidArgument, "value is too large", field);
    }
    n = n * 10 + digit;
  }
  return n;
}

bool is_key_char(char c) { return c > 0x20 && c < 0x7f && c != ','; }

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<uint64_t> parse_upload_length(std::string_view value) {
  return parse_decimal(value, "Upload-Length");
}

Result<uint64_t> parse_upload_offset(std::string_view value) {
  return parse_decimal(value, "Upload-Offset");
}

Result<std::map<std::string, std::string>> parse_upload_metadata(std::string_view value) {
  constexpr const char* kField = "Upload-Metadata";
  std::map<std::string, std::string> out;
  if (trim_blanks(value).empty()) return out;
  while (true) {
    const size_t comma = value.find(',');
    const std::string_view pair = trim_blanks(value.substr(0, comma));
    if (pair.empty()) return Error(Code::kInvalidArgument, "empty key-value pair", kField);
    const size_t space = pair.find_first_of(" \t");
    const std::string_view key = pair.substr(0, space);
    for (char c : key) {
      // The key is not echoed: it may hold anything.
      if (!is_key_char(c)) {
        return Error(Code::kInvalidArgument, "key contains a character that is not allowed",
                     kField);
      }
    }
    const std::string field = std::string(kField) + "." + std::string(key);
    const std::string_view encoded =
        space == std::string_view::npos ? std::string_view() : trim_blanks(pair.substr(space));
    std::string decoded;
    if (!base64_decode_strict(encoded, decoded)) {
      return Error(Code::kInvalidArgument,
                   "value of key '" + std::string(key) + "' is not valid base64", field);
    }
    if (!out.emplace(key, std::move(decoded)).second) {
      return Error(Code::kInvalidArgument, "key '" + std::string(key) + "' is repeated", field);
    }
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

Status check_tus_resumable(std::string_view value) {
  if (value == kTusVersion) return Status::Ok();
  return Error(Code::kPreconditionFailed, "Tus-Resumable must be " + std::string(kTusVersion),
               "Tus-Resumable");
}

std::string format_http_date(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto secs = floor<seconds>(t);
  const auto day = floor<days>(secs);
  const year_month_day ymd{day};
  const hh_mm_ss<seconds> hms{secs - day};
  const weekday wd{day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02ld:%02ld:%02ld GMT", kDays[wd.c_encoding()],
                static_cast<unsigned>(ymd.day()), kMonths[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<long>(hms.hours().count()),
                static_cast<long>(hms.minutes().count()), static_cast<long>(hms.seconds().count()));
  return buf;
}

}  // namespace cw::server
