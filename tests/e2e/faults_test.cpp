// Faults, end to end: a real `convoywatch serve` process over a socket and real PostgreSQL.
//   - kill -9 of the server in the middle of a multipart upload and of a tus PATCH: after the
//     restart nothing of the upload is evidence (no submission, no media row, no stored file, no
//     single-request temp file); a tus upload keeps exactly the bytes up to its offset and
//     resumes from there; an upload completed before the kill re-hashes to the DB's SHA-256.
//   - PostgreSQL stopped for 10 s under a steady stream of reads and submissions: every request
//     answers within a bound derived from the configured database timeouts, either 2xx or 503
//     problem+json with Retry-After; every acknowledged (201) submission is there afterwards and
//     the same process serves again. Uses a cluster of its own (see PrivateCluster). The same
//     with the database frozen (SIGSTOP) for 10 s: it accepts connections and never answers, so
//     the bound comes from the pool's query watchdog.
//   - The media store's file system full (a 2 MiB tmpfs; where mounting is refused, an
//     in-process server whose store writes go to /dev/full): uploads answer 507 problem+json,
//     nothing half-written stays, reads of stored originals go on.
// The kill -9 of a worker mid-analysis is in tests/integration/worker_test.cpp.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>
#include <pqxx/pqxx>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "common/config.hpp"
#include "server/routes.hpp"
#include "server/server.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_http.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr size_t kMiB = 1 << 20;

std::string add_user(const std::map<std::string, std::string>& env, const std::string& name) {
  return test::add_user(env, name, "Bellingcat", "contributor");
}

// `size` bytes the store takes for an MP4 (an ftyp box, then noise that differs per seed).
std::string fake_mp4(size_t size, uint32_t seed) {
  std::string out(
      "\0\0\0\x18"
      "ftypisom\0\0\0\0isomiso2",
      24);
  out.reserve(size);
  uint64_t x = 0x9E3779B97F4A7C15ull ^ (uint64_t{seed} << 17 | seed);
  while (out.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out.push_back(static_cast<char>(x & 0xff));
  }
  out.resize(size);
  return out;
}

std::string sha256_hex(const std::string& bytes, const std::string& scratch_dir) {
  std::string path = scratch_dir + "/hash-me";
  write_file(path, bytes);
  std::string sha = sha256_of_file(path);
  fs::remove(path);
  return sha;
}

// Regular files in `dir` whose names start with `prefix` ("" for all), recursively.
std::vector<std::string> files_in(const std::string& dir, const std::string& prefix = "") {
  std::vector<std::string> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().filename().string().rfind(prefix, 0) == 0) {
      out.push_back(e.path().string());
    }
  }
  return out;
}

// Waits until one temp file of `prefix` in <root>/tmp holds at least `min_size` bytes.
std::string wait_for_temp(const std::string& root, const std::string& prefix, uintmax_t min_size) {
  std::string found;
  test::wait_until(
      [&] {
        for (const auto& f : files_in(root + "/tmp", prefix)) {
          std::error_code ec;
          if (fs::file_size(f, ec) >= min_size && !ec) {
            found = f;
            return true;
          }
        }
        return false;
      },
      15s, 10ms);
  return found;
}

// Removes a folder with everything in it when it goes (declared before what lives inside it).
struct RemoveOnExit {
  std::string dir;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string stored_path(const std::string& root, const std::string& sha) {
  return root + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
}

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::map<std::string, std::string> tus(const std::string& token) {
  auto h = bearer(token);
  h["Tus-Resumable"] = "1.0.0";
  return h;
}

// POST /api/v1/submissions with `file` as the video; the whole body at once.
HttpResponse submit(int port, const std::string& token, const std::string& file,
                    const std::string& filename) {
  SubmissionForm form = submission_form(R"({"platform": "telegram"})", filename);
  auto h = bearer(token);
  h["Content-Type"] = form.content_type;
  return http_request(port, "POST", "/api/v1/submissions", h, form.head + file + form.tail);
}

// A whole tus upload in one PATCH; returns the submission's path ("" on failure).
std::string tus_upload(int port, const std::string& token, const std::string& file) {
  auto h = tus(token);
  h["Upload-Length"] = std::to_string(file.size());
  auto created = http_request(port, "POST", "/api/v1/uploads", h);
  EXPECT_EQ(created.status, 201) << created.body;
  auto p = tus(token);
  p["Upload-Offset"] = "0";
  p["Content-Type"] = "application/offset+octet-stream";
  auto done = http_request(port, "PATCH", created.header("location"), p, file);
  EXPECT_EQ(done.status, 204) << done.body;
  return done.header("x-submission-location");
}

bool is_problem(const HttpResponse& r, int status) {
  auto doc = r.json();
  return r.header("content-type") == "application/problem+json" && doc.is_object() &&
         doc.value("status", 0) == status && doc.contains("title") && doc.contains("detail");
}

// ---- kill -9 of the server in the middle of an upload ---------------------------------------

class ServerKillTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}, {"CONVOYWATCH_STORAGE_ROOT", root_}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    token_ = add_user(env_, "alice");
    server_ = std::make_unique<ServerProcess>(env_);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  // Kills the server without warning and starts a new one on the same database and store.
  void kill_and_restart() {
    server_->signal(SIGKILL);
    ASSERT_EQ(server_->wait(10000), -SIGKILL) << server_->log();
    killed_log_ = server_->log();
    server_ = std::make_unique<ServerProcess>(env_);
  }

  // The upload that completed before the kill: its row, its file, and its bytes agree.
  void expect_intact(const std::string& sha, const std::string& bytes) {
    EXPECT_EQ(db_.query_value("SELECT sha256 FROM media WHERE sha256 = '" + sha + "'"), sha);
    EXPECT_EQ(db_.query_value("SELECT size FROM media WHERE sha256 = '" + sha + "'"),
              std::to_string(bytes.size()));
    EXPECT_EQ(sha256_of_file(stored_path(root_, sha)), sha) << "the stored original changed";
    auto got =
        http_request(server_->port(), "GET", "/api/v1/media/" + sha + "/original", bearer(token_));
    ASSERT_EQ(got.status, 200) << got.body;
    EXPECT_EQ(got.body, bytes);
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  std::string dir_ = make_temp_dir("cw-faults-kill-");
  std::string root_ = dir_ + "/media";
  std::map<std::string, std::string> env_;
  std::string token_;
  std::unique_ptr<ServerProcess> server_;
  std::string killed_log_;
};

TEST_F(ServerKillTest, KillMidMultipartUploadLeavesNothingAndKeepsEarlierUploads) {
  const std::string before = read_file(small_mp4(dir_));
  const std::string before_sha = sha256_hex(before, dir_);
  auto first = submit(server_->port(), token_, before, "before.mp4");
  ASSERT_EQ(first.status, 201) << first.body;

  // A 4 MiB upload streaming slowly: 1 MiB, then 64 KiB pieces, and the server dies.
  const std::string video = fake_mp4(4 * kMiB, 1);
  SubmissionForm form = submission_form(R"({"platform": "vk"})", "killed.mp4");
  auto h = bearer(token_);
  h["Content-Type"] = form.content_type;
  RawConnection client(server_->port());
  ASSERT_TRUE(client.send(
      request_head("POST", "/api/v1/submissions", h,
                   static_cast<long long>(form.head.size() + video.size() + form.tail.size()))));
  ASSERT_TRUE(client.send(form.head + video.substr(0, kMiB)));
  std::string temp = wait_for_temp(root_, "upload-", kMiB);
  ASSERT_FALSE(temp.empty()) << "the upload never reached the store:\n" << server_->log();
  for (size_t at = kMiB; at < kMiB + 4 * 64 * 1024; at += 64 * 1024) {
    ASSERT_TRUE(client.send(video.substr(at, 64 * 1024)));
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NO_FATAL_FAILURE(kill_and_restart());
  // What the kill left: a half-written temp file, until the new server's start swept it.
  EXPECT_EQ(client.read_response().status, 0) << "the killed server answered";
  EXPECT_TRUE(files_in(root_ + "/tmp", "upload-").empty());
  EXPECT_NE(server_->log().find("removed unfinished uploads"), std::string::npos) << server_->log();

  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM media"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM jobs"), "1");
  EXPECT_EQ(files_in(root_ + "/sha256").size(), 1u);
  expect_intact(before_sha, before);

  // The client's retry after the crash goes through as if nothing happened.
  auto retry = submit(server_->port(), token_, video, "killed.mp4");
  ASSERT_EQ(retry.status, 201) << retry.body;
  EXPECT_EQ(retry.json()["media"]["sha256"], sha256_hex(video, dir_));
  EXPECT_TRUE(files_in(root_ + "/tmp").empty());
}

// tus 1.0.0: the server reports as Upload-Offset the bytes it has (the temp file is the truth),
// and a client resumes with a PATCH at that offset. So after a crash the upload resource
// legitimately survives with the bytes that reached the file; they must be exactly the first
// Upload-Offset bytes of what was sent, and nothing of it may be evidence yet.
TEST_F(ServerKillTest, KillMidTusPatchKeepsTheOffsetAndNothingElse) {
  const std::string before = read_file(small_mp4(dir_));
  const std::string before_sha = sha256_hex(before, dir_);
  ASSERT_FALSE(tus_upload(server_->port(), token_, before).empty());

  const std::string video = fake_mp4(4 * kMiB, 2);
  auto h = tus(token_);
  h["Upload-Length"] = std::to_string(video.size());
  auto created = http_request(server_->port(), "POST", "/api/v1/uploads", h);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string location = created.header("location");
  auto p = tus(token_);
  p["Upload-Offset"] = "0";
  p["Content-Type"] = "application/offset+octet-stream";
  RawConnection client(server_->port());
  ASSERT_TRUE(
      client.send(request_head("PATCH", location, p, static_cast<long long>(video.size()))));
  ASSERT_TRUE(client.send(video.substr(0, kMiB)));
  std::string temp = wait_for_temp(root_, "tus-", kMiB);
  ASSERT_FALSE(temp.empty()) << "the PATCH never reached the store:\n" << server_->log();
  for (size_t at = kMiB; at < kMiB + 4 * 64 * 1024; at += 64 * 1024) {
    ASSERT_TRUE(client.send(video.substr(at, 64 * 1024)));
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_NO_FATAL_FAILURE(kill_and_restart());

  // The offset the restarted server reports is what the file holds, and those bytes are the
  // start of the video, unaltered.
  auto status = http_request(server_->port(), "GET", location, tus(token_));
  ASSERT_EQ(status.status, 200) << status.body;
  const uint64_t offset = std::stoull(status.header("upload-offset"));
  EXPECT_GE(offset, kMiB);
  EXPECT_LT(offset, video.size());
  ASSERT_TRUE(fs::exists(temp));
  EXPECT_EQ(fs::file_size(temp), offset);
  EXPECT_TRUE(read_file(temp) == video.substr(0, offset)) << "the kept bytes differ";
  // Not evidence: no submission, no media row, nothing in the store.
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM media"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM uploads WHERE submission_id IS NULL"), "1");
  EXPECT_EQ(files_in(root_ + "/sha256").size(), 1u);
  EXPECT_TRUE(files_in(root_ + "/tmp", "upload-").empty());
  expect_intact(before_sha, before);

  // The client resumes where the server says, and the result is the whole video.
  p["Upload-Offset"] = std::to_string(offset);
  auto rest = http_request(server_->port(), "PATCH", location, p, video.substr(offset));
  ASSERT_EQ(rest.status, 204) << rest.body;
  EXPECT_EQ(rest.header("upload-offset"), std::to_string(video.size()));
  auto sub =
      http_request(server_->port(), "GET", rest.header("x-submission-location"), bearer(token_));
  ASSERT_EQ(sub.status, 200) << sub.body;
  const std::string sha = sha256_hex(video, dir_);
  EXPECT_EQ(sub.json()["media"]["sha256"], sha);
  EXPECT_EQ(sha256_of_file(stored_path(root_, sha)), sha);
  EXPECT_TRUE(files_in(root_ + "/tmp").empty());
}

// ---- PostgreSQL stopped under load -----------------------------------------------------------

struct Sample {
  std::string kind;  // "list", "get", "original", "submit"
  double start = 0;  // seconds since the load began
  double seconds = 0;
  int status = 0;
  bool problem = false;
  std::string retry_after;
  std::string error;
  int64_t id = 0;  // a 201's submission id
  std::string sha;
};

// How the database goes away for ten seconds.
enum class Outage {
  kStopped,  // shut down: connections refused, sessions closed
  kFrozen,   // SIGSTOP: connections accepted by the kernel, nothing ever answered
};

void outage_under_load(Outage how) {
  PrivateCluster pg;
  std::cout << "[ faults ] private PostgreSQL cluster on port " << pg.port() << " ready in "
            << pg.setup_seconds() << " s\n";
  // Short database timeouts so that the bound below is tight; pool and threads as shipped.
  constexpr int kConnectTimeoutS = 2;  // libpq's minimum
  constexpr int kAcquireTimeoutMs = 1000;
  constexpr int kStatementTimeoutMs = 2000;
  std::string dir = make_temp_dir("cw-faults-db-");
  RemoveOnExit remove_dir{dir};
  std::string root = dir + "/media";
  std::map<std::string, std::string> env = {
      {"CONVOYWATCH_DATABASE_URL", pg.url()},
      {"CONVOYWATCH_STORAGE_ROOT", root},
      {"CONVOYWATCH_DATABASE_CONNECT_TIMEOUT_S", std::to_string(kConnectTimeoutS)},
      {"CONVOYWATCH_DATABASE_ACQUIRE_TIMEOUT_MS", std::to_string(kAcquireTimeoutMs)},
      {"CONVOYWATCH_DATABASE_STATEMENT_TIMEOUT_MS", std::to_string(kStatementTimeoutMs)},
      // Four clients with no pause to speak of: the limit is not what this test is about (with
      // the token cache, requests during the outage reach it).
      {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
      // --migrate on a cluster of its own: its superuser owns the schema.
      {"CONVOYWATCH_DATABASE_ALLOW_PRIVILEGED", "true"}};
  ServerProcess server(env, {"--migrate"});
  const int port = server.port();
  const std::string token = add_user(env, "steady");
  const std::string seed_video = fake_mp4(16 * 1024, 0);
  auto seeded = submit(port, token, seed_video, "seed.mp4");
  ASSERT_EQ(seeded.status, 201) << seeded.body << server.log();
  const int64_t seed_id = seeded.json()["id"].get<int64_t>();
  const std::string seed_sha = seeded.json()["media"]["sha256"];

  // A request touches the database at most through: waiting for a pooled connection, opening
  // one, and its statements, each bounded by its own timeout. With the database refusing
  // connections each of those fails fast; the bound is what the configuration allows, plus
  // 1 s for the machine (a sanitizer build under a parallel ctest). A frozen database answers
  // nothing: a statement on a pooled connection waits until the pool's watchdog has waited the
  // statement timeout plus its 1 s grace, then a connect timeout for its probe of the server
  // (store/internal/pool.hpp); 1 s more for the watchdog's own wake-up on this machine.
  const double bound_s =
      how == Outage::kStopped
          ? (kAcquireTimeoutMs + kConnectTimeoutS * 1000 + kStatementTimeoutMs) / 1000.0 + 1.0
          : (kAcquireTimeoutMs + kStatementTimeoutMs + 1000 + kConnectTimeoutS * 1000) / 1000.0 +
                2.0;
  const int client_timeout_ms = static_cast<int>(bound_s * 1000) + 5000;

  std::mutex mu;
  std::vector<Sample> samples;
  std::atomic<bool> stop{false};
  const auto t0 = Clock::now();
  auto since = [&t0](Clock::time_point t) { return std::chrono::duration<double>(t - t0).count(); };
  auto record = [&](const std::string& kind, Clock::time_point began, const TimedResponse& r) {
    Sample s;
    s.kind = kind;
    s.start = since(began);
    s.seconds = r.seconds;
    s.status = r.response.status;
    s.problem = is_problem(r.response, r.response.status);
    s.retry_after = r.response.header("retry-after");
    s.error = r.error;
    auto doc = r.response.json();
    if (s.status == 201 && doc.is_object() && doc["media"].is_object()) {
      s.id = doc.value("id", int64_t{0});
      s.sha = doc["media"].value("sha256", "");
    }
    std::lock_guard lock(mu);
    samples.push_back(std::move(s));
  };
  // One client per kind of request, so that each kind is in flight through the whole outage
  // however long each request is held.
  auto reader = [&](const std::string& kind, const std::string& target) {
    while (!stop) {
      auto began = Clock::now();
      record(kind, began, timed_request(port, "GET", target, bearer(token), "", client_timeout_ms));
      std::this_thread::sleep_for(50ms);
    }
  };
  auto submitter = [&] {
    SubmissionForm form = submission_form(R"({"platform": "x"})", "steady.mp4");
    auto h = bearer(token);
    h["Content-Type"] = form.content_type;
    for (uint32_t i = 1; !stop; ++i) {
      std::string body = form.head + fake_mp4(16 * 1024, 1000 + i) + form.tail;
      auto began = Clock::now();
      record("submit", began,
             timed_request(port, "POST", "/api/v1/submissions", h, body, client_timeout_ms));
      std::this_thread::sleep_for(50ms);
    }
  };
  std::vector<std::thread> load;
  load.emplace_back(reader, "list", "/api/v1/submissions?limit=5");
  load.emplace_back(reader, "get", "/api/v1/submissions/" + std::to_string(seed_id));
  load.emplace_back(reader, "original", "/api/v1/media/" + seed_sha + "/original");
  load.emplace_back(submitter);
  struct Join {
    std::atomic<bool>& stop;
    std::vector<std::thread>& threads;
    ~Join() {
      stop = true;
      for (auto& t : threads) t.join();
    }
  } join{stop, load};

  std::this_thread::sleep_for(2s);
  std::string pg_log;
  const double stop_began = since(Clock::now());
  if (how == Outage::kStopped) {
    ASSERT_TRUE(pg.stop(&pg_log)) << pg_log;
  } else {
    ASSERT_TRUE(pg.freeze());
  }
  const double stopped = since(Clock::now());
  std::this_thread::sleep_for(10s);
  const double start_began = since(Clock::now());
  if (how == Outage::kStopped) {
    ASSERT_TRUE(pg.start(&pg_log)) << pg_log;
  } else {
    ASSERT_TRUE(pg.thaw());
  }
  const double started = since(Clock::now());
  // Recovered when each kind of request has succeeded again.
  auto recovered = [&] {
    std::set<std::string> ok;
    std::lock_guard lock(mu);
    for (const auto& s : samples) {
      if (s.start >= started && s.status / 100 == 2) ok.insert(s.kind);
    }
    return ok.size() == 4;
  };
  test::wait_until(recovered, 30s, 100ms);
  std::this_thread::sleep_for(1s);
  stop = true;
  for (auto& t : load) t.join();
  load.clear();
  const double recovered_at = [&] {
    double last = started;
    std::map<std::string, double> first_ok;
    for (const auto& s : samples) {
      if (s.start >= started && s.status / 100 == 2 && !first_ok.count(s.kind)) {
        first_ok[s.kind] = s.start + s.seconds;
      }
    }
    for (const auto& [k, t] : first_ok) last = std::max(last, t);
    return last;
  }();

  // Every request answered, within the bound, with a success or a 503 problem + Retry-After.
  int outage = 0, outage_503 = 0, acknowledged = 0;
  double max_s = 0, max_outage_s = 0;
  std::map<int, int> by_status;
  std::set<std::string> kinds_refused;
  for (const auto& s : samples) {
    by_status[s.status]++;
    max_s = std::max(max_s, s.seconds);
    EXPECT_NE(s.status, 0) << s.kind << " at " << s.start << " s got no answer: " << s.error;
    EXPECT_LE(s.seconds, bound_s) << s.kind << " at " << s.start << " s took " << s.seconds
                                  << " s (status " << s.status << ")";
    if (s.status == 0) continue;
    if (s.status / 100 != 2) {
      EXPECT_EQ(s.status, 503) << s.kind << " at " << s.start << " s";
      EXPECT_TRUE(s.problem) << s.kind << " " << s.status << " is not a problem document";
      EXPECT_GT(std::atoi(s.retry_after.c_str()), 0)
          << s.kind << " 503 without Retry-After: '" << s.retry_after << "'";
    }
    if (s.status == 201) ++acknowledged;
    // Begun during the outage and refused: every kind of request must meet a refusal.
    if (s.start >= stopped && s.start < start_began && s.status == 503) {
      kinds_refused.insert(s.kind);
    }
    // Wholly inside the outage: nothing can succeed there.
    if (s.start >= stopped && s.start + s.seconds <= start_began) {
      ++outage;
      max_outage_s = std::max(max_outage_s, s.seconds);
      if (s.status == 503) ++outage_503;
    }
  }
  std::cout << "[ faults ] " << samples.size() << " requests; stop took " << stopped - stop_began
            << " s, start " << started - start_began << " s; recovered " << recovered_at - started
            << " s after the start; statuses:";
  for (const auto& [status, n] : by_status) std::cout << " " << status << "x" << n;
  std::cout << "; slowest " << max_s << " s, slowest during the outage " << max_outage_s
            << " s (bound " << bound_s << " s)\n";
  // Four clients, one request at a time: a stopped database refuses at once, a frozen one holds
  // each request for the watchdog's wait (about 5 s here), so one or two each wholly inside the
  // ten seconds.
  EXPECT_GE(outage, how == Outage::kStopped ? 20 : 6)
      << "too few requests during the outage to judge";
  EXPECT_EQ(outage_503, outage) << "a request succeeded while the database was down?";
  std::string refused_list;
  for (const auto& k : kinds_refused) refused_list += " " + k;
  EXPECT_EQ(kinds_refused.size(), 4u) << "refused during the outage:" << refused_list;
  EXPECT_TRUE(recovered()) << "the server did not recover within 30 s of the database";
  EXPECT_EQ(server.wait(0), -1000) << "the server must still be the same process";
  EXPECT_GT(acknowledged, 5);

  // Every acknowledged submission is there, with its media row and its evidence file; and no
  // submission row exists whose evidence is missing.
  pqxx::connection c(pg.url());
  pqxx::nontransaction tx(c);
  for (const auto& s : samples) {
    if (s.status != 201) continue;
    pqxx::result r = tx.exec_params(
        "SELECT s.media_sha256, m.size FROM submissions s JOIN media m ON m.sha256 = "
        "s.media_sha256 WHERE s.id = $1",
        s.id);
    ASSERT_EQ(r.size(), 1u) << "acknowledged submission " << s.id << " is missing";
    EXPECT_EQ(r[0][0].as<std::string>(), s.sha);
    EXPECT_EQ(sha256_of_file(stored_path(root, s.sha)), s.sha);
    auto got =
        http_request(port, "GET", "/api/v1/submissions/" + std::to_string(s.id), bearer(token));
    EXPECT_EQ(got.status, 200) << got.body;
  }
  for (const auto& row : tx.exec("SELECT media_sha256 FROM submissions")) {
    EXPECT_TRUE(fs::exists(stored_path(root, row[0].as<std::string>())));
  }
  EXPECT_TRUE(files_in(root + "/tmp").empty());
}

TEST(DatabaseFaultTest, StoppedForTenSecondsUnderLoad) { outage_under_load(Outage::kStopped); }

// SIGSTOP, not a shutdown: without the pool's watchdog every request that reached a pooled
// connection hung for the whole ten seconds (and, with no end to the freeze, for ever).
TEST(DatabaseFaultTest, FrozenForTenSecondsUnderLoad) { outage_under_load(Outage::kFrozen); }

// ---- the media store's file system full ------------------------------------------------------

// A tmpfs of 2 MiB mounted for the test, unmounted (lazily, so a busy mount never sticks) when
// it goes.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& dir) : dir_(dir) {
    fs::create_directories(dir);
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0755") == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// The server under test for the full-disk case: the real process over the tmpfs, or (only where
// mounting is refused) the same Server in this process with a store whose temp file writes hit
// /dev/full once `full` is set: every write() then fails with a genuine ENOSPC.
struct FullStoreServer {
  int port = 0;
  std::string root;
  bool real_disk = false;
  std::atomic<bool> full{false};
  std::unique_ptr<ServerProcess> process;
  std::optional<Config> config;
  std::unique_ptr<store::Database> db;
  std::unique_ptr<store::MediaStore> media;
  std::unique_ptr<server::Server> in_process;
  std::thread thread;

  ~FullStoreServer() {
    if (in_process && thread.joinable()) {
      in_process->stop();
      thread.join();
    }
  }
};

// Fails the test unless `r` is the 507 problem document of a full store.
void expect_507(const HttpResponse& r, const std::string& error) {
  EXPECT_EQ(r.status, 507) << r.body << error;
  EXPECT_TRUE(is_problem(r, 507)) << r.header("content-type") << " " << r.body;
}

TEST(FullStoreTest, UploadsAnswer507NothingHalfWrittenStaysReadsGoOn) {
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  const std::string token = add_user(env, "fran");
  std::string dir = make_temp_dir("cw-faults-full-");
  RemoveOnExit remove_dir{dir};  // after the server stopped and the tmpfs went
  SmallTmpfs tmpfs(dir + "/store");
  FullStoreServer srv;
  srv.root = dir + "/store/media";
  if (tmpfs.mounted()) {
    std::cout << "[ faults ] media store on a 2 MiB tmpfs at " << dir << "/store\n";
    srv.real_disk = true;
    env["CONVOYWATCH_STORAGE_ROOT"] = srv.root;
    srv.process = std::make_unique<ServerProcess>(env);
    srv.port = srv.process->port();
  } else {
    std::cout << "[ faults ] FALLBACK: mounting a tmpfs failed (" << tmpfs.error()
              << "); the store's writes go to /dev/full in an in-process server instead\n";
    std::map<std::string, std::string> server_env = {{"CONVOYWATCH_DATABASE_URL", db.url()},
                                                     {"CONVOYWATCH_SERVER_LISTEN", "127.0.0.1:0"},
                                                     {"CONVOYWATCH_STORAGE_ROOT", srv.root},
                                                     {"CONVOYWATCH_PIPELINE_WORKERS", "0"}};
    auto config = load_config(ConfigSources{"", server_env, {}});
    ASSERT_TRUE(config.ok()) << config.error().to_string();
    srv.config = *config;
    srv.db = std::make_unique<store::Database>(srv.config->database);
    std::atomic<bool>* full = &srv.full;
    srv.media = std::make_unique<store::MediaStore>(
        srv.root, [full](const std::string& path, int flags, mode_t mode) {
          int fd = ::open(path.c_str(), flags, mode);
          if (fd < 0 || !full->load() || (flags & O_CREAT) == 0) return fd;
          int dev_full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
          ::dup2(dev_full, fd);
          ::close(dev_full);
          return fd;
        });
    ASSERT_TRUE(srv.media->prepare().ok());
    srv.in_process =
        std::make_unique<server::Server>(*srv.config, *srv.db, *srv.media, server::make_router());
    ASSERT_TRUE(srv.in_process->bind().ok());
    srv.port = srv.in_process->port();
    srv.thread = std::thread([&srv] { srv.in_process->run(); });
  }

  // Stored while there was room.
  const std::string clip = read_file(small_mp4(dir));
  auto first = submit(srv.port, token, clip, "clip.mp4");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string sha = first.json()["media"]["sha256"];
  srv.full = true;

  // 3 MiB cannot fit in 2 MiB: 507, the temp file goes, nothing reaches the database.
  const std::string video = fake_mp4(3 * kMiB, 3);
  SubmissionForm form = submission_form("{}", "too-big.mp4");
  auto h = bearer(token);
  h["Content-Type"] = form.content_type;
  {
    RawConnection c(srv.port);
    c.send(
        request_head("POST", "/api/v1/submissions", h,
                     static_cast<long long>(form.head.size() + video.size() + form.tail.size())) +
        form.head + video + form.tail);
    expect_507(c.read_response(), c.error());
  }
  EXPECT_TRUE(test::wait_until([&] { return files_in(srv.root + "/tmp").empty(); }, 5s, 20ms))
      << "a half-written upload stayed";
  EXPECT_EQ(files_in(srv.root + "/sha256").size(), 1u);
  EXPECT_EQ(db.query_value("SELECT count(*) FROM submissions"), "1");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM media"), "1");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs"), "1");

  // Reads go on.
  auto original =
      http_request(srv.port, "GET", "/api/v1/media/" + sha + "/original", bearer(token));
  EXPECT_EQ(original.status, 200);
  EXPECT_TRUE(original.body == clip);
  EXPECT_EQ(http_request(srv.port, "GET", "/api/v1/submissions", bearer(token)).status, 200);

  if (srv.real_disk) {
    // A tus PATCH into the full disk: 507; by tus rules the upload keeps the bytes that fit (its
    // offset) for a later resume, none of it is evidence, and terminating it frees the room.
    auto t = tus(token);
    t["Upload-Length"] = std::to_string(video.size());
    auto created = http_request(srv.port, "POST", "/api/v1/uploads", t);
    ASSERT_EQ(created.status, 201) << created.body;
    std::string location = created.header("location");
    auto p = tus(token);
    p["Upload-Offset"] = "0";
    p["Content-Type"] = "application/offset+octet-stream";
    {
      RawConnection c(srv.port);
      c.send(request_head("PATCH", location, p, static_cast<long long>(video.size())) + video);
      HttpResponse r = c.read_response();
      expect_507(r, c.error());
      EXPECT_EQ(r.header("tus-resumable"), "1.0.0");
    }
    auto status = http_request(srv.port, "GET", location, tus(token));
    ASSERT_EQ(status.status, 200) << status.body;
    uint64_t offset = std::stoull(status.header("upload-offset"));
    EXPECT_LT(offset, video.size());
    auto kept = files_in(srv.root + "/tmp", "tus-");
    ASSERT_EQ(kept.size(), 1u);
    EXPECT_EQ(fs::file_size(kept[0]), offset);
    EXPECT_TRUE(read_file(kept[0]) == video.substr(0, offset));
    EXPECT_EQ(files_in(srv.root + "/sha256").size(), 1u);
    EXPECT_EQ(db.query_value("SELECT count(*) FROM submissions"), "1");
    EXPECT_EQ(http_request(srv.port, "DELETE", location, tus(token)).status, 204);
    EXPECT_TRUE(files_in(srv.root + "/tmp").empty());
    EXPECT_EQ(srv.process->wait(0), -1000) << "the server must still be running";
  } else {
    std::cout << "[ faults ] FALLBACK: the tus PATCH case needs the real full disk; not run\n";
  }

  // Once there is room again, uploads work again.
  srv.full = false;
  auto after = submit(srv.port, token, fake_mp4(64 * 1024, 4), "after.mp4");
  EXPECT_EQ(after.status, 201) << after.body;
  EXPECT_EQ(files_in(srv.root + "/sha256").size(), 2u);
}

}  // namespace
}  // namespace cw::test
