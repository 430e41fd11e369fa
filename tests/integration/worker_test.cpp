// The worker against the real database and real footage: a process_media job analysed in the
// sandbox, results written once (re-analysis replaces frames), a child that overruns its limit
// fails the job with the reason while the worker carries on, an unreadable file fails for good.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "pipeline/worker.hpp"
#include "store/analysis.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"
#include "store/migrations.hpp"
#include "store/submissions.hpp"
#include "store/users.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class WorkerTest : public ::testing::Test {
 protected:
  WorkerTest() : db_(config()), media_(dir_ + "/media") {
    EXPECT_TRUE(store::migrate(db_, store::builtin_migrations()).ok());
    auto user = store::Users(db_).add("wanda", "CIT", store::Role::kContributor,
                                      store::Actor::system("test"), store::NewOrg::kCreate);
    EXPECT_TRUE(user.ok());
    who_ = store::Users(db_).authenticate(user->token).value();
  }
  ~WorkerTest() override { fs::remove_all(dir_); }

  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 4;
    return c;
  }

  // Stores the file as evidence and submits it: a process_media job is queued.
  std::string submit(const std::string& file) {
    auto w = media_.begin_write();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->write(test::read_file(file)).ok());
    auto stored = (*w)->commit();
    EXPECT_TRUE(stored.ok());
    store::MediaInput in{stored->sha256, stored->size, "mp4", "video/mp4", "clip.mp4"};
    auto created = store::Submissions(db_).create(who_, {}, in, "", [](const store::Submission&) {
      return store::StoredReply{201, "", ""};
    });
    EXPECT_TRUE(created.ok());
    return stored->sha256;
  }

  WorkerOptions options() {
    WorkerOptions o;
    o.pipeline.job_timeout_s = 120;
    o.pipeline.retry_backoff_s = 100;
    o.pipeline.lease_s = 30;
    o.pipeline.max_frames = 16;
    o.storage_root = dir_ + "/media";
    o.analyze_binary = CW_BINARY;
    o.name = "test";
    return o;
  }

  store::Job job_of(const std::string& sha) {
    auto jobs = store::Jobs(db_).for_payload("sha256", sha);
    EXPECT_TRUE(jobs.ok());
    EXPECT_EQ(jobs->size(), 1u);
    return jobs->front();
  }

  test::TestDatabase tdb_;
  std::string dir_ = test::make_temp_dir("cw-worker-");
  store::Database db_;
  store::MediaStore media_;
  store::Principal who_;
};

TEST_F(WorkerTest, AnalysesAMediaOnceAndReplacesFramesOnRetry) {
  std::string sha = submit(test::small_mp4(dir_));
  Worker worker(db_, options());
  auto did = worker.run_once("w1");
  ASSERT_TRUE(did.ok());
  ASSERT_TRUE(*did);
  store::Job job = job_of(sha);
  EXPECT_EQ(job.state, store::JobState::kDone) << job.last_error.value_or("");
  EXPECT_EQ(job.progress, 100);
  auto analysis = store::Analyses(db_).get(sha);
  ASSERT_TRUE(analysis.ok());
  int frames = analysis->second;
  EXPECT_GT(frames, 0);
  EXPECT_EQ(analysis->first["media"]["width"], 320);
  EXPECT_EQ(tdb_.query_value("SELECT width FROM media"), "320");
  EXPECT_EQ(tdb_.query_value("SELECT status FROM submissions"), "done");
  EXPECT_TRUE(fs::exists(dir_ + "/media/derived/" + sha + "/contact_sheet.jpg"));
  EXPECT_FALSE(*worker.run_once("w1"));  // nothing left

  ASSERT_TRUE(store::Jobs(db_).retry(job.id, store::Actor::system("test")).ok());
  ASSERT_TRUE(*worker.run_once("w1"));
  EXPECT_EQ(store::Analyses(db_).get(sha)->second, frames);  // replaced, not duplicated
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM frames"), std::to_string(frames));
}

TEST_F(WorkerTest, ChildOverItsLimitFailsTheJobAndTheWorkerCarriesOn) {
  // 20 s of 720p: far more than one second of work for the sandboxed analysis.
  std::string slow =
      test::make_video(dir_, "slow.mp4",
                       {"-f", "lavfi", "-i", "testsrc2=duration=20:size=1280x720:rate=25", "-c:v",
                        "mpeg4", "-q:v", "20"});
  std::string slow_sha = submit(slow);
  std::string good_sha = submit(test::small_mp4(dir_));
  WorkerOptions o = options();
  o.pipeline.job_timeout_s = 1;
  Worker tight(db_, o);
  ASSERT_TRUE(*tight.run_once("w1"));
  store::Job failed = job_of(slow_sha);
  EXPECT_EQ(failed.state, store::JobState::kQueued);  // will retry after the backoff
  EXPECT_EQ(failed.last_error.value_or(""), "timed out after 1 s");
  EXPECT_FALSE(fs::exists(dir_ + "/media/derived/" + slow_sha));

  Worker worker(db_, options());
  ASSERT_TRUE(*worker.run_once("w2"));  // the slow job waits out its backoff
  EXPECT_EQ(job_of(good_sha).state, store::JobState::kDone);
}

TEST_F(WorkerTest, UnreadableFileFailsForGoodWithTheReason) {
  std::string junk = dir_ + "/junk.mp4";
  // An MP4 signature the store accepts, then garbage no demuxer can read.
  test::write_file(junk, std::string("\0\0\0\x18"
                                     "ftypisom\0\0\0\0isom",
                                     20) +
                             std::string(50000, '\x5a'));
  std::string sha = submit(junk);
  Worker worker(db_, options());
  ASSERT_TRUE(*worker.run_once("w1"));
  store::Job job = job_of(sha);
  EXPECT_EQ(job.state, store::JobState::kFailed);
  EXPECT_NE(job.last_error.value_or("").find("not a readable video"), std::string::npos)
      << job.last_error.value_or("");
  EXPECT_EQ(tdb_.query_value("SELECT status FROM submissions"), "failed");
}

}  // namespace
}  // namespace cw::pipeline

namespace cw::pipeline {
namespace {

// A worker process killed with SIGKILL mid-analysis: after its lease runs out another worker
// takes the job over and finishes it once; frames are not duplicated and nothing half-written
// of the dead worker stays.
TEST_F(WorkerTest, JobOfAWorkerKilledMidAnalysisIsTakenOverAndFinishedOnce) {
  std::string slow =
      test::make_video(dir_, "slow.mp4",
                       {"-f", "lavfi", "-i", "testsrc2=duration=30:size=1280x720:rate=25", "-c:v",
                        "mpeg4", "-q:v", "20"});
  std::string sha = submit(slow);
  // As deployments run it: the application role (store/roles.hpp).
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", test::app_url(tdb_.url())},
                                            {"CONVOYWATCH_STORAGE_ROOT", dir_ + "/media"},
                                            {"CONVOYWATCH_PIPELINE_LEASE_S", "5"},
                                            {"CONVOYWATCH_PIPELINE_MAX_FRAMES", "16"}};
  std::string out = dir_ + "/worker.log";
  pid_t pid = test::spawn_convoywatch({"worker", "--concurrency", "1"}, env, out);
  // Wait until it is running the job, then kill it without warning.
  store::Job job;
  test::wait_until(
      [&] {
        job = job_of(sha);
        return job.state == store::JobState::kRunning;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  ASSERT_EQ(job.state, store::JobState::kRunning) << test::read_file(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));

  // Another worker: nothing to claim while the lease holds, the job once it has run out.
  Worker other(db_, options());
  EXPECT_FALSE(*other.run_once("w2"));
  bool done = false;
  for (int i = 0; i < 100 && !done; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto did = other.run_once("w2");
    ASSERT_TRUE(did.ok());
    done = *did;
  }
  ASSERT_TRUE(done) << "the job was never taken over";
  store::Job finished = job_of(sha);
  EXPECT_EQ(finished.state, store::JobState::kDone) << finished.last_error.value_or("");
  EXPECT_EQ(finished.attempts, 2);
  auto analysis = store::Analyses(db_).get(sha);
  ASSERT_TRUE(analysis.ok());
  EXPECT_EQ(analysis->second, static_cast<int>(analysis->first["frames"]["frames"].size()));
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM frames"), std::to_string(analysis->second));
  int leftovers = 0;
  for (const auto& e : fs::directory_iterator(dir_ + "/media/derived")) {
    leftovers += e.path().filename().string().find(".tmp-") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(leftovers, 0);

  // Finished once: nothing is left to claim, so the job does not run a third time.
  EXPECT_FALSE(*other.run_once("w2"));
  EXPECT_EQ(job_of(sha).attempts, 2);
  // Frames once: on disk exactly the frame and thumbnail files the rows name, no extra ones
  // from the killed attempt.
  std::set<std::string> named, on_disk;
  for (const auto& f : analysis->first["frames"]["frames"]) {
    named.insert(f["file"].get<std::string>());
    named.insert(f["thumb"].get<std::string>());
  }
  for (const auto& e : fs::directory_iterator(dir_ + "/media/derived/" + sha)) {
    std::string name = e.path().filename().string();
    if (name.rfind("frame_", 0) == 0 || name.rfind("thumb_", 0) == 0) on_disk.insert(name);
  }
  EXPECT_EQ(on_disk, named);
  EXPECT_EQ(named.size(), 2u * static_cast<size_t>(analysis->second));
}

// A worker that loses its lease mid-analysis (it stalled or was cut off long enough for another
// worker to take the job over) stops its sandboxed child at once instead of decoding a job that
// is no longer its own, and writes nothing: not a result, not a failure, not a release. The
// child here is a stand-in analysis that records its pid and sleeps.
TEST_F(WorkerTest, LostLeaseStopsTheChildAndWritesNothing) {
  std::string sha = submit(test::small_mp4(dir_));
  const std::string pid_file = dir_ + "/child.pid";
  const std::string fake = dir_ + "/slow-analyze";
  test::write_file(fake, "#!/bin/sh\necho $$ > " + pid_file + "\nexec sleep 120\n");
  fs::permissions(fake, fs::perms::owner_all);
  WorkerOptions o = options();
  o.analyze_binary = fake;
  // The stand-in writes its host pid next to the store: outside what the namespaces let a
  // child see, so this test of leases runs it with the limits only.
  o.pipeline.sandbox = "limits-only";
  o.pipeline.lease_s = 3;  // renewed every second
  Worker worker(db_, o);
  std::thread taker([&] {
    ASSERT_TRUE(test::wait_until([&] { return !test::read_file(pid_file).empty(); }, 30s));
    // Another worker takes the job over, as a claim does after the lease ran out.
    tdb_.exec(
        "UPDATE jobs SET lease_owner = 'w2', lease_until = now() + interval '1 hour', "
        "attempts = attempts + 1 WHERE kind = 'process_media'");
  });
  const auto t0 = std::chrono::steady_clock::now();
  auto did = worker.run_once("w1");
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  taker.join();
  ASSERT_TRUE(did.ok());
  EXPECT_TRUE(*did);
  EXPECT_LT(took, 20.0) << "the child ran on after the lease was lost";
  const pid_t child = std::stoi(test::read_file(pid_file));
  EXPECT_NE(kill(child, 0), 0) << "the sandboxed child is still alive";

  // The job is w2's, untouched: still running under its lease, no error recorded by w1.
  store::Job job = job_of(sha);
  EXPECT_EQ(job.state, store::JobState::kRunning);
  EXPECT_EQ(job.lease_owner.value_or(""), "w2");
  EXPECT_FALSE(job.last_error.has_value()) << *job.last_error;
  EXPECT_FALSE(store::Analyses(db_).get(sha).ok());
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM frames"), "0");
  int leftovers = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/media/derived", ec)) {
    leftovers += e.path().filename().string().rfind(sha, 0) == 0 ? 1 : 0;
  }
  EXPECT_EQ(leftovers, 0);
}

// SIGTERM to a worker process mid-analysis: the sandboxed child is stopped, the job goes back to
// the queue without counting the attempt, the process exits promptly and another worker
// finishes the job.
TEST_F(WorkerTest, SigtermMidAnalysisHandsTheJobBack) {
  std::string slow =
      test::make_video(dir_, "slow.mp4",
                       {"-f", "lavfi", "-i", "testsrc2=duration=30:size=1280x720:rate=25", "-c:v",
                        "mpeg4", "-q:v", "20"});
  std::string sha = submit(slow);
  // As deployments run it: the application role (store/roles.hpp).
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", test::app_url(tdb_.url())},
                                            {"CONVOYWATCH_STORAGE_ROOT", dir_ + "/media"},
                                            {"CONVOYWATCH_PIPELINE_MAX_FRAMES", "16"}};
  std::string out = dir_ + "/worker.log";
  pid_t pid = test::spawn_convoywatch({"worker", "--concurrency", "1"}, env, out);
  store::Job job;
  test::wait_until(
      [&] {
        job = job_of(sha);
        return job.state == store::JobState::kRunning;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  ASSERT_EQ(job.state, store::JobState::kRunning) << test::read_file(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(out);
  EXPECT_LT(took, 10.0) << "the worker waited for the analysis";
  store::Job back = job_of(sha);
  EXPECT_EQ(back.state, store::JobState::kQueued);
  EXPECT_EQ(back.attempts, 0);
  EXPECT_EQ(tdb_.query_value("SELECT status FROM submissions"), "queued");
  int leftovers = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_ + "/media/derived", ec)) {
    leftovers += e.path().filename().string().find(".tmp-") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(leftovers, 0);

  Worker other(db_, options());
  ASSERT_TRUE(*other.run_once("w2"));
  store::Job finished = job_of(sha);
  EXPECT_EQ(finished.state, store::JobState::kDone) << finished.last_error.value_or("");
  EXPECT_EQ(finished.attempts, 1);
}

}  // namespace
}  // namespace cw::pipeline
