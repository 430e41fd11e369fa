// Times at the API boundary: RFC 3339 in UTC, microsecond precision (PostgreSQL's).
// Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cw {

using Clock = std::chrono::system_clock;
using TimePoint = std::chrono::sys_time<std::chrono::microseconds>;

// "2022-02-16T06:05:00Z", with ".123456" when there is a fractional second.
std::string format_rfc3339(TimePoint t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)" ('t'/' ' separators too); the result is UTC.
// `field` names the input in the error.
Result<TimePoint> parse_rfc3339(std::string_view s, std::string_view field = "time");

inline TimePoint now_utc() {
  return std::chrono::time_point_cast<std::chrono::microseconds>(Clock::now());
}

}  // namespace cw
