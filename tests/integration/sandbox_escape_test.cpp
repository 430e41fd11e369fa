// Escape attempts: tests/sandbox_escape/escape.cpp, in place of `convoywatch analyze`, run through
// the real sandbox exactly as the worker runs the analysis (its one original read-only, a fresh
// output folder, the pipeline's limits). Each attempt is made twice: after the seccomp filter, as
// `analyze` makes it, and without it, so that the namespaces alone are shown to stop it too
// (execve of the read-only /bin/sh is the one only seccomp stops). Every refusal is checked to
// be one that could have failed: the host itself can read the variables, connect to the
// database, read the other original. A control run in limits-only mode gets out. Then the
// worker: a seccomp violation fails the job with its reason and the worker takes the next job.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "pipeline/sandbox.hpp"
#include "pipeline/worker.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"
#include "store/migrations.hpp"
#include "store/submissions.hpp"
#include "store/users.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// True when the host (this test) can connect: an attempt refused in the sandbox means something.
bool host_connects(int family, const sockaddr* addr, socklen_t len) {
  int fd = socket(family, SOCK_STREAM, 0);
  bool ok = fd >= 0 && connect(fd, addr, len) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

sockaddr_in inet(const std::string& host, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &sa.sin_addr);
  return sa;
}

class SandboxEscapeTest : public ::testing::Test {
 protected:
  SandboxEscapeTest() : db_(config()), media_(dir_ + "/media") {
    EXPECT_TRUE(media_.prepare().ok());
    EXPECT_TRUE(store::migrate(db_, store::builtin_migrations()).ok());
    // The secret a child must not see, as `serve` would hold it.
    setenv("CONVOYWATCH_DATABASE_URL", tdb_.url().c_str(), 1);
    other_ = store_file("another organisation's footage");
    port_ = std::stoi(tdb_.query_value("SHOW port"));
    std::string dirs = tdb_.query_value("SHOW unix_socket_directories");
    socket_ = dirs.substr(0, dirs.find(',')) + "/.s.PGSQL." + std::to_string(port_);
  }
  ~SandboxEscapeTest() override {
    unsetenv("CONVOYWATCH_DATABASE_URL");
    if (listener_ >= 0) close(listener_);
    fs::remove_all(dir_);
  }

  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 2;
    return c;
  }

  // Stores `content` as an original; its path in the store.
  std::string store_file(const std::string& content) {
    auto w = media_.begin_write();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->write(content).ok());
    auto stored = (*w)->commit();
    EXPECT_TRUE(stored.ok());
    last_sha_ = stored->sha256;
    return media_.path_of(stored->sha256).value();
  }

  // Runs the helper on an original holding `attempt`, as process_media runs `analyze`.
  SandboxResult run(const std::string& attempt, SandboxMode mode = SandboxMode::kNamespaces) {
    std::string original = store_file(attempt);
    work_ = dir_ + "/media/derived/" + last_sha_ + ".tmp-test";
    fs::create_directories(work_);
    PipelineConfig cfg;
    cfg.job_timeout_s = 30;
    SandboxLimits limits = sandbox_limits(cfg);
    limits.mode = mode;
    limits.read_only = {original};
    limits.output_dir = work_;
    auto r = run_sandboxed(
        {CW_SANDBOX_ESCAPE, "analyze", original, "--out", work_, "--max-frames", "16"}, limits);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : SandboxResult{};
  }

  // The attempt is refused with the seccomp filter (a violation, or the call failing) and
  // without it (the call failing inside the namespaces).
  void expect_refused(const std::string& attempt, bool namespaces_alone = true) {
    SCOPED_TRACE(attempt);
    SandboxResult filtered = run(attempt);
    EXPECT_EQ(filtered.out.find("\"escaped\":true"), std::string::npos) << filtered.out;
    EXPECT_NE(filtered.exit_code, 3) << filtered.out << filtered.err_tail;
    EXPECT_TRUE(
        !filtered.violation.empty() ||
        (filtered.exit_code == 0 && filtered.out.find("\"escaped\":false") != std::string::npos))
        << filtered.out << filtered.err_tail;
    if (!namespaces_alone) return;
    SandboxResult bare = run("no-seccomp " + attempt);
    EXPECT_EQ(bare.exit_code, 0) << bare.out << bare.err_tail;
    EXPECT_NE(bare.out.find("\"escaped\":false"), std::string::npos) << bare.out << bare.err_tail;
  }

  test::TestDatabase tdb_;
  std::string dir_ = test::make_temp_dir("cw-escape-");
  store::Database db_;
  store::MediaStore media_;
  std::string other_, socket_, last_sha_, work_;
  int port_ = 0;
  int listener_ = -1;
};

TEST_F(SandboxEscapeTest, EnvironmentOfTheWorkerAndOfProcessOne) {
  ASSERT_NE(getenv("CONVOYWATCH_DATABASE_URL"), nullptr);
  expect_refused("env");
  expect_refused("proc1-environ");
  ASSERT_TRUE(fs::exists("/proc/" + std::to_string(getpid()) + "/environ"));
  expect_refused("environ " + std::to_string(getpid()));
}

TEST_F(SandboxEscapeTest, NetworkToTheDatabaseAndToPort80) {
  sockaddr_in pg = inet("127.0.0.1", port_);
  ASSERT_TRUE(host_connects(AF_INET, reinterpret_cast<sockaddr*>(&pg), sizeof pg));
  expect_refused("tcp 127.0.0.1 " + std::to_string(port_));
  // Something listens on 127.0.0.1:80 while the test runs (unless something already does).
  listener_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in web = inet("127.0.0.1", 80);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(listener_, reinterpret_cast<sockaddr*>(&web), sizeof web) == 0) listen(listener_, 8);
  ASSERT_TRUE(host_connects(AF_INET, reinterpret_cast<sockaddr*>(&web), sizeof web));
  expect_refused("tcp 127.0.0.1 80");
  sockaddr_un un{};
  un.sun_family = AF_UNIX;
  std::snprintf(un.sun_path, sizeof un.sun_path, "%s", socket_.c_str());
  ASSERT_TRUE(host_connects(AF_UNIX, reinterpret_cast<sockaddr*>(&un), sizeof un)) << socket_;
  expect_refused("unix " + socket_);
}

TEST_F(SandboxEscapeTest, OriginalsAndFilesOutsideTheOutputFolder) {
  ASSERT_EQ(test::read_file(other_), "another organisation's footage");
  expect_refused("read " + other_);
  expect_refused("write " + other_);
  EXPECT_EQ(test::read_file(other_), "another organisation's footage");
  for (const std::string& path :
       std::vector<std::string>{dir_ + "/media/planted", dir_ + "/planted", "/tmp/cw-planted",
                                "/planted", "/dev/planted", "/usr/planted"}) {
    expect_refused("create " + path);
    EXPECT_FALSE(fs::exists(path)) << path;
  }
  // The same attempt in its own output folder (its working directory) works: the refusals above
  // are the file view's, not a broken helper.
  SandboxResult inside = run("create written-by-the-child");
  EXPECT_NE(inside.out.find("\"escaped\":true"), std::string::npos) << inside.out;
  EXPECT_TRUE(fs::exists(work_ + "/written-by-the-child"));
}

TEST_F(SandboxEscapeTest, ExecveOfAShell) {
  SandboxResult r = run("exec");
  EXPECT_EQ(r.violation, "execve") << r.out << r.err_tail;
  EXPECT_EQ(failure_reason(r, SandboxLimits{}).value_or(""), "sandbox violation: syscall execve");
  EXPECT_EQ(r.out.find("\"escaped\":true"), std::string::npos);
}

TEST_F(SandboxEscapeTest, GrandchildInItsOwnSessionDiesWithTheJob) {
  for (const std::string attempt : {"no-seccomp outlive", "outlive"}) {
    SCOPED_TRACE(attempt);
    SandboxResult r = run(attempt);
    EXPECT_NE(r.exit_code, 3);
    std::string beat = work_ + "/heartbeat";
    if (r.violation.empty()) {
      // The grandchild was beating when the job ended...
      ASSERT_TRUE(fs::exists(beat)) << r.out << r.err_tail;
    }
    // ...and is gone: the heartbeat stops.
    auto size = [&] { return fs::exists(beat) ? fs::file_size(beat) : 0; };
    auto before = size();
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(size(), before) << "a process of the job outlived it";
  }
}

TEST_F(SandboxEscapeTest, PtraceOfTheWorker) {
  expect_refused("ptrace " + std::to_string(getpid()));
}

// The control: the same attempts with the limits only get out, so the checks above can fail.
TEST_F(SandboxEscapeTest, LimitsOnlyWouldLetThemOut) {
  SandboxResult pg =
      run("no-seccomp tcp 127.0.0.1 " + std::to_string(port_), SandboxMode::kLimitsOnly);
  EXPECT_NE(pg.out.find("\"escaped\":true"), std::string::npos) << pg.out << pg.err_tail;
  SandboxResult read = run("no-seccomp read " + other_, SandboxMode::kLimitsOnly);
  EXPECT_NE(read.out.find("\"escaped\":true"), std::string::npos) << read.out << read.err_tail;
  // The filter alone still stops the socket.
  SandboxResult filtered = run("tcp 127.0.0.1 " + std::to_string(port_), SandboxMode::kLimitsOnly);
  EXPECT_EQ(filtered.violation, "socket") << filtered.out << filtered.err_tail;
}

// Through the worker: the violation fails the job for good with its reason, and the same worker
// takes the next job.
TEST_F(SandboxEscapeTest, ViolationFailsTheJobAndTheWorkerCarriesOn) {
  auto user = store::Users(db_).add("eve", "CIT", store::Role::kContributor,
                                    store::Actor::system("test"), store::NewOrg::kCreate);
  ASSERT_TRUE(user.ok());
  auto who = store::Users(db_).authenticate(user->token).value();
  auto submit = [&](const std::string& content) {
    store_file(content);
    store::MediaInput in{last_sha_, static_cast<uint64_t>(content.size()), "mp4", "video/mp4",
                         "clip.mp4"};
    auto created = store::Submissions(db_).create(who, {}, in, "", [](const store::Submission&) {
      return store::StoredReply{201, "", ""};
    });
    EXPECT_TRUE(created.ok());
    return last_sha_;
  };
  auto job_of = [&](const std::string& sha) {
    auto jobs = store::Jobs(db_).for_payload("sha256", sha);
    EXPECT_TRUE(jobs.ok() && jobs->size() == 1u);
    return jobs->front();
  };
  std::string bad = submit("violate");
  std::string next = submit("benign");
  WorkerOptions o;
  o.pipeline.job_timeout_s = 30;
  o.storage_root = dir_ + "/media";
  o.analyze_binary = CW_SANDBOX_ESCAPE;
  o.name = "test";
  Worker worker(db_, o);
  ASSERT_TRUE(*worker.run_once("w1"));
  store::Job failed = job_of(bad);
  EXPECT_EQ(failed.state, store::JobState::kFailed);  // for good: the file would do it again
  EXPECT_EQ(failed.last_error.value_or(""), "sandbox violation: syscall socket");
  EXPECT_FALSE(fs::exists(dir_ + "/media/derived/" + bad));
  ASSERT_TRUE(*worker.run_once("w1"));
  EXPECT_EQ(job_of(next).last_error.value_or(""), "benign refusal");
}

}  // namespace
}  // namespace cw::pipeline
