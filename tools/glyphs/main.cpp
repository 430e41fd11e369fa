// cw_glyphs: turns a font file into the glyph ranges MapLibre GL asks a style's `glyphs` URL
// for, one file per 256 code points, 0-255.pbf to 65280-65535.pbf, every range written (those
// the font has no glyph in carry only the stack's name and range, so a client never gets a 404
// for a range of a known fontstack). Glyphs are drawn as fontnik draws them: 24 px, unhinted
// outlines, SDF with a 3 px buffer, radius 8, cutoff 0.25; metrics in whole pixels.
//   cw_glyphs --font FILE --fontstack NAME --out DIR
#include <ft2build.h>
#include FT_FREETYPE_H
#include FT_OUTLINE_H

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/glyphs/glyph_pbf.hpp"
#include "tools/glyphs/sdf.hpp"

namespace cw::glyphs {
namespace {

constexpr int kPixelSize = 24;
constexpr uint32_t kRangeSize = 256;
constexpr uint32_t kLastCodePoint = 0xffff;  // MapLibre asks for ranges up to 65280-65535
// Curves are cut into segments no further than this from the curve (pixels), so the distances
// are those to the curve itself for all that an 8-bit SDF can tell.
constexpr double kFlatness = 1.0 / 64;

struct Options {
  std::string font;
  std::string fontstack;
  std::string out;
};

bool parse_options(int argc, char** argv, Options* options) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string_view flag = argv[i];
    if (flag == "--font") {
      options->font = argv[i + 1];
    } else if (flag == "--fontstack") {
      options->fontstack = argv[i + 1];
    } else if (flag == "--out") {
      options->out = argv[i + 1];
    } else {
      return false;
    }
  }
  return argc % 2 == 1 && !options->font.empty() && !options->fontstack.empty() &&
         !options->out.empty();
}

// Collects an outline as polylines, cutting Bézier curves into segments by Wang's formula:
// n = ceil(sqrt(d (d - 1) / 8 * M / flatness)), M the largest second difference of the control
// points, keeps every segment within `kFlatness` of the curve.
struct Flattener {
  std::vector<Contour> contours;

  Point last() const { return contours.back().back(); }

  // A quadratic (N = 3) or cubic (N = 4) Bézier curve; p[0] is the current point.
  template <size_t N>
  void curve(const std::array<Point, N>& p) {
    constexpr double kDegree = N - 1;
    double m = 0;
    for (size_t i = 0; i + 2 < N; ++i) {
      m = std::max(m, std::hypot(p[i].x - 2 * p[i + 1].x + p[i + 2].x,
                                 p[i].y - 2 * p[i + 1].y + p[i + 2].y));
    }
    const int n = std::clamp(
        static_cast<int>(std::ceil(std::sqrt(kDegree * (kDegree - 1) / 8 * m / kFlatness))), 1,
        256);
    for (int k = 1; k <= n; ++k) {
      const double t = static_cast<double>(k) / n;
      const double u = 1 - t;
      if constexpr (N == 3) {
        const double b0 = u * u, b1 = 2 * u * t, b2 = t * t;
        contours.back().push_back(
            {b0 * p[0].x + b1 * p[1].x + b2 * p[2].x, b0 * p[0].y + b1 * p[1].y + b2 * p[2].y});
      } else {
        const double b0 = u * u * u, b1 = 3 * u * u * t, b2 = 3 * u * t * t, b3 = t * t * t;
        contours.back().push_back({b0 * p[0].x + b1 * p[1].x + b2 * p[2].x + b3 * p[3].x,
                                   b0 * p[0].y + b1 * p[1].y + b2 * p[2].y + b3 * p[3].y});
      }
    }
  }

  static Point point(const FT_Vector* v) { return {v->x / 64.0, v->y / 64.0}; }
  static Flattener* self(void* user) { return static_cast<Flattener*>(user); }

  static int move_to(const FT_Vector* to, void* user) {
    self(user)->contours.push_back({point(to)});
    return 0;
  }
  static int line_to(const FT_Vector* to, void* user) {
    self(user)->contours.back().push_back(point(to));
    return 0;
  }
  static int conic_to(const FT_Vector* control, const FT_Vector* to, void* user) {
    Flattener* f = self(user);
    f->curve(std::array{f->last(), point(control), point(to)});
    return 0;
  }
  static int cubic_to(const FT_Vector* c1, const FT_Vector* c2, const FT_Vector* to, void* user) {
    Flattener* f = self(user);
    f->curve(std::array{f->last(), point(c1), point(c2), point(to)});
    return 0;
  }
};

// The outline of the glyph loaded in `slot`, or nothing for a glyph without one.
std::vector<Contour> outline_of(FT_GlyphSlot slot) {
  if (slot->format != FT_GLYPH_FORMAT_OUTLINE) return {};
  const FT_Outline_Funcs funcs = {
      &Flattener::move_to, &Flattener::line_to, &Flattener::conic_to, &Flattener::cubic_to, 0, 0};
  Flattener flattener;
  if (FT_Outline_Decompose(&slot->outline, &funcs, &flattener) != 0) return {};
  return std::move(flattener.contours);
}

class FreeTypeFace {
 public:
  ~FreeTypeFace() {
    if (face_ != nullptr) FT_Done_Face(face_);
    if (library_ != nullptr) FT_Done_FreeType(library_);
  }
  // Opens face 0 of `path` with its Unicode character map at `pixels` per em; false on error.
  bool open(const std::string& path, int pixels) {
    return FT_Init_FreeType(&library_) == 0 &&
           FT_New_Face(library_, path.c_str(), 0, &face_) == 0 &&
           FT_Select_Charmap(face_, FT_ENCODING_UNICODE) == 0 &&
           FT_Set_Char_Size(face_, 0, static_cast<FT_F26Dot6>(pixels) * 64, 0, 0) == 0;
  }
  FT_Face get() const { return face_; }

 private:
  FT_Library library_ = nullptr;
  FT_Face face_ = nullptr;
};

int run(const Options& options) {
  FreeTypeFace face;
  if (!face.open(options.font, kPixelSize)) {
    std::fprintf(stderr, "cw_glyphs: cannot open %s as a font with a Unicode character map\n",
                 options.font.c_str());
    return 1;
  }
  FT_Face ft = face.get();
  const auto ascender = static_cast<int32_t>(ft->size->metrics.ascender / 64);
  const std::filesystem::path dir(options.out);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "cw_glyphs: cannot create %s: %s\n", options.out.c_str(),
                 ec.message().c_str());
    return 1;
  }

  size_t glyph_count = 0;
  size_t ranges_with_glyphs = 0;
  size_t total_bytes = 0;
  for (uint32_t start = 0; start < kLastCodePoint; start += kRangeSize) {
    const uint32_t end = start + kRangeSize - 1;
    std::vector<Glyph> glyphs;
    for (uint32_t code = start; code <= end; ++code) {
      const FT_UInt index = FT_Get_Char_Index(ft, code);
      if (index == 0) continue;
      if (FT_Load_Glyph(ft, index, FT_LOAD_NO_HINTING) != 0) {
        std::fprintf(stderr, "cw_glyphs: %s: U+%04X does not load; left out\n",
                     options.font.c_str(), code);
        continue;
      }
      SdfGlyph sdf = render_sdf(outline_of(ft->glyph));
      Glyph g;
      g.id = code;
      g.bitmap = std::move(sdf.pixels);
      g.width = static_cast<uint32_t>(sdf.width);
      g.height = static_cast<uint32_t>(sdf.height);
      g.left = sdf.left;
      // fontnik's convention, which MapLibre's layout expects: top from the ascender (so a
      // glyph without ink gets -ascender).
      g.top = sdf.top - ascender;
      g.advance = static_cast<uint32_t>(std::max<FT_Pos>(0, ft->glyph->metrics.horiAdvance / 64));
      glyphs.push_back(std::move(g));
    }
    const std::string pbf = encode_glyph_range(options.fontstack, start, end, glyphs);
    const std::filesystem::path file =
        dir / (std::to_string(start) + "-" + std::to_string(end) + ".pbf");
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(pbf.data(), static_cast<std::streamsize>(pbf.size()));
    out.close();
    if (!out) {
      std::fprintf(stderr, "cw_glyphs: cannot write %s\n", file.c_str());
      return 1;
    }
    glyph_count += glyphs.size();
    ranges_with_glyphs += glyphs.empty() ? 0 : 1;
    total_bytes += pbf.size();
  }
  std::printf("cw_glyphs: %s: %zu glyphs in %zu of 256 ranges, %zu bytes\n",
              options.fontstack.c_str(), glyph_count, ranges_with_glyphs, total_bytes);
  return 0;
}

}  // namespace
}  // namespace cw::glyphs

int main(int argc, char** argv) {
  cw::glyphs::Options options;
  if (!cw::glyphs::parse_options(argc, argv, &options)) {
    std::fprintf(stderr, "usage: cw_glyphs --font FILE --fontstack NAME --out DIR\n");
    return 2;
  }
  return cw::glyphs::run(options);
}
