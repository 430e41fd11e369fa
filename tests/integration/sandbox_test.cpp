// The sandbox: crashes, hangs and limits end the child with a clear reason, never the caller;
// `convoywatch analyze` runs inside it on real and hostile files.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "pipeline/sandbox.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace cw::pipeline {
namespace {

SandboxLimits quick() {
  SandboxLimits l;
  l.cpu_seconds = 5;
  l.wall_timeout = std::chrono::seconds(5);
  return l;
}

TEST(SandboxTest, OutputAndExitStatus) {
  auto r = run_sandboxed({"/bin/sh", "-c", "echo '{\"ok\":1}'; echo oops >&2; exit 3"}, quick());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->out, "{\"ok\":1}\n");
  EXPECT_EQ(failure_reason(*r, quick()).value(), "exited with status 3: oops");
  auto ok = run_sandboxed({"/bin/true"}, quick());
  ASSERT_TRUE(ok.ok());
  EXPECT_FALSE(failure_reason(*ok, quick()).has_value());
}

TEST(SandboxTest, CrashIsAReasonNotACrash) {
  auto r = run_sandboxed({"/bin/sh", "-c", "kill -SEGV $$"}, quick());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->signal, SIGSEGV);
  EXPECT_EQ(failure_reason(*r, quick()).value(), "decoder crashed: signal 11 (SIGSEGV)");
}

TEST(SandboxTest, WallClockTimeoutKillsTheWholeGroup) {
  SandboxLimits l = quick();
  l.wall_timeout = std::chrono::seconds(1);
  // The grandchild sleeps too: the process group goes with it.
  auto r = run_sandboxed({"/bin/sh", "-c", "sleep 30 & sleep 30"}, l);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->timed_out);
  EXPECT_LT(r->seconds, 5);
  EXPECT_EQ(failure_reason(*r, l).value(), "timed out after 1 s");
}

TEST(SandboxTest, CpuAndFileSizeLimits) {
  SandboxLimits l = quick();
  l.cpu_seconds = 1;
  l.wall_timeout = std::chrono::seconds(20);
  auto cpu = run_sandboxed({"/bin/sh", "-c", "while :; do :; done"}, l);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(failure_reason(*cpu, l).value(), "CPU limit of 1 s exceeded");

  std::string dir = test::make_temp_dir("cw-sandbox-");
  l.file_size_bytes = 1 << 20;
  l.output_dir = dir;
  auto big =
      run_sandboxed({"/bin/dd", "if=/dev/zero", "of=" + dir + "/big", "bs=1M", "count=8"}, l);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(failure_reason(*big, l).value(), "file size limit exceeded");
  std::filesystem::remove_all(dir);
}

TEST(SandboxTest, AnalyzeRealFootageAndHostileFiles) {
  std::string dir = test::make_temp_dir("cw-analyze-");
  std::string clip = test::small_mp4(dir);
  SandboxLimits l;
  l.wall_timeout = std::chrono::seconds(60);
  // As the worker runs it: the one input read-only, one empty output folder.
  auto confined = [&](const std::string& input, const std::string& out) {
    SandboxLimits c = l;
    c.read_only = {input};
    c.output_dir = out;
    std::filesystem::create_directories(out);
    return c;
  };
  auto good = run_sandboxed({CW_BINARY, "analyze", clip, "--out", dir + "/out"},
                            confined(clip, dir + "/out"));
  ASSERT_TRUE(good.ok());
  ASSERT_FALSE(failure_reason(*good, l).has_value()) << *failure_reason(*good, l);
  auto doc = nlohmann::json::parse(good->out);
  EXPECT_EQ(doc["media"]["video_codec"], "h264");
  EXPECT_EQ(doc["media"]["width"], 320);

  std::string vtest = "/usr/share/doc/opencv-doc/examples/data/vtest.avi";
  ASSERT_TRUE(std::filesystem::exists(vtest)) << "opencv-doc is missing: scripts/setup installs it";
  auto real = run_sandboxed({CW_BINARY, "analyze", vtest, "--out", dir + "/out2"},
                            confined(vtest, dir + "/out2"));
  ASSERT_TRUE(real.ok());
  EXPECT_EQ(real->exit_code, 0) << real->err_tail;

  std::string junk = dir + "/junk.mp4";
  test::write_file(junk, std::string(100000, '\x42'));
  auto bad = run_sandboxed({CW_BINARY, "analyze", junk, "--out", dir + "/out3"},
                           confined(junk, dir + "/out3"));
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->exit_code, 2);
  auto err = nlohmann::json::parse(bad->out);
  EXPECT_EQ(err["error"]["code"], "unprocessable");
  EXPECT_TRUE(check_child_output(dir + "/out", 2, 1000, 1 << 30).ok());
  std::filesystem::remove_all(dir);
}

// What a child leaves is checked before it is moved into place.
TEST(SandboxTest, ChildOutputWithLinksOrOddNamesIsRefused) {
  std::string dir = test::make_temp_dir("cw-out-");
  test::write_file(dir + "/frame_0001.jpg", "jpeg");
  EXPECT_TRUE(check_child_output(dir, 1, 10, 100).ok());
  EXPECT_FALSE(check_child_output(dir, 1, 10, 2).ok());  // too many bytes
  std::filesystem::create_symlink("/etc/passwd", dir + "/frame_0002.jpg");
  auto link = check_child_output(dir, 1, 10, 100);
  ASSERT_FALSE(link.ok());
  EXPECT_NE(link.error().detail().find("frame_0002.jpg is not a regular file"), std::string::npos)
      << link.error().detail();
  std::filesystem::remove(dir + "/frame_0002.jpg");
  test::write_file(dir + "/.hidden", "x");
  EXPECT_FALSE(check_child_output(dir, 1, 10, 100).ok());
  std::filesystem::remove(dir + "/.hidden");
  std::filesystem::create_directories(dir + "/a/b");
  EXPECT_FALSE(check_child_output(dir, 1, 10, 100).ok());  // nested deeper than allowed
  std::filesystem::remove_all(dir);
}

// Namespaces are the default; limits-only is what a host without user namespaces must choose.
TEST(SandboxTest, ModesAndTheirCheck) {
  PipelineConfig c;
  EXPECT_EQ(sandbox_mode_of(c), SandboxMode::kNamespaces);
  EXPECT_EQ(sandbox_limits(c).mode, SandboxMode::kNamespaces);
  c.sandbox = "limits-only";
  EXPECT_EQ(sandbox_mode_of(c), SandboxMode::kLimitsOnly);
  EXPECT_EQ(sandbox_mode_name(SandboxMode::kLimitsOnly), "limits-only");
  // This machine has bubblewrap and user namespaces (scripts/setup installs bubblewrap).
  Status ok = check_sandbox(SandboxMode::kNamespaces);
  EXPECT_TRUE(ok.ok()) << ok.error().detail();
  EXPECT_TRUE(check_sandbox(SandboxMode::kLimitsOnly).ok());
}

}  // namespace
}  // namespace cw::pipeline
