// ffmpeg-made fixtures.
#include "tests/support/fixtures.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

#include "common/sha256.hpp"
#include "tests/support/process.hpp"

namespace cw::test {

TempDir::TempDir() : path_(make_temp_dir("cw-test-")) {}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string TempDir::out(const std::string& name) const {
  std::filesystem::create_directories(path_ / name);
  return (path_ / name).string();
}

::testing::AssertionResult ffmpeg(const TempDir& dir, const std::string& args,
                                  const std::string& out) {
  constexpr const char* kFfmpeg = "/usr/bin/ffmpeg";
  if (access(kFfmpeg, X_OK) != 0) {
    return ::testing::AssertionFailure()
           << kFfmpeg << " is missing: run scripts/setup (these tests need it and do not skip)";
  }
  const auto log = dir / "ffmpeg.log";
  // `timeout` keeps a wrong command line from hanging the suite.
  const std::string cmd = "timeout -k 5 120 " + std::string(kFfmpeg) +
                          " -nostdin -hide_banner -loglevel error -y " + args + " '" +
                          (dir / out).string() + "' 2>'" + log.string() + "'";
  const auto made = dir / out;
  if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(made) ||
      std::filesystem::file_size(made) == 0) {
    return ::testing::AssertionFailure() << cmd << "\n" << read_file(log.string());
  }
  return ::testing::AssertionSuccess();
}

std::string make_video(const std::string& dir, const std::string& name,
                       const std::vector<std::string>& args) {
  if (access("/usr/bin/ffmpeg", X_OK) != 0) {
    ADD_FAILURE() << "/usr/bin/ffmpeg is missing: scripts/setup installs it";
    throw std::runtime_error("no ffmpeg");
  }
  std::string out = dir + "/" + name;
  std::vector<std::string> argv = {"/usr/bin/ffmpeg", "-v", "error", "-y"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back(out);
  CommandResult r = run_command(argv);
  if (r.exit_code != 0) {
    ADD_FAILURE() << "ffmpeg failed making " << name << ": " << r.err;
    throw std::runtime_error("ffmpeg failed");
  }
  return out;
}

std::string small_mp4(const std::string& dir, const std::string& name) {
  return make_video(dir, name,
                    {"-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25", "-c:v",
                     "libx264", "-pix_fmt", "yuv420p"});
}

std::string big_mp4(const std::string& dir, const std::string& name) {
  return make_video(dir, name,
                    {"-f", "lavfi", "-i", "testsrc2=duration=4:size=1280x720:rate=25", "-c:v",
                     "mpeg4", "-q:v", "1"});
}

std::string sha256_of_file(const std::string& path) {
  Sha256 h;
  h.update(read_file(path));
  return to_hex(h.finish());
}

}  // namespace cw::test
