// Unit tests for sniff_video: tables of hand-made headers for every container, brand and edge,
// real files made by ffmpeg (a missing ffmpeg fails the test: scripts/setup installs it), and
// files that are not videos.
#include "store/video_sniff.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace cw::store {
namespace {

using V = VideoContainer;
constexpr const char* kFfmpeg = "/usr/bin/ffmpeg";

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// An ftyp box (major brand, minor version 0, compatible brands) followed by a free box.
std::string ftyp(const std::string& brand, const std::string& compatible = "isom") {
  std::string box = "ftyp" + brand + std::string(4, '\0') + compatible;
  return be32(static_cast<uint32_t>(box.size() + 4)) + box + be32(8) + "free";
}

std::string atom(uint32_t size, const std::string& type) { return be32(size) + type; }

// An EBML header whose children are EBMLVersion 1 and, when given, DocType.
std::string ebml(std::optional<std::string> doc_type) {
  std::string children = std::string("\x42\x86\x81\x01", 4);
  if (doc_type) {
    children += std::string("\x42\x82", 2);
    children += static_cast<char>(0x80 | doc_type->size());
    children += *doc_type;
  }
  std::string out("\x1a\x45\xdf\xa3", 4);
  out += static_cast<char>(0x80 | children.size());
  out += children;
  out += std::string("\x18\x53\x80\x67\x01\x00\x00\x00", 8);  // Segment, as ffmpeg writes it
  return out;
}

// `packets` transport-stream packets of `packet_size` bytes, sync byte at `sync_offset`.
std::string ts(int packets, size_t packet_size = 188, size_t sync_offset = 0) {
  std::string out(packets * packet_size, '\x11');
  for (int i = 0; i < packets; ++i) out[i * packet_size + sync_offset] = 0x47;
  return out;
}

std::string bytes(std::initializer_list<int> values) {
  std::string out;
  for (int v : values) out += static_cast<char>(v);
  return out;
}

struct Case {
  std::string name;
  std::string bytes;
  std::optional<V> expected;
};

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    std::optional<V> got = sniff_video(c.bytes);
    EXPECT_EQ(got, c.expected) << c.name << ": got " << (got ? container_name(*got) : "nothing");
  }
}

TEST(VideoSniffTest, IsoBmffBrands) {
  check_cases({
      {"isom", ftyp("isom"), V::kMp4},
      {"mp41", ftyp("mp41"), V::kMp4},
      {"mp42", ftyp("mp42"), V::kMp4},
      {"avc1", ftyp("avc1"), V::kMp4},
      {"iso2", ftyp("iso2"), V::kMp4},
      {"iso4", ftyp("iso4"), V::kMp4},
      {"iso5", ftyp("iso5"), V::kMp4},
      {"iso6", ftyp("iso6"), V::kMp4},
      {"M4V", ftyp("M4V "), V::kMp4},
      {"MSNV (Sony)", ftyp("MSNV"), V::kMp4},
      {"dash", ftyp("dash"), V::kMp4},
      {"unknown printable brand", ftyp("xyzw"), V::kMp4},
      {"qt", ftyp("qt  "), V::kQuickTime},
      {"3gp4", ftyp("3gp4"), V::k3gp},
      {"3gp5", ftyp("3gp5"), V::k3gp},
      {"3gp6", ftyp("3gp6"), V::k3gp},
      {"3g2a", ftyp("3g2a"), V::k3gp},
      {"ftyp with just the brand", atom(12, "ftyp") + "mp42", V::kMp4},
      // Same box, but images and audio are not videos.
      {"HEIC photo", ftyp("heic", "mif1"), std::nullopt},
      {"HEIF", ftyp("mif1", "heic"), std::nullopt},
      {"AVIF", ftyp("avif", "mif1"), std::nullopt},
      {"M4A audio", ftyp("M4A ", "mp42"), std::nullopt},
      {"brand cut short", atom(12, "ftyp") + "mp4", std::nullopt},
      {"binary brand", atom(16, "ftyp") + std::string("\x00\x01\x02\x03", 4), std::nullopt},
  });
}

TEST(VideoSniffTest, QuickTimeWithoutFtyp) {
  check_cases({
      {"moov first", atom(1000, "moov") + atom(108, "mvhd"), V::kQuickTime},
      {"mdat first", atom(5000, "mdat") + std::string(64, '\0'), V::kQuickTime},
      {"mdat with 64-bit size", atom(1, "mdat") + std::string(8, '\0'), V::kQuickTime},
      {"wide then mdat", atom(8, "wide") + atom(5000, "mdat"), V::kQuickTime},
      {"free then moov", atom(16, "free") + std::string(8, '\0') + atom(900, "moov"),
       V::kQuickTime},
      {"skip", atom(8, "skip") + atom(900, "moov"), V::kQuickTime},
      {"free to the end", atom(0, "free"), V::kQuickTime},
      {"wide then garbage", atom(8, "wide") + std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8),
       std::nullopt},
      {"impossible atom size", atom(4, "moov") + std::string(16, 'x'), std::nullopt},
      {"other atom", atom(100, "trak"), std::nullopt},
      {"cut short", std::string("\x00\x00\x00\x08mdd", 7), std::nullopt},
  });
}

TEST(VideoSniffTest, Ebml) {
  std::string padded = ebml(std::string("webm\0\0", 6));
  check_cases({
      {"webm", ebml("webm"), V::kWebM},
      {"matroska", ebml("matroska"), V::kMatroska},
      {"webm padded with NULs", padded, V::kWebM},
      {"no DocType", ebml(std::nullopt), V::kMatroska},
      {"other DocType", ebml("mka"), V::kMatroska},
      {"magic only", std::string("\x1a\x45\xdf\xa3", 4), V::kMatroska},
      {"header cut short", ebml("webm").substr(0, 12), V::kMatroska},
      {"almost the magic", std::string("\x1a\x45\xdf\xa4\x84webm", 9), std::nullopt},
  });
}

TEST(VideoSniffTest, RiffAvi) {
  check_cases({
      {"avi", "RIFF" + be32(123456) + "AVI LIST", V::kAvi},
      {"wave", "RIFF" + be32(123456) + "WAVEfmt ", std::nullopt},
      {"webp", "RIFF" + be32(123456) + "WEBPVP8 ", std::nullopt},
      {"avi cut short", "RIFF" + be32(123456) + "AVI", std::nullopt},
  });
}

TEST(VideoSniffTest, MpegTransportStream) {
  std::string broken = ts(10);
  broken[5 * 188] = 0x00;
  check_cases({
      {"3 packets", ts(3), V::kMpegTs},
      {"21 packets and a piece (4 KiB)", ts(22).substr(0, 4096), V::kMpegTs},
      {"2 packets", ts(2), std::nullopt},
      {"lost sync in packet 6", broken, std::nullopt},
      {"m2ts", ts(3, 192, 4), V::kMpegTs},
      {"m2ts 4 KiB", ts(22, 192, 4).substr(0, 4096), V::kMpegTs},
      {"m2ts 2 packets", ts(2, 192, 4), std::nullopt},
      {"one sync byte (GIF)", "GIF89a" + std::string(600, '\0'), std::nullopt},
  });
}

TEST(VideoSniffTest, NotVideos) {
  std::string pdf = "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
  check_cases({
      {"empty", "", std::nullopt},
      {"one byte", "G", std::nullopt},
      {"jpeg", bytes({0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F', 'I', 'F', 0x00}), std::nullopt},
      {"jpeg exif", bytes({0xff, 0xd8, 0xff, 0xe1, 0x12, 0x34, 'E', 'x', 'i', 'f', 0, 0}),
       std::nullopt},
      {"png", bytes({0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 'I', 'H', 'D', 'R'}),
       std::nullopt},
      {"pdf", pdf, std::nullopt},
      {"html", "<html><head><title>convoy</title></head><body>ftyp moov</body></html>",
       std::nullopt},
      {"doctype html", "<!DOCTYPE html>\n<html lang=\"ru\">", std::nullopt},
      {"zip", bytes({'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0}) + "video.mp4", std::nullopt},
      {"zeros", std::string(4096, '\0'), std::nullopt},
      {"text mentioning ftyp", "this is ftyp and moov and mdat", std::nullopt},
  });
}

TEST(VideoSniffTest, NamesAndMimeTypes) {
  struct Names {
    V container;
    std::string name;
    std::string mime;
  };
  const std::vector<Names> table = {
      {V::kMp4, "mp4", "video/mp4"},        {V::kQuickTime, "quicktime", "video/quicktime"},
      {V::k3gp, "3gp", "video/3gpp"},       {V::kMatroska, "matroska", "video/x-matroska"},
      {V::kWebM, "webm", "video/webm"},     {V::kAvi, "avi", "video/x-msvideo"},
      {V::kMpegTs, "mpegts", "video/mp2t"},
  };
  for (const Names& n : table) {
    EXPECT_EQ(container_name(n.container), n.name);
    EXPECT_EQ(container_mime(n.container), n.mime);
  }
}

// ---- real files -------------------------------------------------------------------------------

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cw-sniff-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string read_head(const std::string& path, size_t limit = 4096) {
  std::ifstream in(path, std::ios::binary);
  std::string out(limit, '\0');
  in.read(out.data(), static_cast<std::streamsize>(limit));
  out.resize(static_cast<size_t>(in.gcount()));
  return out;
}

// Runs ffmpeg with a one-second synthetic source; true when it wrote `file`.
bool make_with_ffmpeg(const std::string& dir, const std::string& input, const std::string& args,
                      const std::string& file) {
  const std::string out = dir + "/" + file;
  const std::string cmd = std::string(kFfmpeg) + " -nostdin -hide_banner -loglevel error -y " +
                          input + " " + args + " '" + out + "' 2>'" + dir + "/ffmpeg.log'";
  return std::system(cmd.c_str()) == 0 && std::filesystem::file_size(out) > 0;
}

TEST(VideoSniffTest, RealFilesFromFfmpeg) {
  ASSERT_EQ(::access(kFfmpeg, X_OK), 0)
      << kFfmpeg << " is missing: run scripts/setup (this test needs it and does not skip)";
  TempDir dir;
  const std::string video = "-f lavfi -i testsrc=duration=1:size=64x64:rate=10";
  const std::string qcif = "-f lavfi -i testsrc=duration=1:size=176x144:rate=10";
  const std::string audio = "-f lavfi -i sine=duration=1";
  struct Made {
    std::string input;
    std::string args;
    std::string file;
    std::optional<V> expected;
  };
  const std::vector<Made> table = {
      {video, "-c:v libx264", "out.mp4", V::kMp4},
      {video, "-c:v libx264 -brand mp42", "brand_mp42.mp4", V::kMp4},
      {video, "-c:v libx264 -movflags +faststart", "faststart.mp4", V::kMp4},
      {video, "-c:v libx264 -f ipod", "out.m4v", V::kMp4},
      {video, "-c:v libx264", "out.mov", V::kQuickTime},
      {video, "-c:v libx264", "out.mkv", V::kMatroska},
      {video, "-c:v libvpx-vp9 -deadline realtime -cpu-used 8", "out.webm", V::kWebM},
      {video, "-c:v mjpeg", "out.avi", V::kAvi},
      {video, "-c:v libx264", "out.ts", V::kMpegTs},
      {video, "-c:v libx264 -f mpegts -mpegts_m2ts_mode 1", "out.m2ts", V::kMpegTs},
      {qcif, "-c:v h263", "out.3gp", V::k3gp},
      {qcif, "-c:v h263 -f 3g2", "out.3g2", V::k3gp},
      // Not videos, made by the same tool.
      {video, "-frames:v 1", "frame.jpg", std::nullopt},
      {video, "-frames:v 1", "frame.png", std::nullopt},
      {audio, "-c:a aac", "sound.m4a", std::nullopt},
      {audio, "", "sound.wav", std::nullopt},
  };
  for (const Made& m : table) {
    if (!make_with_ffmpeg(dir.path(), m.input, m.args, m.file)) {
      ADD_FAILURE() << "ffmpeg could not make " << m.file << ": "
                    << read_head(dir.path() + "/ffmpeg.log");
      continue;
    }
    std::optional<V> got = sniff_video(read_head(dir.path() + "/" + m.file));
    EXPECT_EQ(got, m.expected) << m.file << ": got " << (got ? container_name(*got) : "nothing");
  }
}

TEST(VideoSniffTest, RandomBytesNamedMp4) {
  TempDir dir;
  std::mt19937 rng(20220216);
  for (int i = 0; i < 200; ++i) {
    std::string noise(4096, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    const std::string path = dir.path() + "/upload.mp4";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << noise;
    EXPECT_EQ(sniff_video(read_head(path)), std::nullopt) << "noise #" << i;
  }
}

}  // namespace
}  // namespace cw::store
