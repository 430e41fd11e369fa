// Aggregates, convoy tracks and reports over HTTP against a real server and the real geodata.
// The test seeds observations, computes the expected numbers itself from what it seeded and
// from each observation's derived values, and compares them with the aggregates route and a
// built report (JSON and CSV); the report's HTML is opened in headless Chromium
// (tests/e2e/report_browser.mjs) for console errors and the number of observation marks.
// Convoys: a column of sightings becomes one track; an analyst's split and merge survive
// re-linking. The scheduler: two servers catch up a missed period once, and the report is
// delivered to a webhook, signed, after a failed first attempt.
#include <gtest/gtest.h>

#include <fmt/format.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "common/time.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;

struct Sums {
  int64_t observations = 0, vehicles = 0, toward = 0, away = 0;
};

class ReportsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
            {"CONVOYWATCH_REPORTS_TZ", "Europe/Kyiv"}};
    contributor_ = add("carla", "contributor");
    analyst_ = add("anton", "analyst");
  }

  std::string add(const std::string& name, const std::string& role) {
    auto r = run_convoywatch(
        {"user", "add", "--create-org", "--name", name, "--org", "CIT", "--role", role}, env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 67);
  }
  HttpResponse call(int port, const std::string& token, const std::string& method,
                    const std::string& target, const std::string& body = "") {
    return http_request(
        port, method, target,
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body);
  }
  // Records an observation as the contributor; returns its JSON (with the derived values).
  nlohmann::json observe(int port, const std::string& at, double lat, double lon,
                         std::optional<int> heading, const std::string& type, int count) {
    std::string body = fmt::format(
        R"({{"observed_at":"{}","location":{{"lat":{},"lon":{}}},"location_precision":"vicinity",)"
        R"("heading_deg":{},"equipment":[{{"type":"{}","count":{}}}]}})",
        at, lat, lon, heading ? std::to_string(*heading) : "null", type, count);
    auto r = call(port, contributor_, "POST", "/api/v1/observations", body);
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json();
  }
  void verdict(int port, int64_t id, const std::string& v) {
    auto r = call(port, analyst_, "POST", fmt::format("/api/v1/observations/{}/verification", id),
                  fmt::format(R"({{"verdict":"{}","note":"checked"}})", v));
    EXPECT_EQ(r.status, 200) << r.body;
  }

  TestDatabase db_{"cw_geo_template"};
  std::map<std::string, std::string> env_;
  std::string contributor_, analyst_;
  TempDir dir_;
};

TEST_F(ReportsE2eTest, DailyReportNumbersMapAndAggregates) {
  ServerProcess server(env_);
  const int port = server.port();
  // 2022-02-16 in Kyiv (UTC+2) is [2022-02-15T22:00Z, 2022-02-16T22:00Z); 2022-02-15 before it.
  struct Seed {
    const char* at;
    double lat, lon;
    std::optional<int> heading;
    const char* type;
    int count;
    const char* verdict;  // "" = stays unverified
  };
  const Seed seeds[] = {
      {"2022-02-15T22:30:00Z", 50.60, 36.58, 200, "tank", 4, "verified"},    // Belgorod
      {"2022-02-16T05:10:00Z", 51.73, 36.19, 240, "truck", 12, "verified"},  // Kursk
      {"2022-02-16T07:40:00Z", 50.42, 36.90, 30, "mlrs", 3, "verified"},     // near Shebekino
      {"2022-02-16T09:00:00Z", 51.67, 39.20, 250, "ifv", 6, "verified"},     // Voronezh
      {"2022-02-16T12:00:00Z", 52.97, 36.07, std::nullopt, "truck", 5, "verified"},  // Oryol
      {"2022-02-16T13:00:00Z", 50.20, 37.30, 180, "tank", 7, "disputed"},
      {"2022-02-16T14:00:00Z", 50.30, 37.10, 180, "tank", 9, "rejected"},
      {"2022-02-16T15:00:00Z", 50.70, 36.30, 180, "tank", 2, ""},
      {"2022-02-16T21:59:00Z", 50.55, 36.60, 190, "apc", 1, "verified"},     // last minute
      {"2022-02-16T22:00:00Z", 50.55, 36.60, 190, "apc", 50, "verified"},    // next day
      {"2022-02-15T10:00:00Z", 51.70, 36.20, 200, "truck", 20, "verified"},  // day before
      {"2022-02-15T12:00:00Z", 50.60, 36.60, 20, "tank", 3, "verified"},     // day before
  };
  const TimePoint start = parse_rfc3339("2022-02-15T22:00:00Z").value();
  const TimePoint end = parse_rfc3339("2022-02-16T22:00:00Z").value();
  const TimePoint prev = parse_rfc3339("2022-02-14T22:00:00Z").value();
  Sums now, before;
  std::map<std::string, Sums> by_oblast;
  int marks = 0;
  for (const auto& s : seeds) {
    auto o = observe(port, s.at, s.lat, s.lon, s.heading, s.type, s.count);
    if (*s.verdict) verdict(port, o["id"].get<int64_t>(), s.verdict);
    if (std::string(s.verdict) != "verified") continue;
    TimePoint t = parse_rfc3339(s.at).value();
    Sums* target = t >= start && t < end ? &now : t >= prev && t < start ? &before : nullptr;
    if (target == nullptr) continue;
    std::string movement = o["derived"]["movement"];
    for (Sums* sum : {target, target == &now ? &by_oblast[o["derived"]["oblast"]] : nullptr}) {
      if (sum == nullptr) continue;
      sum->observations += 1;
      sum->vehicles += s.count;
      if (movement == "toward") sum->toward += s.count;
      if (movement == "away") sum->away += s.count;
    }
    if (target == &now) ++marks;
  }
  ASSERT_EQ(now.observations, 6);
  ASSERT_GT(now.toward + now.away, 0) << "the seeds should move relative to the border";

  // The aggregates route, by day in Kyiv, from the rollups.
  auto agg = call(port, analyst_, "GET",
                  "/api/v1/aggregates/observations?bucket=day&tz=Europe/Kyiv&group_by=oblast"
                  "&from=2022-02-15T22:00:00Z&to=2022-02-16T22:00:00Z");
  ASSERT_EQ(agg.status, 200) << agg.body;
  EXPECT_EQ(agg.json()["source"], "rollup");
  std::map<std::string, int64_t> agg_vehicles;
  const nlohmann::json agg_body = agg.json();
  for (const auto& row : agg_body["rows"]) {
    EXPECT_EQ(row["bucket_label"], "2022-02-16");
    EXPECT_EQ(row["bucket_start"], "2022-02-15T22:00:00Z");
    agg_vehicles[row["oblast"].get<std::string>()] += row["vehicles"].get<int64_t>();
  }
  for (const auto& [oblast, sums] : by_oblast) {
    EXPECT_EQ(agg_vehicles[oblast], sums.vehicles) << oblast;
  }
  EXPECT_EQ(agg_vehicles.size(), by_oblast.size());
  auto bad = call(port, analyst_, "GET", "/api/v1/aggregates/observations?group_by=colour");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.json()["field"], "group_by");

  // The report.
  auto built =
      call(port, analyst_, "POST", "/api/v1/reports", R"({"kind":"daily","period":"2022-02-16"})");
  ASSERT_EQ(built.status, 201) << built.body << server.log();
  auto report = built.json();
  EXPECT_EQ(report["period"]["key"], "2022-02-16");
  EXPECT_EQ(report["period"]["start"], "2022-02-15T22:00:00Z");
  EXPECT_EQ(report["period"]["end"], "2022-02-16T22:00:00Z");
  EXPECT_EQ(report["totals"]["observations"], now.observations);
  EXPECT_EQ(report["totals"]["vehicles"], now.vehicles);
  EXPECT_EQ(report["totals"]["toward"], now.toward);
  EXPECT_EQ(report["totals"]["away"], now.away);
  EXPECT_EQ(report["previous"]["vehicles"], before.vehicles);
  EXPECT_EQ(report["change"]["vehicles"]["delta"], now.vehicles - before.vehicles);
  ASSERT_EQ(report["oblasts"].size(), by_oblast.size()) << report["oblasts"].dump();
  for (const auto& o : report["oblasts"]) {
    const Sums& want = by_oblast[o["code"].get<std::string>()];
    EXPECT_EQ(o["totals"]["vehicles"], want.vehicles) << o.dump();
    EXPECT_EQ(o["totals"]["toward"], want.toward) << o.dump();
  }
  EXPECT_EQ(report["observations"].size(), static_cast<size_t>(marks));
  EXPECT_EQ(report["disputes"].size(), 1u);
  std::string self = built.header("location");
  ASSERT_FALSE(self.empty());

  // CSV: one line per oblast after the header, vehicles in the fifth column.
  auto csv = call(port, contributor_, "GET", self + ".csv");
  ASSERT_EQ(csv.status, 200);
  std::istringstream lines(csv.body);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line.rfind("code,name,country,observations,vehicles", 0), 0u) << line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.empty() || line == "\r") continue;
    ++rows;
    std::string code = line.substr(0, line.find(','));
    std::vector<std::string> cells;
    std::stringstream cs(line);
    std::string cell;
    while (std::getline(cs, cell, ',')) cells.push_back(cell);
    ASSERT_GE(cells.size(), 5u) << line;
    EXPECT_EQ(std::stoll(cells[4]), by_oblast[code].vehicles) << line;
  }
  EXPECT_EQ(rows, static_cast<int>(by_oblast.size()));

  // HTML in headless Chromium: no console errors, one mark per verified observation.
  auto html = call(port, contributor_, "GET", self + ".html");
  ASSERT_EQ(html.status, 200);
  EXPECT_NE(html.header("content-security-policy").find("default-src 'none'"), std::string::npos);
  std::string page = (dir_ / "report.html").string(), shot = (dir_ / "report.png").string();
  write_file(page, html.body);
  auto browser =
      run_command({"/usr/bin/env", "node",
                   std::string(CW_SOURCE_DIR) + "/tests/e2e/report_browser.mjs", page, shot});
  ASSERT_EQ(browser.exit_code, 0) << browser.out << browser.err;
  auto seen = nlohmann::json::parse(browser.out);
  EXPECT_TRUE(seen["console_errors"].empty()) << browser.out;
  EXPECT_TRUE(seen["page_errors"].empty()) << browser.out;
  EXPECT_EQ(seen["obs_marks"], marks) << browser.out;
  EXPECT_GT(fs::file_size(shot), 10000u);

  // Listed, and built again in place.
  auto list = call(port, contributor_, "GET", "/api/v1/reports?kind=daily");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json()["items"].size(), 1u);
  auto again =
      call(port, analyst_, "POST", "/api/v1/reports", R"({"kind":"daily","period":"2022-02-16"})");
  ASSERT_EQ(again.status, 201);
  EXPECT_EQ(again.json()["id"], report["id"]);
  EXPECT_EQ(
      call(port, analyst_, "POST", "/api/v1/reports", R"({"kind":"daily","period":"2022-02-30"})")
          .json()["field"],
      "period");
  EXPECT_EQ(call(port, contributor_, "POST", "/api/v1/reports",
                 R"({"kind":"daily","period":"2022-02-16"})")
                .status,
            403);
}

TEST_F(ReportsE2eTest, ConvoyTracksWithHandEditsThatSurviveRelinking) {
  ServerProcess server(env_);
  const int port = server.port();
  // A column driving south-west from Kursk towards the border at ~40 km/h, and a parked group.
  std::vector<int64_t> column;
  const double path[][2] = {{51.73, 36.19}, {51.55, 35.95}, {51.40, 35.70}, {51.25, 35.45}};
  for (int i = 0; i < 4; ++i) {
    auto o = observe(port, fmt::format("2022-02-16T{:02d}:00:00Z", 6 + i), path[i][0], path[i][1],
                     225, "truck", 10 + i);
    column.push_back(o["id"].get<int64_t>());
  }
  observe(port, "2022-02-16T07:00:00Z", 50.60, 36.58, std::nullopt, "tank", 3);

  const std::string window = "from=2022-02-16T00:00:00Z&to=2022-02-17T00:00:00Z";
  auto tracks = [&]() {
    auto r = call(port, contributor_, "GET", "/api/v1/convoys?format=geojson&" + window);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/geo+json");
    return r.json()["features"];
  };
  auto features = tracks();
  ASSERT_EQ(features.size(), 1u) << features.dump();
  EXPECT_EQ(features[0]["geometry"]["type"], "LineString");
  EXPECT_EQ(features[0]["geometry"]["coordinates"].size(), 4u);
  EXPECT_EQ(features[0]["id"], column[0]);
  auto props = features[0]["properties"];
  EXPECT_EQ(props["vehicles"], 13);
  EXPECT_GT(props["net_km_toward_border"].get<double>(), 20) << props.dump();
  EXPECT_EQ(props["direction"], "toward");
  EXPECT_GT(props["mean_speed_kmh"].get<double>(), 20);
  EXPECT_LT(props["mean_speed_kmh"].get<double>(), 70);

  // An analyst cuts it before the third sighting.
  auto split = call(port, analyst_, "POST", fmt::format("/api/v1/convoys/{}/split", column[0]),
                    fmt::format(R"({{"before":{},"note":"two columns"}})", column[2]));
  ASSERT_EQ(split.status, 200) << split.body;
  EXPECT_EQ(split.json()["tracks"].size(), 2u);
  features = tracks();
  ASSERT_EQ(features.size(), 2u);
  // A new sighting that the rule links is added: the cut stays.
  observe(port, "2022-02-16T10:00:00Z", 51.10, 35.20, 225, "truck", 9);
  features = tracks();
  ASSERT_EQ(features.size(), 2u) << features.dump();
  std::set<size_t> sizes;
  for (const auto& f : features) {
    sizes.insert(f["properties"]["sightings"].size());
    EXPECT_TRUE(f["properties"]["hand_edited"].get<bool>());
  }
  EXPECT_EQ(sizes, (std::set<size_t>{2, 3}));
  // Merged back.
  auto merged = call(port, analyst_, "POST", fmt::format("/api/v1/convoys/{}/merge", column[0]),
                     fmt::format(R"({{"with":{}}})", column[2]));
  ASSERT_EQ(merged.status, 200) << merged.body;
  EXPECT_EQ(merged.json()["properties"]["sightings"].size(), 5u);
  EXPECT_EQ(tracks().size(), 1u);
  // Errors name the field.
  auto wrong = call(port, analyst_, "POST", fmt::format("/api/v1/convoys/{}/split", column[0]),
                    fmt::format(R"({{"before":{}}})", column[0]));
  EXPECT_EQ(wrong.status, 422);
  EXPECT_EQ(wrong.json()["field"], "before");
  EXPECT_EQ(call(port, contributor_, "GET", "/api/v1/convoys/999999").status, 404);
}

std::string hex_hmac(const std::string& key, const std::string& data) {
  unsigned char out[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) hex += fmt::format("{:02x}", out[i]);
  return hex;
}

TEST_F(ReportsE2eTest, SchedulerCatchesUpOncePerPeriodAndDeliversSignedWebhooks) {
  // The local date in Kyiv, days ago.
  auto kyiv_day = [](int days_ago) {
    auto r = run_command({"/usr/bin/date", "-d", fmt::format("{} days ago", days_ago), "+%F"},
                         {{"TZ", "Europe/Kyiv"}});
    EXPECT_EQ(r.exit_code, 0);
    return r.out.substr(0, 10);
  };
  // A report exists for three days ago; the two days after it were missed.
  auto cli = run_convoywatch({"report", "run", "daily", "--date", kyiv_day(3)}, env_);
  ASSERT_EQ(cli.exit_code, 0) << cli.err;

  TempDir media;
  std::string clip = (media / "clip.mp4").string();
  write_file(clip, "not needed");
  MediaHttpServer hooks(clip);
  auto env = env_;
  env["CONVOYWATCH_REPORTS_SCHEDULER"] = "true";
  env["CONVOYWATCH_REPORTS_DAILY"] = "* * * * *";  // fires every minute: yesterday is due now
  env["CONVOYWATCH_REPORTS_WEEKLY"] = "";
  env["CONVOYWATCH_REPORTS_WEBHOOKS"] =
      fmt::format("http://127.0.0.1:{}/hook/a", hooks.port());  // a comma-separated list
  env["CONVOYWATCH_REPORTS_WEBHOOK_SECRET"] = "s3cret";
  env["CONVOYWATCH_PIPELINE_WORKERS"] = "1";
  env["CONVOYWATCH_PIPELINE_RETRY_BACKOFF_S"] = "1";
  {
    // Two servers catching up at once.
    ServerProcess a(env), b(env);
    std::set<std::string> keys;
    test::wait_until(
        [&] {
          auto list = call(a.port(), contributor_, "GET", "/api/v1/reports?kind=daily");
          keys.clear();
          const nlohmann::json listed = list.json();
          for (const auto& item : listed["items"]) keys.insert(item["period"]["key"]);
          return keys.size() >= 3;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(100));
    EXPECT_EQ(keys, (std::set<std::string>{kyiv_day(3), kyiv_day(2), kyiv_day(1)}))
        << a.log() << b.log();
    // One build each: one audit row per period.
    EXPECT_EQ(db_.query_value("SELECT count(*) FROM audit_log WHERE action = 'report.build' AND "
                              "diff->>'period' = '" +
                              kyiv_day(1) + "'"),
              "1");
    // Delivered after the receiver's first 503, signed.
    nlohmann::json received;
    test::wait_until(
        [&] {
          received = http_request(hooks.port(), "GET", "/hooks", {}, "").json();
          return std::count_if(received.begin(), received.end(),
                               [](const nlohmann::json& h) { return h["status"] == 200; }) >= 2;
        },
        std::chrono::seconds(30), std::chrono::milliseconds(100));
    std::set<std::string> delivered;
    for (const auto& h : received) {
      if (h["status"] != 200) continue;
      std::string sig = h["headers"].value("ConvoyWatch-Signature", "");
      size_t comma = sig.find(',');
      ASSERT_NE(comma, std::string::npos) << h.dump();
      std::string t = sig.substr(2, comma - 2);
      std::string v1 = sig.substr(comma + 4);
      EXPECT_EQ(v1, hex_hmac("s3cret", t + "." + h["body"].get<std::string>()));
      delivered.insert(nlohmann::json::parse(h["body"].get<std::string>())["period"]["key"]);
    }
    EXPECT_EQ(delivered, (std::set<std::string>{kyiv_day(2), kyiv_day(1)}))
        << received.dump() << a.log() << b.log();
    EXPECT_GE(received.size(), 3u) << "the first POST was refused and retried";
  }
}

}  // namespace
}  // namespace cw::test
