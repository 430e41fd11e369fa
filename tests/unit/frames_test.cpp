// Unit tests for extract_frames: videos made by ffmpeg in a temp dir (a missing ffmpeg fails the
// test: scripts/setup installs it), OpenCV's sample footage from Debian's opencv-doc, and hostile
// input — truncated and random files — which must give errors or warnings, never crashes.
//
// Rotation: `-c copy -metadata:s:v:0 rotate=270` gives a 90° clockwise display matrix on FFmpeg
// 5.1 (see probe_test.cpp); a white square drawn top-left must end up top-right once upright.
#include "pipeline/frames.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kVtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";

using test::ffmpeg;
using test::read_file;
using test::TempDir;
using test::write_file;

const std::string kX264 = " -c:v libx264 -preset veryfast -pix_fmt yuv420p ";

// Every listed file exists and decodes; thumbnails are 320 px on the long side.
void expect_files(const std::string& out, const FramesResult& r) {
  for (const FrameInfo& f : r.frames) {
    SCOPED_TRACE(f.file);
    const cv::Mat frame = cv::imread((fs::path(out) / f.file).string());
    ASSERT_FALSE(frame.empty());
    EXPECT_EQ(frame.cols, f.width);
    EXPECT_EQ(frame.rows, f.height);
    const cv::Mat thumb = cv::imread((fs::path(out) / f.thumb).string());
    ASSERT_FALSE(thumb.empty());
    EXPECT_EQ(std::max(thumb.cols, thumb.rows), 320);
  }
  EXPECT_EQ(r.contact_sheet, "contact_sheet.jpg");
  EXPECT_FALSE(cv::imread((fs::path(out) / r.contact_sheet).string()).empty());
}

int count_kind(const FramesResult& r, FrameKind kind) {
  return static_cast<int>(std::count_if(r.frames.begin(), r.frames.end(),
                                        [&](const FrameInfo& f) { return f.kind == kind; }));
}

TEST(FramesTest, KeyframesOfATwoSecondGop) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(
      dir, "-f lavfi -i testsrc2=size=640x360:rate=25:duration=10 -g 50 -r 25" + kX264, "gop.mp4"));
  const std::string out = dir.out("gop");
  const auto r = extract_frames((dir / "gop.mp4").string(), out);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  std::vector<int64_t> keyframes;
  for (const FrameInfo& f : r->frames) {
    if (f.kind == FrameKind::kKeyframe) keyframes.push_back(f.pts_ms);
  }
  ASSERT_EQ(keyframes.size(), 5u) << to_json(*r).dump();
  for (size_t i = 0; i < keyframes.size(); ++i) {
    EXPECT_NEAR(keyframes[i], static_cast<int64_t>(i) * 2000, 40) << i;
  }
  // Samples at most one a second, in time order, indices in order.
  EXPECT_LE(r->frames.size(), 11u);
  for (size_t i = 0; i < r->frames.size(); ++i) {
    EXPECT_EQ(r->frames[i].index, static_cast<int>(i));
    EXPECT_EQ(r->frames[i].file,
              "frame_" + std::string(i < 10 ? "00" : "0") + std::to_string(i) + ".jpg");
    EXPECT_EQ(r->frames[i].width, 640);
    EXPECT_EQ(r->frames[i].height, 360);
    EXPECT_GT(r->frames[i].sharpness, 0);
    if (i > 0) {
      EXPECT_GE(r->frames[i].pts_ms - r->frames[i - 1].pts_ms, 900);
    }
  }
  EXPECT_GE(count_kind(*r, FrameKind::kSample), 3);
  expect_files(out, *r);

  const nlohmann::json j = to_json(*r);
  ASSERT_EQ(j["frames"].size(), r->frames.size());
  const auto& first = j["frames"][0];
  for (const char* key :
       {"index", "pts_ms", "kind", "width", "height", "sharpness", "file", "thumb"}) {
    EXPECT_TRUE(first.contains(key)) << key;
  }
  EXPECT_EQ(first["kind"], "keyframe");
  EXPECT_EQ(j["contact_sheet"], "contact_sheet.jpg");
}

TEST(FramesTest, HardCutIsASceneFrame) {
  TempDir dir;
  // A long GOP and no scenecut keyframes, so the cut is inside a GOP.
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc2=size=320x240:rate=25:duration=5 "
                     "-f lavfi -i smptebars=size=320x240:rate=25:duration=5 "
                     "-filter_complex '[0:v][1:v]concat=n=2:v=1[v]' -map '[v]' -g 250 "
                     "-x264-params scenecut=0" +
                         kX264,
                     "cut.mp4"));
  const std::string out = dir.out("cut");
  const auto r = extract_frames((dir / "cut.mp4").string(), out);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(count_kind(*r, FrameKind::kKeyframe), 1) << to_json(*r).dump();
  std::vector<int64_t> scenes;
  for (const FrameInfo& f : r->frames) {
    if (f.kind == FrameKind::kScene) scenes.push_back(f.pts_ms);
  }
  ASSERT_EQ(scenes.size(), 1u) << to_json(*r).dump();
  EXPECT_GE(scenes[0], 5000);
  EXPECT_LE(scenes[0], 5200);
  expect_files(out, *r);
}

TEST(FramesTest, MaxFramesIsRespectedAndSpread) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir, "-f lavfi -i testsrc2=size=320x240:rate=25:duration=10 -g 25" + kX264,
                     "clip.mp4"));
  for (int max_frames : {1, 4, 7}) {
    SCOPED_TRACE(max_frames);
    FramesOptions opt;
    opt.max_frames = max_frames;
    const std::string out = dir.out("max" + std::to_string(max_frames));
    const auto r = extract_frames((dir / "clip.mp4").string(), out, opt);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_LE(r->frames.size(), static_cast<size_t>(max_frames));
    EXPECT_GE(r->frames.size(), static_cast<size_t>(std::max(1, max_frames - 1)));
    // One frame a slot of 10 s / max_frames (within a slot the sharper keyframe wins).
    const int64_t slot = 10000 / max_frames;
    for (size_t i = 0; i < r->frames.size(); ++i) {
      EXPECT_EQ(r->frames[i].pts_ms / slot, static_cast<int64_t>(i)) << to_json(*r).dump();
    }
    if (max_frames > 1) {
      EXPECT_GE(r->frames.back().pts_ms, 10000 - 10000 / max_frames - 100);
    }
    expect_files(out, *r);
  }
}

TEST(FramesTest, PortraitClipIsSavedUpright) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i color=black:size=320x240:rate=25:duration=2,"
                     "drawbox=x=0:y=0:w=40:h=40:color=white:t=fill" +
                         kX264,
                     "marker.mp4"));
  ASSERT_TRUE(
      ffmpeg(dir, "-i '" + (dir / "marker.mp4").string() + "' -c copy -metadata:s:v:0 rotate=270",
             "portrait.mp4"));
  const std::string out = dir.out("portrait");
  const auto r = extract_frames((dir / "portrait.mp4").string(), out);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->rotation_deg, 90);
  ASSERT_FALSE(r->frames.empty());
  for (const FrameInfo& f : r->frames) {
    EXPECT_EQ(f.width, 240);
    EXPECT_EQ(f.height, 320);
  }
  expect_files(out, *r);
  // Turned a quarter clockwise, the top-left square is now top-right.
  const cv::Mat grey =
      cv::imread((fs::path(out) / r->frames[0].file).string(), cv::IMREAD_GRAYSCALE);
  ASSERT_EQ(grey.cols, 240);
  const auto corner = [&](int x, int y) { return cv::mean(grey(cv::Rect(x, y, 16, 16)))[0]; };
  EXPECT_GT(corner(240 - 24, 8), 200);  // top-right
  EXPECT_LT(corner(8, 8), 50);          // top-left
  EXPECT_LT(corner(8, 320 - 24), 50);   // bottom-left
  EXPECT_LT(corner(240 - 24, 320 - 24), 50);
}

TEST(FramesTest, BlurredVideoIsLessSharp) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc2=size=320x240:rate=25:duration=3" + kX264, "sharp.mp4"));
  ASSERT_TRUE(ffmpeg(dir, "-f lavfi -i testsrc2=size=320x240:rate=25:duration=3,boxblur=6" + kX264,
                     "blurred.mp4"));
  const auto sharp = extract_frames((dir / "sharp.mp4").string(), dir.out("sharp"));
  const auto blurred = extract_frames((dir / "blurred.mp4").string(), dir.out("blurred"));
  ASSERT_TRUE(sharp.ok()) << sharp.error().to_string();
  ASSERT_TRUE(blurred.ok()) << blurred.error().to_string();
  ASSERT_FALSE(sharp->frames.empty());
  ASSERT_FALSE(blurred->frames.empty());
  EXPECT_LT(blurred->frames[0].sharpness * 4, sharp->frames[0].sharpness);
}

TEST(FramesTest, StillVideoGivesFewFrames) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i smptebars=size=320x240:rate=25:duration=10" + kX264, "still.mp4"));
  const auto r = extract_frames((dir / "still.mp4").string(), dir.out("still"));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->frames.size(), 1u);
  EXPECT_LE(r->frames.size(), 2u) << to_json(*r).dump();
}

TEST(FramesTest, RealFootage) {
  ASSERT_TRUE(fs::exists(kVtest)) << kVtest << " is missing: install opencv-doc (scripts/setup)";
  TempDir dir;
  const std::string out = dir.out("vtest");
  const auto r = extract_frames(kVtest.string(), out);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_GE(r->frames.size(), 3u) << to_json(*r).dump();
  EXPECT_LE(r->frames.size(), 64u);
  expect_files(out, *r);
}

TEST(FramesTest, HostileFilesNeverCrash) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(
      dir, "-f lavfi -i testsrc2=size=320x240:rate=25:duration=6 -g 25" + kX264 + "-f mpegts",
      "clip.ts"));
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc2=size=320x240:rate=25:duration=6" + kX264, "clip.mp4"));

  // Missing file, random bytes.
  const auto missing = extract_frames((dir / "nope.mp4").string(), dir.out("a"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  std::mt19937 rng(7);
  std::string noise(200000, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  std::ofstream(dir / "noise.mp4", std::ios::binary) << noise;
  const auto random = extract_frames((dir / "noise.mp4").string(), dir.out("b"));
  ASSERT_FALSE(random.ok());
  EXPECT_EQ(random.error().code(), Code::kUnprocessable);

  // A transport stream cut in half keeps the first half; cut, corrupted and cut-short files of
  // both containers give a result or an error, never a crash.
  const std::string ts = read_file(dir / "clip.ts");
  std::ofstream(dir / "half.ts", std::ios::binary) << ts.substr(0, ts.size() / 2);
  const auto half = extract_frames((dir / "half.ts").string(), dir.out("c"));
  ASSERT_TRUE(half.ok()) << half.error().to_string();
  EXPECT_GE(half->frames.size(), 1u);
  EXPECT_LT(half->frames.back().pts_ms, 4500);

  int case_no = 0;
  for (const char* name : {"clip.ts", "clip.mp4"}) {
    const std::string bytes = read_file(dir / name);
    for (double keep : {0.02, 0.3, 0.7, 0.97}) {
      std::string cut = bytes.substr(0, static_cast<size_t>(bytes.size() * keep));
      const std::string file = "cut" + std::to_string(case_no) + "_" + name;
      std::ofstream(dir / file, std::ios::binary) << cut;
      const auto r =
          extract_frames((dir / file).string(), dir.out("o" + std::to_string(case_no++)));
      if (r.ok()) {
        EXPECT_FALSE(r->frames.empty());
      } else {
        EXPECT_EQ(r.error().code(), Code::kUnprocessable) << r.error().to_string();
      }

      for (size_t i = cut.size() / 3; i < cut.size(); i += 997) cut[i] = static_cast<char>(rng());
      const std::string bad = "bad" + std::to_string(case_no) + "_" + name;
      std::ofstream(dir / bad, std::ios::binary) << cut;
      const auto c = extract_frames((dir / bad).string(), dir.out("o" + std::to_string(case_no++)));
      if (c.ok()) {
        EXPECT_FALSE(c->frames.empty());
      } else {
        EXPECT_EQ(c.error().code(), Code::kUnprocessable) << c.error().to_string();
      }
    }
  }
}

}  // namespace
}  // namespace cw::pipeline
