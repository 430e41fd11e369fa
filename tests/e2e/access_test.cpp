// Who may do what: every route of the router × {no token, bad token, revoked token, each role,
// an admin of another organisation, a coordinator of a third}, each cell checked against its
// expected status. A route missing from the table fails the test, so new routes cannot skip
// this. Every answer to the callers outside Bellingcat is also searched for the values of
// Bellingcat's org-private submission (URL, author, description, file name, hash, location):
// none may appear, except where the request itself carried it.
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
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

enum Who {
  kNone,
  kBad,
  kRevoked,
  kContributor,
  kAnalyst,
  kAdmin,
  kOtherOrg,
  kCoordinator,
  kWhoCount
};
const char* kWhoNames[] = {"no token",
                           "bad token",
                           "revoked token",
                           "contributor",
                           "analyst",
                           "admin",
                           "admin of another organisation",
                           "coordinator of a third"};

// Bellingcat's org-private submission: its metadata and file name, and the values of it that
// nobody outside Bellingcat may read anywhere (the media's hash is added once it is known).
const std::string kPrivateFile = "FilePrivKq7.mp4";
const std::string kPrivateMeta =
    R"({"visibility":"org","source_url":"https://t.me/privchan7731/4242",)"
    R"("author":"Auth0rPrivQz","description":"DescPrivWx9 a column by the depot",)"
    R"("claimed_location":{"lat":49.987654,"lon":36.123457,"radius_m":250}})";
const std::vector<std::string> kPrivateValues = {"privchan7731", "Auth0rPrivQz", "DescPrivWx9",
                                                 kPrivateFile,   "FilePrivKq7",  "49.987654",
                                                 "36.123457"};

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
  // The request carries a credential of its own (a signed link made by Bellingcat's
  // contributor): whoever holds it reads what it names, so its answer is not searched.
  bool carries_credential = false;
};

class AccessTest : public ::testing::Test {
 protected:
  std::string add_user(const std::string& name, const std::string& org, const std::string& role) {
    return test::add_user(env_, name, org, role);
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
  token[kCoordinator] = add_user("cora", "Task force coordination", "coordinator");
  ASSERT_EQ(run_convoywatch({"user", "revoke", "gone"}, env_).exit_code, 0);
  server_ = std::make_unique<ServerProcess>(env_);

  // Fixtures owned by Bellingcat: an org-private submission with its media, and a tus upload
  // per caller that creates one (uploads are private to their creator).
  std::string dir = make_temp_dir("cw-access-");
  std::string clip = small_mp4(dir);
  std::string sha = sha256_of_file(clip);
  std::vector<std::string> secrets = kPrivateValues;
  secrets.push_back(sha);
  std::string boundary = "AcCeSs";
  std::string form = "--" + boundary +
                     "\r\nContent-Disposition: form-data; "
                     "name=\"metadata\"\r\n\r\n" +
                     kPrivateMeta + "\r\n--" + boundary +
                     "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
                     kPrivateFile + "\"\r\n\r\n" + read_file(clip) + "\r\n--" + boundary + "--\r\n";
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
  wait_until(
      [&] {
        with_job = as(token[kContributor], {"GET", "/api/v1/submissions/" + sub_id, {}, ""});
        return with_job.json()["processing"]["state"] == "done";
      },
      std::chrono::minutes(3), std::chrono::milliseconds(100));
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
  // of its own (a day apart, no two tracks link; days run on from 1 March, never wrap); returns its
  // first and second observation ids.
  int track_day = 0;
  auto new_track = [&]() {
    const std::chrono::year_month_day ymd{std::chrono::sys_days{std::chrono::year{2022} / 3 / 1} +
                                          std::chrono::days{track_day++}};
    std::string day =
        fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
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

  //                                   none bad  revk contr anal admin other coord
  std::vector<Row> rows = {
      {"POST", "/api/v1/imagery", imagery_form, {401, 401, 401, 403, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/imagery",
       [] {
         return Request{"GET", "/api/v1/imagery?bbox=36.5,50.5,36.7,50.7", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/imagery/{id}",
       [&] {
         return Request{"GET", "/api/v1/imagery/" + imagery_ids[0], {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/imagery/{id}/tiles/{z}/{x}/{y}.png",
       [&] {
         return Request{
             "GET", "/api/v1/imagery/" + imagery_ids[0] + "/tiles/10/616/344.png", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/imagery/compare",
       [&] {
         return Request{"POST", "/api/v1/imagery/compare", json, compare_body};
       },
       {401, 401, 401, 403, 202, 202, 202, 202}},
      {"GET",
       "/api/v1/imagery/comparisons/{id}",
       [&] {
         return Request{"GET", comparison_url, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      // The comparison has no result (its images do not register): 404 for whoever may ask.
      {"GET",
       "/api/v1/imagery/comparisons/{id}/overlay.png",
       [&] {
         return Request{"GET", comparison_url + "/overlay.png", {}, ""};
       },
       {401, 401, 401, 404, 404, 404, 404, 404}},
      {"GET",
       "/api/v1/imagery/comparisons/{id}/mask.png",
       [&] {
         return Request{"GET", comparison_url + "/mask.png", {}, ""};
       },
       {401, 401, 401, 404, 404, 404, 404, 404}},
      {"POST",
       "/api/v1/media/{sha256}/frames/{n}/match",
       [&] {
         return Request{"POST", "/api/v1/media/" + sha + "/frames/0/match", json, match_body};
       },
       {401, 401, 401, 403, 202, 202, 404, 404}},
      // A match tells where an org-private video was taken: not to another organisation.
      {"GET",
       "/api/v1/imagery/matches/{id}",
       [&] {
         return Request{"GET", match_url, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt",
       [] {
         return Request{"GET", "/api/v1/tiles/observations/10/616/344.mvt", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/tiles.json",
       [] {
         return Request{"GET", "/api/v1/tiles.json", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/map/style.json",
       [] {
         return Request{"GET", "/api/v1/map/style.json", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/map/fonts/{fontstack}/{range}.pbf",
       [] {
         return Request{"GET", "/api/v1/map/fonts/Noto%20Sans%20Regular/0-255.pbf", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/regions",
       [] {
         return Request{"GET", "/api/v1/regions", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/places",
       [] {
         return Request{"GET", "/api/v1/places?q=Kharkiv", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/sun",
       [] {
         return Request{"GET", "/api/v1/sun?lat=50.6&lon=36.58&time=2022-02-16T09:00:00Z", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}/sun",
       [&] {
         return Request{
             "GET", "/api/v1/submissions/" + sub_id + "/sun?time=2022-02-16T09:00:00Z", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/aggregates/observations",
       [] {
         return Request{
             "GET", "/api/v1/aggregates/observations?group_by=oblast&status=any", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/convoys",
       [] {
         return Request{
             "GET", "/api/v1/convoys?from=2022-03-01T00:00:00Z&to=2022-03-09T00:00:00Z", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/convoys/{id}",
       [&] {
         return Request{"GET", "/api/v1/convoys/" + new_track().first, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/convoys/{id}/split",
       [&] {
         auto [first, second] = new_track();
         return Request{"POST", "/api/v1/convoys/" + first + "/split", json,
                        R"({"before":)" + second + "}"};
       },
       {401, 401, 401, 403, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/convoys/{id}/merge",
       [&] {
         auto a = new_track();
         auto b = new_track();
         return Request{"POST", "/api/v1/convoys/" + a.first + "/merge", json,
                        R"({"with":)" + b.first + "}"};
       },
       {401, 401, 401, 403, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/reports",
       [] {
         return Request{"GET", "/api/v1/reports", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/reports",
       [&] {
         return Request{"POST", "/api/v1/reports", json,
                        R"({"kind":"weekly","period":"2022-W07"})"};
       },
       {401, 401, 401, 403, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/reports/{id}",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/reports/{id}.html",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id + ".html", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/reports/{id}.csv",
       [&] {
         return Request{"GET", "/api/v1/reports/" + report_id + ".csv", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/healthz",
       [] {
         return Request{"GET", "/healthz", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/readyz",
       [] {
         return Request{"GET", "/readyz", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/metrics",
       [] {
         return Request{"GET", "/metrics", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/openapi.json",
       [] {
         return Request{"GET", "/api/v1/openapi.json", {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/me",
       [] {
         return Request{"GET", "/api/v1/me", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/organisations",
       [] {
         return Request{"GET", "/api/v1/organisations", {}, ""};
       },
       {401, 401, 401, 403, 403, 403, 403, 200}},
      {"POST",
       "/api/v1/organisations",
       [&] {
         return Request{"POST", "/api/v1/organisations", json,
                        "{\"name\":\"org " + std::to_string(n++) + "\"}"};
       },
       {401, 401, 401, 403, 403, 403, 403, 201}},
      {"GET",
       "/api/v1/users",
       [] {
         return Request{"GET", "/api/v1/users", {}, ""};
       },
       {401, 401, 401, 403, 403, 200, 200, 200}},
      // In the caller's own organisation (the body names none).
      {"POST",
       "/api/v1/users",
       [&] {
         return Request{"POST", "/api/v1/users", json,
                        "{\"name\":\"u" + std::to_string(n++) + "\"}"};
       },
       {401, 401, 401, 403, 403, 201, 201, 201}},
      // Bellingcat's admin: managed by Bellingcat's admins and the coordinator only; to the
      // admin of another organisation it does not exist.
      {"GET",
       "/api/v1/users/{id}",
       [&] {
         return Request{"GET", "/api/v1/users/" + user_id, {}, ""};
       },
       {401, 401, 401, 403, 403, 200, 404, 200}},
      {"POST",
       "/api/v1/users/{id}/tokens",
       [&] {
         return Request{"POST", "/api/v1/users/" + user_id + "/tokens", {}, ""};
       },
       {401, 401, 401, 403, 403, 201, 404, 201}},
      {"DELETE",
       "/api/v1/tokens/{id}",
       [&] {
         return Request{"DELETE", "/api/v1/tokens/" + new_token_id(), {}, ""};
       },
       {401, 401, 401, 403, 403, 204, 404, 204}},
      {"GET",
       "/api/v1/audit",
       [] {
         return Request{"GET", "/api/v1/audit", {}, ""};
       },
       {401, 401, 401, 403, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/submissions",
       [&] {
         return Request{"POST", "/api/v1/submissions", json,
                        R"({"source_url":"https://t.me/c/1"})"};
       },
       {401, 401, 401, 201, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/submissions",
       [] {
         return Request{"GET", "/api/v1/submissions", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}",
       [&] {
         return Request{"GET", "/api/v1/submissions/" + sub_id, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      // Tags on the org-private submission: its submitter and its organisation's analysts and
      // admins; to anybody else it does not exist.
      {"POST",
       "/api/v1/submissions/tags",
       [&] {
         return Request{"POST", "/api/v1/submissions/tags", json,
                        R"({"ids":[)" + sub_id + R"(],"add":["checked"]})"};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/original",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/original", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"POST",
       "/api/v1/media/{sha256}/original/link",
       [&] {
         return Request{"POST", "/api/v1/media/" + sha + "/original/link", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      // The link is the credential: the caller's own token, good or bad, does not matter.
      {"GET",
       "/api/v1/media/{sha256}/original/signed",
       [&] {
         auto link = as(token[kContributor],
                        {"POST", "/api/v1/media/" + sha + "/original/link", {}, ""});
         EXPECT_EQ(link.status, 200) << link.body;
         return Request{"GET", link.json()["url"].get<std::string>(), {}, ""};
       },
       {200, 200, 200, 200, 200, 200, 200, 200},
       true},
      {"GET",
       "/api/v1/media/{sha256}",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha, {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames/{n}.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames/0.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/frames/{n}/thumb.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/frames/0/thumb.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/contact-sheet.jpg",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/contact-sheet.jpg", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"GET",
       "/api/v1/observations",
       [] {
         return Request{"GET", "/api/v1/observations?format=geojson", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"POST",
       "/api/v1/observations",
       [&] {
         return Request{"POST", "/api/v1/observations", json, observation};
       },
       {401, 401, 401, 201, 201, 201, 201, 201}},
      {"POST",
       "/api/v1/observations/import",
       [] {
         return Request{"POST",
                        "/api/v1/observations/import",
                        {{"Content-Type", "text/csv"}},
                        "observed_at,lat,lon,location_precision,equipment\n"
                        "2022-02-21T05:00:00Z,50.4,36.9,locality,truck:12;tank:2\n"};
       },
       {401, 401, 401, 201, 201, 201, 201, 201}},
      {"GET",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"GET", "/api/v1/observations/" + new_observation(), {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"PATCH",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"PATCH",
                        "/api/v1/observations/" + new_observation(),
                        {{"Content-Type", "application/merge-patch+json"}},
                        R"({"notes":"two T-72B3"})"};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"DELETE",
       "/api/v1/observations/{id}",
       [&] {
         return Request{"DELETE", "/api/v1/observations/" + new_observation(), {}, ""};
       },
       {401, 401, 401, 403, 403, 204, 204, 204}},
      {"POST",
       "/api/v1/observations/{id}/verification",
       [&] {
         return Request{"POST", "/api/v1/observations/" + new_observation() + "/verification", json,
                        R"({"verdict":"verified","note":"matched"})"};
       },
       {401, 401, 401, 403, 200, 200, 200, 200}},
      {"GET",
       "/api/v1/submissions/{id}/geolocation",
       [&] {
         return Request{"GET", "/api/v1/submissions/" + sub_id + "/geolocation", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"POST",
       "/api/v1/submissions/{id}/geolocation",
       [&] {
         return Request{
             "POST", "/api/v1/submissions/" + sub_id + "/geolocation", json,
             R"({"lat":50.6,"lon":36.58,"precision":"vicinity","method":"landmark_match"})"};
       },
       {401, 401, 401, 403, 201, 201, 404, 404}},
      {"GET",
       "/api/v1/media/{sha256}/duplicates",
       [&] {
         return Request{"GET", "/api/v1/media/" + sha + "/duplicates", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 404, 404}},
      {"POST",
       "/api/v1/media/{sha256}/duplicates/{other}/verdict",
       [&] {
         return Request{"POST", "/api/v1/media/" + sha + "/duplicates/" + sha2 + "/verdict", json,
                        R"({"verdict":"confirmed","note":"same column"})"};
       },
       {401, 401, 401, 403, 200, 200, 404, 404}},
      // The job of the org-private submission: not found outside Bellingcat.
      {"GET",
       "/api/v1/jobs/{id}",
       [&] {
         return Request{"GET", "/api/v1/jobs/" + job_id, {}, ""};
       },
       // The job analyses an org-private submission: to another organisation it does not exist.
       {401, 401, 401, 403, 200, 200, 404, 404}},
      // The event stream never ends: HEAD asks the same question (may this caller open it?)
      // and gets the answer without the stream.
      {"GET",
       "/api/v1/events",
       [] {
         return Request{"HEAD", "/api/v1/events", {}, ""};
       },
       {401, 401, 401, 200, 200, 200, 200, 200}},
      {"OPTIONS",
       "/api/v1/uploads",
       [] {
         return Request{"OPTIONS", "/api/v1/uploads", {}, ""};
       },
       {204, 204, 204, 204, 204, 204, 204, 204}},
      {"POST",
       "/api/v1/uploads",
       [&] {
         auto h = tus;
         h["Upload-Length"] = "100";
         return Request{"POST", "/api/v1/uploads", h, ""};
       },
       {401, 401, 401, 201, 201, 201, 201, 201}},
      // Uploads belong to the contributor who created them: everyone else gets 404.
      {"GET",
       "/api/v1/uploads/{id}",
       [&] {
         return Request{"GET", new_upload(), {}, ""};
       },
       {401, 401, 401, 200, 404, 404, 404, 404}},
      {"PATCH",
       "/api/v1/uploads/{id}",
       [&] {
         auto h = tus;
         h["Upload-Offset"] = "0";
         h["Content-Type"] = "application/offset+octet-stream";
         return Request{"PATCH", new_upload(), h, std::string(10, 'a')};
       },
       {401, 401, 401, 204, 404, 404, 404, 404}},
      {"DELETE",
       "/api/v1/uploads/{id}",
       [&] {
         return Request{"DELETE", new_upload(), tus, ""};
       },
       {401, 401, 401, 204, 404, 404, 404, 404}},
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
      if ((who == kOtherOrg || who == kCoordinator) && !row.carries_credential) {
        for (const std::string& secret : secrets) {
          // An answer may repeat what the request said (a 404 naming the hash asked for).
          if (req.target.find(secret) != std::string::npos ||
              req.body.find(secret) != std::string::npos) {
            continue;
          }
          EXPECT_EQ(res.body.find(secret), std::string::npos)
              << row.method << " " << row.pattern << " as " << kWhoNames[who] << " shows " << secret
              << ": " << res.body.substr(0, 2000);
          for (const auto& [name, value] : res.headers) {
            EXPECT_EQ(value.find(secret), std::string::npos)
                << row.method << " " << row.pattern << " header " << name << " shows " << secret;
          }
        }
      }
    }
  }

  // Every page of the audit log as one caller sees it.
  auto whole_audit = [&](Who who, const std::string& filter) {
    nlohmann::json items = nlohmann::json::array();
    std::string cursor;
    for (;;) {
      auto page = as(token[who], {"GET", "/api/v1/audit?limit=500" + filter + cursor, {}, ""});
      EXPECT_EQ(page.status, 200) << page.body;
      if (page.status != 200) break;
      const nlohmann::json body = page.json();
      for (const auto& e : body["items"]) items.push_back(e);
      if (!page.json()["next_cursor"].is_string()) break;
      cursor = "&cursor=" + page.json()["next_cursor"].get<std::string>();
    }
    return items;
  };
  // Bellingcat's members see the entries about their private submission (its creation and the
  // geolocations above); nobody else sees them, nor any private value anywhere in the log.
  const std::string about_private = "&object=submission/" + sub_id;
  EXPECT_GE(whole_audit(kAnalyst, about_private).size(), 2u);
  for (Who who : {kOtherOrg, kCoordinator}) {
    EXPECT_EQ(whole_audit(who, about_private).size(), 0u) << kWhoNames[who];
    std::string all = whole_audit(who, "").dump();
    EXPECT_NE(all.find("organisation.create"), std::string::npos);
    for (const std::string& secret : secrets) {
      EXPECT_EQ(all.find(secret), std::string::npos) << kWhoNames[who] << " reads " << secret;
    }
  }
  std::string inside = whole_audit(kAnalyst, "").dump();
  EXPECT_NE(inside.find("privchan7731"), std::string::npos);
  EXPECT_NE(inside.find(sha), std::string::npos);
  // The chain still verifies as a whole.
  auto verify = run_convoywatch({"audit", "verify"}, env_);
  EXPECT_EQ(verify.exit_code, 0) << verify.err;

  server::Router router = server::make_router();
  for (const auto& r : router.routes()) {
    std::string key = std::string(boost::beast::http::to_string(r.method)) + " " + r.pattern;
    EXPECT_TRUE(covered.count(key)) << "route missing from the access table: " << key;
  }
}

// Admins manage their own organisation's users and tokens; the coordinator manages every
// organisation's; organisations are made on purpose, never by a misspelt name.
TEST_F(AccessTest, AdminsManageTheirOwnOrganisationOnly) {
  env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
          {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env_).exit_code, 0);
  // The command line refuses an unknown organisation unless told to create it.
  auto typo = run_convoywatch(
      {"user", "add", "--name", "ada", "--org", "Bellingcat", "--role", "admin"}, env_);
  EXPECT_NE(typo.exit_code, 0);
  EXPECT_NE(typo.err.find("org create"), std::string::npos) << typo.err;
  for (const char* org : {"Bellingcat", "The Insider"}) {
    auto made = run_convoywatch({"org", "create", org}, env_);
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  EXPECT_NE(run_convoywatch({"org", "create", "Bellingcat"}, env_).exit_code, 0);
  const std::string ada = add_user("ada", "Bellingcat", "admin");
  const std::string carla = add_user("carla", "Bellingcat", "contributor");
  const std::string otto = add_user("otto", "The Insider", "admin");
  const std::string cora = add_user("cora", "Task force coordination", "coordinator");
  auto orgs = run_convoywatch({"org", "list"}, env_);
  ASSERT_EQ(orgs.exit_code, 0) << orgs.err;
  EXPECT_NE(orgs.out.find("Task force coordination"), std::string::npos) << orgs.out;
  server_ = std::make_unique<ServerProcess>(env_);
  const std::map<std::string, std::string> json = {{"Content-Type", "application/json"}};
  auto id_of = [&](const std::string& token) {
    return std::to_string(as(token, {"GET", "/api/v1/me", {}, ""}).json()["id"].get<int>());
  };
  const std::string carla_id = id_of(carla), cora_id = id_of(cora);

  // Another organisation's user does not exist for an admin: read, mint a token, revoke one.
  EXPECT_EQ(as(otto, {"GET", "/api/v1/users/" + carla_id, {}, ""}).status, 404);
  auto mint = as(otto, {"POST", "/api/v1/users/" + carla_id + "/tokens", {}, ""});
  EXPECT_EQ(mint.status, 404) << mint.body;
  auto carla_token = as(ada, {"POST", "/api/v1/users/" + carla_id + "/tokens", {}, ""});
  ASSERT_EQ(carla_token.status, 201) << carla_token.body;
  const std::string carla_token_id = std::to_string(carla_token.json()["id"].get<int>());
  EXPECT_EQ(as(otto, {"DELETE", "/api/v1/tokens/" + carla_token_id, {}, ""}).status, 404);
  EXPECT_EQ(as(otto, {"DELETE", "/api/v1/tokens/999999", {}, ""}).status, 404);
  EXPECT_EQ(as(carla, {"GET", "/api/v1/me", {}, ""}).status, 200);  // nothing was revoked
  // The coordinator may.
  EXPECT_EQ(as(cora, {"GET", "/api/v1/users/" + carla_id, {}, ""}).status, 200);
  EXPECT_EQ(as(cora, {"DELETE", "/api/v1/tokens/" + carla_token_id, {}, ""}).status, 204);

  // Lists hold the caller's organisation only (and no coordinator) for an admin.
  auto names = [&](const std::string& token) {
    std::set<std::string> out;
    auto r = as(token, {"GET", "/api/v1/users?limit=500", {}, ""});
    EXPECT_EQ(r.status, 200) << r.body;
    const nlohmann::json body = r.json();
    for (const auto& u : body["items"]) out.insert(u["name"].get<std::string>());
    return out;
  };
  EXPECT_EQ(names(otto), (std::set<std::string>{"otto"}));
  EXPECT_EQ(names(ada), (std::set<std::string>{"ada", "carla"}));
  EXPECT_EQ(names(cora), (std::set<std::string>{"ada", "carla", "otto", "cora"}));

  // Creating users: into another organisation the same 422 as into one that does not exist,
  // and no organisation appears by a typo.
  auto create = [&](const std::string& token, const std::string& body) {
    return as(token, {"POST", "/api/v1/users", json, body});
  };
  for (const auto& [token, body] : std::vector<std::pair<std::string, std::string>>{
           {otto, R"({"name":"mole","org":"Bellingcat"})"},
           {ada, R"({"name":"typo","org":"Bellingcaat"})"},
           {cora, R"({"name":"typo2","org":"Bellingcaat"})"}}) {
    auto r = create(token, body);
    EXPECT_EQ(r.status, 422) << body << ": " << r.body;
    EXPECT_EQ(r.json()["field"], "org") << r.body;
    EXPECT_EQ(r.json()["detail"].get<std::string>().rfind("no organisation named ", 0), 0u)
        << r.body;
  }
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM organisations WHERE name = 'Bellingcaat'"), "0");
  auto own = create(ada, R"({"name":"ben"})");
  ASSERT_EQ(own.status, 201) << own.body;
  EXPECT_EQ(own.json()["org"]["name"], "Bellingcat");
  auto placed = create(cora, R"({"name":"ivan","org":"The Insider","role":"admin"})");
  ASSERT_EQ(placed.status, 201) << placed.body;
  EXPECT_EQ(placed.json()["org"]["name"], "The Insider");
  // Nobody makes a coordinator through the API.
  auto crown = create(cora, R"({"name":"king","role":"coordinator"})");
  EXPECT_EQ(crown.status, 422) << crown.body;
  EXPECT_EQ(crown.json()["field"], "role");

  // A coordinator is out of reach of the admins of their own organisation (a token minted for
  // them would make the admin a coordinator).
  auto local = create(cora, R"({"name":"tfadmin","role":"admin"})");
  ASSERT_EQ(local.status, 201) << local.body;
  const std::string tfadmin = local.json()["token"]["token"];
  EXPECT_EQ(as(tfadmin, {"GET", "/api/v1/users/" + cora_id, {}, ""}).status, 404);
  EXPECT_EQ(as(tfadmin, {"POST", "/api/v1/users/" + cora_id + "/tokens", {}, ""}).status, 404);
  EXPECT_EQ(names(tfadmin), (std::set<std::string>{"tfadmin"}));

  // Organisations through the API: the coordinator's.
  auto org = as(cora, {"POST", "/api/v1/organisations", json, R"({"name":"OCCRP"})"});
  ASSERT_EQ(org.status, 201) << org.body;
  EXPECT_EQ(org.json()["name"], "OCCRP");
  auto again = as(cora, {"POST", "/api/v1/organisations", json, R"({"name":"OCCRP"})"});
  EXPECT_EQ(again.status, 409) << again.body;
  auto empty = as(cora, {"POST", "/api/v1/organisations", json, R"({"name":""})"});
  EXPECT_EQ(empty.status, 422) << empty.body;
  EXPECT_EQ(empty.json()["field"], "name");
  EXPECT_EQ(as(cora, {"POST", "/api/v1/users", json, R"({"name":"olga","org":"OCCRP"})"}).status,
            201);
}

}  // namespace
}  // namespace cw::test
