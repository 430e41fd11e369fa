// Observations over HTTP against a real server and the real geodata: record, verify under the
// two-person rule, list in every format (the GeoJSON checked by @mapbox/geojsonhint, the KML
// parsed as XML), import all or nothing, and geolocate a submission with its hints.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <sstream>
#include <thread>

#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;

class ObservationsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
    contributor_ = add("carla", "contributor");
    analyst_ = add("anton", "analyst");
    analyst2_ = add("anna", "analyst");
    server_ = std::make_unique<ServerProcess>(env_);
  }

  std::map<std::string, std::string> auth(const std::string& token,
                                          const std::string& type = "application/json") {
    return {{"Authorization", "Bearer " + token}, {"Content-Type", type}};
  }
  std::string add(const std::string& name, const std::string& role) {
    auto r = run_convoywatch(
        {"user", "add", "--create-org", "--name", name, "--org", "CIT", "--role", role}, env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 67);
  }
  HttpResponse call(const std::string& token, const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& type = "application/json") {
    return http_request(server_->port(), method, target, auth(token, type), body);
  }

  TestDatabase db_{"cw_geo_template"};  // schema and data/geodata already loaded
  std::map<std::string, std::string> env_;
  std::string contributor_, analyst_, analyst2_;
  std::unique_ptr<ServerProcess> server_;
  TempDir dir_;
};

const char* kBelgorodColumn = R"({
  "observed_at": "2022-02-20T06:30:00Z", "time_precision": "exact",
  "location": {"lat": 50.61074, "lon": 36.58015}, "location_precision": "vicinity",
  "heading_deg": 200, "equipment": [{"type": "tank", "count": 4}, {"type": "truck", "count": 11}],
  "markings": ["Z"], "notes": "column on the M-2 heading south", "source_note": "t.me/x/1"})";

TEST_F(ObservationsE2eTest, RecordVerifyAndExport) {
  auto created = call(contributor_, "POST", "/api/v1/observations", kBelgorodColumn);
  ASSERT_EQ(created.status, 201) << created.body;
  auto o = created.json();
  EXPECT_EQ(created.header("location"),
            "/api/v1/observations/" + std::to_string(o["id"].get<int>()));
  EXPECT_EQ(o["vehicles"], 15);
  EXPECT_EQ(o["status"], "unverified");
  EXPECT_EQ(o["derived"]["country"], "RUS");
  EXPECT_EQ(o["derived"]["oblast"], "RU-BEL");
  EXPECT_EQ(o["derived"]["nearest_place"]["name"], "Belgorod");
  EXPECT_EQ(o["derived"]["movement"], "toward");
  EXPECT_NEAR(o["derived"]["km_to_border"].get<double>(), 32.8, 0.5);
  std::string self = "/api/v1/observations/" + std::to_string(o["id"].get<int>());

  // Validation names the field; nothing is written.
  auto bad = call(contributor_, "POST", "/api/v1/observations",
                  R"({"observed_at":"2022-02-20T06:30:00Z","location":{"lat":95,"lon":36},)"
                  R"("location_precision":"exact","equipment":[{"type":"tank","count":1}]})");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(bad.json()["field"], "location.lat");
  auto unknown = call(contributor_, "POST", "/api/v1/observations",
                      R"({"observed_at":"2022-02-20T06:30:00Z","location":{"lat":50,"lon":36},)"
                      R"("location_precision":"exact","equipment":[{"type":"tank","count":1}],)"
                      R"("status":"verified"})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(unknown.json()["field"], "status");
  auto badtype =
      call(contributor_, "POST", "/api/v1/observations",
           R"({"observed_at":"2022-02-20T06:30:00Z","location":{"lat":50,"lon":36},)"
           R"("location_precision":"exact","equipment":[{"type":"spaceship","count":1}]})");
  EXPECT_EQ(badtype.json()["field"], "equipment[0].type");

  // PATCH as a merge patch re-derives; verification by someone else; then frozen.
  auto patched =
      call(contributor_, "PATCH", self, R"({"heading_deg": 20})", "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(patched.json()["derived"]["movement"], "away");
  EXPECT_EQ(call(contributor_, "POST", self + "/verification", R"({"verdict":"verified"})").status,
            403);
  auto mine = call(analyst_, "POST", "/api/v1/observations", kBelgorodColumn);
  std::string mine_url = "/api/v1/observations/" + std::to_string(mine.json()["id"].get<int>());
  auto own = call(analyst_, "POST", mine_url + "/verification", R"({"verdict":"verified"})");
  EXPECT_EQ(own.status, 403);
  EXPECT_NE(own.json()["detail"].get<std::string>().find("two-person"), std::string::npos);
  auto verdict = call(analyst_, "POST", self + "/verification",
                      R"({"verdict":"verified","note":"matched with Sentinel-2 of 2022-02-19"})");
  ASSERT_EQ(verdict.status, 200) << verdict.body;
  EXPECT_EQ(verdict.json()["status"], "verified");
  EXPECT_EQ(verdict.json()["verifications"][0]["analyst"], "anton");
  EXPECT_EQ(call(contributor_, "PATCH", self, R"({"notes":"x"})").status, 409);
  EXPECT_EQ(call(analyst2_, "POST", mine_url + "/verification", R"({"verdict":"rejected"})").status,
            200);

  // Lists: rejected hidden by default; filters; formats.
  auto list = call(contributor_, "GET", "/api/v1/observations?oblast=RU-BEL");
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(call(contributor_, "GET", "/api/v1/observations?status=any").json()["items"].size(),
            2u);
  EXPECT_EQ(
      call(contributor_, "GET", "/api/v1/observations?bbox=30,44,34,48").json()["items"].size(),
      0u);
  EXPECT_EQ(
      call(contributor_, "GET", "/api/v1/observations?bbox=36,50,37,51").json()["items"].size(),
      1u);
  EXPECT_EQ(call(contributor_, "GET", "/api/v1/observations?bbox=36,50,1").status, 422);
  EXPECT_EQ(call(contributor_, "GET", "/api/v1/observations?movement=sideways").status, 422);

  auto geo = http_request(
      server_->port(), "GET", "/api/v1/observations?status=any",
      {{"Authorization", "Bearer " + contributor_}, {"Accept", "application/geo+json"}});
  ASSERT_EQ(geo.status, 200);
  EXPECT_EQ(geo.header("content-type"), "application/geo+json");
  write_file((dir_ / "obs.geojson").string(), geo.body);
  auto hint = run_command({"/usr/bin/env", "node",
                           std::string(CW_SOURCE_DIR) + "/tests/e2e/geojson_hint.mjs",
                           (dir_ / "obs.geojson").string()});
  EXPECT_EQ(hint.exit_code, 0) << hint.out << hint.err;
  EXPECT_EQ(hint.out, "2\n");
  auto gj = geo.json();
  EXPECT_EQ(gj["features"][0]["geometry"]["coordinates"][0], 36.58015);  // lon first

  auto csv = call(contributor_, "GET", "/api/v1/observations?format=csv&status=any");
  EXPECT_EQ(csv.header("content-type"), "text/csv; charset=utf-8");
  EXPECT_EQ(std::count(csv.body.begin(), csv.body.end(), '\n'), 3);
  EXPECT_EQ(csv.body.rfind("id,observed_at,", 0), 0u);

  auto kml = call(contributor_, "GET", "/api/v1/observations?format=kml&status=any");
  EXPECT_EQ(kml.header("content-type"), "application/vnd.google-earth.kml+xml");
  write_file((dir_ / "obs.kml").string(), kml.body);
  auto parsed = run_command(
      {"/usr/bin/python3", "-c",
       "import sys, xml.etree.ElementTree as ET\n"
       "ns = {'k': 'http://www.opengis.net/kml/2.2'}\n"
       "root = ET.parse(sys.argv[1]).getroot()\n"
       "assert root.tag == '{http://www.opengis.net/kml/2.2}kml', root.tag\n"
       "marks = root.findall('k:Document/k:Placemark', ns)\n"
       "for m in marks:\n"
       "    lon, lat = map(float, m.find('k:Point/k:coordinates', ns).text.split(','))\n"
       "    assert -180 <= lon <= 180 and -90 <= lat <= 90\n"
       "    assert m.find('k:TimeStamp/k:when', ns).text.endswith('Z')\n"
       "print(len(marks))\n",
       (dir_ / "obs.kml").string()});
  EXPECT_EQ(parsed.exit_code, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "2\n");

  // Deleting is for admins; the audit log keeps it.
  EXPECT_EQ(call(analyst_, "DELETE", self).status, 403);
}

TEST_F(ObservationsE2eTest, ImportIsAllOrNothingWithErrorsPerLine) {
  std::string csv =
      "observed_at,lat,lon,location_precision,heading_deg,equipment,markings\n"
      "2022-02-21T05:00:00Z,50.40967,36.9136,locality,210,truck:12;tank:2,Z\n"
      "2022-02-21T05:10:00Z,91,36.9,locality,,truck:1,\n"
      "2022-02-21T05:20:00Z,50.4,36.9,nowhere,,truck:1,\n"
      "yesterday,50.4,36.9,exact,,truck:1,\n"
      "2022-02-21T05:40:00Z,50.4,36.9,exact,,boat:1,\n";
  auto r = call(contributor_, "POST", "/api/v1/observations/import", csv, "text/csv");
  ASSERT_EQ(r.status, 422) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/problem+json");
  auto errors = r.json()["errors"];
  ASSERT_EQ(errors.size(), 4u) << r.body;
  EXPECT_EQ(errors[0]["line"], 3);
  EXPECT_EQ(errors[0]["field"], "lat");
  EXPECT_EQ(errors[1]["field"], "location_precision");
  EXPECT_EQ(errors[2]["field"], "observed_at");
  EXPECT_EQ(errors[3]["line"], 6);
  EXPECT_EQ(call(contributor_, "GET", "/api/v1/observations").json()["items"].size(), 0u);

  std::string good;
  for (int i = 0; i < 50; ++i) {
    good += fmt::format(
        R"({{"observed_at":"2022-02-21T0{}:00:00Z","location":{{"lat":{},"lon":{}}},)"
        R"("location_precision":"locality","heading_deg":{},"equipment":[{{"type":"apc","count":{}}}]}})"
        "\n",
        i % 10, 50.0 + i * 0.01, 36.0 + i * 0.01, (i * 37) % 360, 1 + i % 5);
  }
  auto ok = call(contributor_, "POST", "/api/v1/observations/import", good, "application/x-ndjson");
  ASSERT_EQ(ok.status, 201) << ok.body;
  EXPECT_EQ(ok.json()["imported"], 50);
  auto page = call(contributor_, "GET", "/api/v1/observations?limit=20");
  EXPECT_EQ(page.json()["items"].size(), 20u);
  ASSERT_TRUE(page.json()["next_cursor"].is_string());
  auto next =
      call(contributor_, "GET",
           "/api/v1/observations?limit=40&cursor=" + page.json()["next_cursor"].get<std::string>());
  EXPECT_EQ(next.json()["items"].size(), 30u);
  EXPECT_TRUE(next.json()["next_cursor"].is_null());
  EXPECT_EQ(call(contributor_, "POST", "/api/v1/observations/import", good, "text/plain").status,
            415);
}

// The read caches (server/read_cache.hpp) under a real server: a page asked for twice is served
// from memory; a change through this server shows in the very next page, one by another process
// within the database's notification; a token revoked by another process stops working as fast.
TEST_F(ObservationsE2eTest, ListPagesAndTokensAreCachedUntilTheDatabaseSaysOtherwise) {
  auto lookups = [this](const std::string& cache, const std::string& result) {
    auto m = http_request(server_->port(), "GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("convoywatch_read_cache_lookups_total{", 0) == 0 &&
          line.find("cache=\"" + cache + "\"") != std::string::npos &&
          line.find("result=\"" + result + "\"") != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    ADD_FAILURE() << "no " << cache << "/" << result << " counter in /metrics";
    return -1.0;
  };
  auto notes_of_first = [this](const std::string& token) {
    auto page = call(token, "GET", "/api/v1/observations?status=any&limit=5");
    EXPECT_EQ(page.status, 200) << page.body;
    auto doc = page.json();
    if (!doc.is_object() || doc["items"].empty()) return std::string("<no items>");
    return doc["items"][0].value("notes", std::string("<none>"));
  };
  auto created = call(contributor_, "POST", "/api/v1/observations", kBelgorodColumn);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string self =
      "/api/v1/observations/" + std::to_string(created.json()["id"].get<int>());
  auto waited = [](const std::function<bool()>& done) {
    const auto start = std::chrono::steady_clock::now();
    while (!done()) {
      if (std::chrono::steady_clock::now() - start > std::chrono::seconds(5)) return -1.0;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  // The server's feed listens within moments of the start; from then on a page asked for twice
  // is a hit.
  const double before = lookups("lists", "hit");
  EXPECT_GE(waited([&] {
              EXPECT_EQ(notes_of_first(contributor_), "column on the M-2 heading south");
              return lookups("lists", "hit") > before;
            }),
            0)
      << "no page was ever served from the cache";
  const double hits = lookups("lists", "hit");
  const double token_hits = lookups("tokens", "hit");
  // The same page again, by another caller: from memory, and the same.
  EXPECT_EQ(notes_of_first(analyst_), "column on the M-2 heading south");
  EXPECT_EQ(lookups("lists", "hit"), hits + 1);
  EXPECT_EQ(notes_of_first(contributor_), "column on the M-2 heading south");
  EXPECT_EQ(lookups("lists", "hit"), hits + 2);
  EXPECT_GE(lookups("tokens", "hit"), token_hits + 1);

  // Through this server: the very next page has it.
  auto patched = call(contributor_, "PATCH", self, R"({"notes": "patched through the API"})",
                      "application/merge-patch+json");
  ASSERT_EQ(patched.status, 200) << patched.body;
  EXPECT_EQ(notes_of_first(contributor_), "patched through the API");

  // By another process: shown once its notification is in (polled for at most 5 s).
  db_.exec("UPDATE observations SET notes = 'changed by another process'");
  const double seen_after =
      waited([&] { return notes_of_first(contributor_) == "changed by another process"; });
  EXPECT_GE(seen_after, 0) << "the change never showed";
  std::cout << "[ cache ] a change by another process showed after " << seen_after << " s\n";

  // A token revoked by another process (the CLI) is refused as soon as its notification is in.
  ASSERT_EQ(call(analyst2_, "GET", "/api/v1/me").status, 200);
  ASSERT_EQ(run_convoywatch({"user", "revoke", "anna"}, env_).exit_code, 0);
  const double refused_after =
      waited([&] { return call(analyst2_, "GET", "/api/v1/me").status == 401; });
  EXPECT_GE(refused_after, 0) << "the revoked token kept working";
  std::cout << "[ cache ] a token revoked by another process was refused after " << refused_after
            << " s\n";
}

TEST_F(ObservationsE2eTest, GeolocatingASubmissionWithHints) {
  auto sub =
      call(contributor_, "POST", "/api/v1/submissions",
           R"({"source_url":"https://t.me/c/7","description":"Колонна техники у Белгорода, )"
           R"(видео из Шебекино","claimed_location":{"lat":50.6,"lon":36.6,"radius_m":5000}})");
  ASSERT_EQ(sub.status, 201) << sub.body;
  std::string url =
      "/api/v1/submissions/" + std::to_string(sub.json()["id"].get<int>()) + "/geolocation";
  auto hints = call(contributor_, "GET", url);
  ASSERT_EQ(hints.status, 200) << hints.body;
  EXPECT_TRUE(hints.json()["current"].is_null());
  EXPECT_EQ(hints.json()["hints"]["claimed"]["lat"], 50.6);
  auto places = hints.json()["hints"]["places"];
  ASSERT_GE(places.size(), 2u) << hints.body;
  EXPECT_EQ(places[0]["name"], "Belgorod");
  EXPECT_EQ(places[0]["matched"], "белгорода");

  EXPECT_EQ(call(contributor_, "POST", url,
                 R"({"lat":50.4,"lon":36.9,"precision":"vicinity","method":"landmark_match"})")
                .status,
            403);
  auto g = call(analyst_, "POST", url,
                R"({"lat":50.40967,"lon":36.9136,"precision":"vicinity","method":"landmark_match",)"
                R"("evidence":"church and water tower match"})");
  ASSERT_EQ(g.status, 201) << g.body;
  auto g2 = call(analyst2_, "POST", url,
                 R"({"lat":50.41,"lon":36.91,"precision":"exact","method":"shadow"})");
  ASSERT_EQ(g2.status, 201);
  auto after = call(contributor_, "GET", url);
  EXPECT_EQ(after.json()["current"]["method"], "shadow");
  EXPECT_EQ(after.json()["history"].size(), 2u);
  EXPECT_EQ(call(analyst_, "POST", url, R"({"lat":50,"lon":36,"precision":"exact","method":"x"})")
                .json()["field"],
            "method");
}

}  // namespace
}  // namespace cw::test
