// Unit tests for probe_media: videos made by ffmpeg in a temp dir (a missing ffmpeg fails the
// test: scripts/setup installs it), OpenCV's sample videos from Debian's opencv-doc, and hostile
// input — empty, random, truncated, corrupted, playlists — which must give errors, never crashes.
//
// Rotation on FFmpeg 5.1: `-metadata:s:v:0 rotate=N` is only honoured with stream copy (when
// encoding it is dropped), and it writes a display matrix that turns the picture N degrees
// COUNTER-clockwise (ffmpeg's own autorotate and ffprobe's "rotation=N" agree). So a phone
// portrait clip — 90° clockwise, the tkhd matrix an iPhone writes, 0 1 / -1 0 — is made with
// `-c copy -metadata:s:v:0 rotate=270`. RotationAgreesWithFfmpegAutorotate checks the convention
// against the pixels ffmpeg itself displays, so it holds whatever the ffmpeg version.
#include "pipeline/probe.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>

#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kOpencvData = "/usr/share/doc/opencv-doc/examples/data";

using test::ffmpeg;
using test::read_file;
using test::TempDir;
using test::write_file;

const StreamInfo* first_of_type(const ProbeResult& r, StreamType type) {
  for (const StreamInfo& s : r.streams) {
    if (s.type == type) return &s;
  }
  return nullptr;
}

TimePoint at(const char* rfc3339) { return parse_rfc3339(rfc3339).value(); }

// ---------------------------------------------------------------------------------------------
// A phone portrait clip with GPS and capture time: the fields the media JSON carries.

TEST(ProbeTest, PortraitMp4WithLocationAndCreationTime) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=2:size=320x240:rate=25 -f lavfi -i "
                     "sine=duration=2 -c:v libx264 -pix_fmt yuv420p -c:a aac",
                     "plain.mp4"));
  // Stream copy, because that is when FFmpeg 5.1 honours `rotate`; rotate=270 there is 90°
  // clockwise (see the top of this file). ffmpeg drops creation_time when copying, so it is set
  // here.
  ASSERT_TRUE(ffmpeg(dir,
                     "-i '" + (dir / "plain.mp4").string() +
                         "' -c copy -metadata creation_time=2022-02-16T06:05:00Z "
                         "-metadata location=+50.5950+036.5872+120.000/ "
                         "-metadata:s:v:0 rotate=270",
                     "portrait.mp4"));

  const auto probed = probe_media((dir / "portrait.mp4").string());
  ASSERT_TRUE(probed.ok()) << probed.error().to_string();
  const ProbeResult& r = *probed;
  EXPECT_EQ(r.container, "mp4");
  EXPECT_EQ(r.format_name, "mov,mp4,m4a,3gp,3g2,mj2");
  EXPECT_EQ(r.format_long_name, "QuickTime / MOV");
  EXPECT_EQ(r.size_bytes, static_cast<int64_t>(fs::file_size(dir / "portrait.mp4")));
  ASSERT_TRUE(r.duration_s.has_value());
  EXPECT_NEAR(*r.duration_s, 2.0, 0.1);
  EXPECT_GT(r.bit_rate.value_or(0), 0);

  EXPECT_EQ(r.rotation_deg, 90);
  EXPECT_EQ(r.width, 240);  // as displayed
  EXPECT_EQ(r.height, 320);
  ASSERT_TRUE(r.fps.has_value());
  EXPECT_NEAR(*r.fps, 25.0, 1e-6);
  EXPECT_EQ(r.video_codec, "h264");
  EXPECT_TRUE(r.audio);

  ASSERT_TRUE(r.creation_time.has_value());
  EXPECT_EQ(*r.creation_time, at("2022-02-16T06:05:00Z"));
  ASSERT_TRUE(r.location.has_value());
  EXPECT_NEAR(r.location->lat, 50.5950, 1e-4);
  EXPECT_NEAR(r.location->lon, 36.5872, 1e-4);
  ASSERT_TRUE(r.location->alt.has_value());
  EXPECT_NEAR(*r.location->alt, 120.0, 1e-4);
  EXPECT_EQ(r.location_raw.value_or(""), "+50.5950+036.5872+120.000000/");
  EXPECT_FALSE(r.make.has_value());
  EXPECT_FALSE(r.model.has_value());
  ASSERT_TRUE(r.encoder.has_value());
  EXPECT_EQ(r.encoder->rfind("Lavf", 0), 0u) << *r.encoder;
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);

  // Streams as stored: the video is 320x240 before rotation.
  ASSERT_EQ(r.streams.size(), 2u);
  const StreamInfo* video = first_of_type(r, StreamType::kVideo);
  ASSERT_NE(video, nullptr);
  EXPECT_EQ(r.video_stream, video->index);
  EXPECT_EQ(video->width, 320);
  EXPECT_EQ(video->height, 240);
  EXPECT_EQ(video->rotation_deg, 90);
  EXPECT_EQ(video->codec, "h264");
  EXPECT_TRUE(video->profile.has_value());
  EXPECT_EQ(video->pixel_format.value_or(""), "yuv420p");
  EXPECT_NEAR(video->avg_frame_rate.value_or(0), 25.0, 1e-6);
  EXPECT_NEAR(video->r_frame_rate.value_or(0), 25.0, 1e-6);
  const StreamInfo* audio = first_of_type(r, StreamType::kAudio);
  ASSERT_NE(audio, nullptr);
  EXPECT_EQ(audio->codec, "aac");
  EXPECT_EQ(audio->profile.value_or(""), "LC");
  EXPECT_EQ(audio->sample_rate, 44100);
  EXPECT_EQ(audio->channels, 1);

  // The media JSON.
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["container"], "mp4");
  EXPECT_EQ(j["width"], 240);
  EXPECT_EQ(j["height"], 320);
  EXPECT_EQ(j["rotation_deg"], 90);
  EXPECT_NEAR(j["fps"].get<double>(), 25.0, 1e-6);
  EXPECT_NEAR(j["duration_s"].get<double>(), 2.0, 0.1);
  EXPECT_EQ(j["video_codec"], "h264");
  EXPECT_EQ(j["audio"], true);
  EXPECT_EQ(j["creation_time"], "2022-02-16T06:05:00Z");
  EXPECT_NEAR(j["location"]["lat"].get<double>(), 50.5950, 1e-4);
  EXPECT_NEAR(j["location"]["lon"].get<double>(), 36.5872, 1e-4);
  EXPECT_NEAR(j["location"]["alt"].get<double>(), 120.0, 1e-4);
  EXPECT_TRUE(j["make"].is_null());
  EXPECT_TRUE(j["model"].is_null());
  EXPECT_TRUE(j["software"].is_null());
  EXPECT_EQ(j["size_bytes"], r.size_bytes);
  EXPECT_EQ(j["tags"]["format"]["location"], "+50.5950+036.5872+120.000000/");
  EXPECT_EQ(j["tags"]["format"]["major_brand"], "isom");
  ASSERT_EQ(j["tags"]["streams"].size(), 2u);
  EXPECT_EQ(j["tags"]["streams"][0]["handler_name"], "VideoHandler");
  EXPECT_EQ(j["tags"]["streams"][1]["handler_name"], "SoundHandler");
  ASSERT_EQ(j["streams"].size(), 2u);
  EXPECT_EQ(j["streams"][0]["type"], "video");
  EXPECT_EQ(j["streams"][0]["width"], 320);
  EXPECT_EQ(j["streams"][0]["rotation_deg"], 90);
  EXPECT_EQ(j["streams"][1]["type"], "audio");
  EXPECT_EQ(j["streams"][1]["sample_rate"], 44100);
  EXPECT_FALSE(j["streams"][1].contains("width"));
  EXPECT_TRUE(j["warnings"].empty());
}

// ---------------------------------------------------------------------------------------------
// Rotation: what probe_media says must be how ffmpeg's autorotate shows the picture. The source
// is black with a white square in its top-left corner; the corner it lands in after autorotate
// gives the clockwise rotation.

// The 3x3 tkhd matrix of the first track (16.16 / 2.30 fixed point), as stored.
std::optional<std::array<int32_t, 9>> tkhd_matrix(const std::string& mp4) {
  const size_t at = mp4.find("tkhd");
  if (at == std::string::npos || at + 8 > mp4.size()) return std::nullopt;
  const size_t body = at + 4;
  const bool v1 = mp4[body] == 1;
  // version+flags, times/ids/duration, reserved(8), layer, group, volume, reserved(2)
  const size_t off = body + 4 + (v1 ? 32 : 20) + 8 + 8;
  if (off + 36 > mp4.size()) return std::nullopt;
  std::array<int32_t, 9> m{};
  for (size_t i = 0; i < 9; ++i) {
    uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(mp4[off + 4 * i + k]);
    m[i] = static_cast<int32_t>(v);
  }
  return m;
}

// Clockwise rotation ffmpeg applied when it decoded `gray` (w x h, 8-bit): where the marker went.
int marker_rotation(const std::string& gray, int w, int h) {
  const auto corner_mean = [&](int x0, int y0) {
    int64_t sum = 0;
    for (int y = y0; y < y0 + 16; ++y) {
      for (int x = x0; x < x0 + 16; ++x) sum += static_cast<unsigned char>(gray[y * w + x]);
    }
    return sum / 256;
  };
  const std::array<std::pair<int, int64_t>, 4> corners = {{
      {0, corner_mean(4, 4)},              // top-left: not turned
      {90, corner_mean(w - 20, 4)},        // top-right: a quarter turn clockwise
      {180, corner_mean(w - 20, h - 20)},  // bottom-right
      {270, corner_mean(4, h - 20)},       // bottom-left
  }};
  return std::max_element(corners.begin(), corners.end(),
                          [](const auto& a, const auto& b) { return a.second < b.second; })
      ->first;
}

TEST(ProbeTest, RotationAgreesWithFfmpegAutorotate) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i color=black:size=320x240:rate=25:duration=1,"
                     "drawbox=x=0:y=0:w=40:h=40:color=white:t=fill -c:v libx264 -pix_fmt yuv420p",
                     "marker.mp4"));
  std::vector<int> seen;
  for (const char* rotate : {"0", "90", "180", "270", "-90"}) {
    SCOPED_TRACE(std::string("rotate=") + rotate);
    const std::string name = std::string("rotate_") + rotate + ".mp4";
    ASSERT_TRUE(ffmpeg(
        dir, "-i '" + (dir / "marker.mp4").string() + "' -c copy -metadata:s:v:0 rotate=" + rotate,
        name));
    ASSERT_TRUE(ffmpeg(dir,
                       "-i '" + (dir / name).string() + "' -frames:v 1 -f rawvideo -pix_fmt gray",
                       name + ".gray"));
    const auto probed = probe_media((dir / name).string());
    ASSERT_TRUE(probed.ok()) << probed.error().to_string();
    const std::string gray = read_file(dir / (name + ".gray"));
    // ffmpeg's decoded frame has the displayed size, and the marker shows the turn.
    ASSERT_EQ(gray.size(), static_cast<size_t>(probed->width) * probed->height);
    EXPECT_EQ(probed->rotation_deg, marker_rotation(gray, probed->width, probed->height));
    const bool sideways = probed->rotation_deg % 180 != 0;
    EXPECT_EQ(probed->width, sideways ? 240 : 320);
    EXPECT_EQ(probed->height, sideways ? 320 : 240);
    seen.push_back(probed->rotation_deg);

    // 90° clockwise is the matrix an iPhone writes for a portrait clip: a=0 b=1 c=-1 d=0.
    if (probed->rotation_deg == 90) {
      const auto m = tkhd_matrix(read_file(dir / name));
      ASSERT_TRUE(m.has_value());
      EXPECT_EQ((*m)[0], 0);
      EXPECT_EQ((*m)[1], 0x10000);
      EXPECT_EQ((*m)[3], -0x10000);
      EXPECT_EQ((*m)[4], 0);
    }
  }
  std::sort(seen.begin(), seen.end());
  // All four quarter turns occur (rotate=270 and rotate=-90 are the same turn).
  EXPECT_EQ(seen, (std::vector<int>{0, 90, 90, 180, 270}));
}

// ---------------------------------------------------------------------------------------------
// Apple metadata: mdta keys in a QuickTime file.

TEST(ProbeTest, AppleQuickTimeMetadata) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=1:size=320x240:rate=30 -c:v libx264 "
                     "-pix_fmt yuv420p -movflags use_metadata_tags "
                     "-metadata com.apple.quicktime.location.ISO6709=+48.8577+002.2950+035.000/ "
                     "-metadata com.apple.quicktime.make=Apple "
                     "-metadata 'com.apple.quicktime.model=iPhone 12' "
                     "-metadata com.apple.quicktime.software=15.3 "
                     "-metadata com.apple.quicktime.creationdate=2022-02-16T09:05:00+0300",
                     "apple.mov"));
  const auto probed = probe_media((dir / "apple.mov").string());
  ASSERT_TRUE(probed.ok()) << probed.error().to_string();
  const ProbeResult& r = *probed;
  EXPECT_EQ(r.container, "mov");
  EXPECT_EQ(r.rotation_deg, 0);
  EXPECT_EQ(r.width, 320);
  EXPECT_EQ(r.height, 240);
  EXPECT_NEAR(r.fps.value_or(0), 30.0, 1e-6);
  EXPECT_FALSE(r.audio);
  ASSERT_TRUE(r.location.has_value());
  EXPECT_NEAR(r.location->lat, 48.8577, 1e-4);
  EXPECT_NEAR(r.location->lon, 2.2950, 1e-4);
  EXPECT_NEAR(r.location->alt.value_or(0), 35.0, 1e-4);
  EXPECT_EQ(r.make.value_or(""), "Apple");
  EXPECT_EQ(r.model.value_or(""), "iPhone 12");
  EXPECT_EQ(r.software.value_or(""), "15.3");
  // Apple's local time with a colon-less offset, in UTC.
  ASSERT_TRUE(r.creation_time.has_value());
  EXPECT_EQ(*r.creation_time, at("2022-02-16T06:05:00Z"));
  EXPECT_TRUE(r.warnings.empty()) << ::testing::PrintToString(r.warnings);
  nlohmann::json j = to_json(r);
  EXPECT_EQ(j["make"], "Apple");
  EXPECT_EQ(j["model"], "iPhone 12");
  EXPECT_EQ(j["tags"]["format"]["com.apple.quicktime.location.ISO6709"],
            "+48.8577+002.2950+035.000/");
}

TEST(ProbeTest, AndroidMetadata) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=1:size=176x144:rate=30 -c:v libx264 "
                     "-pix_fmt yuv420p -movflags use_metadata_tags "
                     "-metadata com.android.version=13 -metadata location=+50.5950+036.5872/",
                     "android.mp4"));
  const auto probed = probe_media((dir / "android.mp4").string());
  ASSERT_TRUE(probed.ok()) << probed.error().to_string();
  EXPECT_EQ(probed->software.value_or(""), "Android 13");
  ASSERT_TRUE(probed->location.has_value());
  EXPECT_NEAR(probed->location->lat, 50.5950, 1e-4);
  EXPECT_NEAR(probed->location->lon, 36.5872, 1e-4);
  EXPECT_FALSE(probed->location->alt.has_value());
  EXPECT_TRUE(to_json(*probed)["location"]["alt"].is_null());
}

TEST(ProbeTest, MalformedLocationIsKeptAsTextWithAWarning) {
  TempDir dir;
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v libx264 "
                     "-metadata location=+99.0000+200.0000/",
                     "bad_location.mp4"));
  const auto probed = probe_media((dir / "bad_location.mp4").string());
  ASSERT_TRUE(probed.ok()) << probed.error().to_string();
  EXPECT_FALSE(probed->location.has_value());
  EXPECT_EQ(probed->location_raw.value_or(""), "+99.0000+200.0000/");
  ASSERT_FALSE(probed->warnings.empty());
  EXPECT_NE(probed->warnings.front().find("location"), std::string::npos)
      << probed->warnings.front();
  nlohmann::json j = to_json(*probed);
  EXPECT_TRUE(j["location"].is_null());
  EXPECT_EQ(j["location_raw"], "+99.0000+200.0000/");
}

TEST(ProbeTest, TagTextIsMadeValidUtf8) {
  TempDir dir;
  // printf puts the bytes 0xFF 0xFE (never valid UTF-8) into the title.
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v libx264 "
                     "-metadata \"title=$(printf 'a\\377\\376b')\" -metadata 'comment=Ж ok'",
                     "bytes.mkv"));
  const auto probed = probe_media((dir / "bytes.mkv").string());
  ASSERT_TRUE(probed.ok()) << probed.error().to_string();
  nlohmann::json j = to_json(*probed);
  EXPECT_NO_THROW((void)j.dump());
  EXPECT_EQ(j["tags"]["format"]["title"],
            "a\xEF\xBF\xBD\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(j["tags"]["format"]["COMMENT"], "Ж ok");
  EXPECT_EQ(j["container"], "mkv");
}

// ---------------------------------------------------------------------------------------------
// Containers and codecs.

TEST(ProbeTest, ContainersAndCodecs) {
  TempDir dir;
  const std::string video = "-f lavfi -i testsrc=duration=2:size=320x240:rate=25";
  const std::string qcif = "-f lavfi -i testsrc=duration=2:size=176x144:rate=15";
  const std::string audio = "-f lavfi -i sine=duration=2";
  struct Case {
    std::string input;
    std::string args;
    std::string file;
    std::string container;
    std::string codec;
    bool audio;
    int width;
    int height;
    double fps;
  };
  const std::vector<Case> cases = {
      {video + " " + audio, "-c:v libvpx-vp9 -deadline realtime -cpu-used 8 -c:a libopus",
       "vp9.webm", "webm", "vp9", true, 320, 240, 25},
      {video, "-c:v mjpeg", "mjpeg.avi", "avi", "mjpeg", false, 320, 240, 25},
      {video + " " + audio, "-c:v libx264 -c:a aac", "h264.mkv", "mkv", "h264", true, 320, 240, 25},
      {video + " " + audio, "-c:v libx264 -c:a mp2", "h264.ts", "mpegts", "h264", true, 320, 240,
       25},
      {qcif, "-c:v h263", "h263.3gp", "3gp", "h263", false, 176, 144, 15},
      {video, "-c:v libx265 -x265-params log-level=error", "hevc.mp4", "mp4", "hevc", false, 320,
       240, 25},
      {video, "-c:v mpeg2video", "mpeg2.mpg", "mpeg", "mpeg2video", false, 320, 240, 25},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    ASSERT_TRUE(ffmpeg(dir, c.input + " " + c.args, c.file));
    const auto probed = probe_media((dir / c.file).string());
    ASSERT_TRUE(probed.ok()) << probed.error().to_string();
    EXPECT_EQ(probed->container, c.container);
    EXPECT_EQ(probed->video_codec, c.codec);
    EXPECT_EQ(probed->audio, c.audio);
    EXPECT_EQ(probed->width, c.width);
    EXPECT_EQ(probed->height, c.height);
    EXPECT_EQ(probed->rotation_deg, 0);
    EXPECT_NEAR(probed->fps.value_or(0), c.fps, 0.01);
    EXPECT_NEAR(probed->duration_s.value_or(0), 2.0, 0.15);
    EXPECT_FALSE(probed->creation_time.has_value());
    EXPECT_FALSE(probed->location.has_value());
    EXPECT_EQ(first_of_type(*probed, StreamType::kAudio) != nullptr, c.audio);
    EXPECT_NO_THROW((void)to_json(*probed).dump());
  }
}

// Real-world files from Debian's opencv-doc (installed by scripts/setup).
TEST(ProbeTest, OpencvSampleVideos) {
  struct Case {
    std::string file;
    std::string codec;
    int width;
    int height;
    double fps;
    double duration_s;
    bool audio;
  };
  const std::vector<Case> cases = {
      {"vtest.avi", "msmpeg4v3", 768, 576, 10.0, 79.5, false},
      {"tree.avi", "cinepak", 320, 240, 15.0, 29.6, false},
      {"Megamind.avi", "mpeg4", 720, 528, 23.976, 11.26, true},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const fs::path path = kOpencvData / c.file;
    ASSERT_TRUE(fs::exists(path)) << path << " is missing: run scripts/setup (installs opencv-doc)";
    const auto probed = probe_media(path.string());
    ASSERT_TRUE(probed.ok()) << probed.error().to_string();
    EXPECT_EQ(probed->container, "avi");
    EXPECT_EQ(probed->video_codec, c.codec);
    EXPECT_EQ(probed->width, c.width);
    EXPECT_EQ(probed->height, c.height);
    EXPECT_NEAR(probed->fps.value_or(0), c.fps, 0.01);
    EXPECT_NEAR(probed->duration_s.value_or(0), c.duration_s, 0.05);
    EXPECT_EQ(probed->audio, c.audio);
    nlohmann::json j = to_json(*probed);
    EXPECT_TRUE(j["creation_time"].is_null());
    EXPECT_TRUE(j["location"].is_null());
    EXPECT_TRUE(j["tags"]["format"].is_object());
    EXPECT_NO_THROW((void)j.dump());
  }
  // A deliberately damaged sample: a result or an error, never a crash.
  const fs::path bugy = kOpencvData / "Megamind_bugy.avi";
  if (fs::exists(bugy)) {
    const auto probed = probe_media(bugy.string());
    if (!probed.ok()) {
      EXPECT_EQ(probed.error().code(), Code::kUnprocessable);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Hostile and wrong input.

TEST(ProbeTest, FilesThatAreNotVideos) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v libx264", "real.mp4"));
  ASSERT_TRUE(ffmpeg(dir, "-f lavfi -i testsrc=size=64x64 -frames:v 1", "frame.jpg"));
  ASSERT_TRUE(ffmpeg(dir, "-f lavfi -i sine=duration=1 -c:a aac", "sound.m4a"));
  ASSERT_TRUE(ffmpeg(dir, "-f lavfi -i sine=duration=1", "sound.wav"));
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i sine=duration=1 -i '" + (dir / "frame.jpg").string() +
                         "' -map 0 -map 1 -c:a aac -c:v copy -disposition:v:0 attached_pic",
                     "cover_art.m4a"));
  write_file(dir / "empty.mp4", "");
  std::mt19937 rng(6709);
  std::string noise(64 * 1024, '\0');
  for (char& c : noise) c = static_cast<char>(rng());
  write_file(dir / "random.mp4", noise);
  write_file(dir / "text.mp4", "this is not a video\n");
  // Playlists and scripts that would make FFmpeg read other files.
  write_file(dir / "playlist.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n" +
                                        (dir / "real.mp4").string() + "\n#EXT-X-ENDLIST\n");
  write_file(dir / "list.ffconcat",
             "ffconcat version 1.0\nfile '" + (dir / "real.mp4").string() + "'\n");
  fs::create_directory(dir / "folder.mp4");

  struct Case {
    std::string file;
    Code code;
    std::string detail_prefix;
  };
  const std::vector<Case> cases = {
      {"empty.mp4", Code::kUnprocessable, "empty file"},
      {"random.mp4", Code::kUnprocessable, "not a readable video"},
      {"text.mp4", Code::kUnprocessable, "not a readable video"},
      {"frame.jpg", Code::kUnprocessable, "not a readable video"},
      {"sound.m4a", Code::kUnprocessable, "no video stream"},
      {"cover_art.m4a", Code::kUnprocessable, "no video stream"},
      {"sound.wav", Code::kUnprocessable, "not a readable video"},
      {"playlist.m3u8", Code::kUnprocessable, "not a readable video"},
      {"list.ffconcat", Code::kUnprocessable, "not a readable video"},
      {"folder.mp4", Code::kUnprocessable, "not a regular file"},
      {"missing.mp4", Code::kNotFound, "media file not found"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const auto probed = probe_media((dir / c.file).string());
    ASSERT_FALSE(probed.ok());
    EXPECT_EQ(probed.error().code(), c.code) << probed.error().to_string();
    EXPECT_EQ(probed.error().detail().rfind(c.detail_prefix, 0), 0u) << probed.error().detail();
    EXPECT_EQ(probed.error().field(), "file");
    // The server path never reaches the client.
    EXPECT_EQ(probed.error().detail().find(dir.path().string()), std::string::npos)
        << probed.error().detail();
  }
  // The messages say why.
  // (FFmpeg tries the mov demuxer on random bytes named .mp4; it then adds "moov atom not found")
  EXPECT_EQ(probe_media((dir / "random.mp4").string())
                .error()
                .detail()
                .rfind("not a readable video: Invalid data found when processing input", 0),
            0u);
  EXPECT_EQ(probe_media((dir / "playlist.m3u8").string()).error().detail(),
            "not a readable video: Apple HTTP Live Streaming is not an accepted video container");
}

TEST(ProbeTest, TruncatedAndCorruptedFilesNeverCrash) {
  TempDir dir;
  const std::string source =
      "-f lavfi -i testsrc=duration=2:size=320x240:rate=25 -f lavfi -i sine=duration=2 "
      "-c:v libx264 -pix_fmt yuv420p -c:a aac";
  ASSERT_TRUE(ffmpeg(dir, source, "moov_at_end.mp4"));
  ASSERT_TRUE(ffmpeg(dir, source + " -movflags +faststart", "moov_first.mp4"));
  ASSERT_TRUE(ffmpeg(dir,
                     "-f lavfi -i testsrc=duration=2:size=320x240:rate=25 -c:v libvpx-vp9 "
                     "-deadline realtime -cpu-used 8",
                     "vp9.webm"));

  // The first 3 KB of an MP4 whose index is at the end: no moov, so FFmpeg cannot read it.
  const std::string moov_at_end = read_file(dir / "moov_at_end.mp4");
  write_file(dir / "first_3k.mp4", moov_at_end.substr(0, 3072));
  const auto cut = probe_media((dir / "first_3k.mp4").string());
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.error().code(), Code::kUnprocessable);
  EXPECT_EQ(cut.error().detail(),
            "not a readable video: Invalid data found when processing input (moov atom not found)");

  // Every source cut at several lengths, then with bytes overwritten at random: each probe is a
  // result (perhaps with warnings) or a kUnprocessable error. ASan/UBSan catch the rest.
  std::mt19937 rng(20220216);
  int results = 0;
  int errors = 0;
  for (const char* name : {"moov_at_end.mp4", "moov_first.mp4", "vp9.webm"}) {
    const std::string whole = read_file(dir / name);
    std::vector<std::string> variants;
    for (double fraction : {0.01, 0.1, 0.5, 0.9, 0.999}) {
      variants.push_back(whole.substr(0, static_cast<size_t>(whole.size() * fraction)));
    }
    for (int i = 0; i < 12; ++i) {
      std::string damaged = whole;
      const int flips = 1 + static_cast<int>(rng() % 64);
      for (int k = 0; k < flips; ++k) {
        // Damage the headers more often than the payload: that is where parsers go wrong.
        const size_t limit = (k % 2 == 0) ? std::min<size_t>(damaged.size(), 4096) : damaged.size();
        damaged[rng() % limit] = static_cast<char>(rng());
      }
      variants.push_back(std::move(damaged));
    }
    for (size_t v = 0; v < variants.size(); ++v) {
      const fs::path path = dir / ("variant_" + std::to_string(v) + "_" + name);
      write_file(path, variants[v]);
      const auto probed = probe_media(path.string());
      if (probed.ok()) {
        ++results;
        EXPECT_NO_THROW((void)to_json(*probed).dump()) << path;
        for (const std::string& w : probed->warnings) {
          EXPECT_EQ(w.find('\n'), std::string::npos) << w;     // one line each
          EXPECT_EQ(w.find(" @ 0x"), std::string::npos) << w;  // no FFmpeg context prefix
          EXPECT_EQ(w.find(dir.path().string()), std::string::npos) << w;
        }
      } else {
        ++errors;
        EXPECT_EQ(probed.error().code(), Code::kUnprocessable) << path;
      }
    }
  }
  EXPECT_GT(results, 0);
  EXPECT_GT(errors, 0);
}

TEST(ProbeTest, DeadlineStopsFfmpeg) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v libx264", "real.mp4"));
  ProbeOptions options;
  options.timeout = std::chrono::milliseconds(0);
  const auto probed = probe_media((dir / "real.mp4").string(), options);
  ASSERT_FALSE(probed.ok());
  EXPECT_EQ(probed.error().code(), Code::kUnprocessable);
  EXPECT_EQ(probed.error().detail(), "not a readable video: reading it took longer than 0 s");
}

TEST(ProbeTest, DemuxerListIsAnOption) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v mjpeg", "clip.avi"));
  ProbeOptions options;
  options.demuxers = {"matroska,webm"};
  const auto probed = probe_media((dir / "clip.avi").string(), options);
  ASSERT_FALSE(probed.ok());
  EXPECT_EQ(
      probed.error().detail(),
      "not a readable video: AVI (Audio Video Interleaved) is not an accepted video container");
}

TEST(ProbeTest, ConcurrentProbesKeepTheirOwnWarnings) {
  TempDir dir;
  ASSERT_TRUE(
      ffmpeg(dir, "-f lavfi -i testsrc=duration=1:size=64x64:rate=10 -c:v libx264", "good.mp4"));
  write_file(dir / "cut.mp4", read_file(dir / "good.mp4").substr(0, 1000));
  std::vector<std::thread> threads;
  std::array<bool, 4> good_clean{};
  std::array<bool, 4> cut_failed{};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      const auto good = probe_media((dir / "good.mp4").string());
      good_clean[t] = good.ok() && good->warnings.empty();
      const auto cut = probe_media((dir / "cut.mp4").string());
      cut_failed[t] = !cut.ok();
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_TRUE(good_clean[t]) << t;
    EXPECT_TRUE(cut_failed[t]) << t;
  }
}

}  // namespace
}  // namespace cw::pipeline
