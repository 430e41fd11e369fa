// cw_load_client: the load generator of bench/load.sh. CLIENTS clients, one thread each with one
// keep-alive connection (Boost.Beast, synchronous; a thread per client keeps every client's
// requests strictly one after another, as a real client's are, and 64 threads are cheap), send
// a mix of requests to a running `convoywatch serve` for SECONDS seconds, without pauses:
//   POST /api/v1/submissions                     multipart upload of a small real MP4 clip; every
//                                                upload distinct (a `free` box with a unique tag
//                                                appended to the clip: valid MP4, new SHA-256)
//   POST /api/v1/observations                    a new observation (contributor token)
//   POST /api/v1/observations/{id}/verification  a verdict (analyst token) on an observation this
//                                                client created or on a seeded one
//   GET  /api/v1/observations?…                  a list page (limit=20; plain, bbox + week, oblast)
//   GET  /api/v1/aggregates/observations?…       a month by day by oblast and movement
//   GET  /api/v1/observations/{id}               one observation
// Then every id answered with 201 is read back (GET /api/v1/observations/{id} or
// /api/v1/submissions/{id}); an id not found is a lost write. Latency is measured from writing
// the request to having read the whole response.
//
//   cw_load_client --port N --tokens FILE --clips DIR --seed-ids FIRST-LAST --out FILE
//                  [--clients 64] [--seconds 60]
// FILE of --tokens: lines "contributor TOKEN" and "analyst TOKEN"; client i uses contributor
// token i mod n and analyst token i mod m. DIR of --clips: the *.mp4 clips uploaded in turn.
// --out gets a JSON summary (per route: count, statuses, transport errors, p50/p99/max ms;
// created ids read back, missing ids). Exit status 0 unless the arguments or the files are bad:
// bench/load.sh judges the figures.
#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

enum Route { kUpload, kCreate, kVerify, kList, kAggregate, kRead, kRouteCount };
const char* const kRouteNames[kRouteCount] = {
    "POST /api/v1/submissions",
    "POST /api/v1/observations",
    "POST /api/v1/observations/{id}/verification",
    "GET /api/v1/observations (list, limit=20)",
    "GET /api/v1/aggregates/observations",
    "GET /api/v1/observations/{id}",
};
// Share of each route in the mix, in per cent.
const int kWeights[kRouteCount] = {5, 25, 10, 35, 15, 10};

struct Options {
  std::string host = "127.0.0.1";
  std::string port;
  int clients = 64;
  double seconds = 60;
  std::vector<std::string> contributors;
  std::vector<std::string> analysts;
  std::vector<std::string> clips;  // the clips' bytes
  int64_t seed_first = 0;
  int64_t seed_last = 0;
  std::string out;
};

struct RouteStats {
  std::vector<double> ms;
  std::map<int, int64_t> statuses;
  int64_t transport_errors = 0;
  std::string first_error;  // the first 5xx body or transport error, as evidence

  void merge(const RouteStats& o) {
    ms.insert(ms.end(), o.ms.begin(), o.ms.end());
    for (const auto& [s, n] : o.statuses) statuses[s] += n;
    transport_errors += o.transport_errors;
    if (first_error.empty()) first_error = o.first_error;
  }
};

struct ClientResult {
  RouteStats routes[kRouteCount];
  std::vector<int64_t> observations;  // ids answered 201
  std::vector<int64_t> submissions;
};

// One keep-alive connection; reconnects after an error or a "Connection: close".
class Connection {
 public:
  explicit Connection(const Options& opt) : opt_(opt), stream_(ioc_) {}

  // Sends REQ and reads the response; throws beast::system_error on a transport error.
  http::response<http::string_body> send(http::request<http::string_body>& req) {
    if (!open_) connect();
    req.set(http::field::host, opt_.host + ":" + opt_.port);
    req.keep_alive(true);
    req.prepare_payload();
    try {
      stream_.expires_after(std::chrono::seconds(120));
      http::write(stream_, req);
      http::response_parser<http::string_body> parser;
      parser.body_limit(std::uint64_t{256} << 20);
      http::read(stream_, buffer_, parser);
      auto res = parser.release();
      if (!res.keep_alive()) close();
      return res;
    } catch (...) {
      close();
      throw;
    }
  }

 private:
  void connect() {
    tcp::resolver resolver(ioc_);
    stream_.expires_after(std::chrono::seconds(30));
    stream_.connect(resolver.resolve(opt_.host, opt_.port));
    stream_.socket().set_option(tcp::no_delay(true));
    buffer_.clear();
    open_ = true;
  }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    buffer_.clear();
    open_ = false;
  }

  const Options& opt_;
  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool open_ = false;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<int64_t> json_id(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("id") || !j["id"].is_number_integer()) {
    return std::nullopt;
  }
  return j["id"].get<int64_t>();
}

// The clip with a top-level MP4 `free` box appended that names the client and the upload.
std::string unique_clip(const std::string& clip, int client, int64_t seq) {
  std::string tag =
      "cw_load_client client=" + std::to_string(client) + " upload=" + std::to_string(seq);
  uint32_t size = static_cast<uint32_t>(8 + tag.size());
  std::string out = clip;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(size >> shift));
  out += "free";
  out += tag;
  return out;
}

class Client {
 public:
  Client(const Options& opt, int index)
      : opt_(opt),
        index_(index),
        rng_(0x5eed0000u + static_cast<unsigned>(index)),
        conn_(opt),
        contributor_(opt.contributors[static_cast<size_t>(index) % opt.contributors.size()]),
        analyst_(opt.analysts[static_cast<size_t>(index) % opt.analysts.size()]) {}

  void run(Clock::time_point deadline) {
    int total = 0;
    for (int w : kWeights) total += w;
    std::uniform_int_distribution<int> pick(0, total - 1);
    while (Clock::now() < deadline) {
      int r = pick(rng_);
      int route = 0;
      while (r >= kWeights[route]) r -= kWeights[route++];
      one(static_cast<Route>(route));
    }
  }

  // Reads back the ids in [begin, end) of OBS and SUBS; returns the ones not found.
  static void check(const Options& opt, const std::vector<int64_t>& ids, const char* path,
                    size_t begin, size_t end, std::vector<int64_t>& missing,
                    std::string& first_error) {
    Connection conn(opt);
    const std::string token = "Bearer " + opt.contributors.front();
    for (size_t i = begin; i < end; ++i) {
      http::request<http::string_body> req{http::verb::get,
                                           std::string(path) + std::to_string(ids[i]), 11};
      req.set(http::field::authorization, token);
      bool found = false;
      for (int attempt = 0; attempt < 3 && !found; ++attempt) {  // a transport error is retried
        try {
          auto res = conn.send(req);
          auto id = json_id(res.body());
          found = res.result_int() == 200 && id && *id == ids[i];
          if (!found && first_error.empty()) {
            first_error = std::string(path) + std::to_string(ids[i]) + ": " +
                          std::to_string(res.result_int()) + " " + res.body().substr(0, 300);
          }
          break;
        } catch (const std::exception& e) {
          if (first_error.empty()) first_error = e.what();
        }
      }
      if (!found) missing.push_back(ids[i]);
    }
  }

  ClientResult result;

 private:
  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng_);
  }
  int64_t integer(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng_);
  }
  int64_t seeded_id() { return integer(opt_.seed_first, opt_.seed_last); }
  int64_t some_id() {
    const auto& own = result.observations;
    if (!own.empty() && integer(0, 1) == 0)
      return own[static_cast<size_t>(integer(0, static_cast<int64_t>(own.size()) - 1))];
    return seeded_id();
  }

  std::string observation_body() {
    static const char* const kTypes[] = {"tank", "ifv", "apc", "truck", "fuel_truck", "mlrs"};
    static const char* const kPrecision[] = {"exact", "vicinity", "locality"};
    char when[32];
    int64_t minutes = integer(0, 119LL * 24 * 60);  // 2022-01-01 … 2022-04-29
    std::time_t t = 1640995200 + minutes * 60;
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:00Z", &tm);
    nlohmann::json eq = nlohmann::json::array();
    int kinds = static_cast<int>(integer(1, 3));
    for (int k = 0; k < kinds; ++k) {
      eq.push_back(
          {{"type", kTypes[(static_cast<size_t>(k) + static_cast<size_t>(integer(0, 5))) % 6]},
           {"count", integer(1, 20)}});
    }
    // kinds may repeat a type; keep the first of each
    nlohmann::json unique = nlohmann::json::array();
    for (const auto& e : eq) {
      bool seen = false;
      for (const auto& u : unique) seen = seen || u["type"] == e["type"];
      if (!seen) unique.push_back(e);
    }
    nlohmann::json body{
        {"observed_at", when},
        {"time_precision", "exact"},
        {"location", {{"lat", uniform(49.5, 51.5)}, {"lon", uniform(35.5, 38.5)}}},
        {"location_precision", kPrecision[integer(0, 2)]},
        {"equipment", unique},
        {"notes", "load test, client " + std::to_string(index_)},
    };
    if (integer(0, 4) != 0) body["heading_deg"] = integer(0, 359);
    return body.dump();
  }

  http::request<http::string_body> make(Route route) {
    http::request<http::string_body> req;
    req.version(11);
    req.set(http::field::authorization, "Bearer " + (route == kVerify ? analyst_ : contributor_));
    switch (route) {
      case kUpload: {
        const std::string& clip =
            opt_.clips[static_cast<size_t>(uploads_ + index_) % opt_.clips.size()];
        std::string boundary = "cwload" + std::to_string(index_) + "x" + std::to_string(uploads_);
        nlohmann::json meta{{"platform", "telegram"},
                            {"author", "@load_client_" + std::to_string(index_)},
                            {"description", "load test upload " + std::to_string(uploads_)}};
        std::string body;
        body += "--" + boundary +
                "\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: "
                "application/json\r\n\r\n" +
                meta.dump() + "\r\n";
        body += "--" + boundary +
                "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"clip-" +
                std::to_string(index_) + "-" + std::to_string(uploads_) +
                ".mp4\"\r\nContent-Type: video/mp4\r\n\r\n";
        body += unique_clip(clip, index_, uploads_);
        body += "\r\n--" + boundary + "--\r\n";
        ++uploads_;
        req.method(http::verb::post);
        req.target("/api/v1/submissions");
        req.set(http::field::content_type, "multipart/form-data; boundary=" + boundary);
        req.body() = std::move(body);
        break;
      }
      case kCreate:
        req.method(http::verb::post);
        req.target("/api/v1/observations");
        req.set(http::field::content_type, "application/json");
        req.body() = observation_body();
        break;
      case kVerify: {
        req.method(http::verb::post);
        req.target("/api/v1/observations/" + std::to_string(some_id()) + "/verification");
        req.set(http::field::content_type, "application/json");
        nlohmann::json v{{"verdict", integer(0, 6) == 0 ? "rejected" : "verified"},
                         {"note", "load test"}};
        req.body() = v.dump();
        break;
      }
      case kList: {
        static const char* const kLists[] = {
            "/api/v1/observations?limit=20",
            "/api/v1/observations?limit=20&bbox=35.5,49.5,38.5,51.5&from=2022-03-01T00:00:00Z&to="
            "2022-03-08T00:00:00Z",
            "/api/v1/observations?limit=20&oblast=RU-BEL&status=any",
        };
        req.method(http::verb::get);
        req.target(kLists[integer(0, 2)]);
        break;
      }
      case kAggregate: {
        static const char* const kAggregates[] = {
            "/api/v1/aggregates/observations?bucket=day&tz=Europe/Kyiv&group_by=oblast,movement&"
            "from=2022-02-28T22:00:00Z&to=2022-03-31T21:00:00Z",
            "/api/v1/aggregates/observations?bucket=week&group_by=oblast&status=any",
        };
        req.method(http::verb::get);
        req.target(kAggregates[integer(0, 1)]);
        break;
      }
      case kRead:
        req.method(http::verb::get);
        req.target("/api/v1/observations/" + std::to_string(some_id()));
        break;
      case kRouteCount:
        break;
    }
    return req;
  }

  void one(Route route) {
    auto req = make(route);
    RouteStats& s = result.routes[route];
    auto t0 = Clock::now();
    try {
      auto res = conn_.send(req);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      s.ms.push_back(ms);
      int status = res.result_int();
      ++s.statuses[status];
      if (status >= 500 && s.first_error.empty()) {
        s.first_error = std::to_string(status) + " " + res.body().substr(0, 300);
      }
      if (status == 201 && (route == kCreate || route == kUpload)) {
        auto id = json_id(res.body());
        if (id) (route == kCreate ? result.observations : result.submissions).push_back(*id);
      }
    } catch (const std::exception& e) {
      ++s.transport_errors;
      if (s.first_error.empty()) s.first_error = std::string("transport: ") + e.what();
    }
  }

  const Options& opt_;
  int index_;
  std::mt19937_64 rng_;
  Connection conn_;
  std::string contributor_;
  std::string analyst_;
  int64_t uploads_ = 0;
};

// P-th percentile (nearest rank) of the sorted V.
double percentile(const std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "cw_load_client: " << why
            << "\nusage: cw_load_client --port N --tokens FILE --clips DIR --seed-ids FIRST-LAST "
               "--out FILE [--clients 64] [--seconds 60]\n";
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  std::string tokens, clips, seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(a + " needs a value");
    std::string v = argv[++i];
    if (a == "--port") {
      o.port = v;
    } else if (a == "--clients") {
      o.clients = std::stoi(v);
    } else if (a == "--seconds") {
      o.seconds = std::stod(v);
    } else if (a == "--tokens") {
      tokens = v;
    } else if (a == "--clips") {
      clips = v;
    } else if (a == "--seed-ids") {
      seeds = v;
    } else if (a == "--out") {
      o.out = v;
    } else {
      usage("unknown argument " + a);
    }
  }
  if (o.port.empty() || tokens.empty() || clips.empty() || seeds.empty() || o.out.empty()) {
    usage("--port, --tokens, --clips, --seed-ids and --out are required");
  }
  if (o.clients < 1 || o.seconds <= 0) usage("--clients and --seconds must be positive");
  std::istringstream t(read_file(tokens));
  std::string role, token;
  while (t >> role >> token) {
    (role == "analyst" ? o.analysts : o.contributors).push_back(token);
  }
  if (o.contributors.empty() || o.analysts.empty())
    usage(tokens + " needs contributor and analyst tokens");
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(clips)) {
    if (e.path().extension() == ".mp4") names.push_back(e.path().string());
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) o.clips.push_back(read_file(n));
  if (o.clips.empty()) usage(clips + " has no *.mp4");
  auto dash = seeds.find('-');
  if (dash == std::string::npos) usage("--seed-ids wants FIRST-LAST");
  o.seed_first = std::stoll(seeds.substr(0, dash));
  o.seed_last = std::stoll(seeds.substr(dash + 1));
  if (o.seed_first < 1 || o.seed_last < o.seed_first) usage("--seed-ids: bad range");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = parse(argc, argv);

  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < opt.clients; ++i) clients.push_back(std::make_unique<Client>(opt, i));
  auto start = Clock::now();
  auto deadline = start + std::chrono::duration_cast<Clock::duration>(
                              std::chrono::duration<double>(opt.seconds));
  {
    std::vector<std::jthread> threads;
    for (auto& c : clients) threads.emplace_back([&c, deadline] { c->run(deadline); });
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  ClientResult all;
  for (auto& c : clients) {
    for (int r = 0; r < kRouteCount; ++r) all.routes[r].merge(c->result.routes[r]);
    all.observations.insert(all.observations.end(), c->result.observations.begin(),
                            c->result.observations.end());
    all.submissions.insert(all.submissions.end(), c->result.submissions.begin(),
                           c->result.submissions.end());
  }

  // Read back every created id, spread over the clients' number of threads.
  auto check_all = [&](const std::vector<int64_t>& ids, const char* path,
                       std::vector<int64_t>& missing, std::string& first_error) {
    int n = std::max(1, std::min(opt.clients, static_cast<int>(ids.size())));
    std::vector<std::vector<int64_t>> miss(static_cast<size_t>(n));
    std::vector<std::string> errs(static_cast<size_t>(n));
    {
      std::vector<std::jthread> threads;
      for (int i = 0; i < n; ++i) {
        size_t begin = ids.size() * static_cast<size_t>(i) / static_cast<size_t>(n);
        size_t end = ids.size() * static_cast<size_t>(i + 1) / static_cast<size_t>(n);
        threads.emplace_back([&, i, begin, end] {
          Client::check(opt, ids, path, begin, end, miss[static_cast<size_t>(i)],
                        errs[static_cast<size_t>(i)]);
        });
      }
    }
    for (int i = 0; i < n; ++i) {
      missing.insert(missing.end(), miss[static_cast<size_t>(i)].begin(),
                     miss[static_cast<size_t>(i)].end());
      if (first_error.empty()) first_error = errs[static_cast<size_t>(i)];
    }
  };
  std::vector<int64_t> missing_obs, missing_subs;
  std::string check_error;
  auto check_start = Clock::now();
  check_all(all.observations, "/api/v1/observations/", missing_obs, check_error);
  check_all(all.submissions, "/api/v1/submissions/", missing_subs, check_error);
  double check_s = std::chrono::duration<double>(Clock::now() - check_start).count();

  nlohmann::json out{{"clients", opt.clients},
                     {"seconds", opt.seconds},
                     {"elapsed_s", elapsed},
                     {"routes", nlohmann::json::array()}};
  int64_t requests = 0;
  for (int r = 0; r < kRouteCount; ++r) {
    RouteStats& s = all.routes[r];
    std::sort(s.ms.begin(), s.ms.end());
    nlohmann::json statuses = nlohmann::json::object();
    for (const auto& [code, n] : s.statuses) statuses[std::to_string(code)] = n;
    requests += static_cast<int64_t>(s.ms.size()) + s.transport_errors;
    out["routes"].push_back({{"route", kRouteNames[r]},
                             {"count", static_cast<int64_t>(s.ms.size()) + s.transport_errors},
                             {"statuses", statuses},
                             {"transport_errors", s.transport_errors},
                             {"p50_ms", percentile(s.ms, 50)},
                             {"p99_ms", percentile(s.ms, 99)},
                             {"max_ms", s.ms.empty() ? 0.0 : s.ms.back()},
                             {"first_error", s.first_error}});
  }
  auto first = [](const std::vector<int64_t>& v) {
    return std::vector<int64_t>(v.begin(), v.begin() + std::min<ptrdiff_t>(10, std::ssize(v)));
  };
  out["requests"] = requests;
  out["readback"] = {{"observations_created", all.observations.size()},
                     {"observations_missing", missing_obs.size()},
                     {"submissions_created", all.submissions.size()},
                     {"submissions_missing", missing_subs.size()},
                     {"missing_examples",
                      {{"observations", first(missing_obs)}, {"submissions", first(missing_subs)}}},
                     {"first_error", check_error},
                     {"seconds", check_s}};
  std::ofstream(opt.out) << out.dump(2) << "\n";
  std::cerr << "cw_load_client: " << requests << " requests in " << elapsed << " s; "
            << all.observations.size() << " observations and " << all.submissions.size()
            << " submissions created, " << missing_obs.size() + missing_subs.size()
            << " not found afterwards\n";
  return 0;
}
