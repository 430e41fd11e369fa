// glyph_range and glyph_fontstacks over the embedded list kGlyphRanges, whose names are
// "<fontstack>/<start>-<end>.pbf" (tools/glyphs/CMakeLists.txt).
#include "server/glyphs.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "common/embedded.hpp"

namespace cw::embedded {
extern const std::vector<EmbeddedFile> kGlyphRanges;
}

namespace cw::server {
namespace {

constexpr int kRangeSize = 256;
constexpr int kLastCodePoint = 0xffff;

const std::map<std::string, std::string_view, std::less<>>& ranges_by_name() {
  static const auto* const kRanges = [] {
    auto* ranges = new std::map<std::string, std::string_view, std::less<>>;
    for (const EmbeddedFile& f : embedded::kGlyphRanges) ranges->emplace(f.name, f.contents);
    return ranges;
  }();
  return *kRanges;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<std::string_view> glyph_range(std::string_view fontstack, int start, int end) {
  if (start < 0 || start % kRangeSize != 0 || end != start + kRangeSize - 1 ||
      end > kLastCodePoint) {
    return std::nullopt;
  }
  // Appended piece by piece: GCC 12 warns wrongly (-Wrestrict) on "/" + std::to_string(...).
  std::string file = "/";
  file.append(std::to_string(start)).append("-").append(std::to_string(end)).append(".pbf");
  const auto& ranges = ranges_by_name();
  while (true) {
    const size_t comma = fontstack.find(',');
    const std::string_view name = trim_spaces(fontstack.substr(0, comma));
    if (!name.empty()) {
      const auto it = ranges.find(std::string(name).append(file));
      if (it != ranges.end()) return it->second;
    }
    if (comma == std::string_view::npos) return std::nullopt;
    fontstack.remove_prefix(comma + 1);
  }
}

std::vector<std::string> glyph_fontstacks() {
  std::set<std::string> names;
  for (const auto& [name, contents] : ranges_by_name())
    names.insert(name.substr(0, name.find('/')));
  return {names.begin(), names.end()};
}

}  // namespace cw::server
