// The job queue against the real PostgreSQL: claim/complete, concurrent workers, lease takeover,
// retries with backoff, release, operator retry, payload lookup, and the LISTEN wake-up.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/database.hpp"
#include "store/jobs.hpp"
#include "store/migrations.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

using namespace std::chrono_literals;

class JobsTest : public ::testing::Test {
 protected:
  JobsTest() : db_(config()), jobs_(db_) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 6;
    return c;
  }
  int64_t enqueue(const std::string& kind, const nlohmann::json& payload = nlohmann::json::object(),
                  TimePoint run_after = TimePoint{}) {
    auto r = jobs_.enqueue(kind, payload, run_after);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? *r : 0;
  }
  std::optional<Job> claim(const std::string& worker, std::chrono::seconds lease = 30s,
                           const std::vector<std::string>& kinds = {}) {
    auto r = jobs_.claim(worker, kinds, lease);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? *r : std::nullopt;
  }
  Job get(int64_t id) {
    auto r = jobs_.get(id);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return r.ok() ? *r : Job{};
  }
  // How far run_after lies after the last update (both are now() of the same statement).
  std::string backoff_of(int64_t id) {
    return tdb_.query_value("SELECT extract(epoch FROM run_after - updated_at)::bigint FROM jobs " +
                            std::string("WHERE id = ") + std::to_string(id));
  }
  void make_due(int64_t id) {
    tdb_.exec("UPDATE jobs SET run_after = now() WHERE id = " + std::to_string(id));
  }

  test::TestDatabase tdb_;
  Database db_;
  Jobs jobs_;
};

TEST_F(JobsTest, EnqueueClaimComplete) {
  int64_t id = enqueue("process_media", {{"sha256", "ab"}, {"submission_id", 7}});
  Job queued = get(id);
  EXPECT_EQ(queued.state, JobState::kQueued);
  EXPECT_EQ(queued.attempts, 0);
  EXPECT_EQ(queued.kind, "process_media");

  // Only the kinds asked for.
  EXPECT_FALSE(claim("w1", 30s, {"fetch_url"}).has_value());
  auto job = claim("w1", 30s, {"fetch_url", "process_media"});
  ASSERT_TRUE(job.has_value());
  EXPECT_EQ(job->id, id);
  EXPECT_EQ(job->state, JobState::kRunning);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->lease_owner, "w1");
  ASSERT_TRUE(job->lease_until.has_value());
  EXPECT_GT(*job->lease_until, job->updated_at + 29s);
  EXPECT_EQ(job->payload["sha256"], "ab");
  EXPECT_EQ(job->payload["submission_id"], 7);
  EXPECT_FALSE(claim("w2").has_value());

  ASSERT_TRUE(jobs_.progress(id, "w1", 40, 30s).ok());
  EXPECT_EQ(get(id).progress, 40);
  EXPECT_EQ(jobs_.progress(id, "w1", 101, 30s).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.complete(id, "w2").error().code(), Code::kConflict);
  ASSERT_TRUE(jobs_.complete(id, "w1").ok());
  Job done = get(id);
  EXPECT_EQ(done.state, JobState::kDone);
  EXPECT_EQ(done.progress, 100);
  EXPECT_TRUE(done.finished_at.has_value());
  EXPECT_FALSE(done.lease_until.has_value());
  EXPECT_EQ(done.lease_owner, "w1");

  EXPECT_EQ(jobs_.complete(id, "w1").error().code(), Code::kConflict);
  EXPECT_EQ(jobs_.complete(id + 1000, "w1").error().code(), Code::kNotFound);
  EXPECT_EQ(jobs_.get(id + 1000).error().code(), Code::kNotFound);
  EXPECT_FALSE(claim("w1").has_value());
  // No job state change is audited.
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM audit_log"), "0");
}

TEST_F(JobsTest, ClaimFindsNothingWhenEmptyOrNotDue) {
  EXPECT_FALSE(claim("w1").has_value());
  int64_t later = enqueue("probe", {}, now_utc() + std::chrono::hours(1));
  EXPECT_FALSE(claim("w1").has_value());
  EXPECT_GT(get(later).run_after, now_utc() + 59min);
  // A time in the past means now, so it does not jump ahead of jobs already waiting.
  int64_t first = enqueue("probe");
  int64_t past = enqueue("probe", {}, now_utc() - std::chrono::hours(24));
  auto a = claim("w1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->id, first);
  auto b = claim("w1");
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->id, past);
  EXPECT_FALSE(claim("w1").has_value());
}

TEST_F(JobsTest, BadInputIsRefused) {
  EXPECT_EQ(jobs_.enqueue("", {}).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.enqueue(std::string(101, 'k'), {}).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.enqueue("probe", {{"x", "\xff"}}).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.enqueue("probe", {{"x", std::string("a\0b", 3)}}).error().code(),
            Code::kUnprocessable);
  EXPECT_EQ(jobs_.claim("", {}, 30s).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.claim("w", {}, 0s).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.list(std::string("bogus"), 0, 10).error().code(), Code::kUnprocessable);
  EXPECT_EQ(jobs_.list(std::nullopt, 0, 0).error().code(), Code::kUnprocessable);
}

TEST_F(JobsTest, ConcurrentWorkersNeverTakeTheSameJob) {
  constexpr int kJobs = 200;
  constexpr int kWorkers = 4;
  for (int i = 0; i < kJobs; ++i) enqueue("probe", {{"n", i}});
  std::mutex mu;
  std::map<int64_t, int> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      std::string me = "worker-" + std::to_string(w);
      for (;;) {
        auto r = jobs_.claim(me, {"probe"}, 60s);
        if (!r.ok()) {
          ++errors;
          continue;
        }
        if (!r->has_value()) return;
        {
          std::lock_guard lock(mu);
          ++claimed[(*r)->id];
        }
        if (!jobs_.complete((*r)->id, me).ok()) ++errors;
      }
    });
  }
  for (auto& t : workers) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, times] : claimed) EXPECT_EQ(times, 1) << "job " << id;
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM jobs WHERE state = 'done' AND attempts = 1"),
            std::to_string(kJobs));
}

TEST_F(JobsTest, ExpiredLeaseIsTakenOverAndTheOldOwnerLosesIt) {
  int64_t id = enqueue("probe");
  auto a = claim("dead-worker", 1s);
  ASSERT_TRUE(a.has_value());
  EXPECT_FALSE(claim("w2").has_value());
  std::this_thread::sleep_for(1300ms);
  auto b = claim("w2", 30s);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->id, id);
  EXPECT_EQ(b->attempts, 2);
  EXPECT_EQ(b->lease_owner, "w2");
  EXPECT_EQ(jobs_.complete(id, "dead-worker").error().code(), Code::kConflict);
  EXPECT_EQ(jobs_.renew(id, "dead-worker", 30s).error().code(), Code::kConflict);
  EXPECT_EQ(jobs_.release(id, "dead-worker").error().code(), Code::kConflict);
  EXPECT_EQ(jobs_.fail(id, "dead-worker", "x", 3, 1s).error().code(), Code::kConflict);
  ASSERT_TRUE(jobs_.complete(id, "w2").ok());
  EXPECT_EQ(get(id).state, JobState::kDone);
}

TEST_F(JobsTest, RenewKeepsTheLease) {
  int64_t id = enqueue("probe");
  ASSERT_TRUE(claim("w1", 1s).has_value());
  std::this_thread::sleep_for(600ms);
  ASSERT_TRUE(jobs_.renew(id, "w1", 3s).ok());
  std::this_thread::sleep_for(700ms);  // past the first lease
  EXPECT_FALSE(claim("w2").has_value());
  ASSERT_TRUE(jobs_.progress(id, "w1", 50, 3s).ok());
  EXPECT_FALSE(claim("w2").has_value());
  ASSERT_TRUE(jobs_.complete(id, "w1").ok());
}

TEST_F(JobsTest, FailBacksOffExponentiallyThenStaysFailed) {
  int64_t id = enqueue("probe");
  const int kMax = 4;
  for (int attempt = 1; attempt < kMax; ++attempt) {
    auto job = claim("w1");
    ASSERT_TRUE(job.has_value()) << "attempt " << attempt;
    EXPECT_EQ(job->attempts, attempt);
    auto r = jobs_.fail(id, "w1", "decoder error " + std::to_string(attempt), kMax, 100s);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(*r, FailOutcome::kWillRetry);
    EXPECT_EQ(backoff_of(id), std::to_string(100 << (attempt - 1)));  // 100, 200, 400
    Job queued = get(id);
    EXPECT_EQ(queued.state, JobState::kQueued);
    EXPECT_EQ(queued.last_error, "decoder error " + std::to_string(attempt));
    EXPECT_FALSE(queued.lease_owner.has_value());
    EXPECT_FALSE(claim("w1").has_value());  // not due yet
    make_due(id);
  }
  ASSERT_TRUE(claim("w1").has_value());
  auto last = jobs_.fail(id, "w1", "no video stream", kMax, 100s);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, FailOutcome::kFailed);
  Job failed = get(id);
  EXPECT_EQ(failed.state, JobState::kFailed);
  EXPECT_EQ(failed.attempts, kMax);
  EXPECT_EQ(failed.last_error, "no video stream");
  EXPECT_TRUE(failed.finished_at.has_value());
  make_due(id);
  EXPECT_FALSE(claim("w1").has_value());

  // The operator puts it back; that is audited.
  EXPECT_EQ(jobs_.retry(id + 1000, Actor::system("cli")).error().code(), Code::kNotFound);
  ASSERT_TRUE(jobs_.retry(id, Actor::system("cli")).ok());
  Job again = get(id);
  EXPECT_EQ(again.state, JobState::kQueued);
  EXPECT_EQ(again.attempts, 0);
  EXPECT_FALSE(again.finished_at.has_value());
  EXPECT_EQ(tdb_.query_value("SELECT action || ' ' || object || ' ' || actor FROM audit_log"),
            "job.retry job/" + std::to_string(id) + " cli");
  EXPECT_EQ(jobs_.retry(id, Actor::system("cli")).error().code(), Code::kConflict);
  auto reclaimed = claim("w2");
  ASSERT_TRUE(reclaimed.has_value());
  EXPECT_EQ(reclaimed->attempts, 1);
}

TEST_F(JobsTest, BackoffIsCappedAndReasonsAreMadeStorable) {
  int64_t id = enqueue("probe");
  const std::string bad_bytes("bad \xff\0 byte", 11);
  ASSERT_TRUE(claim("w1").has_value());
  ASSERT_TRUE(jobs_.fail(id, "w1", bad_bytes, 10, 1000s).ok());
  EXPECT_EQ(backoff_of(id), "1000");
  EXPECT_EQ(get(id).last_error, "bad ?? byte");
  make_due(id);
  ASSERT_TRUE(claim("w1").has_value());
  ASSERT_TRUE(jobs_.fail(id, "w1", "x", 10, 1000s).ok());
  EXPECT_EQ(backoff_of(id), "2000");
  make_due(id);
  // 4000 s is more than the cap of an hour.
  ASSERT_TRUE(claim("w1").has_value());
  ASSERT_TRUE(jobs_.fail(id, "w1", std::string(5000, 'x'), 10, 1000s).ok());
  EXPECT_EQ(backoff_of(id), "3600");
  EXPECT_EQ(get(id).last_error->size(), 2000u);
}

TEST_F(JobsTest, ReleaseMakesItClaimableAtOnceWithoutUsingAnAttempt) {
  int64_t id = enqueue("probe");
  auto job = claim("w1");
  ASSERT_TRUE(job.has_value());
  ASSERT_TRUE(jobs_.progress(id, "w1", 30, 30s).ok());
  EXPECT_EQ(jobs_.release(id, "w2").error().code(), Code::kConflict);
  ASSERT_TRUE(jobs_.release(id, "w1").ok());
  Job released = get(id);
  EXPECT_EQ(released.state, JobState::kQueued);
  EXPECT_EQ(released.attempts, 0);
  EXPECT_EQ(released.progress, 0);
  EXPECT_FALSE(released.lease_owner.has_value());
  auto again = claim("w2");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->id, id);
  EXPECT_EQ(again->attempts, 1);
}

TEST_F(JobsTest, ListAndPayloadLookup) {
  const std::string sha(64, 'a');
  int64_t media = enqueue("process_media", {{"sha256", sha}, {"submission_id", 7}});
  int64_t fetch = enqueue("fetch_url", {{"submission_id", 8}, {"url", "https://t.me/a/1"}});
  int64_t other = enqueue("process_media", {{"sha256", std::string(64, 'b')}});
  ASSERT_TRUE(claim("w1", 30s, {"fetch_url"}).has_value());
  ASSERT_TRUE(jobs_.complete(fetch, "w1").ok());

  auto by_sha = jobs_.for_payload("sha256", sha);
  ASSERT_TRUE(by_sha.ok()) << by_sha.error().to_string();
  ASSERT_EQ(by_sha->size(), 1u);
  EXPECT_EQ(by_sha->at(0).id, media);
  auto by_submission = jobs_.for_payload("submission_id", "8");
  ASSERT_TRUE(by_submission.ok());
  ASSERT_EQ(by_submission->size(), 1u);
  EXPECT_EQ(by_submission->at(0).id, fetch);
  EXPECT_EQ(by_submission->at(0).state, JobState::kDone);
  EXPECT_TRUE(jobs_.for_payload("submission_id", "08")->empty());
  EXPECT_TRUE(jobs_.for_payload("sha256", "nope")->empty());

  auto all = jobs_.list(std::nullopt, 0, 2);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at(0).id, media);
  auto next = jobs_.list(std::nullopt, all->at(1).id, 2);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(next->size(), 1u);
  EXPECT_EQ(next->at(0).id, other);
  auto done = jobs_.list(std::string("done"), 0, 10);
  ASSERT_TRUE(done.ok());
  ASSERT_EQ(done->size(), 1u);
  EXPECT_EQ(done->at(0).id, fetch);
}

TEST_F(JobsTest, ListenerWakesOnEnqueueAndTimesOut) {
  JobListener listener(db_);
  ASSERT_TRUE(listener.listen().ok());
  auto t0 = std::chrono::steady_clock::now();
  auto quiet = listener.wait(200ms);
  auto waited = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(quiet.ok()) << quiet.error().to_string();
  EXPECT_FALSE(*quiet);
  EXPECT_GE(waited, 190ms);
  EXPECT_LT(waited, 1500ms);

  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);
    enqueue("probe");
  });
  t0 = std::chrono::steady_clock::now();
  auto woke = listener.wait(10s);
  waited = std::chrono::steady_clock::now() - t0;
  producer.join();
  ASSERT_TRUE(woke.ok()) << woke.error().to_string();
  EXPECT_TRUE(*woke);
  EXPECT_LT(waited, 2s);

  // A job handed back is announced like a new one; one that waits for its backoff is not.
  int64_t id = claim("w1")->id;
  ASSERT_TRUE(jobs_.fail(id, "w1", "x", 5, 60s).ok());
  EXPECT_FALSE(*listener.wait(200ms));
  make_due(id);
  ASSERT_TRUE(claim("w1").has_value());
  ASSERT_TRUE(jobs_.release(id, "w1").ok());
  EXPECT_TRUE(*listener.wait(2s));
}

TEST_F(JobsTest, ListenerReportsABrokenConnectionAndReconnects) {
  JobListener listener(db_);
  ASSERT_TRUE(listener.listen().ok());
  tdb_.exec(
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
      "WHERE datname = current_database() AND query ILIKE 'LISTEN%'");
  auto broken = listener.wait(2s);
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.error().code(), Code::kUnavailable);
  EXPECT_FALSE(listener.listening());
  // The next call reconnects and says "look for work": announcements may have been lost.
  auto back = listener.wait(200ms);
  ASSERT_TRUE(back.ok()) << back.error().to_string();
  EXPECT_TRUE(*back);
  EXPECT_TRUE(listener.listening());
  EXPECT_FALSE(*listener.wait(200ms));
  enqueue("probe");
  EXPECT_TRUE(*listener.wait(2s));
}

}  // namespace
}  // namespace cw::store
