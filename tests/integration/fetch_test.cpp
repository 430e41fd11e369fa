// The fetch_url job against the real database and a real local HTTP server
// (tests/support/media_server.py): a URL-only submission gets its media downloaded, stored as
// evidence and queued for analysis; a web page without a downloader, a refused private address
// and an HTTP error fail with their reasons; a post page goes through the configured external
// downloader; a worker told to stop in the middle of a download hands the job back.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/sha256.hpp"
#include "pipeline/worker.hpp"
#include "store/audit.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"
#include "store/migrations.hpp"
#include "store/submissions.hpp"
#include "store/users.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

class FetchJobTest : public ::testing::Test {
 protected:
  FetchJobTest() : db_(config()), video_(test::small_mp4(dir_)), web_(video_) {
    EXPECT_TRUE(store::migrate(db_, store::builtin_migrations()).ok());
    auto user = store::Users(db_).add("fedor", "CIT", store::Role::kContributor,
                                      store::Actor::system("test"), store::NewOrg::kCreate);
    EXPECT_TRUE(user.ok());
    who_ = store::Users(db_).authenticate(user->token).value();
  }
  ~FetchJobTest() override { fs::remove_all(dir_); }

  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 4;
    return c;
  }

  // A URL-only submission: a fetch_url job is queued. Returns the submission id.
  int64_t submit(const std::string& url) {
    store::SubmissionInput meta;
    meta.source_url = url;
    int64_t id = 0;
    auto created = store::Submissions(db_).create(who_, meta, std::nullopt, "",
                                                  [&](const store::Submission& s) {
                                                    id = s.id;
                                                    return store::StoredReply{201, "", ""};
                                                  });
    EXPECT_TRUE(created.ok());
    return id;
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
    o.fetch.allow_private = true;  // the web here is 127.0.0.1
    o.fetch.timeout_s = 60;
    return o;
  }

  store::Job fetch_job(int64_t submission) {
    auto jobs = store::Jobs(db_).for_payload("submission_id", std::to_string(submission));
    EXPECT_TRUE(jobs.ok());
    for (const auto& j : *jobs) {
      if (j.kind == "fetch_url") return j;
    }
    ADD_FAILURE() << "no fetch_url job for submission " << submission;
    return {};
  }

  std::string column(const char* sql_column, int64_t submission) {
    return tdb_.query_value(std::string("SELECT ") + sql_column +
                            " FROM submissions WHERE id = " + std::to_string(submission));
  }

  int temp_files() {
    int n = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ + "/media/tmp", ec)) {
      (void)e;
      ++n;
    }
    return n;
  }

  test::TestDatabase tdb_;
  std::string dir_ = test::make_temp_dir("cw-fetch-job-");
  store::Database db_;
  std::string video_;
  test::MediaHttpServer web_;
  store::Principal who_;
};

TEST_F(FetchJobTest, DownloadsStoresAndQueuesTheAnalysis) {
  int64_t id = submit(web_.url("/redirect/3"));
  Worker worker(db_, options());
  ASSERT_TRUE(*worker.run_once("w1"));
  store::Job job = fetch_job(id);
  EXPECT_EQ(job.state, store::JobState::kDone) << job.last_error.value_or("");
  std::string sha = Sha256::hex_digest(test::read_file(video_));
  EXPECT_EQ(column("media_sha256", id), sha);
  EXPECT_EQ(column("original_filename", id), "clip.mp4");  // named after the final URL
  EXPECT_EQ(tdb_.query_value("SELECT container FROM media WHERE sha256 = '" + sha + "'"), "mp4");
  auto path = store::MediaStore(dir_ + "/media").path_of(sha);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(test::sha256_of_file(*path), sha);
  EXPECT_EQ(temp_files(), 0);
  // The audit log says what was fetched, from where, by whom (the system).
  std::string audit = tdb_.query_value(
      "SELECT diff::text FROM audit_log WHERE action = 'submission.fetch' ORDER BY id DESC "
      "LIMIT 1");
  EXPECT_NE(audit.find("/clip.mp4"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"redirects\": 3"), std::string::npos) << audit;
  auto chain = store::AuditLog(db_).verify();
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok) << chain->reason;

  // The same pass goes on to analyse it.
  ASSERT_TRUE(*worker.run_once("w1"));
  auto media_jobs = store::Jobs(db_).for_payload("sha256", sha);
  ASSERT_TRUE(media_jobs.ok());
  ASSERT_EQ(media_jobs->size(), 1u);
  EXPECT_EQ(media_jobs->front().state, store::JobState::kDone);
  EXPECT_EQ(column("status", id), "done");

  // A second URL to the same bytes reuses the media and starts no second analysis.
  int64_t again = submit(web_.url("/octet"));
  ASSERT_TRUE(*worker.run_once("w1"));
  EXPECT_EQ(fetch_job(again).state, store::JobState::kDone);
  EXPECT_EQ(column("media_sha256", again), sha);
  EXPECT_EQ(column("status", again), "done");
  EXPECT_EQ(store::Jobs(db_).for_payload("sha256", sha)->size(), 1u);
}

TEST_F(FetchJobTest, PermanentFailuresSayWhyAndLeaveNothingBehind) {
  struct Case {
    std::string path;
    std::string reason;
  };
  std::vector<Case> cases = {
      {"/page", "a web page"},           {"/json", "application/json"},
      {"/status/404", "HTTP 404"},       {"/redirect/6", "more than 5 redirects"},
      {"/empty", "empty body"},          {"/endless", "larger than the limit"},
      {"/big", "larger than the limit"},
  };
  WorkerOptions o = options();
  o.fetch.max_bytes = 4 << 20;
  Worker worker(db_, o);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    int64_t id = submit(web_.url(c.path));
    ASSERT_TRUE(*worker.run_once("w1"));
    store::Job job = fetch_job(id);
    EXPECT_EQ(job.state, store::JobState::kFailed);
    EXPECT_EQ(job.attempts, 1);
    EXPECT_NE(job.last_error.value_or("").find(c.reason), std::string::npos)
        << job.last_error.value_or("");
    EXPECT_EQ(column("status", id), "failed");
    EXPECT_EQ(column("media_sha256", id), "");
  }
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM media"), "0");
  EXPECT_EQ(temp_files(), 0);
}

TEST_F(FetchJobTest, ServerErrorsAreRetriedWithBackoff) {
  int64_t id = submit(web_.url("/status/503"));
  Worker worker(db_, options());
  ASSERT_TRUE(*worker.run_once("w1"));
  store::Job job = fetch_job(id);
  EXPECT_EQ(job.state, store::JobState::kQueued);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_NE(job.last_error.value_or("").find("HTTP 503"), std::string::npos);
  EXPECT_EQ(column("status", id), "queued");
  EXPECT_FALSE(*worker.run_once("w1"));  // backing off
}

TEST_F(FetchJobTest, PrivateAddressesAreRefusedByDefault) {
  WorkerOptions o = options();
  o.fetch.allow_private = false;
  Worker worker(db_, o);
  int64_t id = submit(web_.url("/clip.mp4"));
  ASSERT_TRUE(*worker.run_once("w1"));
  store::Job job = fetch_job(id);
  EXPECT_EQ(job.state, store::JobState::kFailed);
  EXPECT_NE(job.last_error.value_or("").find("127.0.0.1 is a loopback address"), std::string::npos)
      << job.last_error.value_or("");
  // Not one request reached it.
  EXPECT_EQ(test::http_request(web_.port(), "GET", "/count").body, "0");

  // Also when the downloader would be the one connecting.
  o.fetch.downloader = {"/bin/sh", "-c", "exit 0", "sh", "{url}"};
  Worker with_downloader(db_, o);
  int64_t page = submit(web_.url("/post/7"));
  ASSERT_TRUE(*with_downloader.run_once("w1"));
  EXPECT_NE(fetch_job(page).last_error.value_or("").find("loopback"), std::string::npos);
}

TEST_F(FetchJobTest, PostPagesGoThroughTheExternalDownloader) {
  WorkerOptions o = options();
  // A stand-in for yt-dlp: it finds the media of a post page (here: the page URL + ".mp4") and
  // saves it into the folder it is given.
  o.fetch.downloader = {"sh", "-c", "exec curl -sSf -o \"$0/post.mp4\" \"$1.mp4\"", "{dir}",
                        "{url}"};
  Worker worker(db_, o);
  int64_t id = submit(web_.url("/post/42"));
  ASSERT_TRUE(*worker.run_once("w1"));
  ASSERT_TRUE(*worker.run_once("w1"));  // its analysis
  store::Job job = fetch_job(id);
  EXPECT_EQ(job.state, store::JobState::kDone) << job.last_error.value_or("");
  EXPECT_EQ(column("media_sha256", id), Sha256::hex_digest(test::read_file(video_)));
  EXPECT_EQ(temp_files(), 0);

  // A downloader that fails says so.
  o.fetch.downloader = {"sh", "-c", "echo 'ERROR: Unsupported URL' >&2; exit 1", "{url}"};
  Worker failing(db_, o);
  int64_t bad = submit(web_.url("/post/43"));
  auto did = failing.run_once("w1");
  ASSERT_TRUE(did.ok()) << did.error().to_string();
  ASSERT_TRUE(*did) << tdb_.query_value("SELECT string_agg(kind || ':' || state, ',') FROM jobs");
  EXPECT_NE(fetch_job(bad).last_error.value_or("").find("Unsupported URL"), std::string::npos)
      << fetch_job(bad).last_error.value_or("");
  EXPECT_EQ(temp_files(), 0);
}

// SIGTERM to `convoywatch worker` while it downloads: the download stops, the job goes back to
// the queue without counting the attempt, the process exits promptly and leaves no temp file.
TEST_F(FetchJobTest, SigtermHandsTheJobBack) {
  int64_t id = submit(web_.url("/endless"));
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", test::app_url(tdb_.url())},
                                            {"CONVOYWATCH_STORAGE_ROOT", dir_ + "/media"},
                                            {"CONVOYWATCH_FETCH_ALLOW_PRIVATE", "true"}};
  std::string out = dir_ + "/worker.log";
  pid_t pid = test::spawn_convoywatch({"worker", "--concurrency", "1"}, env, out);
  store::Job job;
  test::wait_until(
      [&] {
        job = fetch_job(id);
        return job.state == store::JobState::kRunning && temp_files() > 0;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(100));
  ASSERT_EQ(job.state, store::JobState::kRunning) << test::read_file(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t0 = std::chrono::steady_clock::now();
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << test::read_file(out);
  EXPECT_LT(took, 10.0) << "the worker did not stop its download";
  store::Job back = fetch_job(id);
  EXPECT_EQ(back.state, store::JobState::kQueued);
  EXPECT_EQ(back.attempts, 0);
  EXPECT_FALSE(back.lease_owner.has_value());
  EXPECT_EQ(column("status", id), "queued");
  EXPECT_EQ(temp_files(), 0);
  EXPECT_NE(test::read_file(out).find("job handed back"), std::string::npos);
}

}  // namespace
}  // namespace cw::pipeline
