// Unit tests for extract_frames: videos made by ffmpeg in a temp dir (a missing ffmpeg fails the
// test: scripts/setup installs it), OpenCV's sample footage from Debian's opencv-doc, and hostile
// input — truncated and random files — which must give errors or warnings, never crashes.
//
// Rotation: `-c copy -metadata:s:v:0 rotate=270` gives a 90° clockwise display matrix on FFmpeg
// 5.1 (see probe_test.cpp); a white square drawn top-left must end up top-right once upright.
//
// The video signature (FramesSignatureTest) is checked on copies of 20 s of vtest.avi made once
// for the suite: padded with black bars, re-encoded at a low bit rate, turned; PDQ's matching
// rule (hamming ≤ 31) must hold at the same instants for most seconds, and must not hold for
// other footage. Every copy is encoded without B-frames, so all of them decode the same instants.
#include "pipeline/frames.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>
#include "pipeline/pdq.hpp"
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

// prefix + n. (Not `"o" + std::to_string(n)`: GCC 12 at -O3 reports a false -Wrestrict there.)
std::string numbered(const std::string& prefix, int n) {
  std::string s = prefix;
  s += std::to_string(n);
  return s;
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
    const std::string out = dir.out(numbered("max", max_frames));
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

// A clip coded with BT.709's weights (as HD phone video is) keeps its colours: pure red, which
// used to come out as R ≈ 230 when every frame was taken for BT.601.
TEST(FramesTest, Bt709ClipKeepsItsColours) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i color=c=red:size=320x240:rate=25:duration=1 -vf "
                     "format=rgb24,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p "
                     "-colorspace bt709 -color_primaries bt709 -color_trc bt709" +
                         kX264,
                     "red.mp4"));
  const std::string out = dir.out("red");
  const auto r = extract_frames((dir / "red.mp4").string(), out);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_FALSE(r->frames.empty());
  for (const std::string& file : {r->frames[0].file, r->frames[0].thumb}) {
    const cv::Mat bgr = cv::imread((fs::path(out) / file).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty()) << file;
    const cv::Scalar mean = cv::mean(bgr(cv::Rect(bgr.cols / 4, bgr.rows / 4, 16, 16)));
    EXPECT_GT(mean[2], 245) << file;
    EXPECT_LT(mean[1], 10) << file;
    EXPECT_LT(mean[0], 10) << file;
  }
}

// Formats JfifPicture leaves to the BGR path keep their colours too: MJPEG (full-range 4:2:2)
// and H.264 4:4:4 tagged BT.709. A deep red, not a primary: read with BT.601's weights its red
// and green move by 16–20 levels, a range taken wrongly moves them more, where pure red would
// only clip.
TEST(FramesTest, OtherPixelFormatsKeepTheirColours) {
  TempDir dir;
  const std::string red = "-f lavfi -i color=c=0xDC1E1E:size=320x240:rate=25:duration=1 ";
  ASSERT_TRUE(ffmpeg(dir, red + "-c:v mjpeg -pix_fmt yuvj422p -q:v 2", "red.avi"));
  ASSERT_TRUE(ffmpeg(dir,
                     red +
                         "-vf format=rgb24,scale=out_color_matrix=bt709:out_range=tv,"
                         "format=yuv444p -colorspace bt709 -color_primaries bt709 -color_trc bt709 "
                         "-c:v libx264 -preset veryfast -pix_fmt yuv444p",
                     "red444.mp4"));
  for (const char* name : {"red.avi", "red444.mp4"}) {
    SCOPED_TRACE(name);
    const std::string out = dir.out(std::string(name) + "-frames");
    const auto r = extract_frames((dir / name).string(), out);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    ASSERT_FALSE(r->frames.empty());
    const cv::Mat bgr = cv::imread((fs::path(out) / r->frames[0].file).string(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty());
    const cv::Scalar mean = cv::mean(bgr(cv::Rect(bgr.cols / 4, bgr.rows / 4, 16, 16)));
    EXPECT_NEAR(mean[2], 0xDC, 8);
    EXPECT_NEAR(mean[1], 0x1E, 8);
    EXPECT_NEAR(mean[0], 0x1E, 8);
  }
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
      const std::string file = numbered("cut", case_no) + "_" + name;
      std::ofstream(dir / file, std::ios::binary) << cut;
      const auto r = extract_frames((dir / file).string(), dir.out(numbered("o", case_no++)));
      if (r.ok()) {
        EXPECT_FALSE(r->frames.empty());
      } else {
        EXPECT_EQ(r.error().code(), Code::kUnprocessable) << r.error().to_string();
      }

      for (size_t i = cut.size() / 3; i < cut.size(); i += 997) cut[i] = static_cast<char>(rng());
      const std::string bad = numbered("bad", case_no) + "_" + name;
      std::ofstream(dir / bad, std::ios::binary) << cut;
      const auto c = extract_frames((dir / bad).string(), dir.out(numbered("o", case_no++)));
      if (c.ok()) {
        EXPECT_FALSE(c->frames.empty());
      } else {
        EXPECT_EQ(c.error().code(), Code::kUnprocessable) << c.error().to_string();
      }
    }
  }
}

// Decoding pieces of the timeline on several threads gives what decoding in order gives, file
// for file, byte for byte; a file it cannot take (cut short) is decoded in order.
TEST(FramesTest, ParallelDecodingGivesTheSameResult) {
  TempDir dir;
  const std::string vtest = "-i '" + kVtest.string() + "' -t 24 -an";
  const std::pair<const char*, std::string> clips[] = {
      {"gop.mp4", "-f lavfi -i testsrc2=size=640x360:rate=25:duration=14 -g 50" + kX264},
      // A cut inside a GOP, B-frames that refer across GOPs (open GOP), Matroska's index, and
      // scene-cut keyframes between the regular ones (vtest).
      {"cut.mp4",
       "-f lavfi -i testsrc2=size=320x240:rate=25:duration=7 "
       "-f lavfi -i smptebars=size=320x240:rate=25:duration=7 "
       "-filter_complex '[0:v][1:v]concat=n=2:v=1[v]' -map '[v]' -g 40 "
       "-x264-params scenecut=0:open-gop=1" +
           kX264},
      {"vtest.mp4", vtest + kX264 + "-g 30 -movflags +faststart"},
      {"vtest.mkv", vtest + kX264 + "-g 40"}};
  for (const auto& [name, args] : clips) ASSERT_TRUE(ffmpeg(dir, args, name));
  // Cut short with its index at the front: the index names keyframes that are not there.
  const std::string whole = read_file(dir / "vtest.mp4");
  std::ofstream(dir / "short.mp4", std::ios::binary) << whole.substr(0, whole.size() * 6 / 10);

  for (const char* name : {"gop.mp4", "cut.mp4", "vtest.mp4", "vtest.mkv", "short.mp4"}) {
    SCOPED_TRACE(name);
    FramesOptions in_order;
    in_order.decode_threads = 1;
    const std::string out1 = dir.out(std::string(name) + "-1");
    const auto r1 = extract_frames((dir / name).string(), out1, in_order);
    ASSERT_TRUE(r1.ok()) << r1.error().to_string();
    EXPECT_EQ(r1->decode_threads, 1);
    for (int threads : {2, 3}) {
      SCOPED_TRACE(threads);
      FramesOptions parallel;
      parallel.decode_threads = threads;
      const std::string out = dir.out(numbered(std::string(name) + "-p", threads));
      const auto r = extract_frames((dir / name).string(), out, parallel);
      ASSERT_TRUE(r.ok()) << r.error().to_string();
      // MP4 is decoded in pieces. The open GOP may need frames before its keyframes; FFmpeg's
      // Matroska demuxer flags a packet after some seeks as corrupt: both may be decoded in
      // order, with the same result.
      const std::string n = name;
      if (n == "short.mp4") {
        EXPECT_EQ(r->decode_threads, 1) << "decoded in order";
      } else if (n == "gop.mp4" || n == "vtest.mp4") {
        EXPECT_GE(r->decode_threads, 2) << "decoded in pieces";
      }
      EXPECT_EQ(to_json(*r), to_json(*r1));
      for (const FrameInfo& f : r1->frames) {
        EXPECT_EQ(read_file(fs::path(out) / f.file), read_file(fs::path(out1) / f.file)) << f.file;
        EXPECT_EQ(read_file(fs::path(out) / f.thumb), read_file(fs::path(out1) / f.thumb));
      }
      EXPECT_EQ(read_file(fs::path(out) / "contact_sheet.jpg"),
                read_file(fs::path(out1) / "contact_sheet.jpg"));
      // Only the files of the result: nothing left from an attempt given up.
      EXPECT_EQ(std::distance(fs::directory_iterator(out), fs::directory_iterator()),
                static_cast<std::ptrdiff_t>(r->frames.size() * 2 + 1));
    }
    if (std::string(name) == "cut.mp4") {
      EXPECT_EQ(count_kind(*r1, FrameKind::kScene), 1) << to_json(*r1).dump();
    }
  }
}

// Signature ---------------------------------------------------------------------------------------

// The suite's clips, made once for all its tests and removed after them.
class FramesSignatureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    made_ = make_clips();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  void SetUp() override {
    ASSERT_TRUE(fs::exists(kVtest)) << kVtest << " is missing: install opencv-doc (scripts/setup)";
    ASSERT_TRUE(made_);
  }

  static std::string path(const std::string& name) { return (*dir_ / name).string(); }

  // extract_frames on a suite clip, into a fresh folder.
  FramesResult extract(const std::string& name, const FramesOptions& options = {}) {
    const std::string out = dir_->out(numbered(name + "-", runs_++));
    auto r = extract_frames(path(name), out, options);
    EXPECT_TRUE(r.ok()) << name << ": " << r.error().to_string();
    return r.ok() ? std::move(*r) : FramesResult{};
  }

 private:
  static ::testing::AssertionResult make_clips() {
    const std::string vtest = "-i '" + kVtest.string() + "' -t 20 -an ";
    const std::string enc = kX264 + "-bf 0 -g 50 ";
    const std::pair<const char*, std::string> commands[] = {
        {"original.mp4", vtest + enc + "-crf 18"},
        // 4:3 in 16:9: bars left and right.
        {"pillarbox.mp4", vtest + "-vf pad=1024:576:128:0:black" + enc + "-crf 18"},
        // In a 9:16 portrait frame: bars above and below (scaled, too).
        {"letterbox.mp4", vtest + "-vf scale=720:540,pad=720:1280:0:370:black" + enc + "-crf 18"},
        {"low.mp4", vtest + enc + "-b:v 100k"},
        // Turned a quarter clockwise in the pixels...
        {"turned.mp4", vtest + "-vf transpose=clock" + enc + "-crf 18"},
        {"other.mp4",
         "-stream_loop 1 -i /usr/share/doc/opencv-doc/examples/data/Megamind.avi "
         "-t 20 -an -vf scale=768:576,fps=10" +
             enc + "-crf 18"},
        {"black.mp4", "-f lavfi -i color=black:size=640x360:rate=10:duration=4" + enc}};
    for (const auto& [name, args] : commands) {
      if (auto made = ffmpeg(*dir_, args, name); !made) return made;
    }
    // ...and only in the metadata (a 90° clockwise display matrix, as a phone writes).
    return ffmpeg(*dir_, "-i '" + path("original.mp4") + "' -c copy -metadata:s:v:0 rotate=270",
                  "rotated.mp4");
  }

  static inline TempDir* dir_ = nullptr;
  static inline ::testing::AssertionResult made_ = ::testing::AssertionSuccess();
  int runs_ = 0;
};

// Of the signature entries of `a` and `b` at the same instant: how many, and how many match
// (PDQ's rule: hamming distance ≤ 31).
struct Agreement {
  int common = 0;
  int matching = 0;
  std::string distances;  // for failure messages
};

Agreement agreement(const FramesResult& a, const FramesResult& b) {
  std::map<int64_t, std::string> by_pts;
  for (const SignatureEntry& e : b.signature) by_pts[e.pts_ms] = e.pdq;
  Agreement out;
  for (const SignatureEntry& e : a.signature) {
    const auto it = by_pts.find(e.pts_ms);
    if (it == by_pts.end()) continue;
    const auto ha = PdqHash::from_hex(e.pdq);
    const auto hb = PdqHash::from_hex(it->second);
    if (!ha.ok() || !hb.ok()) continue;
    const int d = hamming(*ha, *hb);
    ++out.common;
    if (d <= 31) ++out.matching;
    out.distances += std::to_string(e.pts_ms) + ":" + std::to_string(d) + " ";
  }
  return out;
}

// The samples of a signature (its extras left out).
FramesResult samples(FramesResult r) {
  std::erase_if(r.signature, [](const SignatureEntry& e) { return e.extra; });
  return r;
}

TEST_F(FramesSignatureTest, OneHashASecondOfRealFootage) {
  const FramesResult all = extract("original.mp4");
  const FramesResult r = samples(all);
  // 20 s at 10 fps: the frames at 0, 1, ..., 19 s (the first at or after each second).
  ASSERT_EQ(r.signature.size(), 20u) << to_json(r)["signature"].dump();
  int good = 0;
  for (size_t k = 0; k < r.signature.size(); ++k) {
    const SignatureEntry& e = r.signature[k];
    SCOPED_TRACE(e.pts_ms);
    EXPECT_GE(e.pts_ms, static_cast<int64_t>(k) * 1000);
    EXPECT_LT(e.pts_ms, static_cast<int64_t>(k) * 1000 + 100);
    if (k > 0) {
      EXPECT_GT(e.pts_ms, r.signature[k - 1].pts_ms);
    }
    ASSERT_EQ(e.pdq.size(), 64u);
    EXPECT_TRUE(std::all_of(e.pdq.begin(), e.pdq.end(), [](char c) {
      return std::isdigit(static_cast<unsigned char>(c)) || (c >= 'a' && c <= 'f');
    })) << e.pdq;
    EXPECT_TRUE(PdqHash::from_hex(e.pdq).ok());
    if (e.quality >= 50) ++good;
  }
  EXPECT_GE(good, 18) << "real footage hashes with a usable quality";

  const nlohmann::json j = to_json(r);
  ASSERT_TRUE(j.contains("signature"));
  EXPECT_FALSE(j["signature"][3].contains("extra"));
  ASSERT_EQ(j["signature"].size(), r.signature.size());
  EXPECT_EQ(j["signature"][3]["pts_ms"], r.signature[3].pts_ms);
  EXPECT_EQ(j["signature"][3]["pdq"], r.signature[3].pdq);
  EXPECT_EQ(j["signature"][3]["quality"], r.signature[3].quality);
  // The rest of the document is as before.
  for (const char* key : {"frames", "contact_sheet", "rotation_deg", "warnings"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 5u);
}

// Between samples, the frames that differ are hashed too (extras): usable, in time order, each more
// than kSignatureExtraMinBits from the hash kept before it, marked in the JSON; an extra interval
// of 0 leaves the samples alone.
TEST_F(FramesSignatureTest, ExtrasBetweenSamples) {
  const FramesResult r = extract("original.mp4");
  int extras = 0;
  std::optional<PdqHash> previous;
  for (size_t k = 0; k < r.signature.size(); ++k) {
    const SignatureEntry& e = r.signature[k];
    SCOPED_TRACE(e.pts_ms);
    const auto hash = PdqHash::from_hex(e.pdq);
    ASSERT_TRUE(hash.ok());
    if (k > 0) {
      EXPECT_GT(e.pts_ms, r.signature[k - 1].pts_ms);
    }
    if (e.extra) {
      ++extras;
      EXPECT_GE(e.quality, kSignatureExtraMinQuality);
      ASSERT_TRUE(previous.has_value());
      EXPECT_GT(hamming(*hash, *previous), kSignatureExtraMinBits);
      EXPECT_EQ(to_json(r)["signature"][k]["extra"], true);
    }
    previous = *hash;
  }
  // vtest walks: at 10 fps a few of each second's frames differ.
  EXPECT_GE(extras, 10) << to_json(r)["signature"].dump();

  FramesOptions options;
  options.signature_extra_interval = std::chrono::milliseconds(0);
  const FramesResult none = extract("original.mp4", options);
  const FramesResult only = samples(r);
  ASSERT_EQ(none.signature.size(), only.signature.size());
  for (size_t k = 0; k < none.signature.size(); ++k) {
    EXPECT_FALSE(none.signature[k].extra);
    EXPECT_EQ(none.signature[k].pts_ms, only.signature[k].pts_ms);
    EXPECT_EQ(none.signature[k].pdq, only.signature[k].pdq);
  }
}

TEST_F(FramesSignatureTest, BlackBarsAreTrimmed) {
  const FramesResult original = extract("original.mp4");
  for (const char* name : {"pillarbox.mp4", "letterbox.mp4"}) {
    SCOPED_TRACE(name);
    const FramesResult padded = extract(name);
    const Agreement a = agreement(original, padded);
    EXPECT_GE(a.common, 19) << a.distances;
    EXPECT_GE(a.matching * 10, a.common * 9) << a.distances;
  }
}

TEST_F(FramesSignatureTest, LowBitRateCopyMatches) {
  const Agreement a = agreement(extract("original.mp4"), extract("low.mp4"));
  EXPECT_GE(a.common, 19) << a.distances;
  EXPECT_GE(a.matching * 10, a.common * 9) << a.distances;
}

TEST_F(FramesSignatureTest, OtherFootageDoesNotMatch) {
  const Agreement a = agreement(extract("original.mp4"), extract("other.mp4"));
  EXPECT_GE(a.common, 19) << a.distances;
  EXPECT_EQ(a.matching, 0) << a.distances;
}

TEST_F(FramesSignatureTest, HashesTheUprightPicture) {
  const FramesResult rotated = extract("rotated.mp4");
  ASSERT_EQ(rotated.rotation_deg, 90);
  const Agreement same = agreement(rotated, extract("turned.mp4"));
  EXPECT_GE(same.common, 19) << same.distances;
  EXPECT_GE(same.matching * 10, same.common * 9) << same.distances;
  // Not upright, it would be another picture.
  const Agreement sideways = agreement(rotated, extract("original.mp4"));
  EXPECT_GE(sideways.common, 19) << sideways.distances;
  EXPECT_LE(sideways.matching, 1) << sideways.distances;
}

TEST_F(FramesSignatureTest, UniformFramesGetALowQuality) {
  const FramesResult r = extract("black.mp4");
  ASSERT_EQ(r.signature.size(), 4u) << to_json(r)["signature"].dump();
  for (const SignatureEntry& e : r.signature) EXPECT_LT(e.quality, 50) << e.pts_ms;
}

TEST_F(FramesSignatureTest, IntervalIsRespected) {
  const FramesResult every_second = samples(extract("original.mp4"));
  FramesOptions options;
  options.signature_interval = std::chrono::milliseconds(2500);
  const FramesResult sparse = samples(extract("original.mp4", options));
  // 0, 2.5, ..., 17.5 s: the first frame at or after each.
  ASSERT_EQ(sparse.signature.size(), 8u) << to_json(sparse)["signature"].dump();
  for (size_t k = 0; k < sparse.signature.size(); ++k) {
    EXPECT_GE(sparse.signature[k].pts_ms, static_cast<int64_t>(k) * 2500);
    EXPECT_LT(sparse.signature[k].pts_ms, static_cast<int64_t>(k) * 2500 + 100);
  }
  // Same instant, same hash, whatever the interval.
  EXPECT_EQ(sparse.signature[2].pts_ms, every_second.signature[5].pts_ms);
  EXPECT_EQ(sparse.signature[2].pdq, every_second.signature[5].pdq);

  options.signature_interval = std::chrono::milliseconds(0);
  const FramesResult off = extract("original.mp4", options);
  EXPECT_TRUE(off.signature.empty());
  EXPECT_TRUE(to_json(off)["signature"].empty());
  // The signature leaves the frames alone.
  ASSERT_EQ(off.frames.size(), every_second.frames.size());
  for (size_t i = 0; i < off.frames.size(); ++i) {
    EXPECT_EQ(off.frames[i].pts_ms, every_second.frames[i].pts_ms);
    EXPECT_EQ(off.frames[i].kind, every_second.frames[i].kind);
    EXPECT_EQ(off.frames[i].sharpness, every_second.frames[i].sharpness);
  }
}

}  // namespace
}  // namespace cw::pipeline
