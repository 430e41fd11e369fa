// Map label glyphs built into the program: for each fontstack, the 256 glyph ranges MapLibre GL
// asks a style's `glyphs` URL for (".../{fontstack}/{range}.pbf", range "0-255" to
// "65280-65535"), made at build time from Debian's Noto Sans by tools/glyphs (cw_glyphs) and
// embedded with cw_embed. Every range of a known fontstack exists; those the font has no glyph
// in hold only the stack's name and range. Thread-safe; the views point at the program's
// read-only data and never dangle.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cw::server {

// The glyph range PBF of code points start..end for `fontstack`, a comma-separated list of
// fontstack names as MapLibre sends it (already percent-decoded, e.g.
// "Noto Sans Bold,Noto Sans Regular"): the first name, trimmed of spaces, that is built in
// answers. nullopt when none is, or when the range is not one MapLibre asks for (start a
// multiple of 256, end = start + 255, end at most 65535). The PBF names the stack that answered.
std::optional<std::string_view> glyph_range(std::string_view fontstack, int start, int end);

// The names of the fontstacks built in, sorted ("Noto Sans Bold", "Noto Sans Italic",
// "Noto Sans Regular").
std::vector<std::string> glyph_fontstacks();

}  // namespace cw::server
