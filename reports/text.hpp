// Text helpers the renderers share: the number formats and colours of the reports. Escaping
// (common/xml.hpp), UTF-8 repair (common/utf8.hpp) and base64 (common/base64.hpp) are in
// common/, as the server uses them too. Pure functions, thread-safe.
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
