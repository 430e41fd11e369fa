// What the fuzz targets require of text a parser accepted: PostgreSQL stores it (valid UTF-8,
// no NUL byte) and nlohmann_json's strict dump() prints it.
#pragma once

#include <string_view>

#include "common/utf8.hpp"

namespace cw::fuzz {

inline bool storable_text(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '\0') return false;
    const size_t n = utf8_sequence_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace cw::fuzz
