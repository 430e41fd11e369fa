// Live events (GET /api/v1/events) against a real server: two organisations' streams see exactly
// what their callers may see, in order and within 2 s, of changes made through the API and by a
// second process (the command line); a dropped stream resumes with Last-Event-ID without loss or
// repeats; heartbeats; the per-token stream limit; a revoked token's stream ends; no token, no
// stream.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/sse_client.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::map<std::string, std::string> json_auth(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

std::string observation(int vehicles) {
  return R"({"observed_at": "2022-02-20T06:30:00Z", "location": {"lat": 50.61, "lon": 36.58},
             "location_precision": "vicinity", "heading_deg": 200,
             "equipment": [{"type": "truck", "count": )" +
         std::to_string(vehicles) + "}]}";
}

// The events of `type` among `events`, by their object ids.
std::vector<std::string> objects_of(const std::vector<SseEvent>& events, const std::string& type) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    if (e.event == type) out.push_back(e.json()["object_id"].get<std::string>());
  }
  return out;
}

bool has(const std::vector<SseEvent>& events, const std::string& type, const std::string& id) {
  for (const auto& e : events) {
    if (e.event == type && e.json()["object_id"] == id) return true;
  }
  return false;
}

class EventsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}};
    alice_ = add_user(env_, "alice", "Bellingcat", "analyst");
    bob_ = add_user(env_, "bob", "CIT", "analyst");
    admin_ = add_user(env_, "root", "taskforce", "coordinator");  // revokes CIT's token
    std::map<std::string, std::string> server_env = env_;
    server_env["CONVOYWATCH_SERVER_EVENT_HEARTBEAT_S"] = "1";
    server_env["CONVOYWATCH_SERVER_MAX_EVENT_STREAMS_PER_TOKEN"] = "2";
    server_ = std::make_unique<ServerProcess>(server_env);
  }
  int port() const { return server_->port(); }
  std::unique_ptr<SseClient> stream(const std::string& token,
                                    std::map<std::string, std::string> extra = {}) {
    auto h = auth(token);
    h.insert(extra.begin(), extra.end());
    auto s = std::make_unique<SseClient>(port(), "/api/v1/events", h);
    EXPECT_EQ(s->status(), 200);
    return s;
  }
  std::string post(const std::string& token, const std::string& target, const std::string& body) {
    auto r = http_request(port(), "POST", target, json_auth(token), body);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::to_string(r.json()["id"].get<int64_t>());
  }

  TestDatabase db_{"cw_geo_template"};
  std::map<std::string, std::string> env_;
  std::string alice_, bob_, admin_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(EventsTest, EachOrganisationSeesWhatItMaySeeInOrderAndResumes) {
  auto a = stream(alice_);
  auto b = stream(bob_);
  std::this_thread::sleep_for(300ms);  // both subscribed before the first change

  // A submission private to Alice's organisation, then one shared with the task force.
  const auto t0 = std::chrono::steady_clock::now();
  const std::string private_id =
      post(alice_, "/api/v1/submissions",
           R"({"source_url":"https://t.me/secret_source/77","platform":"telegram",)"
           R"("visibility":"org","description":"private lead"})");
  const std::string shared_id =
      post(alice_, "/api/v1/submissions",
           R"({"source_url":"https://t.me/open_channel/5","platform":"telegram"})");
  const std::string obs_id = post(bob_, "/api/v1/observations", observation(7));
  // A second process: the command line builds a report.
  auto built = run_convoywatch({"report", "run", "daily", "--date", "2022-02-20"}, env_);
  ASSERT_EQ(built.exit_code, 0) << built.err;

  auto everything_a = [&](const std::vector<SseEvent>& ev) {
    return has(ev, "submission.created", private_id) && has(ev, "submission.created", shared_id) &&
           has(ev, "observation.created", obs_id) && !objects_of(ev, "report.built").empty();
  };
  ASSERT_TRUE(a->wait(everything_a, 10s)) << a->events().size() << " events";
  auto everything_b = [&](const std::vector<SseEvent>& ev) {
    return has(ev, "submission.created", shared_id) && has(ev, "observation.created", obs_id) &&
           !objects_of(ev, "report.built").empty();
  };
  ASSERT_TRUE(b->wait(everything_b, 10s)) << b->events().size() << " events";
  // Within 2 s of the change that caused them.
  for (const auto& e : a->events()) {
    if (e.event == "submission.created" && e.json()["object_id"] == private_id) {
      EXPECT_LT(e.received - t0, 2s);
    }
  }

  // Bob's organisation never hears of the private submission, not even as an update.
  std::this_thread::sleep_for(500ms);
  for (const auto& e : b->events()) {
    EXPECT_FALSE(e.event.starts_with("submission.") && e.json()["object_id"] == private_id)
        << e.event << " " << e.data;
    EXPECT_EQ(e.data.find("secret_source"), std::string::npos) << e.data;
    EXPECT_EQ(e.data.find("private lead"), std::string::npos) << e.data;
  }
  // Alice sees her own organisation's submission with its content.
  bool saw_content = false;
  for (const auto& e : a->events()) {
    if (e.event == "submission.created" && e.json()["object_id"] == private_id) {
      EXPECT_EQ(e.json()["object"]["source_url"], "https://t.me/secret_source/77");
      saw_content = true;
    }
  }
  EXPECT_TRUE(saw_content);

  // In order: ids only grow, on both streams.
  for (const auto* s : {a.get(), b.get()}) {
    int64_t last = 0;
    for (const auto& e : s->events()) {
      const int64_t id = std::stoll(e.id);
      EXPECT_GT(id, last) << e.event;
      last = id;
    }
  }

  // The connection drops; meanwhile two observations; the stream resumes from its last id with
  // exactly those (and nothing it had already).
  const std::string last_id = a->events().back().id;
  std::set<std::string> seen;
  for (const auto& e : a->events()) seen.insert(e.id);
  a->close();
  const std::string missed1 = post(bob_, "/api/v1/observations", observation(3));
  const std::string missed2 = post(bob_, "/api/v1/observations", observation(4));
  a.reset();
  auto resumed = stream(alice_, {{"Last-Event-ID", last_id}});
  ASSERT_TRUE(resumed->wait(
      [&](const std::vector<SseEvent>& ev) {
        return has(ev, "observation.created", missed1) && has(ev, "observation.created", missed2);
      },
      10s));
  for (const auto& e : resumed->events()) {
    EXPECT_FALSE(seen.count(e.id)) << "event " << e.id << " sent twice";
  }
}

TEST_F(EventsTest, HeartbeatsLimitsRevocationAndNoToken) {
  // No token, no stream; a bad Last-Event-ID is a 422 naming it.
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/events").status, 401);
  auto bad = std::make_unique<SseClient>(
      port(), "/api/v1/events",
      std::map<std::string, std::string>{{"Authorization", "Bearer " + bob_},
                                         {"Last-Event-ID", "abc"}});
  EXPECT_EQ(bad->status(), 422);

  auto first = stream(bob_);
  auto second = stream(bob_);
  // The third of one token is refused (max_event_streams_per_token = 2).
  auto third = std::make_unique<SseClient>(port(), "/api/v1/events", auth(bob_));
  EXPECT_EQ(third->status(), 429);

  // Heartbeat comments on an idle stream (event_heartbeat_s = 1 here, 15 by default).
  EXPECT_TRUE(wait_until([&] { return first->comments() >= 3; }, 5s)) << first->comments();

  // Revoking the token ends its streams within the change feed's notification time.
  auto me = http_request(port(), "GET", "/api/v1/me", auth(bob_));
  const auto token_id = me.json()["token_id"].get<int64_t>();
  auto revoked =
      http_request(port(), "DELETE", "/api/v1/tokens/" + std::to_string(token_id), auth(admin_));
  ASSERT_EQ(revoked.status, 204) << revoked.body;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(wait_until([&] { return first->ended() && second->ended(); }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  bool told = false;
  for (const auto& e : first->events()) told = told || e.event == "revoked";
  EXPECT_TRUE(told);
  // Its slot is free again, but the token is not valid any more.
  auto after = std::make_unique<SseClient>(port(), "/api/v1/events", auth(bob_));
  EXPECT_EQ(after->status(), 401);
}

}  // namespace
}  // namespace cw::test
