// UTF-8 validation shared by everything that turns outside text (FFmpeg tags, job reasons,
// request fields) into text PostgreSQL and JSON accept. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cw {

// Length in bytes of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid). REQUIRES: i < s.size().
size_t utf8_sequence_length(std::string_view s, size_t i);

// True when `s` is valid UTF-8 without a NUL byte: text a PostgreSQL text column stores (it
// refuses both) and nlohmann_json's strict dump() prints.
bool is_storable_text(std::string_view s);

// Valid UTF-8 with every invalid sequence replaced by U+FFFD.
std::string utf8_repair(std::string_view s);

}  // namespace cw
