// Unit tests for JfifPicture: frames built in memory with known colours in each of the YCbCr
// flavours video uses (BT.601 and BT.709 weights, limited and full range) must come out as the
// same colours in JFIF's full-range BT.601, turned the right way, and written as JPEGs that decode
// to them. The reference conversions here are written from the standards' equations in floating
// point, independently of the fixed-point code under test.
#include "pipeline/jfif.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

extern "C" {
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include "tests/support/fixtures.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;

struct Rgb {
  double r, g, b;
};

struct Flavour {
  const char* name;
  AVPixelFormat format;
  AVColorSpace space;
  AVColorRange range;
  double kr, kb;  // luma weights of the matrix
  bool full;      // full-range samples
};

constexpr Flavour kFlavours[] = {
    {"bt601 limited", AV_PIX_FMT_YUV420P, AVCOL_SPC_SMPTE170M, AVCOL_RANGE_MPEG, 0.299, 0.114,
     false},
    {"unspecified (taken as bt601)", AV_PIX_FMT_YUV420P, AVCOL_SPC_UNSPECIFIED,
     AVCOL_RANGE_UNSPECIFIED, 0.299, 0.114, false},
    {"bt709 limited", AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_MPEG, 0.2126, 0.0722, false},
    {"bt709 full", AV_PIX_FMT_YUV420P, AVCOL_SPC_BT709, AVCOL_RANGE_JPEG, 0.2126, 0.0722, true},
    {"yuvj420p (bt601 full)", AV_PIX_FMT_YUVJ420P, AVCOL_SPC_UNSPECIFIED, AVCOL_RANGE_JPEG, 0.299,
     0.114, true},
};

// R, G, B in 0…255 to 8-bit Y, Cb, Cr of a flavour.
std::array<int, 3> encode(const Rgb& c, const Flavour& f) {
  const double r = c.r / 255;
  const double g = c.g / 255;
  const double b = c.b / 255;
  const double y = f.kr * r + (1 - f.kr - f.kb) * g + f.kb * b;
  const double cb = (b - y) / (2 * (1 - f.kb));
  const double cr = (r - y) / (2 * (1 - f.kr));
  const auto q = [](double v) { return static_cast<int>(std::clamp(std::lround(v), 0L, 255L)); };
  if (f.full) return {q(255 * y), q(128 + 255 * cb), q(128 + 255 * cr)};
  return {q(16 + 219 * y), q(128 + 224 * cb), q(128 + 224 * cr)};
}

// JFIF's Y, Cb, Cr (full-range BT.601) back to R, G, B.
Rgb decode_jfif(double y, double cb, double cr) {
  return {y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
          y + 1.772 * (cb - 128)};
}

// A w × h frame of one flavour, filled by `colour(x, y)` in 2 × 2 blocks (4:2:0 shares chroma).
template <typename Colour>
FramePtr make_frame(int w, int h, const Flavour& f, Colour colour) {
  FramePtr frame(av_frame_alloc());
  frame->format = f.format;
  frame->width = w;
  frame->height = h;
  frame->colorspace = f.space;
  frame->color_range = f.range;
  EXPECT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
  for (int cy = 0; cy < (h + 1) / 2; ++cy) {
    for (int cx = 0; cx < (w + 1) / 2; ++cx) {
      const std::array<int, 3> ycc = encode(colour(2 * cx, 2 * cy), f);
      frame->data[1][cy * frame->linesize[1] + cx] = static_cast<uint8_t>(ycc[1]);
      frame->data[2][cy * frame->linesize[2] + cx] = static_cast<uint8_t>(ycc[2]);
      for (int y = 2 * cy; y < std::min(2 * cy + 2, h); ++y) {
        for (int x = 2 * cx; x < std::min(2 * cx + 2, w); ++x) {
          frame->data[0][y * frame->linesize[0] + x] = static_cast<uint8_t>(ycc[0]);
        }
      }
    }
  }
  return frame;
}

const Rgb kColours[] = {{255, 0, 0},     {0, 255, 0},    {0, 0, 255},     {255, 255, 0},
                        {0, 255, 255},   {255, 0, 255},  {255, 255, 255}, {0, 0, 0},
                        {128, 128, 128}, {200, 120, 40}, {30, 90, 60},    {90, 60, 200}};

TEST(JfifPictureTest, EveryFlavourGivesTheSameColours) {
  for (const Flavour& f : kFlavours) {
    for (const Rgb& c : kColours) {
      SCOPED_TRACE(std::string(f.name) + " colour " + std::to_string(c.r) + "," +
                   std::to_string(c.g) + "," + std::to_string(c.b));
      const FramePtr frame = make_frame(8, 8, f, [&](int, int) { return c; });
      JfifPicture p;
      ASSERT_TRUE(p.assign(frame.get(), 0));
      const Rgb out =
          decode_jfif(p.y().at<uint8_t>(0, 0), p.cb().at<uint8_t>(0, 0), p.cr().at<uint8_t>(0, 0));
      // 8-bit limited range has about 6/7 of the levels: a few levels of rounding either way.
      EXPECT_NEAR(out.r, c.r, 4.0);
      EXPECT_NEAR(out.g, c.g, 4.0);
      EXPECT_NEAR(out.b, c.b, 4.0);
    }
  }
}

// Before, every frame was taken for BT.601: pure red coded with BT.709 came out as R ≈ 233.
TEST(JfifPictureTest, Bt709IsNotReadAsBt601) {
  const Flavour& bt709 = kFlavours[2];
  const FramePtr frame = make_frame(8, 8, bt709, [](int, int) { return Rgb{255, 0, 0}; });
  JfifPicture p;
  ASSERT_TRUE(p.assign(frame.get(), 0));
  const Rgb out =
      decode_jfif(p.y().at<uint8_t>(0, 0), p.cb().at<uint8_t>(0, 0), p.cr().at<uint8_t>(0, 0));
  EXPECT_GT(out.r, 250);
  frame->colorspace = AVCOL_SPC_SMPTE170M;  // the same samples, mislabelled
  ASSERT_TRUE(p.assign(frame.get(), 0));
  const Rgb wrong =
      decode_jfif(p.y().at<uint8_t>(0, 0), p.cb().at<uint8_t>(0, 0), p.cr().at<uint8_t>(0, 0));
  EXPECT_LT(wrong.r, 240);
}

// A white 2 × 2 block in the top-left corner of an odd-sized frame; where it is once upright.
TEST(JfifPictureTest, TurnsUpright) {
  const int w = 33;
  const int h = 17;
  const Flavour& f = kFlavours[0];
  const FramePtr frame = make_frame(w, h, f, [](int x, int y) {
    return x < 2 && y < 2 ? Rgb{255, 255, 255} : Rgb{0, 0, 0};
  });
  struct Case {
    int rotation;
    int width, height;
    int x, y;  // of the white block's top-left pixel, upright
  };
  // 33 × 17 turned a quarter clockwise is 17 × 33: the top-left corner goes top-right.
  const Case cases[] = {{0, w, h, 0, 0},
                        {45, w, h, 0, 0},  // not a quarter turn: left as it is
                        {90, h, w, h - 2, 0},
                        {180, w, h, w - 2, h - 2},
                        {270, h, w, 0, w - 2}};
  for (const Case& c : cases) {
    SCOPED_TRACE("rotation " + std::to_string(c.rotation));
    JfifPicture p;
    ASSERT_TRUE(p.assign(frame.get(), c.rotation));
    EXPECT_EQ(p.width(), c.width);
    EXPECT_EQ(p.height(), c.height);
    EXPECT_EQ(p.cb().cols, (c.width + 1) / 2);
    EXPECT_EQ(p.cb().rows, (c.height + 1) / 2);
    EXPECT_EQ(cv::countNonZero(p.y() > 128), 4);
    EXPECT_GT(p.y().at<uint8_t>(c.y, c.x), 250);
    EXPECT_GT(p.y().at<uint8_t>(c.y + 1, c.x + 1), 250);
  }
}

// Odd sizes (padding to whole blocks) decode to the frame's colours, each quadrant its own.
TEST(JfifPictureTest, WritesAJpegThatDecodesToTheFrame) {
  test::TempDir dir;
  const Rgb quadrants[] = {{220, 40, 40}, {40, 200, 60}, {50, 60, 210}, {230, 220, 60}};
  for (const Flavour& f : {kFlavours[0], kFlavours[2], kFlavours[4]}) {
    SCOPED_TRACE(f.name);
    const int w = 101;
    const int h = 75;
    const FramePtr frame = make_frame(w, h, f, [&](int x, int y) {
      return quadrants[(x < w / 2 ? 0 : 1) + (y < h / 2 ? 0 : 2)];
    });
    JfifPicture p;
    ASSERT_TRUE(p.assign(frame.get(), 0));
    const std::string path = (dir / "out.jpg").string();
    ASSERT_TRUE(p.write(path, 90).ok());
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    ASSERT_EQ(bgr.cols, w);
    ASSERT_EQ(bgr.rows, h);
    for (int q = 0; q < 4; ++q) {
      // The middle of each quadrant, away from the edges JPEG blurs.
      const int x = (q % 2 == 0 ? w / 4 : 3 * w / 4) - 4;
      const int y = (q < 2 ? h / 4 : 3 * h / 4) - 4;
      const cv::Scalar mean = cv::mean(bgr(cv::Rect(x, y, 8, 8)));
      EXPECT_NEAR(mean[2], quadrants[q].r, 6.0) << "quadrant " << q;
      EXPECT_NEAR(mean[1], quadrants[q].g, 6.0) << "quadrant " << q;
      EXPECT_NEAR(mean[0], quadrants[q].b, 6.0) << "quadrant " << q;
    }
    cv::Mat thumb;
    p.bgr(cv::Size(40, 30), thumb);
    ASSERT_EQ(thumb.size(), cv::Size(40, 30));
    const cv::Vec3b top_left = thumb.at<cv::Vec3b>(5, 5);
    EXPECT_NEAR(top_left[2], quadrants[0].r, 6.0);
    EXPECT_NEAR(top_left[1], quadrants[0].g, 6.0);
    EXPECT_NEAR(top_left[0], quadrants[0].b, 6.0);
  }
}

TEST(JfifPictureTest, OtherFormatsAreLeftToTheCaller) {
  FramePtr frame(av_frame_alloc());
  frame->format = AV_PIX_FMT_YUV422P;
  frame->width = 16;
  frame->height = 16;
  ASSERT_EQ(av_frame_get_buffer(frame.get(), 0), 0);
  JfifPicture p;
  EXPECT_FALSE(p.assign(frame.get(), 0));
  EXPECT_TRUE(p.empty());
  EXPECT_FALSE(p.assign(nullptr, 0));
  EXPECT_FALSE(p.write("/nonexistent", 90).ok());
}

TEST(JfifPictureTest, UnwritablePathIsAnError) {
  const FramePtr frame = make_frame(16, 16, kFlavours[0], [](int, int) { return Rgb{1, 2, 3}; });
  JfifPicture p;
  ASSERT_TRUE(p.assign(frame.get(), 0));
  const Status s = p.write("/nonexistent-dir/frame.jpg", 90);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().detail().find("frame.jpg"), std::string::npos) << s.error().to_string();
  EXPECT_EQ(s.error().detail().find("nonexistent-dir"), std::string::npos);
}

}  // namespace
}  // namespace cw::pipeline
