// XML escaping over the UTF-8 sequences of common/utf8.hpp.
#include "common/xml.hpp"

#include "common/utf8.hpp"

namespace cw {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace

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

}  // namespace cw
