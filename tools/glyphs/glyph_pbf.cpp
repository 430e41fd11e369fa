// encode_glyph_range: protocol buffers wire format, written field by field.
#include "tools/glyphs/glyph_pbf.hpp"

namespace cw::glyphs {
namespace {

// Wire types.
constexpr uint32_t kVarint = 0;
constexpr uint32_t kLengthDelimited = 2;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_key(std::string& out, uint32_t field, uint32_t wire_type) {
  put_varint(out, (field << 3) | wire_type);
}

void put_uint32(std::string& out, uint32_t field, uint32_t v) {
  put_key(out, field, kVarint);
  put_varint(out, v);
}

// sint32: ZigZag, so that small negative numbers stay one byte.
void put_sint32(std::string& out, uint32_t field, int32_t v) {
  put_key(out, field, kVarint);
  put_varint(out, (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
}

void put_bytes(std::string& out, uint32_t field, std::string_view bytes) {
  put_key(out, field, kLengthDelimited);
  put_varint(out, bytes.size());
  out.append(bytes);
}

}  // namespace

std::string encode_glyph_range(std::string_view fontstack, uint32_t start, uint32_t end,
                               const std::vector<Glyph>& glyphs) {
  std::string stack;
  put_bytes(stack, 1, fontstack);                                          // name
  put_bytes(stack, 2, std::to_string(start) + "-" + std::to_string(end));  // range
  std::string glyph;
  for (const Glyph& g : glyphs) {
    glyph.clear();
    put_uint32(glyph, 1, g.id);
    if (!g.bitmap.empty()) put_bytes(glyph, 2, g.bitmap);
    put_uint32(glyph, 3, g.width);
    put_uint32(glyph, 4, g.height);
    put_sint32(glyph, 5, g.left);
    put_sint32(glyph, 6, g.top);
    put_uint32(glyph, 7, g.advance);
    put_bytes(stack, 3, glyph);  // glyphs
  }
  std::string message;
  put_bytes(message, 1, stack);  // stacks
  return message;
}

}  // namespace cw::glyphs
