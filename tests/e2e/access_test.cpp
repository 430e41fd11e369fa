// Who may do what: every route of the router × {no token, bad token, revoked token, each role,
// a member of another organisation}, each cell checked against its expected status. A route
// missing from the table fails the test, so new routes cannot skip this.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <set>
#include <thread>
#include <tuple>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "server/routes.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

enum Who { kNone, kBad, kRevoked, kContributor, kAnalyst, kAdmin, kOtherOrg, kWhoCount };
const char* kWhoNames[] = {"no token", "bad token", "revoked token",     "contributor",
                           "analyst",  "admin",     "other organisation"};

struct Request {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;
  std::string body;
};

struct Row {
  std::string method;
  std::string pattern;
  // Builds a fresh request for one cell (resources a request consumes are made anew).
  std::function<Request()> make;
  std::array<int, kWhoCount> expect;
};

class AccessTest : public ::testing::Test {
 protected:
  std::string add_user(const std::string& name, const std::string& org, const std::string& role) {
    auto r = run_convoywatch({"user", "add", "--name", name, "--org", org, "--role", role}, env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, 67);
  }
  HttpResponse as(const std::string& token, const Request& req) {
    auto headers = req.headers;
    if (!token.empty()) headers["Authorization"] = "Bearer " + token;
    return http_request(server_->port(), req.method, req.target, headers, req.body);
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(AccessTest, EveryRouteForEveryKindOfCaller) {
  env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
          {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
          {"CONVOYWATCH_PIPELINE_WORKERS", "1"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env_).exit_code, 0);
  std::array<std::string, kWhoCount> token;
  token[kNone] = "";
  token[kBad] = "cw_" + std::string(64, '7');
  token[kRevoked] = add_user("gone", "Bellingcat", "admin");
  token[kContributor] = add_user("carla", "Bellingcat", "contributor");
  token[kAnalyst] = add_user("anton", "Bellingcat", "analyst");
  token[kAdmin] = add_user("ada", "Bellingcat", "admin");
  token[kOtherOrg] = add_user("otto", "The Insider", "admin");
  ASSERT_EQ(run_convoywatch({"user", "revoke", "gone"}, env_).exit_code, 0);
  server_ = std::make_unique<ServerProcess>(env_);

  // Fixtures owned by Bellingcat: an org-private submission with its media, and a tus upload
  // per caller that creates one (uploads are private to their creator).
  std::string dir = make_temp_dir("cw-access-");
  std::string clip = small_mp4(dir);
  std::string sha = sha256_of_file(clip);
  std::string boundary = "AcCeSs";
  std::string form =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; "
      "name=\"metadata\"\r\n\r\n{\"visibility\":\"org\"}\r\n--" +
      boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"c.mp4\"\r\n\r\n" +
      read_file(clip) + "\r\n--" + boundary + "--\r\n";
  auto made =
      as(token[kContributor], {"POST",
                               "/api/v1/submissions",
                               {{"Content-Type", "multipart/form-data; boundary=" + boundary}},
                               form});
  ASSERT_EQ(made.status, 201) << made.body;
  std::string sub_id = std::to_string(made.json()["id"].get<int>());
  auto with_job = as(token[kContributor], {"GET", "/api/v1/submissions/" + sub_id, {}, ""});
  ASSERT_TRUE(with_job.json()["processing"].is_object()) << with_job.body;
  std::string job_id = std::to_string(with_job.json()["processing"]["id"].get<int>());
  // Let the embedded worker analyse it, so the media routes have something to show.
  // Up to 3 min: under ASan beside the other suites the sandboxed analysis can take a minute.
  for (int i = 0; i < 1800 && with_job.json()["processing"]["state"] != "done"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    with_job = as(token[kContributor], {"GET", "/api/v1/submissions/" + sub_id, {}, ""});
  }
  ASSERT_EQ(with_job.json()["processing"]["state"], "done") << with_job.body << server_->log();
  // A second, taskforce-visible media and a suggested link between the two.
  std::string clip2 = make_video(dir, "other.mp4",
                                 {"-f", "lavfi", "-i", "testsrc2=duration=2:size=160x120:rate=10",
                                  "-c:v", "libx264", "-pix_fmt", "yuv420p"});
  std::string sha2 = sha256_of_file(clip2);
  std::string form2 =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"o.mp4\"\r\n\r\n" +
      read_file(clip2) + "\r\n--" + boundary + "--\r\n";
  ASSERT_EQ(
      as(token[kContributor], {"POST",
                               "/api/v1/submissions",
                               {{"Content-Type", "multipart/form-data; boundary=" + boundary}},
                               form2})
          .status,
      201);
  db_.exec("INSERT INTO media_links (a_sha256, b_sha256, kind, a_percent, b_percent) VALUES ('" +
           std::min(sha, sha2) + "', '" + std::max(sha, sha2) + "', 'same_footage', 90, 85)");
  auto user_id =
      std::to_string(as(token[kAdmin], {"GET", "/api/v1/me", {}, ""}).json()["id"].get<int>());
  std::map<std::string, std::string> tus = {{"Tus-Resumable", "1.0.0"}};
  auto new_upload = [&]() {
    auto h = tus;
    h["Upload-Length"] = "100";
    return as(token[kContributor], {"POST", "/api/v1/uploads", h, ""}).header("location");
  };
  auto new_token_id = [&]() {
    return std::to_string(
        as(token[kAdmin], {"POST", "/api/v1/users/" + user_id + "/tokens", {}, ""})
            .json()["id"]
            .get<int>());
  };
  int n = 0;
  auto json = std::map<std::string, std::string>{{"Content-Type", "application/json"}};
  const std::string observation =
      R"({"observed_at":"2022-02-20T06:30:00Z","location":{"lat":50.6,"lon":36.58},)"
      R"("location_precision":"vicinity","heading_deg":200,"equipment":[{"type":"tank","count":3}]})";
  // A fresh unverified observation by the contributor (each cell may change or delete one).
  auto new_observation = [&]() {
    auto r = as(token[kContributor], {"POST", "/api/v1/observations", json, observation});
    EXPECT_EQ(r.status, 201) << r.body;
    return std::to_string(r.json()["id"].get<int>());
  };

  // A fresh convoy track of two sightings an hour and 21 km apart, heading south-west, on a day
  // of its own (a day apart, no two tracks link); returns its first and second observation ids.
  int track_day = 0;
  auto new_track = [&]() {
    std::string day = fmt::format("2022-03-{:02d}", 1 + track_day++ % 31);
    int hour = 6;
    std::vector<std::string> ids;
    for (auto [h, lat, lon] :
         {std::tuple{hour, 50.60, 36.58}, std::tuple{hour + 1, 50.45, 36.40}}) {
      auto r = as(
          token[kContributor],
          {"POST", "/api/v1/observations", json,
           fmt::format(
               R"({{"observed_at":"{}T{:02d}:00:00Z","location":{{"lat":{},"lon":{}}},"location_precision":"vicinity",)"
               R"("heading_deg":220,"equipment":[{{"type":"truck","count":9}}]}})",
               day, h, lat, lon)});
      EXPECT_EQ(r.status, 201) << r.body;
      ids.push_back(std::to_string(r.json()["id"].get<int>()));
    }
    return std::pair{ids[0], ids[1]};
  };
  auto report = as(token[kAnalyst],
                   {"POST", "/api/v1/reports", json, R"({"kind":"daily","period":"2022-02-20"})"});
  ASSERT_EQ(report.status, 201) << report.body;
  std::string report_id = std::to_string(report.json()["id"].get<int>());
  // Reference imagery: a fresh small PNG with corners per upload (the same bytes twice are 409),
  // two of them uploaded by the analyst, a comparison of the two (it fails: noise does not
  // register, which leaves it without overlay and mask) and a match of the org-private video's
  // first frame.
  int png_seed = 0;
  auto imagery_form = [&]() {
    cv::Mat noise(64, 64, CV_8UC3);
    cv::RNG(++png_seed).fill(noise, cv::RNG::UNIFORM, 0, 255);
    std::vector<uchar> png;
    EXPECT_TRUE(cv::imencode(".png", noise, png));
    const std::string b = "ImAgEs";
    std::string body =
        "--" + b +
        "\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
        R"({"captured_at":"2022-02-14T08:00:00Z","source":"Planet",)"
        R"("corners":[[50.62,36.58],[50.62,36.6],[50.61,36.6],[50.61,36.58]]})"
        "\r\n--" +
        b + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"n.png\"\r\n\r\n" +
        std::string(png.begin(), png.end()) + "\r\n--" + b + "--\r\n";
    return Request{
        "POST", "/api/v1/imagery", {{"Content-Type", "multipart/form-data; boundary=" + b}}, body};
  };
  std::vector<std::string> imagery_ids;
  for (int i = 0; i < 2; ++i) {
    auto up = as(token[kAnalyst], imagery_form());
    ASSERT_EQ(up.status, 201) << up.body << server_->log();
    imagery_ids.push_back(std::to_string(up.json()["id"].get<int>()));
  }
  const std::string compare_body =
      R"({"before":)" + imagery_ids[0] + R"(,"after":)" + imagery_ids[1] + "}";
  auto comparison = as(token[kAnalyst], {"POST", "/api/v1/imagery/compare", json, compare_body});
  ASSERT_EQ(comparison.status, 202) << comparison.body;
  const std::string comparison_url = comparison.json()["url"];
  const std::string match_body = R"({"imagery_id":)" + imagery_ids[0] + "}";
  auto match =
      as(token[kAnalyst], {"POST", "/api/v1/media/" + sha + "/frames/0/match", json, match_body});
  ASSERT_EQ(match.status, 202) << match.body;
  const std::string match_url = match.json()["url"];

  //                                   none bad  revk contr anal admin other
  std::vector<Row> rows = {
      {"POST", "/api/v1/imagery", imagery_form, {401, 401, 401, 403, 201, 201, 201}},
      {"GET",
       "/api/v1/imagery",
       [] {
         return Request{"GET", "/api/v1/imagery?bbox=36.5,50.5,36.7,50.7", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/imagery/{id}",
       [&] {
         return Request{"GET", "/api/v1/imagery/" + imagery_ids[0], {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/imagery/{id}/tiles/{z}/{x}/{y}.png",
       [&] {
         return Request{
             "GET", "/api/v1/imagery/" + imagery_ids[0] + "/tiles/10/616/344.png", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/imagery/compare",
       [&] {
         return Request{"POST", "/api/v1/imagery/compare", json, compare_body};
       },
       {401, 401, 401, 403, 202, 202, 202}},
      {"GET",
       "/api/v1/imagery/comparisons/{id}",
       [&] {
         return Request{"GET", comparison_url, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      // The comparison has no result (its images do not register): 404 for whoever may ask.
      {"GET",
       "/api/v1/imagery/comparisons/{id}/overlay.png",
       [&] {
         return Request{"GET", comparison_url + "/overlay.png", {}, ""};
       },
       {401, 401, 401, 404, 404, 404, 404}},
      {"GET",
       "/api/v1/imagery/comparisons/{id}/mask.png",
       [&] {
         return Request{"GET", comparison_url + "/mask.png", {}, ""};
       },
       {401, 401, 401, 404, 404, 404, 404}},
      {"POST",
       "/api/v1/media/{sha256}/frames/{n}/match",
       [&] {
         return Request{"POST", "/api/v1/media/" + sha + "/frames/0/match", json, match_body};
       },
       {401, 401, 401, 403, 202, 202, 404}},
      // A match tells where an org-private video was taken: not to another organisation.
      {"GET",
       "/api/v1/imagery/matches/{id}",
       [&] {
         return Request{"GET", match_url, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt",
       [] {
         return Request{"GET", "/api/v1/tiles/observations/10/616/344.mvt", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/tiles.json",
       [] {
         return Request{"GET", "/api/v1/tiles.json", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/map/style.json",
       [] {
         return Request{"GET", "/api/v1/map/style.json", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/map/fonts/{fontstack}/{range}.pbf",
       [] {
         return Request{"GET", "/api/v1/map/fonts/Noto%20Sans%20Regular/0-255.pbf", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/regions",
       [] {
         return Request{"GET", "/api/v1/regions", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/places",
       [] {
         return Request{"GET", "/api/v1/places?q=Kharkiv", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/sun",
       [] {
         return Request{"GET", "/api/v1/sun?lat=50.6&lon=36.58&time=2022-02-16T09:00:00Z", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}/sun",
       [&] {
         return Request{
             "GET", "/api/v1/submissions/" + sub_id + "/sun?time=2022-02-16T09:00:00Z", {}, ""};
       },
       {401, 401, 401, 422, 422, 422, 404}},
      {"GET",
       "/api/v1/aggregates/observations",
       [] {
         return Request{
             "GET", "/api/v1/aggregates/observations?group_by=oblast&status=any", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/convoys",
       [] {
         return Request{
             "GET", "/api/v1/convoys?from=2022-03-01T00:00:00Z&to=2022-03-09T00:00:00Z", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/convoys/{id}",
       [&] {
         return Request{"GET", "/api/v1/convoys/" + new_track().first, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/convoys/{id}/split",
       [&] {
         auto [first, second] = new_track();
         return Request{"POST", "/api/v1/convoys/" + first + "/split", json,
                        R"({"before":)" + second + "}"};
       },
       {401, 401, 401, 403, 200, 200, 200}},
      {"POST",
       "/api/v1/convoys/{id}/merge",
       [&] {
         auto a = new_track();
         auto b = new_track();
         return Request{"POST", "/api/v1/convoys/" + a.first + "/merge", json,
                        R"({"with":)" + b.first + "}"};
       },
       {401, 401, 401, 403, 200, 200, 200}},
      {"GET",
       "/api/v1/reports",
       [] {
         return Request{"GET", "/api/v1/reports", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/reports",
       [&] {
         return Request{"POST", "/api/v1/reports", json,
                        R"({"kind":"weekly","period":"2022-W07"})"};
       },
       {401, 401, 401, 403, 201, 201, 201}},
      {"GET",
       "/api/v1/reports/{id}",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/reports/{id}.html",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id + ".html", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/reports/{id}.csv",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id + ".csv", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/healthz",
       [] {
         return Request{"GET", "/healthz", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/readyz",
       [] {
         return Request{"GET", "/readyz", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/metrics",
       [] {
         return Request{"GET", "/metrics", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/openapi.json",
       [] {
         return Request{"GET", "/api/v1/openapi.json", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/me",
       [] {
         return Request{"GET", "/api/v1/me", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/users",
       [] {
         return Request{"GET", "/api/v1/users", {}, ""};
       },
       {401, 401, 401, 403, 403, 200, 200}},
      {"POST",
       "/api/v1/users",
       [&] {
         return Request{"POST", "/api/v1/users", json,
                        "{\"name\":\"u" + std::to_string(n++) + "\",\"org\":\"x\"}"};
       },
       {401, 401, 401, 403, 403, 201, 201}},
      {"GET",
       "/api/v1/users/{id}",
       [&] {
         return Request{"GET", "/api/v1/users/" + user_id, {}, ""};
       },
       {401, 401, 401, 403, 403, 200, 200}},
      {"POST",
       "/api/v1/users/{id}/tokens",
       [&] {
         return Request{"POST", "/api/v1/users/" + user_id + "/tokens", {}, ""};
       },
       {401, 401, 401, 403, 403, 201, 201}},
      {"DELETE",
       "/api/v1/tokens/{id}",
       [&] {
         return Request{"DELETE", "/api/v1/tokens/" + new_token_id(), {}, ""};
       },
       {401, 401, 401, 403, 403, 204, 204}},
      {"GET",
       "/api/v1/audit",
       [] {
         return Request{"GET", "/api/v1/audit", {}, ""};
       },
       {401, 401, 401, 403, 200, 200, 200}},
      {"POST",
       "/api/v1/submissions",
       [&] {
         return Request{"POST", "/api/v1/submissions", json,
                        R"({"source_url":"https://t.me/c/1"})"};
       },
       {401, 401, 401, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/submissions",
       [] {
         return Request{"GET", "/api/v1/submissions", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}",
       [&] {
         return Request{"GET", "/api/v1/submissions/" + sub_id, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}/original",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/original", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames/{n}.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames/0.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames/{n}/thumb.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames/0/thumb.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/media/{sha256}/contact-sheet.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/contact-sheet.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"GET",
       "/api/v1/observations",
       [] {
         return Request{"GET", "/api/v1/observations?format=geojson", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/observations",
       [&] {
         return Request{"POST", "/api/v1/observations", json, observation};
       },
       {401, 401, 401, 201, 201, 201, 201}},
      {"POST",
       "/api/v1/observations/import",
       [] {
         return Request{"POST",
                        "/api/v1/observations/import",
                        {{"Content-Type", "text/csv"}},
                        "observed_at,lat,lon,location_precision,equipment\n"
                        "2022-02-21T05:00:00Z,50.4,36.9,locality,truck:12;tank:2\n"};
       },
       {401, 401, 401, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"GET", "/api/v1/observations/" + new_observation(), {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"PATCH",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"PATCH",
                        "/api/v1/observations/" + new_observation(),
                        {{"Content-Type", "application/merge-patch+json"}},
                        R"({"notes":"two T-72B3"})"};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"DELETE",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"DELETE", "/api/v1/observations/" + new_observation(), {}, ""};
       },
       {401, 401, 401, 403, 403, 204, 204}},
      {"POST",
       "/api/v1/observations/{id}/verification",
       [&] {
         return Request{"POST", "/api/v1/observations/" + new_observation() + "/verification", json,
                        R"({"verdict":"verified","note":"matched"})"};
       },
       {401, 401, 401, 403, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}/geolocation",
       [&] {
         return Request{"GET", "/api/v1/submissions/" + sub_id + "/geolocation", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"POST",
       "/api/v1/submissions/{id}/geolocation",
       [&] {
         return Request{
             "POST", "/api/v1/submissions/" + sub_id + "/geolocation", json,
             R"({"lat":50.6,"lon":36.58,"precision":"vicinity","method":"landmark_match"})"};
       },
       {401, 401, 401, 403, 201, 201, 404}},
      {"GET",
       "/api/v1/media/{sha256}/duplicates",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/duplicates", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404}},
      {"POST",
       "/api/v1/media/{sha256}/duplicates/{other}/verdict",
       [&] {
         return Request{"POST", "/api/v1/media/" + sha + "/duplicates/" + sha2 + "/verdict", json,
                        R"({"verdict":"confirmed","note":"same column"})"};
       },
       {401, 401, 401, 403, 200, 200, 404}},
      {"GET",
       "/api/v1/jobs/{id}",
       [&] {
         return Request{"GET", "/api/v1/jobs/" + job_id, {}, ""};
       },
       // The job analyses an org-private submission: to another organisation it does not exist.
       {401, 401, 401, 403, 200, 200, 404}},
      // The event stream never ends: HEAD asks the same question (may this caller open it?)
      // and gets the answer without the stream.
      {"GET",
       "/api/v1/events",
       [] {
         return Request{"HEAD", "/api/v1/events", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200}},
      {"OPTIONS",
       "/api/v1/uploads",
       [] {
         return Request{"OPTIONS", "/api/v1/uploads", {}, ""};
       },
       {204, 204, 204, 204, 204, 204, 204}},
      {"POST",
       "/api/v1/uploads",
       [&] {
         auto h = tus;
         h["Upload-Length"] = "100";
         return Request{"POST", "/api/v1/uploads", h, ""};
       },
       {401, 401, 401, 201, 201, 201, 201}},
      // Uploads belong to the contributor who created them: everyone else gets 404.
      {"GET",
       "/api/v1/uploads/{id}",
       [&] {
         return Request{"GET", new_upload(), {}, ""};
       },
       {401, 401, 401, 200, 404, 404, 404}},
      {"PATCH",
       "/api/v1/uploads/{id}",
       [&] {
         auto h = tus;
         h["Upload-Offset"] = "0";
         h["Content-Type"] = "application/offset+octet-stream";
         return Request{"PATCH", new_upload(), h, std::string(10, 'a')};
       },
       {401, 401, 401, 204, 404, 404, 404}},
      {"DELETE",
       "/api/v1/uploads/{id}",
       [&] {
         return Request{"DELETE", new_upload(), tus, ""};
       },
       {401, 401, 401, 204, 404, 404, 404}},
  };

  std::set<std::string> covered;
  for (const Row& row : rows) {
    covered.insert(row.method + " " + row.pattern);
    for (int who = 0; who < kWhoCount; ++who) {
      Request req = row.make();
      auto res = as(token[who], req);
      EXPECT_EQ(res.status, row.expect[who])
          << row.method << " " << row.pattern << " as " << kWhoNames[who] << ": " << res.body;
      if (res.status >= 400) {
        EXPECT_EQ(res.header("content-type"), "application/problem+json") << row.pattern;
      }
    }
  }
  server::Router router = server::make_router();
  for (const auto& r : router.routes()) {
    std::string key = std::string(boost::beast::http::to_string(r.method)) + " " + r.pattern;
    EXPECT_TRUE(covered.count(key)) << "route missing from the access table: " << key;
  }
}

}  // namespace
}  // namespace cw::test
