// cw_events_client: the load of bench/events.sh on GET /api/v1/events. It opens IDLE streams
// with the tokens of one file (an organisation that is sent nothing: the events below are
// private to another), waits, and prints the server's memory per stream; then opens ACTIVE
// streams with the tokens of a second file, and while they listen makes EVENTS changes (a
// private submission of the active organisation, POST /api/v1/submissions, one every
// INTERVAL ms) and measures, per active stream, the time from the end of each POST to the arrival
// of its submission.created event. One thread, Boost.Asio; all sockets on 127.0.0.1.
//
//   cw_events_client --port P --pid SERVER_PID --idle-tokens F --active-tokens F
//                    [--idle 500] [--active 50] [--events 200] [--interval-ms 50] --out F.json
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

long rss_kib(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

std::vector<std::string> read_tokens(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  if (out.empty()) throw std::runtime_error("no tokens in " + path);
  return out;
}

// One SSE stream: reads whatever arrives and notes when each submission.created event for an
// object id came.
struct Stream : std::enable_shared_from_this<Stream> {
  Stream(net::io_context& ioc, int port, std::string token, bool active)
      : socket(ioc), port(port), token(std::move(token)), active(active) {}

  void start() {
    socket.async_connect(
        tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
        [self = shared_from_this()](beast::error_code ec) {
          if (ec) return self->fail("connect: " + ec.message());
          self->request = "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                          self->token + "\r\nAccept: text/event-stream\r\n\r\n";
          net::async_write(self->socket, net::buffer(self->request),
                           [self](beast::error_code wec, std::size_t) {
                             if (wec) return self->fail("write: " + wec.message());
                             self->read();
                           });
        });
  }

  void read() {
    socket.async_read_some(net::buffer(buf), [self = shared_from_this()](beast::error_code ec,
                                                                          std::size_t n) {
      if (ec) return self->fail("read: " + ec.message());
      self->text.append(self->buf.data(), n);
      if (!self->open && self->text.find("\r\n\r\n") != std::string::npos) {
        self->open = self->text.rfind("HTTP/1.1 200", 0) == 0;
        if (!self->open) return self->fail(self->text.substr(0, self->text.find('\r')));
      }
      // The event frames: "object_id":"N" of each submission.created.
      size_t at;
      while ((at = self->text.find("event: submission.created")) != std::string::npos) {
        const size_t id = self->text.find("\"object_id\":\"", at);
        const size_t end = id == std::string::npos ? id : self->text.find('"', id + 13);
        if (end == std::string::npos) break;
        self->arrived[self->text.substr(id + 13, end - id - 13)] = Clock::now();
        self->text.erase(0, end);
      }
      if (self->text.size() > 65536) self->text.erase(0, self->text.size() - 4096);
      self->read();
    });
  }

  void fail(const std::string& why) {
    if (error.empty()) error = why;
  }

  tcp::socket socket;
  int port;
  std::string token;
  bool active;
  bool open = false;
  std::string request;
  std::array<char, 16384> buf{};
  std::string text;
  std::map<std::string, Clock::time_point> arrived;
  std::string error;
};

// POST /api/v1/submissions (a URL, private to the active organisation) on its own connection;
// the id and when the answer was in.
std::pair<std::string, Clock::time_point> post_submission(int port, const std::string& token,
                                                          int n) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req(http::verb::post, "/api/v1/submissions", 11);
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::authorization, "Bearer " + token);
  req.set(http::field::content_type, "application/json");
  req.body() = "{\"source_url\":\"https://t.me/bench/" + std::to_string(n) +
               "\",\"platform\":\"telegram\",\"visibility\":\"org\"}";
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  const auto done = Clock::now();
  if (res.result_int() != 201) throw std::runtime_error("POST answered " + res.body());
  return {std::to_string(nlohmann::json::parse(res.body())["id"].get<int64_t>()), done};
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::string> a;
  for (int i = 1; i + 1 < argc; i += 2) a[argv[i]] = argv[i + 1];
  auto num = [&](const char* k, int d) { return a.count(k) ? std::stoi(a[k]) : d; };
  if (!a.count("--port") || !a.count("--pid") || !a.count("--idle-tokens") ||
      !a.count("--active-tokens") || !a.count("--out")) {
    std::cerr << "usage: cw_events_client --port P --pid PID --idle-tokens F --active-tokens F "
                 "[--idle N] [--active N] [--events N] [--interval-ms MS] --out F.json\n";
    return 2;
  }
  const int port = num("--port", 0), pid = num("--pid", 0);
  const int idle = num("--idle", 500), active = num("--active", 50);
  const int events = num("--events", 200), interval = num("--interval-ms", 50);
  const auto idle_tokens = read_tokens(a["--idle-tokens"]);
  const auto active_tokens = read_tokens(a["--active-tokens"]);

  net::io_context ioc;
  auto guard = net::make_work_guard(ioc);
  std::thread io([&] { ioc.run(); });
  auto wait_open = [&](const std::vector<std::shared_ptr<Stream>>& v) {
    for (int i = 0; i < 300; ++i) {
      size_t n = 0;
      for (const auto& s : v) n += s->open || !s->error.empty();
      if (n == v.size()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  };

  const long rss_before = rss_kib(pid);
  std::vector<std::shared_ptr<Stream>> idles, actives;
  for (int i = 0; i < idle; ++i) {
    idles.push_back(std::make_shared<Stream>(ioc, port, idle_tokens[i % idle_tokens.size()], false));
    net::post(ioc, [s = idles.back()] { s->start(); });
  }
  wait_open(idles);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const long rss_idle = rss_kib(pid);

  for (int i = 0; i < active; ++i) {
    actives.push_back(
        std::make_shared<Stream>(ioc, port, active_tokens[i % active_tokens.size()], true));
    net::post(ioc, [s = actives.back()] { s->start(); });
  }
  wait_open(actives);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const long rss_all = rss_kib(pid);
  long rss_peak = rss_all;

  std::vector<std::pair<std::string, Clock::time_point>> posted;
  const auto t0 = Clock::now();
  for (int i = 0; i < events; ++i) {
    posted.push_back(post_submission(port, active_tokens[0], i));
    rss_peak = std::max(rss_peak, rss_kib(pid));
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(interval * (i + 1)));
  }
  std::this_thread::sleep_for(std::chrono::seconds(3));
  rss_peak = std::max(rss_peak, rss_kib(pid));
  const long rss_after = rss_kib(pid);

  // Latency per (stream, event); what the idle streams received.
  std::vector<double> ms;
  long missing = 0, idle_received = 0, errors = 0;
  std::string first_error;
  net::post(ioc, [&] {
    for (const auto& s : actives) {
      for (const auto& [id, done] : posted) {
        auto it = s->arrived.find(id);
        if (it == s->arrived.end()) {
          ++missing;
        } else {
          ms.push_back(std::chrono::duration<double, std::milli>(it->second - done).count());
        }
      }
    }
    for (const auto& v : {&idles, &actives}) {
      for (const auto& s : *v) {
        if (!s->error.empty()) {
          ++errors;
          if (first_error.empty()) first_error = s->error;
        }
        if (!s->active) idle_received += static_cast<long>(s->arrived.size());
      }
    }
    for (const auto& v : {&idles, &actives}) {
      for (const auto& s : *v) {
        beast::error_code ec;
        s->socket.close(ec);
      }
    }
    guard.reset();
  });
  io.join();

  nlohmann::json out = {
      {"idle_streams", idle},
      {"active_streams", active},
      {"events", events},
      {"interval_ms", interval},
      {"rss_kib", {{"before", rss_before}, {"idle_open", rss_idle}, {"all_open", rss_all},
                   {"peak", rss_peak}, {"after", rss_after}}},
      {"kib_per_idle_stream", idle ? static_cast<double>(rss_idle - rss_before) / idle : 0.0},
      {"kib_per_stream_all", static_cast<double>(rss_all - rss_before) / (idle + active)},
      {"latency_ms", {{"n", ms.size()}, {"p50", percentile(ms, 0.5)}, {"p99", percentile(ms, 0.99)},
                      {"max", ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end())}}},
      {"missing", missing},
      {"idle_received", idle_received},
      {"stream_errors", errors},
      {"first_error", first_error}};
  std::ofstream(a["--out"]) << out.dump(2) << "\n";
  std::cout << out.dump() << "\n";
  return missing == 0 && errors == 0 && idle_received == 0 ? 0 : 1;
}
