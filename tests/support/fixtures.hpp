// Test footage made on the fly with the ffmpeg command (installed by scripts/setup); the only
// committed videos are the ThreatExchange reference vectors (tests/data/threatexchange). A missing
// ffmpeg fails the test, it never skips.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace cw::test {

// A temporary folder removed with everything in it when the object goes.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  const std::filesystem::path& path() const { return path_; }
  // A fresh folder inside, as a string.
  std::string out(const std::string& name) const;

 private:
  std::filesystem::path path_;
};

// Runs `timeout 120 ffmpeg <args> <dir>/<out>` (args as one shell string); on failure the
// message carries ffmpeg's own error output. A missing ffmpeg is a failure, never a skip.
::testing::AssertionResult ffmpeg(const TempDir& dir, const std::string& args,
                                  const std::string& out);

// Runs `ffmpeg -v error -y <args> <dir>/<name>` and returns the path; fails the test on error.
std::string make_video(const std::string& dir, const std::string& name,
                       const std::vector<std::string>& args);
// A 2-second 320x240 H.264 MP4 (about 13 KB).
std::string small_mp4(const std::string& dir, const std::string& name = "clip.mp4");
// A 4-second 1280x720 MPEG-4 Part 2 MP4 at high quality (about 5.5 MB).
std::string big_mp4(const std::string& dir, const std::string& name = "big.mp4");
// Lowercase hex SHA-256 of a file.
std::string sha256_of_file(const std::string& path);

}  // namespace cw::test
