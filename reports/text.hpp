// Text helpers the renderers share: escaping for XML/HTML, UTF-8 repair, base64 for data: URIs,
// and the number formats of the reports. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/time.hpp"

namespace cw::reports {

// Appends the parts in order (instead of `"a" + s + "b"`, which GCC 12 mis-warns about at -O3).
void append(std::string& out, std::initializer_list<std::string_view> parts);

// Valid UTF-8 with every invalid sequence replaced by U+FFFD.
std::string utf8_repair(std::string_view s);

// Text safe inside XML/HTML element content and double- or single-quoted attribute values:
// & < > " ' as entities, invalid UTF-8 as U+FFFD, and the characters XML 1.0 forbids (C0
// controls other than tab/LF/CR, U+FFFE, U+FFFF) dropped.
std::string xml_escape(std::string_view s);

// RFC 4648 base64 (standard alphabet, padded).
std::string base64_encode(std::string_view bytes);

// Fixed-point with `decimals` digits; "-0.0" comes out as "0.0".
std::string format_fixed(double v, int decimals);
// "+1.5", "-2.0", "0.0" (a plus sign on positive values).
std::string format_signed_fixed(double v, int decimals);
// "+12", "-3", "0".
std::string format_signed(int64_t v);
// "+12.5%", "-3.0%", or `none` when there is no percentage.
std::string format_percent(std::optional<double> pct, std::string_view none);
// x rounded to `decimals` places (for numbers put into JSON).
double round_to(double x, int decimals);

// The colour of a movement (unknown values get the "unknown" grey).
std::string_view movement_colour(std::string_view movement);

// "2022-02-16 06:05 UTC".
std::string format_utc_minute(TimePoint t);

}  // namespace cw::reports
