// The glyph range message MapLibre GL loads from a style's `glyphs` URL: protocol buffers
// `glyphs { stacks { name, range, glyphs { id, bitmap, width, height, left, top, advance } } }`
// with the field numbers of fontnik's proto/glyphs.proto ("llmr.glyphs", proto2). Written by
// hand: five varint fields and three length-delimited ones need no protobuf library.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cw::glyphs {

struct Glyph {
  uint32_t id = 0;     // Unicode code point
  std::string bitmap;  // SDF, (width + 6) * (height + 6) bytes; empty for a glyph without ink
  uint32_t width = 0;
  uint32_t height = 0;
  int32_t left = 0;
  int32_t top = 0;  // top edge of the glyph box relative to the font's ascender (fontnik's)
  uint32_t advance = 0;
};

// One fontstack's glyphs for code points `start`..`end`, as the bytes of a `glyphs` message.
// The range is written as "<start>-<end>", the name as given. Glyphs are written in the order
// given; a glyph without a bitmap has no bitmap field.
std::string encode_glyph_range(std::string_view fontstack, uint32_t start, uint32_t end,
                               const std::vector<Glyph>& glyphs);

}  // namespace cw::glyphs
