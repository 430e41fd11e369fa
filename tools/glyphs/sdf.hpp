// Signed distance fields of glyph outlines, in the convention of MapLibre's glyph ranges (the
// one fontnik and sdf-glyph-foundry set): the glyph box is the outline's bounding box rounded to
// whole pixels, padded by `buffer` pixels on each side; each pixel holds
// 255 - clamp(d * 256 / radius + cutoff * 256, 0, 255), truncated to an integer, where d is the
// Euclidean distance in pixels from the pixel's centre to the outline, negative inside. With
// radius 8 and cutoff 0.25 the outline sits at 191, 2 px inside is 255 and 6 px outside is 0.
// Inside is the non-zero winding rule, as TrueType and PostScript fill glyphs.
#pragma once

#include <string>
#include <vector>

namespace cw::glyphs {

struct Point {
  double x = 0;
  double y = 0;
};

// A closed polyline in pixels, y up from the baseline. The closing segment from the last point
// back to the first is implied.
using Contour = std::vector<Point>;

struct SdfParams {
  int buffer = 3;        // pixels of padding around the glyph box
  double radius = 8;     // distance in pixels that spans the 256 levels
  double cutoff = 0.25;  // share of the 256 levels left for distances inside the outline
};

struct SdfGlyph {
  int left = 0;   // x of the glyph box's left edge, from the origin
  int top = 0;    // y of its top edge, above the baseline
  int width = 0;  // size of the glyph box, without the buffer
  int height = 0;
  // (width + 2 buffer) * (height + 2 buffer) bytes, rows from the top; empty (and every field
  // above 0) when the outline is empty, or its box is 0 wide or high, or over kMaxGlyphSize.
  std::string pixels;
};

// Larger glyph boxes are dropped, as fontnik does: at 24 px no real glyph comes near.
inline constexpr int kMaxGlyphSize = 256;

// The SDF of the outline `contours`. Pure function; exact to the polylines given (the distance
// to each segment, not a distance transform of a rasterised image).
SdfGlyph render_sdf(const std::vector<Contour>& contours, const SdfParams& params = {});

}  // namespace cw::glyphs
