// The map label glyphs built into the program (server/glyphs.hpp, made by tools/glyphs): every
// range decodes as MapLibre's glyph PBF, with a protobuf reader of the test's own; the metrics
// are fontnik's; the bitmaps are signed distance fields of the right letters; fontstack lists
// and ranges are looked up as MapLibre asks for them. And the SDF of outlines whose distances
// are known (tools/glyphs/sdf.hpp).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/glyphs.hpp"
#include "tests/support/fixtures.hpp"
#include "tools/glyphs/sdf.hpp"

namespace cw::server {
namespace {

constexpr int kBuffer = 3;  // pixels of padding around each glyph's box
constexpr int kEdge = 191;  // 255 - 0.25 * 256: the outline, with radius 8 and cutoff 0.25

struct DecodedGlyph {
  uint32_t id = 0;
  std::string bitmap;
  uint32_t width = 0;
  uint32_t height = 0;
  int32_t left = 0;
  int32_t top = 0;
  uint32_t advance = 0;
  std::vector<uint32_t> fields;  // field numbers in the order met
};

struct DecodedRange {
  std::string name;
  std::string range;
  std::vector<DecodedGlyph> glyphs;
};

// Protocol buffers wire format, as far as glyph PBFs use it. Any surprise (an unknown field, a
// wrong wire type, a length past the end) is an error, never skipped.
class WireReader {
 public:
  explicit WireReader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ >= data_.size(); }
  bool ok() const { return ok_; }

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return fail();
      const auto b = static_cast<uint8_t>(data_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail();
  }
  // Reads a key; *field and *wire_type get its parts.
  void key(uint32_t* field, uint32_t* wire_type) {
    const uint64_t k = varint();
    *field = static_cast<uint32_t>(k >> 3);
    *wire_type = static_cast<uint32_t>(k & 7);
  }
  std::string_view bytes() {
    const uint64_t n = varint();
    if (!ok_ || n > data_.size() - pos_) {
      fail();
      return {};
    }
    const std::string_view v = data_.substr(pos_, n);
    pos_ += n;
    return v;
  }
  uint64_t fail() {
    ok_ = false;
    pos_ = data_.size();
    return 0;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::optional<DecodedGlyph> decode_glyph(std::string_view data) {
  DecodedGlyph g;
  WireReader r(data);
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t type = 0;
    r.key(&field, &type);
    g.fields.push_back(field);
    if (field == 2 && type == 2) {
      g.bitmap = std::string(r.bytes());
      continue;
    }
    if (type != 0) return std::nullopt;
    const uint64_t v = r.varint();
    const auto zigzag = static_cast<int32_t>((v >> 1) ^ (~(v & 1) + 1));
    switch (field) {
      case 1:
        g.id = static_cast<uint32_t>(v);
        break;
      case 3:
        g.width = static_cast<uint32_t>(v);
        break;
      case 4:
        g.height = static_cast<uint32_t>(v);
        break;
      case 5:
        g.left = zigzag;
        break;
      case 6:
        g.top = zigzag;
        break;
      case 7:
        g.advance = static_cast<uint32_t>(v);
        break;
      default:
        return std::nullopt;
    }
  }
  if (!r.ok()) return std::nullopt;
  return g;
}

// The one fontstack of a `glyphs` message (field 1 `stacks`: 1 name, 2 range, 3 glyphs).
std::optional<DecodedRange> decode_range(std::string_view data) {
  WireReader outer(data);
  uint32_t field = 0;
  uint32_t type = 0;
  outer.key(&field, &type);
  if (field != 1 || type != 2) return std::nullopt;
  const std::string_view stack = outer.bytes();
  if (!outer.ok() || !outer.done()) return std::nullopt;
  DecodedRange out;
  WireReader r(stack);
  while (!r.done()) {
    r.key(&field, &type);
    if (type != 2) return std::nullopt;
    const std::string_view value = r.bytes();
    if (field == 1) {
      out.name = std::string(value);
    } else if (field == 2) {
      out.range = std::string(value);
    } else if (field == 3) {
      std::optional<DecodedGlyph> g = decode_glyph(value);
      if (!g) return std::nullopt;
      out.glyphs.push_back(std::move(*g));
    } else {
      return std::nullopt;
    }
  }
  if (!r.ok()) return std::nullopt;
  return out;
}

DecodedRange range_of(std::string_view fontstack, int start) {
  const std::optional<std::string_view> pbf = glyph_range(fontstack, start, start + 255);
  EXPECT_TRUE(pbf.has_value()) << fontstack << " " << start;
  if (!pbf) return {};
  std::optional<DecodedRange> decoded = decode_range(*pbf);
  EXPECT_TRUE(decoded.has_value()) << fontstack << " " << start << ": not a glyph PBF";
  return decoded.value_or(DecodedRange{});
}

DecodedGlyph glyph_of(std::string_view fontstack, uint32_t code) {
  const DecodedRange range = range_of(fontstack, static_cast<int>(code / 256 * 256));
  for (const DecodedGlyph& g : range.glyphs) {
    if (g.id == code) return g;
  }
  ADD_FAILURE() << fontstack << " has no glyph U+" << std::hex << code;
  return {};
}

// The glyph's SDF as an 8-bit picture, rows from the top.
cv::Mat picture_of(const DecodedGlyph& g) {
  const int w = static_cast<int>(g.width) + 2 * kBuffer;
  const int h = static_cast<int>(g.height) + 2 * kBuffer;
  cv::Mat m(h, w, CV_8U);
  std::copy(g.bitmap.begin(), g.bitmap.end(), m.data);
  return m;
}

// Connected parts of ink (on or inside the outline, 8-connected) and holes (outside parts that
// do not touch the border of the box, 4-connected: the pair that keeps a digital picture's
// topology), in the SDF enlarged 4 times with linear interpolation, as a GPU samples it: at
// 24 px, sampling only at pixel centres closes the narrow gaps where strokes meet.
struct Topology {
  int ink = 0;
  int holes = 0;
};

Topology topology_of(const cv::Mat& sdf) {
  cv::Mat big;
  cv::resize(sdf, big, {}, 4, 4, cv::INTER_LINEAR);
  cv::Mat ink = big >= kEdge;
  cv::Mat labels;
  Topology t;
  t.ink = cv::connectedComponents(ink, labels, 8) - 1;
  cv::Mat outside = big < kEdge;
  const int parts = cv::connectedComponents(outside, labels, 4);
  std::vector<bool> touches_border(parts, false);
  for (int y = 0; y < labels.rows; ++y) {
    for (int x = 0; x < labels.cols; ++x) {
      if (y == 0 || x == 0 || y == labels.rows - 1 || x == labels.cols - 1) {
        touches_border[labels.at<int>(y, x)] = true;
      }
    }
  }
  for (int label = 1; label < parts; ++label) t.holes += touches_border[label] ? 0 : 1;
  return t;
}

TEST(GlyphsTest, TheNotoSansFontstacksAreBuiltIn) {
  EXPECT_EQ(glyph_fontstacks(),
            (std::vector<std::string>{"Noto Sans Bold", "Noto Sans Italic", "Noto Sans Regular"}));
}

TEST(GlyphsTest, EveryRangeOfEveryFontstackIsAGlyphPbf) {
  for (const std::string& stack : glyph_fontstacks()) {
    SCOPED_TRACE(stack);
    size_t bytes = 0;
    std::map<int, size_t> glyphs_per_range;
    for (int start = 0; start <= 65280; start += 256) {
      const std::string range = std::to_string(start) + "-" + std::to_string(start + 255);
      SCOPED_TRACE(range);
      bytes += glyph_range(stack, start, start + 255).value_or("").size();
      const DecodedRange decoded = range_of(stack, start);
      EXPECT_EQ(decoded.name, stack);
      EXPECT_EQ(decoded.range, range);
      std::optional<uint32_t> previous;
      for (const DecodedGlyph& g : decoded.glyphs) {
        EXPECT_GE(g.id, static_cast<uint32_t>(start));
        EXPECT_LE(g.id, static_cast<uint32_t>(start + 255));
        EXPECT_TRUE(!previous || g.id > *previous) << "ids ascend, once each: " << g.id;
        previous = g.id;
        // fontnik's field order; the bitmap only for a glyph with ink.
        if (g.width > 0 && g.height > 0) {
          EXPECT_EQ(g.fields, (std::vector<uint32_t>{1, 2, 3, 4, 5, 6, 7})) << g.id;
          EXPECT_EQ(g.bitmap.size(), (g.width + 6) * (g.height + 6)) << g.id;
        } else {
          EXPECT_EQ(g.fields, (std::vector<uint32_t>{1, 3, 4, 5, 6, 7})) << g.id;
        }
        // At 24 px the widest is the three-em dash (66 px), the tallest a 33 px editorial mark.
        EXPECT_LE(g.width, 72u) << g.id;
        EXPECT_LE(g.height, 48u) << g.id;
      }
      glyphs_per_range[start] = decoded.glyphs.size();
    }
    // Latin, Latin Extended, Cyrillic and its supplement, general punctuation: a map's labels
    // in the region need all of them.
    EXPECT_GT(glyphs_per_range[0], 180u);
    EXPECT_GT(glyphs_per_range[256], 200u);
    EXPECT_EQ(glyphs_per_range[1024], 256u);
    EXPECT_GT(glyphs_per_range[1280], 40u);
    EXPECT_GT(glyphs_per_range[8192], 60u);
    EXPECT_LT(bytes, 4u << 20) << "a fontstack stays under 4 MB";
    EXPECT_GT(bytes, 500u << 10);
  }
}

TEST(GlyphsTest, LatinAndCyrillicLettersHaveFontniksMetrics) {
  // Whole pixels at 24 px, unhinted, as fontnik's RenderSDF gives them for the same font files
  // (fonts-noto-core 20201225; the same for all 2,840 glyphs of each file). Noto Sans Regular,
  // 1000 units an em: 'A' advances 639 (15.3 px), is 638 wide and 717 high (15 and 17 px); the
  // ascender is 1069 (26 px), so the top of 'A' is 17 - 26 = -9.
  struct Case {
    const char* stack;
    uint32_t code;
    uint32_t width;
    uint32_t height;
    int32_t left;
    int32_t top;
    uint32_t advance;
  };
  const Case cases[] = {
      {"Noto Sans Regular", 'A', 15, 17, 0, -9, 15},
      {"Noto Sans Regular", 0x416, 20, 17, 0, -9, 20},   // Ж
      {"Noto Sans Regular", 0x44f, 11, 13, 0, -13, 13},  // я
      {"Noto Sans Bold", 'A', 17, 17, 0, -9, 16},
      {"Noto Sans Bold", 0x416, 23, 17, 0, -9, 22},
      {"Noto Sans Italic", 'A', 13, 17, -1, -9, 13},
      {"Noto Sans Italic", 0x416, 22, 17, -1, -9, 18},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.stack) + " U+" + std::to_string(c.code));
    const DecodedGlyph g = glyph_of(c.stack, c.code);
    EXPECT_EQ(g.id, c.code);
    EXPECT_EQ(g.width, c.width);
    EXPECT_EQ(g.height, c.height);
    EXPECT_EQ(g.left, c.left);
    EXPECT_EQ(g.top, c.top);
    EXPECT_EQ(g.advance, c.advance);
    EXPECT_EQ(g.bitmap.size(), (c.width + 6) * (c.height + 6));
  }
  EXPECT_NE(glyph_of("Noto Sans Italic", 'A').bitmap, glyph_of("Noto Sans Regular", 'A').bitmap);
}

TEST(GlyphsTest, BitmapsAreSignedDistanceFields) {
  for (const char* stack : {"Noto Sans Regular", "Noto Sans Bold", "Noto Sans Italic"}) {
    for (uint32_t code : {uint32_t{'A'}, uint32_t{'g'}, uint32_t{0x416}, uint32_t{0x44F}}) {
      SCOPED_TRACE(std::string(stack) + " code point " + std::to_string(code));
      const cv::Mat sdf = picture_of(glyph_of(stack, code));
      double highest = 0;
      cv::minMaxLoc(sdf, nullptr, &highest);
      EXPECT_GE(highest, 215) << "the middle of a stroke is well inside (> 0.75 px)";
      // The buffer's corners are outside: their centres are 2.5 px each way from the box, the
      // outline at most 0.5 px beyond it (the box is rounded), so at least 2 * sqrt(2) px away.
      for (const auto& [x, y] :
           {std::pair{0, 0}, std::pair{sdf.cols - 1, 0}, std::pair{0, sdf.rows - 1},
            std::pair{sdf.cols - 1, sdf.rows - 1}}) {
        EXPECT_LE(sdf.at<uint8_t>(y, x), 255 - 64 - 90) << x << "," << y;
      }
      // A distance changes by at most the step between pixel centres: 32 levels a pixel, one
      // more for the truncation; so no jumps, and the edge is crossed through values near it.
      int crossings = 0;
      for (int y = 0; y < sdf.rows; ++y) {
        for (int x = 0; x < sdf.cols; ++x) {
          const int v = sdf.at<uint8_t>(y, x);
          for (const auto& [dx, dy] : {std::pair{1, 0}, std::pair{0, 1}}) {
            if (x + dx >= sdf.cols || y + dy >= sdf.rows) continue;
            const int u = sdf.at<uint8_t>(y + dy, x + dx);
            if (u == 0 || v == 0 || u == 255 || v == 255) continue;  // clamped
            EXPECT_LE(std::abs(u - v), 33) << "at " << x << "," << y;
            if ((u >= kEdge) != (v >= kEdge)) {
              ++crossings;
              EXPECT_GE(std::min(u, v), kEdge - 33);
              EXPECT_LE(std::max(u, v), kEdge + 33);
            }
          }
        }
      }
      EXPECT_GT(crossings, 20);
    }
  }
  // Far outside is 0: the top left of 'A' is 9 px from its left leg.
  EXPECT_EQ(picture_of(glyph_of("Noto Sans Regular", 'A')).at<uint8_t>(0, 0), 0);
}

TEST(GlyphsTest, InkAndHolesAreThoseOfTheLetters) {
  struct Case {
    uint32_t code;
    int ink;
    int holes;
  };
  const Case cases[] = {
      {'A', 1, 1},   {'B', 1, 2}, {'i', 2, 0}, {'8', 1, 2}, {'e', 1, 1}, {0x416, 1, 0},  // Ж
      {0x444, 1, 2},                                                                     // ф
      {0x451, 3, 1},                                                                     // ё
      {0x406, 1, 0},                                                                     // І
      {0x407, 3, 0},                                                                     // Ї
  };
  for (const char* stack : {"Noto Sans Regular", "Noto Sans Bold", "Noto Sans Italic"}) {
    for (const Case& c : cases) {
      const Topology t = topology_of(picture_of(glyph_of(stack, c.code)));
      EXPECT_EQ(t.ink, c.ink) << stack << " U+" << std::hex << c.code;
      EXPECT_EQ(t.holes, c.holes) << stack << " U+" << std::hex << c.code;
    }
  }
}

TEST(GlyphsTest, SpaceHasAnAdvanceAndNoBitmap) {
  for (uint32_t code : {0x20u, 0xa0u, 0x2009u}) {  // space, no-break space, thin space
    const DecodedGlyph space = glyph_of("Noto Sans Regular", code);
    EXPECT_EQ(space.id, code);
    EXPECT_TRUE(space.bitmap.empty());
    EXPECT_EQ(space.width, 0u);
    EXPECT_EQ(space.height, 0u);
    EXPECT_GT(space.advance, 0u);
  }
  EXPECT_EQ(glyph_of("Noto Sans Regular", ' ').advance, 6u);  // 260/1000 em
  EXPECT_EQ(glyph_of("Noto Sans Regular", ' ').top, -26);     // fontnik's: 0 - ascender
}

TEST(GlyphsTest, ARangeWithoutGlyphsStillAnswers) {
  // CJK: no glyph in Noto Sans; MapLibre still gets a valid, empty range, not a 404.
  const DecodedRange cjk = range_of("Noto Sans Regular", 0x4e00);
  EXPECT_EQ(cjk.name, "Noto Sans Regular");
  EXPECT_EQ(cjk.range, "19968-20223");
  EXPECT_TRUE(cjk.glyphs.empty());
}

TEST(GlyphsTest, AFontstackListAnswersWithItsFirstBuiltInStack) {
  const std::string_view regular = glyph_range("Noto Sans Regular", 0, 255).value_or("");
  const std::string_view bold = glyph_range("Noto Sans Bold", 0, 255).value_or("");
  ASSERT_FALSE(regular.empty());
  ASSERT_FALSE(bold.empty());
  ASSERT_NE(regular, bold);
  struct Case {
    std::string_view fontstack;
    std::string_view expected;  // empty: no answer
  };
  const Case cases[] = {
      {"Noto Sans Bold", bold},
      {"Open Sans Semibold,Noto Sans Bold", bold},
      {"Noto Sans Regular,Noto Sans Bold", regular},
      {"Open Sans Bold, Arial Unicode MS Bold , Noto Sans Bold", bold},
      {",Noto Sans Regular", regular},
      {"Noto Sans Regular,", regular},
      {"Open Sans Regular", ""},
      {"noto sans regular", ""},
      {"Noto Sans", ""},
      {"", ""},
      {",", ""},
      {"Noto Sans Regular/0-255.pbf", ""},
  };
  for (const Case& c : cases) {
    const std::optional<std::string_view> got = glyph_range(c.fontstack, 0, 255);
    EXPECT_EQ(got.value_or(""), c.expected) << "'" << c.fontstack << "'";
    EXPECT_EQ(got.has_value(), !c.expected.empty()) << "'" << c.fontstack << "'";
  }
  EXPECT_EQ(range_of("Open Sans Bold,Noto Sans Bold", 1024).name, "Noto Sans Bold");
}

TEST(GlyphsTest, OnlyRangesMapLibreAsksForAnswer) {
  struct Case {
    int start;
    int end;
    bool found;
  };
  const Case cases[] = {
      {0, 255, true},    {65280, 65535, true},  {1024, 1279, true},    {1, 256, false},
      {0, 254, false},   {0, 256, false},       {0, 511, false},       {256, 0, false},
      {-256, -1, false}, {65536, 65791, false}, {65280, 65536, false}, {-1, 254, false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(glyph_range("Noto Sans Regular", c.start, c.end).has_value(), c.found)
        << c.start << "-" << c.end;
  }
}

TEST(GlyphsTest, AGlyphDrawnFromItsSdfLooksLikeTheLetter) {
  // Ж as a picture: the SDF (8 times enlarged) beside the letter it draws (the outline's
  // inside in black). Written as PNG and read back, so that it can be looked at.
  test::TempDir dir;
  const cv::Mat sdf = picture_of(glyph_of("Noto Sans Regular", 0x416));
  cv::Mat big;
  cv::resize(sdf, big, {}, 8, 8, cv::INTER_NEAREST);
  cv::Mat smooth;
  cv::resize(sdf, smooth, {}, 8, 8, cv::INTER_LINEAR);
  cv::Mat letter = smooth < kEdge;  // white paper, black ink; linear SDF gives a smooth edge
  cv::Mat both;
  cv::hconcat(big, letter, both);
  const std::string png = (dir / "zhe.png").string();
  ASSERT_TRUE(cv::imwrite(png, both));
  const cv::Mat back = cv::imread(png, cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(back.size(), both.size());
  EXPECT_EQ(cv::norm(back, both, cv::NORM_INF), 0);
  // Ж is symmetric about its middle stem: the SDF nearly so (the outline is not exactly).
  cv::Mat mirrored;
  cv::flip(sdf, mirrored, 1);
  cv::Mat diff;
  cv::absdiff(sdf, mirrored, diff);
  EXPECT_LT(cv::mean(diff)[0], 24);
}

// A square from (0,0) to (10,10): box 10 x 10 at left 0, top 10; 16 x 16 pixels with the
// buffer, pixel (x, row) centred at (x - 2.5, 12.5 - row).
glyphs::Contour square(double x0, double y0, double x1, double y1, bool counterclockwise = true) {
  glyphs::Contour c = {{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}};
  if (!counterclockwise) std::reverse(c.begin(), c.end());
  return c;
}

int pixel(const glyphs::SdfGlyph& g, int x, int row) {
  return static_cast<uint8_t>(g.pixels.at(static_cast<size_t>(row) * (g.width + 6) + x));
}

TEST(SdfTest, DistancesToASquareAreExact) {
  for (bool ccw : {true, false}) {  // the non-zero rule: either direction fills
    const glyphs::SdfGlyph g = glyphs::render_sdf({square(0, 0, 10, 10, ccw)});
    EXPECT_EQ(g.left, 0);
    EXPECT_EQ(g.top, 10);
    EXPECT_EQ(g.width, 10);
    EXPECT_EQ(g.height, 10);
    ASSERT_EQ(g.pixels.size(), 16u * 16u);
    // 255 - trunc(64 + 32 d), d in pixels, negative inside.
    EXPECT_EQ(pixel(g, 8, 8), 255);        // (5.5, 4.5): 4.5 inside, saturated
    EXPECT_EQ(pixel(g, 3, 8), 255 - 48);   // (0.5, 4.5): 0.5 inside
    EXPECT_EQ(pixel(g, 4, 8), 255 - 16);   // (1.5, 4.5): 1.5 inside
    EXPECT_EQ(pixel(g, 2, 8), 255 - 80);   // (-0.5, 4.5): 0.5 outside
    EXPECT_EQ(pixel(g, 0, 8), 255 - 144);  // (-2.5, 4.5): 2.5 outside
    EXPECT_EQ(pixel(g, 8, 2), 255 - 80);   // (5.5, 10.5): above the top edge
    EXPECT_EQ(pixel(g, 8, 13), 255 - 80);  // (5.5, -0.5): under the bottom edge
    EXPECT_EQ(pixel(g, 0, 0), 255 - 177);  // (-2.5, 12.5): 3.54 from the corner
  }
}

TEST(SdfTest, TheBoxIsTheOutlinesRoundedToWholePixels) {
  const glyphs::SdfGlyph g = glyphs::render_sdf({square(-1.4, 0.6, 7.5, 12.49)});
  EXPECT_EQ(g.left, -1);
  EXPECT_EQ(g.top, 12);
  EXPECT_EQ(g.width, 9);    // round(7.5) - round(-1.4) = 8 + 1
  EXPECT_EQ(g.height, 11);  // 12 - 1
  EXPECT_EQ(g.pixels.size(), 15u * 17u);
}

TEST(SdfTest, ContoursFillByTheNonZeroRule) {
  // Two squares wound the same way overlap and fill their union; a square wound the other way
  // inside a third is a hole.
  const glyphs::SdfGlyph both = glyphs::render_sdf({square(0, 0, 10, 10), square(5, 0, 15, 10)});
  EXPECT_EQ(both.width, 15);
  EXPECT_GE(pixel(both, 3 + 7, 3 + 5), 191);   // (7.5, 4.5): in both
  EXPECT_GE(pixel(both, 3 + 12, 3 + 5), 191);  // (12.5, 4.5): in the second only
  const glyphs::SdfGlyph ring =
      glyphs::render_sdf({square(0, 0, 10, 10), square(3, 3, 7, 7, false)});
  EXPECT_LT(pixel(ring, 3 + 5, 3 + 4), 191);  // (5.5, 5.5): in the hole, 1.5 from its edge
  EXPECT_EQ(pixel(ring, 3 + 5, 3 + 4), 255 - 112);
  EXPECT_GE(pixel(ring, 3 + 1, 3 + 4), 191);  // (1.5, 5.5): in the ring
}

TEST(SdfTest, NothingToDrawGivesNoBitmap) {
  EXPECT_TRUE(glyphs::render_sdf({}).pixels.empty());
  const glyphs::SdfGlyph flat = glyphs::render_sdf({square(0, 0, 10, 0.3)});  // 0 px high
  EXPECT_TRUE(flat.pixels.empty());
  EXPECT_EQ(flat.width, 0);
  EXPECT_EQ(flat.top, 0);
  const glyphs::SdfGlyph huge = glyphs::render_sdf({square(0, 0, 300, 10)});
  EXPECT_TRUE(huge.pixels.empty());
}

}  // namespace
}  // namespace cw::server
