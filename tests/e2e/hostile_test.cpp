// End to end: hostile HTTP traffic against a real `convoywatch serve` over real sockets, the
// malformed requests written byte by byte with Boost.Asio: slowloris, oversize headers,
// conflicting framing, huge declared bodies, and path traversal and SQL metacharacters in every
// path and query parameter of the API (the routes taken from the router, the query parameters
// from the OpenAPI document). Each must end in a 4xx (or a closed connection for slowloris),
// never a 5xx, never a crash, and leave the database exactly as it was.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <boost/asio.hpp>
#include <chrono>
#include <optional>
#include <regex>
#include <set>
#include <thread>

#include "common/utf8.hpp"
#include "server/router.hpp"
#include "server/routes.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// The status of the first response in raw bytes, or 0.
int first_status(const std::string& raw) {
  std::smatch m;
  static const std::regex kStatus("^HTTP/1\\.1 (\\d{3}) ");
  return std::regex_search(raw, m, kStatus) ? std::stoi(m[1]) : 0;
}

size_t count_responses(const std::string& raw) {
  size_t n = 0;
  for (size_t at = raw.find("HTTP/1.1 "); at != std::string::npos;
       at = raw.find("HTTP/1.1 ", at + 1)) {
    ++n;
  }
  return n;
}

// Percent-encodes every byte but RFC 3986 unreserved characters, so that the server decodes
// exactly `s` into one path segment or one query value.
std::string encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

// What attackers put in identifiers: traversal in its usual spellings and SQL that would
// change the database or widen a query if it were ever spliced into one.
const std::vector<std::string>& hostile_values() {
  static const std::vector<std::string> v = {
      "../../etc/passwd",
      "..%2F..%2Fetc%2Fpasswd",  // arrives decoded once: a literal %2F
      "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
      "....//....//etc/passwd",
      "..\\..\\..\\windows\\win.ini",
      "/etc/passwd",
      "..",
      std::string("1\0", 2),
      "'; DROP TABLE observations;--",
      "1; DROP TABLE users",
      "1 OR 1=1",
      "1' OR '1'='1",
      "-1 UNION SELECT token_hash FROM api_tokens--",
      "1; SELECT pg_sleep(10)",
      "$1",
      "\"; DELETE FROM submissions; --",
      "%",
      "\xff\xfe",
  };
  return v;
}

// Request targets sent exactly as written (not re-encoded).
const std::vector<std::string>& raw_targets() {
  static const std::vector<std::string> v = {
      "/api/v1/media/../../etc/passwd",
      "/api/v1/media/..%2f..%2fetc%2fpasswd/original",
      "/api/v1/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd/original",
      "/api/v1/media/%2e%2e/%2e%2e/etc/passwd",
      "/api/v1/media/%252e%252e%252fetc%252fpasswd/original",
      "/api/v1/media/..;/..;/etc/passwd",
      "/api/v1/../../../../etc/passwd",
      "/../../etc/passwd",
      "//etc/passwd",
      "/api/v1/media/....//....//etc/passwd/original",
      "/api/v1/media/..\\..\\etc\\passwd/original",
      "/api/v1/observations/1%20OR%201=1",
      "/api/v1/observations/1;DROP%20TABLE%20observations",
      "/api/v1/observations?status=verified'%20OR%20'1'='1",
      "/api/v1/users/1'--",
      "/api/v1/media/%00/original",
  };
  return v;
}

class HostileTest : public ::testing::Test {
 protected:
  void start(std::map<std::string, std::string> extra = {}) {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
    auto r = run_convoywatch(
        {"user", "add", "--create-org", "--name", "root", "--org", "taskforce", "--role", "admin"},
        env_);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    admin_ = r.out.substr(0, 67);
    for (auto& [k, v] : extra) env_[k] = v;
    server_ = std::make_unique<ServerProcess>(env_);
  }
  int port() const { return server_->port(); }
  std::string auth() const { return "Authorization: Bearer " + admin_ + "\r\n"; }

  // Rows of every table in the schema, and which tables there are, as one string.
  std::string fingerprint() const {
    return db_.query_value(
        "SELECT string_agg(format('%s=%s', table_name, "
        "(xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I', "
        "table_name), false, true, '')))[1]::text), ',' ORDER BY table_name) "
        "FROM information_schema.tables WHERE table_schema = 'public' "
        "AND table_type = 'BASE TABLE'");
  }

  // Something in the tables that hostile requests could reach: an observation and a submission.
  void seed() {
    std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin_},
                                            {"Content-Type", "application/json"}};
    auto o = http_request(
        port(), "POST", "/api/v1/observations", h,
        R"({"observed_at": "2022-02-20T06:30:00Z", "location": {"lat": 50.61, "lon": 36.58},
            "location_precision": "vicinity", "equipment": [{"type": "tank", "count": 4}]})");
    ASSERT_EQ(o.status, 201) << o.body;
    auto s =
        http_request(port(), "POST", "/api/v1/submissions", h,
                     R"({"source_url": "https://t.me/some_channel/1", "platform": "telegram"})");
    ASSERT_EQ(s.status, 201) << s.body;
  }

  TestDatabase db_{"cw_geo_template"};
  std::map<std::string, std::string> env_;
  std::string admin_;
  std::unique_ptr<ServerProcess> server_;
};

// Slowloris: many connections each sending its header one byte per second. The header timeout
// (2 s here) closes every one of them, and the server keeps answering others meanwhile.
TEST_F(HostileTest, SlowlorisIsClosedByTheHeaderTimeout) {
  start({{"CONVOYWATCH_SERVER_HEADER_TIMEOUT_S", "2"}});
  constexpr int kTimeout = 2;
  constexpr size_t kConnections = 8;
  net::io_context ioc;
  std::vector<std::unique_ptr<tcp::socket>> socks;
  for (size_t i = 0; i < kConnections; ++i) {
    auto s = std::make_unique<tcp::socket>(ioc);
    s->connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())});
    s->non_blocking(true);
    socks.push_back(std::move(s));
  }
  const std::string header = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(64, 'a');
  std::vector<std::optional<double>> closed_at(kConnections);
  std::vector<std::string> answers(kConnections);
  const auto begin = Clock::now();
  size_t sent = 0;
  bool served_meanwhile = false;
  for (; sent < header.size() && seconds_since(begin) < 15; ++sent) {
    size_t open = 0;
    for (size_t i = 0; i < kConnections; ++i) {
      if (closed_at[i]) continue;
      boost::system::error_code ec;
      char buf[512];
      size_t n = socks[i]->read_some(net::buffer(buf), ec);
      answers[i].append(buf, n);
      if (ec && ec != net::error::would_block) {
        closed_at[i] = seconds_since(begin);
        continue;
      }
      net::write(*socks[i], net::buffer(header.data() + sent, 1), ec);
      if (ec) {
        closed_at[i] = seconds_since(begin);
        continue;
      }
      ++open;
    }
    if (open == 0) break;
    if (sent == 1) {
      // The server answers other clients while the slow ones hang.
      auto t = Clock::now();
      EXPECT_EQ(http_request(port(), "GET", "/healthz", {}, "", 2000).status, 200);
      EXPECT_LT(seconds_since(t), 1.0);
      served_meanwhile = true;
    }
    std::this_thread::sleep_for(1s);
  }
  EXPECT_TRUE(served_meanwhile);
  EXPECT_LT(sent, header.size()) << "the whole header was accepted one byte per second";
  for (size_t i = 0; i < kConnections; ++i) {
    ASSERT_TRUE(closed_at[i].has_value())
        << "connection " << i << " still open after " << seconds_since(begin) << " s";
    // Closed once the timeout passed (detected at the next one-second tick), not before.
    EXPECT_GE(*closed_at[i], kTimeout - 0.5) << i;
    EXPECT_LE(*closed_at[i], kTimeout + 2.5) << i;
    EXPECT_EQ(answers[i].find("HTTP/1.1 200"), std::string::npos) << answers[i];
  }
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// A header block over [server] header_limit_bytes, however it is made up, is 431 and the
// connection is closed.
TEST_F(HostileTest, OversizeHeadersAre431) {
  start({{"CONVOYWATCH_SERVER_HEADER_LIMIT_BYTES", "8192"}});
  std::string many;
  for (int i = 0; i < 1000; ++i) many += fmt::format("X-Field-{}: value\r\n", i);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"one large field",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n"},
      {"many small fields", "GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + "\r\n"},
      {"large cookie", "GET /api/v1/me HTTP/1.1\r\nHost: x\r\n" + auth() +
                           "Cookie: " + std::string(9000, 'c') + "\r\n\r\n"},
      {"large target",
       "GET /healthz?q=" + std::string(20000, 'q') + " HTTP/1.1\r\nHost: x\r\n\r\n"},
      {"header never ends",
       "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'b')},
  };
  for (const auto& [name, bytes] : cases) {
    std::string out = raw_exchange(port(), bytes, 5000);
    EXPECT_EQ(first_status(out), 431) << name << ": " << out.substr(0, 200);
    EXPECT_NE(out.find("application/problem+json"), std::string::npos) << name;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << name;
  }
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// Request smuggling: framing the server and a proxy could read differently is refused with 400
// and the connection closed, so nothing after it is taken as a second request.
TEST_F(HostileTest, ConflictingFramingIs400) {
  start();
  seed();
  const std::string before = fingerprint();
  const std::string head =
      "POST /api/v1/users HTTP/1.1\r\nHost: x\r\n" + auth() + "Content-Type: application/json\r\n";
  const std::string smuggled =
      "0\r\n\r\nDELETE /api/v1/observations/1 HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"CL then TE", head + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n" + smuggled},
      {"TE then CL", head + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n" + smuggled},
      {"TE chunked,identity and CL",
       head + "Content-Length: 4\r\nTransfer-Encoding: chunked, identity\r\n\r\n" + smuggled},
      {"TE not ending in chunked", head + "Transfer-Encoding: chunked, gzip\r\n\r\n" + smuggled},
      {"TE gzip only", head + "Transfer-Encoding: gzip\r\n\r\n" + smuggled},
      {"two TE fields",
       head + "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n" + smuggled},
      {"two different CL", head + "Content-Length: 4\r\nContent-Length: 40\r\n\r\n{}{}" + smuggled},
      {"CL list", head + "Content-Length: 4, 40\r\n\r\n{}{}" + smuggled},
      {"negative CL", head + "Content-Length: -1\r\n\r\n" + smuggled},
      {"signed CL", head + "Content-Length: +4\r\n\r\n{}{}" + smuggled},
      {"hex CL", head + "Content-Length: 0x4\r\n\r\n{}{}" + smuggled},
      {"CL overflow", head + "Content-Length: 99999999999999999999999\r\n\r\n" + smuggled},
      {"space before colon", head + "Transfer-Encoding : chunked\r\n\r\n" + smuggled},
      {"obsolete line folding", head + "Content-Length: 4\r\n 0\r\n\r\n{}{}" + smuggled},
      {"bad chunk size", head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"},
      {"bare LF line ends", "POST /api/v1/users HTTP/1.1\nHost: x\nContent-Length: 4\n\n{}{}"},
  };
  for (const auto& [name, bytes] : cases) {
    auto t = Clock::now();
    std::string out = raw_exchange(port(), bytes, 5000);
    EXPECT_EQ(first_status(out), 400) << name << ": " << out.substr(0, 300);
    EXPECT_EQ(count_responses(out), 1u) << name << ": a second request was answered:\n" << out;
    EXPECT_LT(seconds_since(t), 3.0) << name << ": the connection was not closed";
  }
  EXPECT_EQ(fingerprint(), before);
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// A declared body far over a route's limit is refused from the header alone, without waiting
// for a byte of the body (none is sent), and the connection closed. The token and the role come
// first: without a valid token 401, with a role the route refuses 403, only an admitted caller
// learns that the body is too large (413) — on buffered and streaming routes alike.
TEST_F(HostileTest, HugeDeclaredBodyIsRefusedBeforeReading) {
  start({{"CONVOYWATCH_SERVER_MAX_JSON_BYTES", "4096"},
         {"CONVOYWATCH_SERVER_MAX_UPLOAD_BYTES", "1048576"}});
  seed();
  auto added = run_convoywatch({"user", "add", "--create-org", "--name", "carla", "--org",
                                "taskforce", "--role", "contributor"},
                               env_);
  ASSERT_EQ(added.exit_code, 0) << added.err;
  const std::string contributor = "Authorization: Bearer " + added.out.substr(0, 67) + "\r\n";
  const std::string before = fingerprint();
  const std::string ten_gb = "10737418240";
  struct Case {
    std::string name, head, auth;
    int status;
  };
  const std::string json = "Content-Type: application/json\r\n";
  const std::string tus_head =
      "Tus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
      "Content-Type: application/offset+octet-stream\r\n";
  const std::vector<Case> cases = {
      {"JSON route", "POST /api/v1/users HTTP/1.1\r\n" + json, auth(), 413},
      {"JSON route without a token", "POST /api/v1/observations HTTP/1.1\r\n" + json, "", 401},
      {"JSON route with a made-up token", "POST /api/v1/observations HTTP/1.1\r\n" + json,
       "Authorization: Bearer cw_" + std::string(64, 'a') + "\r\n", 401},
      {"admin route, contributor's token", "POST /api/v1/users HTTP/1.1\r\n" + json, contributor,
       403},
      {"PATCH", "PATCH /api/v1/observations/1 HTTP/1.1\r\n" + json, auth(), 413},
      {"import (1 GiB limit)",
       "POST /api/v1/observations/import HTTP/1.1\r\nContent-Type: text/csv\r\n", auth(), 413},
      {"multipart upload",
       "POST /api/v1/submissions HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n",
       auth(), 413},
      {"multipart upload without a token",
       "POST /api/v1/submissions HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=b\r\n", "",
       401},
      {"tus PATCH", "PATCH /api/v1/uploads/nosuchupload HTTP/1.1\r\n" + tus_head, auth(), 413},
      {"tus PATCH without a token", "PATCH /api/v1/uploads/nosuchupload HTTP/1.1\r\n" + tus_head,
       "", 401},
      {"expect 100-continue", "POST /api/v1/users HTTP/1.1\r\n" + json + "Expect: 100-continue\r\n",
       auth(), 413},
      {"expect 100-continue without a token",
       "POST /api/v1/users HTTP/1.1\r\n" + json + "Expect: 100-continue\r\n", "", 401},
      {"upload with continue",
       "POST /api/v1/submissions HTTP/1.1\r\nContent-Type: "
       "multipart/form-data; boundary=b\r\nExpect: 100-continue\r\n",
       auth(), 413},
  };
  for (const auto& c : cases) {
    std::string bytes = c.head + "Host: x\r\n" + c.auth + "Content-Length: " + ten_gb + "\r\n\r\n";
    auto t = Clock::now();
    std::string out = raw_exchange(port(), bytes, 10000);
    double took = seconds_since(t);
    EXPECT_EQ(first_status(out), c.status) << c.name << ": " << out.substr(0, 300);
    EXPECT_NE(out.find("application/problem+json"), std::string::npos) << c.name;
    EXPECT_EQ(out.find("100 Continue"), std::string::npos) << c.name;
    EXPECT_LT(took, 2.0) << c.name << ": the server waited for the body";
  }
  // A tus upload declares its size in Upload-Length: refused before any PATCH.
  auto tus = http_request(port(), "POST", "/api/v1/uploads",
                          {{"Authorization", "Bearer " + admin_},
                           {"Tus-Resumable", "1.0.0"},
                           {"Upload-Length", ten_gb}});
  EXPECT_EQ(tus.status, 413) << tus.body;
  EXPECT_EQ(fingerprint(), before);
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// Authentication comes before the body: 50 clients at once, no token, each declaring a 1 GiB
// import and sending as fast as they can. Each gets its 401 (not a reset: the server stops
// sending and reads on for a while before it closes, so the client can read the answer), the
// server reads at most a few MiB of each, and its resident memory stays flat.
TEST_F(HostileTest, UnauthenticatedBodiesAreNeverRead) {
  start();
  auto rss_kb = [&] {
    std::string status = read_file("/proc/" + std::to_string(server_->pid()) + "/status");
    size_t at = status.find("VmRSS:");
    return at == std::string::npos ? 0L : std::stol(status.substr(at + 6));
  };
  const long before = rss_kb();
  const std::string head =
      "POST /api/v1/observations/import HTTP/1.1\r\nHost: x\r\nContent-Type: text/csv\r\n"
      "Content-Length: 1073741824\r\n\r\n";
  constexpr int kClients = 50;
  std::vector<std::string> answers(kClients);
  std::vector<size_t> sent(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      net::io_context ioc;
      tcp::socket sock(ioc);
      boost::system::error_code ec;
      sock.connect(
          tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port())),
          ec);
      if (ec) return;
      net::write(sock, net::buffer(head), ec);
      sock.non_blocking(true);
      const std::string chunk(64 * 1024, 'x');
      char buf[4096];
      const auto deadline = Clock::now() + 20s;
      // Send body bytes until the answer arrives (or the server stops taking them).
      while (Clock::now() < deadline) {
        size_t n = sock.read_some(net::buffer(buf), ec);
        if (!ec) {
          answers[i].append(buf, n);
          if (answers[i].find("\r\n\r\n") != std::string::npos &&
              answers[i].find("}") != std::string::npos) {
            break;
          }
        } else if (ec != net::error::would_block) {
          break;
        }
        size_t w = sock.write_some(net::buffer(chunk), ec);
        if (!ec) sent[i] += w;
        if (ec && ec != net::error::would_block) {
          // The server closed its side; what it sent is still there to read.
          sock.non_blocking(false);
          for (;;) {
            n = sock.read_some(net::buffer(buf), ec);
            answers[i].append(buf, n);
            if (ec) break;
          }
          break;
        }
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  for (auto& t : clients) t.join();
  const long after = rss_kb();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(first_status(answers[i]), 401) << "client " << i << ": " << answers[i].substr(0, 200);
  }
  // Flat: far less than the 50 x 1 GiB declared, and less than even one client's share read.
  EXPECT_LT(after - before, 64 * 1024) << "RSS " << before << " kB -> " << after << " kB";
  size_t most = 0;
  for (size_t s : sent) most = std::max(most, s);
  std::cout << "  RSS " << before << " kB -> " << after
            << " kB; most bytes one client got in: " << most << "\n";
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// Every path parameter of every route, and a set of raw targets, with traversal and SQL: 4xx,
// no file content, no change to any table.
TEST_F(HostileTest, TraversalAndSqlInPathParametersAre4xxWithoutEffect) {
  start();
  seed();
  const std::string before = fingerprint();
  ASSERT_NE(before.find("observations=1"), std::string::npos) << before;
  const server::Router router = server::make_router();
  const std::regex param("\\{([a-z0-9_]+)\\}");
  auto valid = [](const std::string& name) {
    if (name == "sha256" || name == "other") return std::string(64, 'a');
    if (name == "n") return std::string("1");
    return std::string("1");
  };
  size_t requests = 0;
  auto check = [&](const std::string& method, const std::string& target, const std::string& what) {
    std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin_},
                                            {"Content-Type", "application/json"},
                                            {"Tus-Resumable", "1.0.0"},
                                            {"Upload-Offset", "0"}};
    std::string body = method == "POST" || method == "PATCH" ? "{}" : "";
    if (target.find("/uploads/") != std::string::npos && method == "PATCH") {
      h["Content-Type"] = "application/offset+octet-stream";
      body = "x";
    }
    HttpResponse r;
    try {
      r = http_request(port(), method, target, h, body, 10000);
    } catch (const std::exception& e) {
      ADD_FAILURE() << what << ": " << method << " " << target << ": " << e.what();
      return;
    }
    ++requests;
    EXPECT_GE(r.status, 400) << what << ": " << method << " " << target << "\n" << r.body;
    EXPECT_LT(r.status, 500) << what << ": " << method << " " << target << "\n" << r.body;
    EXPECT_EQ(r.body.find("root:"), std::string::npos) << target;
  };

  for (const server::Route& route : router.routes()) {
    std::vector<std::string> names;
    for (std::sregex_iterator it(route.pattern.begin(), route.pattern.end(), param), end; it != end;
         ++it) {
      names.push_back((*it)[1]);
    }
    const std::string method(server::http::to_string(route.method));
    for (const std::string& target_param : names) {
      for (const std::string& v : hostile_values()) {
        std::string target = route.pattern;
        for (const std::string& name : names) {
          std::string with = name == target_param ? encode(v) : valid(name);
          target = std::regex_replace(target, std::regex("\\{" + name + "\\}"), with);
        }
        check(method, target, route.pattern + " {" + target_param + "}");
      }
    }
  }
  for (const std::string& target : raw_targets()) {
    for (const char* method : {"GET", "DELETE", "PATCH"}) check(method, target, "raw target");
  }
  EXPECT_GT(requests, 300u);
  EXPECT_EQ(fingerprint(), before);
  // Nothing outside the media store was served or touched, and the server is fine.
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
}

// Every query parameter the OpenAPI document lists, with the same values. Typed parameters
// (ids, enums, times, limits, cursors, bboxes, formats) are 422; the free-text filters (oblast,
// country, object, q) are matched as plain values: 200 and no rows; a value with a NUL byte or
// bytes that are not UTF-8 is 400 whatever the parameter. Nothing changes.
TEST_F(HostileTest, TraversalAndSqlInQueryParametersAre4xxWithoutEffect) {
  start();
  seed();
  const std::string before = fingerprint();
  const nlohmann::json doc = nlohmann::json::parse(server::openapi_document());
  const std::set<std::string> free_text = {"oblast", "country", "object", "q", "tag"};
  size_t requests = 0;
  size_t params = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    // Paths with parameters of their own are in the test above (and their query parameters are
    // read only once the resource is found).
    if (path.find('{') != std::string::npos) continue;
    for (const auto& [method, op] : item.items()) {
      if (method != "get" || !op.contains("parameters")) continue;
      for (const auto& p : op["parameters"]) {
        if (!p.contains("in") || p["in"] != "query") continue;
        ++params;
        const std::string name = p["name"];
        for (const std::string& v : hostile_values()) {
          std::string target = path + "?" + name + "=" + encode(v);
          auto r = http_request(port(), "GET", target, {{"Authorization", "Bearer " + admin_}});
          ++requests;
          EXPECT_LT(r.status, 500) << target << "\n" << r.body;
          if (!is_storable_text(v)) {
            // A NUL byte or bytes that are not UTF-8 are refused with the request target.
            EXPECT_EQ(r.status, 400) << target << "\n" << r.body;
          } else if (free_text.count(name) != 0) {
            EXPECT_EQ(r.status, 200) << target << "\n" << r.body;
            EXPECT_TRUE(r.json()["items"].empty()) << target << "\n" << r.body;
          } else {
            EXPECT_EQ(r.status, 422) << target << "\n" << r.body;
            EXPECT_EQ(r.json()["field"], name) << target << "\n" << r.body;
          }
        }
      }
    }
  }
  EXPECT_GE(params, 18u);
  EXPECT_EQ(requests, params * hostile_values().size());
  EXPECT_EQ(fingerprint(), before);
}

// A body nested deeper than any real one: PATCH merges it into the stored observation, which
// recursed once per level and took the server down with a 600 KB body. Now 422, server alive.
TEST_F(HostileTest, DeeplyNestedJsonIsRefused) {
  start();
  seed();
  const std::string before = fingerprint();
  std::string deep;
  for (int i = 0; i < 100000; ++i) deep += "{\"a\":";
  deep += "1";
  deep += std::string(100000, '}');
  std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin_},
                                          {"Content-Type", "application/merge-patch+json"}};
  auto patch = http_request(port(), "PATCH", "/api/v1/observations/1", h, deep);
  EXPECT_EQ(patch.status, 422) << patch.body;
  h["Content-Type"] = "application/json";
  for (const char* target : {"/api/v1/observations", "/api/v1/users", "/api/v1/submissions"}) {
    auto r = http_request(port(), "POST", target, h, deep);
    EXPECT_EQ(r.status, 422) << target << ": " << r.body;
  }
  auto arrays = http_request(port(), "POST", "/api/v1/observations", h,
                             "{\"a\":" + std::string(300000, '[') + std::string(300000, ']') + "}");
  EXPECT_EQ(arrays.status, 422) << arrays.body;
  EXPECT_EQ(http_request(port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(fingerprint(), before);
}

// JSON can spell a NUL byte (the escape of U+0000), which PostgreSQL text cannot hold: in
// markings it was a 500 (jsonb refuses it), in notes it was silently cut at the NUL. Every text
// field refuses it.
TEST_F(HostileTest, NulCharactersInJsonTextAre422) {
  start();
  seed();
  const std::string before = fingerprint();
  std::map<std::string, std::string> h = {{"Authorization", "Bearer " + admin_},
                                          {"Content-Type", "application/json"}};
  const std::string obs =
      R"({"observed_at": "2022-02-20T06:30:00Z", "location": {"lat": 50.61, "lon": 36.58},
          "location_precision": "vicinity", "equipment": [{"type": "tank", "count": 4}], )";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/api/v1/observations", obs + R"("markings": ["a\u0000b"]})"},
      {"/api/v1/observations", obs + R"("notes": "a\u0000b"})"},
      {"/api/v1/observations", obs + R"("source_note": "\u0000"})"},
      {"/api/v1/submissions", R"({"source_url": "https://t.me/c/2", "description": "a\u0000"})"},
      {"/api/v1/submissions", R"({"source_url": "https://t.me/c/2", "tags": ["a\u0000"]})"},
      {"/api/v1/submissions",
       R"({"source_url": "https://t.me/c/2", "claimed_location": "\u0000"})"},
      {"/api/v1/users", R"({"name": "a\u0000b", "org": "o"})"},
  };
  for (const auto& [target, body] : cases) {
    auto r = http_request(port(), "POST", target, h, body);
    EXPECT_EQ(r.status, 422) << target << " " << body << "\n" << r.body;
  }
  auto patch = http_request(port(), "PATCH", "/api/v1/observations/1", h, R"({"notes": "\u0000"})");
  EXPECT_EQ(patch.status, 422) << patch.body;
  EXPECT_EQ(fingerprint(), before);
}

}  // namespace
}  // namespace cw::test
