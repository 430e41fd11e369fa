// ffmpeg-made fixtures.
#include "tests/support/fixtures.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <stdexcept>

#include "common/sha256.hpp"
#include "tests/support/process.hpp"

namespace cw::test {

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
