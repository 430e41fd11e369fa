// End to end: a real `convoywatch serve` over a real socket against the real database.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio.hpp>
#include <chrono>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/pg_cluster.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;

std::map<std::string, std::string> bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string make_admin(const std::map<std::string, std::string>& env,
                       const std::string& name = "admin") {
  auto r = run_convoywatch(
      {"user", "add", "--create-org", "--name", name, "--org", "taskforce", "--role", "admin"},
      env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, 67);
}

class PlatformTest : public ::testing::Test {
 protected:
  void start(std::map<std::string, std::string> extra = {}) {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    admin_ = make_admin(env_);
    for (auto& [k, v] : extra) env_[k] = v;
    server_ = std::make_unique<ServerProcess>(env_);
  }
  int port() const { return server_->port(); }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env_;
  std::string admin_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(PlatformTest, HealthReadyMetricsAndRequestIds) {
  start();
  auto h = http_request(port(), "GET", "/healthz");
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.json()["status"], "ok");
  EXPECT_EQ(h.header("x-request-id").size(), 16u);
  auto r = http_request(port(), "GET", "/readyz", {{"X-Request-Id", "trace-42.a"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "trace-42.a");
  EXPECT_EQ(r.json()["sandbox"], "namespaces") << r.body;  // the default
  auto insane = http_request(port(), "GET", "/healthz", {{"X-Request-Id", "bad id with spaces"}});
  EXPECT_NE(insane.header("x-request-id"), "bad id with spaces");
  auto m = http_request(port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(
      m.body.find(
          "convoywatch_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("convoywatch_http_request_duration_seconds_bucket"), std::string::npos);
  EXPECT_NE(m.body.find("convoywatch_http_requests_in_flight"), std::string::npos);
  EXPECT_NE(m.body.find("convoywatch_db_pool_connections{state=\"idle\"}"), std::string::npos);
  EXPECT_NE(m.body.find("convoywatch_sandbox_mode{mode=\"namespaces\"} 1"), std::string::npos)
      << m.body;
  auto head = http_request(port(), "HEAD", "/healthz");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  // The access log is JSON lines with the request id.
  EXPECT_NE(server_->log().find("\"request_id\":\"trace-42.a\""), std::string::npos);
}

TEST_F(PlatformTest, NotFoundAndMethodNotAllowedAreProblems) {
  start();
  auto nf = http_request(port(), "GET", "/api/v1/nothing-here");
  EXPECT_EQ(nf.status, 404);
  EXPECT_EQ(nf.header("content-type"), "application/problem+json");
  EXPECT_EQ(nf.json()["status"], 404);
  auto na = http_request(port(), "DELETE", "/api/v1/me", bearer(admin_));
  EXPECT_EQ(na.status, 405);
  EXPECT_NE(na.header("allow").find("GET"), std::string::npos);
  EXPECT_EQ(na.json()["title"], "Method Not Allowed");
  auto opts = http_request(port(), "OPTIONS", "/api/v1/users");
  EXPECT_EQ(opts.status, 204);
  EXPECT_NE(opts.header("allow").find("POST"), std::string::npos);
  auto traversal = http_request(port(), "GET", "/api/v1/../../etc/passwd");
  EXPECT_EQ(traversal.status, 404);
}

TEST_F(PlatformTest, TokensRolesAndRevocation) {
  start();
  auto none = http_request(port(), "GET", "/api/v1/me");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.header("www-authenticate").find("Bearer"), std::string::npos);
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/me", bearer("cw_" + std::string(64, 'f'))).status,
            401);
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/me", {{"Authorization", "Basic abc"}}).status,
            401);
  auto me = http_request(port(), "GET", "/api/v1/me", bearer(admin_));
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["role"], "admin");
  EXPECT_EQ(me.json()["org"]["name"], "taskforce");

  auto created =
      http_request(port(), "POST", "/api/v1/users",
                   {{"Authorization", "Bearer " + admin_}, {"Content-Type", "application/json"}},
                   R"({"name": "carol", "role": "contributor"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("location"),
            "/api/v1/users/" + std::to_string(created.json()["id"].get<int>()));
  std::string carol = created.json()["token"]["token"];
  int carol_token = created.json()["token"]["id"];
  auto carol_me = http_request(port(), "GET", "/api/v1/me", bearer(carol));
  ASSERT_EQ(carol_me.status, 200);
  EXPECT_EQ(carol_me.json()["role"], "contributor");
  auto forbidden = http_request(port(), "GET", "/api/v1/users", bearer(carol));
  EXPECT_EQ(forbidden.status, 403);
  EXPECT_EQ(forbidden.header("content-type"), "application/problem+json");
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/audit", bearer(carol)).status, 403);

  auto list = http_request(port(), "GET", "/api/v1/users?limit=1", bearer(admin_));
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["items"].size(), 1u);
  ASSERT_TRUE(list.json()["next_cursor"].is_string());
  auto page2 =
      http_request(port(), "GET",
                   "/api/v1/users?limit=1&cursor=" + list.json()["next_cursor"].get<std::string>(),
                   bearer(admin_));
  ASSERT_EQ(page2.status, 200);
  EXPECT_EQ(page2.json()["items"][0]["name"], "carol");
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/users?limit=0", bearer(admin_)).status, 422);
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/users?cursor=zzz", bearer(admin_)).status, 422);

  auto del = http_request(port(), "DELETE", "/api/v1/tokens/" + std::to_string(carol_token),
                          bearer(admin_));
  EXPECT_EQ(del.status, 204);
  EXPECT_EQ(http_request(port(), "GET", "/api/v1/me", bearer(carol)).status, 401);
  EXPECT_EQ(http_request(port(), "DELETE", "/api/v1/tokens/" + std::to_string(carol_token),
                         bearer(admin_))
                .status,
            404);

  auto audit = http_request(port(), "GET", "/api/v1/audit?object=token/*", bearer(admin_));
  ASSERT_EQ(audit.status, 200);
  EXPECT_GE(audit.json()["items"].size(), 3u);
}

TEST_F(PlatformTest, BadBodiesAreClearErrors) {
  start({{"CONVOYWATCH_SERVER_MAX_JSON_BYTES", "2048"}});
  auto h = [&](const std::string& type) {
    return std::map<std::string, std::string>{{"Authorization", "Bearer " + admin_},
                                              {"Content-Type", type}};
  };
  auto unknown = http_request(port(), "POST", "/api/v1/users", h("application/json"),
                              R"({"name":"d","org":"o","rol":"admin"})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(unknown.json()["field"], "rol");
  auto wrong_type = http_request(port(), "POST", "/api/v1/users", h("application/json"),
                                 R"({"name":5,"org":"o"})");
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(wrong_type.json()["field"], "name");
  auto bad_role = http_request(port(), "POST", "/api/v1/users", h("application/json"),
                               R"({"name":"d","org":"o","role":"king"})");
  EXPECT_EQ(bad_role.status, 422);
  EXPECT_EQ(bad_role.json()["field"], "role");
  EXPECT_EQ(
      http_request(port(), "POST", "/api/v1/users", h("application/json"), "{not json").status,
      400);
  EXPECT_EQ(http_request(port(), "POST", "/api/v1/users", h("text/plain"), "{}").status, 415);
  EXPECT_EQ(http_request(port(), "POST", "/api/v1/users", h("application/json"), "[1]").status,
            422);
  auto dup = http_request(port(), "POST", "/api/v1/users", h("application/json"),
                          R"({"name":"admin","org":"taskforce"})");
  EXPECT_EQ(dup.status, 409);
  auto big =
      http_request(port(), "POST", "/api/v1/users", h("application/json"), std::string(4096, ' '));
  EXPECT_EQ(big.status, 413);
  // A header block over the limit.
  auto huge = http_request(port(), "GET", "/healthz", {{"X-Padding", std::string(20000, 'a')}});
  EXPECT_EQ(huge.status, 431);
  // Conflicting framing is refused.
  std::string smuggle =
      "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: "
      "chunked\r\n\r\n0\r\n\r\n";
  EXPECT_NE(raw_exchange(port(), smuggle).find("HTTP/1.1 400"), std::string::npos);
  // The server is still fine.
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

TEST_F(PlatformTest, CorsForConfiguredOriginsOnly) {
  start({{"CONVOYWATCH_SERVER_CORS_ORIGINS", "https://dashboard.example"}});
  auto pre = http_request(port(), "OPTIONS", "/api/v1/users",
                          {{"Origin", "https://dashboard.example"},
                           {"Access-Control-Request-Method", "POST"},
                           {"Access-Control-Request-Headers", "authorization, content-type"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("access-control-allow-origin"), "https://dashboard.example");
  EXPECT_EQ(pre.header("access-control-allow-credentials"), "true");
  EXPECT_NE(pre.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_NE(pre.header("access-control-allow-headers").find("Authorization"), std::string::npos);
  auto other =
      http_request(port(), "OPTIONS", "/api/v1/users",
                   {{"Origin", "https://evil.example"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(other.header("access-control-allow-origin"), "");
  auto get = http_request(
      port(), "GET", "/api/v1/me",
      {{"Origin", "https://dashboard.example"}, {"Authorization", "Bearer " + admin_}});
  EXPECT_EQ(get.header("access-control-allow-origin"), "https://dashboard.example");
  EXPECT_EQ(get.header("vary"), "Origin");
  auto get_other = http_request(port(), "GET", "/healthz", {{"Origin", "https://evil.example"}});
  EXPECT_EQ(get_other.header("access-control-allow-origin"), "");
}

TEST_F(PlatformTest, RateLimitPerToken) {
  start({{"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "6"},
         {"CONVOYWATCH_SERVER_RATE_LIMIT_BURST", "3"}});
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(http_request(port(), "GET", "/api/v1/me", bearer(admin_)).status, 200);
  auto limited = http_request(port(), "GET", "/api/v1/me", bearer(admin_));
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.header("retry-after").empty());
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);  // open routes are not limited
}

TEST_F(PlatformTest, OpenApiIsServed) {
  start();
  auto doc = http_request(port(), "GET", "/api/v1/openapi.json");
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.json()["openapi"], "3.1.0");
}

// SIGTERM while a request body is still arriving: the request completes, the process exits 0.
TEST_F(PlatformTest, SigtermLetsTheRequestInFlightFinish) {
  start();
  namespace net = boost::asio;
  net::io_context ioc;
  net::ip::tcp::socket sock(ioc);
  sock.connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())});
  std::string body = R"({"name": "slow-sam", "org": "taskforce", "role": "analyst"})";
  std::string head =
      "POST /api/v1/users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + admin_ +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n";
  net::write(sock, net::buffer(head + body.substr(0, 10)));
  std::this_thread::sleep_for(300ms);
  server_->signal(SIGTERM);
  std::this_thread::sleep_for(700ms);
  // A new connection is no longer accepted while the old one finishes.
  net::write(sock, net::buffer(body.substr(10)));
  std::string response;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    size_t n = sock.read_some(net::buffer(buf), ec);
    response.append(buf, n);
    if (ec) break;
  }
  EXPECT_NE(response.find("HTTP/1.1 201"), std::string::npos) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;
  EXPECT_EQ(server_->wait(10000), 0) << server_->log();
}

// /readyz follows the database: 503 within 5 s of it stopping, 200 again once it is back,
// without restarting the server. Uses a cluster of its own so other tests are not disturbed.
TEST(ReadinessTest, FollowsTheDatabaseWithoutRestart) {
  // A port of its own (tests/support/pg_cluster.hpp): scripts/pg's shared range could hand the
  // same port to a cluster another test starts meanwhile.
  PrivateCluster cluster(/*durable=*/false);
  const std::string db_url = cluster.url();
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db_url},
                                            {"CONVOYWATCH_DATABASE_CONNECT_TIMEOUT_S", "2"},
                                            // --migrate: the cluster's superuser owns the schema.
                                            {"CONVOYWATCH_DATABASE_ALLOW_PRIVILEGED", "true"}};
  ServerProcess server(env, {"--migrate"});
  auto ready = http_request(server.port(), "GET", "/readyz");
  ASSERT_EQ(ready.status, 200) << ready.body << server.log();

  std::string log;
  ASSERT_TRUE(cluster.stop(&log)) << log;
  HttpResponse down;
  test::wait_until(
      [&] {
        down = http_request(server.port(), "GET", "/readyz", {}, {}, 5000);
        return down.status == 503;
      },
      5s, 100ms);
  EXPECT_EQ(down.status, 503) << down.body;
  EXPECT_EQ(down.header("content-type"), "application/problem+json");
  EXPECT_FALSE(down.header("retry-after").empty());
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz").status, 200);

  ASSERT_TRUE(cluster.start(&log)) << log;
  HttpResponse up;
  test::wait_until(
      [&] {
        up = http_request(server.port(), "GET", "/readyz", {}, {}, 5000);
        return up.status == 200;
      },
      20s, 200ms);
  EXPECT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(server.wait(0), -1000) << "the server must still be the same process";
}

}  // namespace
}  // namespace cw::test
