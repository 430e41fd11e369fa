// The built dashboard (dashboard/dist, `npm run build`) in Debian's headless Chromium against a
// real `convoywatch serve` with the real database: two organisations, a contributor and an
// analyst each. dashboard_browser.mjs plays the story (sign in, a tus upload through the file
// picker, a submission sent through the API appearing and finishing live in the inbox, its
// frames and GPS, its video playing from a signed link, an observation with a heading, two
// submissions tagged at once in the inbox and found by the tag filter, the other organisation's
// analyst verifying it from the keyboard, the map drawn from the vector tiles with the mark at
// its projected pixel and the time slider changing the tiles' from/to, an org-private submission
// invisible to the other organisation, two reference images compared on the imagery screen with
// the before/after swipe and the change overlay, a video frame matched to one of them from its
// submission page with the footprint on the map, the aggregates chart downloaded as PNG, an
// admin issuing and revoking a token) and
// reports what it saw; this test judges it. No console error, page error, Content-Security-Policy
// violation or axe-core violation (on any screen visited) is allowed. Without a built dashboard,
// playwright-core or Chromium the test fails: it never skips.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;

TEST(DashboardBrowserTest, StoryInChromium) {
  const std::string src = CW_SOURCE_DIR;
  const std::string dist = src + "/dashboard/dist";
  ASSERT_TRUE(fs::exists(dist + "/index.html"))
      << "the dashboard is not built: npm --prefix dashboard ci && npm --prefix dashboard run "
         "build (scripts/test does this)";
  const std::string e2e = src + "/tests/e2e";
  ASSERT_TRUE(fs::exists(e2e + "/node_modules/playwright-core"))
      << "run scripts/setup (npm ci in tests/e2e)";
  ASSERT_TRUE(fs::exists("/usr/bin/chromium")) << "Debian package chromium (scripts/setup)";

  TestDatabase db("cw_geo_template");
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()},
                                            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
                                            {"CONVOYWATCH_PIPELINE_WORKERS", "1"},
                                            {"CONVOYWATCH_SERVER_DASHBOARD_DIR", dist}};
  const std::string carla = add_user(env, "carla", "Bellingcat", "contributor");
  const std::string anton = add_user(env, "anton", "Bellingcat", "analyst");
  const std::string otto = add_user(env, "otto", "The Insider", "analyst");
  const std::string olga = add_user(env, "olga", "The Insider", "contributor");
  const std::string ada = add_user(env, "ada", "Bellingcat", "admin");
  ServerProcess server(env);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  std::string dir = make_temp_dir("cw-dashboard-browser-");
  // Uploaded in the browser (tus): a megabyte or two, so the progress bar has something to show.
  std::string upload = make_video(dir, "convoy-upload.mp4",
                                  {"-f", "lavfi", "-i", "testsrc2=duration=2:size=640x360:rate=25",
                                   "-c:v", "mpeg4", "-q:v", "1", "-pix_fmt", "yuv420p"});
  // Sent through the API while the inbox is open: with GPS in its metadata.
  std::string gps = make_video(
      dir, "gps.mp4",
      {"-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25", "-c:v", "libx264",
       "-pix_fmt", "yuv420p", "-g", "25", "-metadata", "creation_time=2022-02-20T06:05:00Z",
       "-metadata", "location=+50.5950+036.5872/"});
  // Bellingcat's org-private submission, which The Insider must never see.
  std::string secret = small_mp4(dir, "secret.mp4");
  std::string form =
      "--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n"
      "{\"visibility\":\"org\",\"description\":\"org only\"}\r\n"
      "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"secret.mp4\"\r\n\r\n" +
      read_file(secret) + "\r\n--B--\r\n";
  auto made = http_request(
      server.port(), "POST", "/api/v1/submissions",
      {{"Authorization", "Bearer " + anton}, {"Content-Type", "multipart/form-data; boundary=B"}},
      form);
  ASSERT_EQ(made.status, 201) << made.body;
  const int private_id = made.json()["id"].get<int>();

  const char* shots_env = std::getenv("CW_DASHBOARD_SCREENSHOTS");
  const std::string shots = shots_env != nullptr && *shots_env ? shots_env : dir + "/shots";
  fs::create_directories(shots);
  const double lat = 50.5950, lon = 36.5872;
  nlohmann::json config = {{"base", base},         {"contributor", carla},
                           {"analyst", otto},      {"upload_video", upload},
                           {"api_video", gps},     {"private_submission_id", private_id},
                           {"lat", lat},           {"lon", lon},
                           {"screenshots", shots}, {"admin", ada}};
  write_file(dir + "/config.json", config.dump());
  auto run =
      run_command({"/usr/bin/env", "node", e2e + "/dashboard_browser.mjs", dir + "/config.json"});
  auto out = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(out.is_discarded()) << run.out << run.err;
  ASSERT_EQ(run.exit_code, 0) << "failed at: " << out.value("step", "") << "\n"
                              << out.dump(2) << "\n"
                              << run.err << server.log().substr(0, 20000);
  (void)olga;

  // 1. Signed in: the header names the user and the organisation; the inbox is the first screen.
  EXPECT_NE(out["header"].get<std::string>().find("carla"), std::string::npos) << out["header"];
  EXPECT_NE(out["header"].get<std::string>().find("Bellingcat"), std::string::npos);
  EXPECT_EQ(out["url_after_sign_in"], "/inbox");
  // 2. The tus upload's bar reached the file's size.
  EXPECT_TRUE(out["upload_done"].get<bool>()) << out.dump();
  EXPECT_EQ(out["upload_max"].get<int64_t>(), static_cast<int64_t>(fs::file_size(upload)));
  EXPECT_EQ(out["upload_progress"].back().get<int64_t>(),
            static_cast<int64_t>(fs::file_size(upload)));
  // 3. Live: the API's submission appeared and finished without a reload.
  EXPECT_LT(out["row_appeared_ms"].get<int>(), 10000);
  EXPECT_TRUE(out["analysis_done_live"].get<bool>());
  EXPECT_FALSE(out["reloaded"].get<bool>());
  // 4. Frames and the GPS of the file.
  EXPECT_GT(out["frames"].get<int>(), 0);
  EXPECT_NE(out["gps"].get<std::string>().find("50.59"), std::string::npos) << out["gps"];
  EXPECT_TRUE(out["description_shown"].get<bool>());  // Cyrillic shown as written
  EXPECT_NE(out["sun"]["azimuth"].get<std::string>().find("°"), std::string::npos) << out["sun"];
  EXPECT_FALSE(out["sun"]["shadow"].get<std::string>().empty()) << out["sun"];
  // The video: a signed link of this media's original, played to its metadata (3 s, 320 wide).
  const auto& video = out["video"];
  EXPECT_EQ(video["src"].get<std::string>().rfind(
                "/api/v1/media/" + sha256_of_file(gps) + "/original/signed?", 0),
            0u)
      << video;
  EXPECT_GE(video["ready_state"].get<int>(), 1) << video;
  EXPECT_NEAR(video["duration"].get<double>(), 3.0, 0.2) << video;
  EXPECT_EQ(video["width"], 320) << video;
  // 5. The observation was made, with derived movement from its heading.
  EXPECT_GT(out["observation_id"].get<int>(), 0);
  EXPECT_NE(out["movement"], "—");
  // Bulk tagging: all three rows (one a colleague's) refused as a whole, nothing tagged; the two
  // own rows tagged; the tag filter (tag= in the URL and the API call) lists exactly them.
  const auto& bulk = out["bulk"];
  EXPECT_EQ(bulk["all_count"], "3 selected") << bulk;
  EXPECT_NE(bulk["refused"].get<std::string>().find("ask an analyst"), std::string::npos) << bulk;
  EXPECT_EQ(bulk["tagged_after_refusal"], 0) << bulk;
  EXPECT_EQ(bulk["count"], "2 selected") << bulk;
  EXPECT_NE(bulk["done"].get<std::string>().find("added to 2 submissions"), std::string::npos)
      << bulk;
  EXPECT_EQ(bulk["alerts_after"], 0) << bulk;
  EXPECT_EQ(bulk["filtered_ids"], bulk["own_ids"]) << bulk;
  EXPECT_NE(bulk["filter_url"].get<std::string>().find("tag=story-"), std::string::npos) << bulk;
  EXPECT_EQ(bulk["api_tag_queries"].size(), 1u) << bulk;
  // 6. The other organisation: no private submission anywhere; verified from the keyboard.
  EXPECT_EQ(out["private_in_inbox"], 0);
  EXPECT_NE(out["private_page"].get<std::string>().find("not visible to you"), std::string::npos)
      << out["private_page"];
  EXPECT_TRUE(out["current_is_observation"].get<bool>());
  EXPECT_EQ(out["status_after_verify"], "verified");
  // 7. The aggregates: the day of the observation, its oblast, its 4 vehicles.
  EXPECT_EQ(out["aggregate_rows"],
            nlohmann::json::parse(R"([["2022-02-20", "RU-BEL", "4", "4", "0"]])"))
      << out["aggregate_rows"];
  // The chart downloaded as PNG: a PNG of the chart's size that shows its bars.
  const auto& png = out["chart_png"];
  EXPECT_EQ(png["signature"], "89504e470d0a1a0a") << png;
  EXPECT_EQ(png["width"], png["chart"]["width"]) << png;
  EXPECT_EQ(png["height"], png["chart"]["height"]) << png;
  EXPECT_EQ(png["name"], "vehicles-since-2022-02-01.png") << png;
  EXPECT_EQ(png["alerts"], 0) << png;
  EXPECT_GT(png["pixels"]["red"].get<int>(), 0) << png;  // the bars toward the border
  // 8. The map draws from the vector tiles: the server's unfiltered observation layers replaced
  // by the screen's, observation, convoy and imagery tiles requested, grouped cells at zoom 5.
  const auto& low = out["map_low"];
  EXPECT_EQ(low["layers"], nlohmann::json::parse(R"(["observation-points", "observation-cells",
      "convoy-lines", "convoy-arrows", "imagery-fill"])"))
      << low;
  EXPECT_EQ(low["server_layers_left"], 0) << low;
  EXPECT_GE(low["cells"].get<int>(), 1) << low;
  EXPECT_GE(low["cell_count"].get<int>(), 1) << low;
  EXPECT_EQ(out["tile_layers_requested"],
            nlohmann::json::parse(R"(["convoys", "imagery", "observations"])"));
  EXPECT_NE(out["map_count_text"].get<std::string>().find("observations in view"),
            std::string::npos);
  // At zoom 11 (a deep link) the mark is rendered at the pixel its coordinates project to,
  // inside the map, and only there; the list beside the map names it.
  EXPECT_TRUE(out["map"]["inside"].get<bool>()) << out["map"];
  EXPECT_TRUE(out["map"]["has_mark"].get<bool>()) << out["map"];
  EXPECT_EQ(out["map"]["far_ids"], nlohmann::json::array()) << out["map"];
  EXPECT_EQ(out["in_view_listed"], 1);
  // The time slider: per day today, nothing; Home (the first observation's day) shows the mark,
  // with from/to in the page's URL and in the tiles' URLs (observations and convoys); the next
  // day hides it; a reload keeps the day.
  EXPECT_FALSE(out["slider_today"]["mark"].get<bool>()) << out["slider_today"];
  EXPECT_TRUE(out["slider_day"]["mark"].get<bool>()) << out["slider_day"];
  EXPECT_NE(out["slider_day"]["valuetext"].get<std::string>().find("2022-02-20"), std::string::npos)
      << out["slider_day"];
  EXPECT_NE(out["slider_day"]["url"].get<std::string>().find("to=2022-02-21&from=2022-02-20"),
            std::string::npos)
      << out["slider_day"];
  EXPECT_FALSE(out["slider_next_day"]["mark"].get<bool>()) << out["slider_next_day"];
  const std::string day = "?from=2022-02-20T00:00:00Z&to=2022-02-21T00:00:00Z";
  const std::string next = "?from=2022-02-21T00:00:00Z&to=2022-02-22T00:00:00Z";
  for (const char* layer : {"observations", "convoys"}) {
    const auto& qs = out["tile_queries"][layer];
    EXPECT_NE(std::find(qs.begin(), qs.end(), day), qs.end()) << layer << qs;
    EXPECT_NE(std::find(qs.begin(), qs.end(), next), qs.end()) << layer << qs;
  }
  EXPECT_TRUE(out["after_reload"]["mark"].get<bool>()) << out["after_reload"];
  EXPECT_NE(out["after_reload"]["valuetext"].get<std::string>().find("2022-02-20"),
            std::string::npos);
  // Clicking the mark opens its observation.
  EXPECT_EQ(out["convoys"]["url"], "/convoys") << out["convoys"];
  EXPECT_EQ(out["convoys"]["alerts"], 0) << out["convoys"];
  EXPECT_NE(out["convoys"]["window"].get<std::string>().find("track"), std::string::npos)
      << out["convoys"];
  EXPECT_GE(out["convoys"]["rows"].get<int>(), 1) << out["convoys"];  // the column of the 21st
  EXPECT_TRUE(out["shade"]["url"].get<bool>()) << out["shade"];
  // The verified observation's vehicles (3 trucks, 1 tank) counted for its oblast.
  EXPECT_NE(out["shade"]["legend"].get<std::string>().find("Vehicles per oblast"),
            std::string::npos)
      << out["shade"];
  const auto& csv = out["export_csv"]["lines"];
  ASSERT_GE(csv.size(), 2u) << out["export_csv"];
  EXPECT_EQ(csv[0].get<std::string>().rfind("id,observed_at,lat,lon", 0), 0u) << csv[0];
  EXPECT_EQ(
      csv[1].get<std::string>().rfind(std::to_string(out["observation_id"].get<int>()) + ",", 0),
      0u)
      << csv;
  EXPECT_EQ(out["clicked_to"], "/observations/" + std::to_string(out["observation_id"].get<int>()));
  // The imagery screen: both images listed; the comparison done as the API says, its blobs
  // listed; the swipe (50 %, after only, the overlay, before only) drew four different pictures;
  // a reload keeps the comparison, back leaves it.
  const auto& imagery = out["imagery"];
  EXPECT_GE(imagery["rows"].get<int>(), 2) << imagery;
  EXPECT_EQ(imagery["api_state"], "done") << imagery;
  EXPECT_EQ(imagery["states"].back(), "Done.") << imagery;
  EXPECT_GE(imagery["api_blob_count"].get<int>(), 1) << imagery;
  EXPECT_EQ(imagery["blob_count_shown"], std::to_string(imagery["api_blob_count"].get<int>()))
      << imagery;
  EXPECT_EQ(imagery["blob_rows"], imagery["api_blob_count"]) << imagery;
  const auto& swipe = imagery["swipe"];
  EXPECT_EQ(swipe["after_only"]["text"], "After only") << swipe;
  EXPECT_EQ(swipe["before_only"]["text"], "Before only") << swipe;
  std::set<int64_t> sums;
  for (const char* k : {"half", "after_only", "overlay", "before_only"}) {
    sums.insert(swipe[k]["sum"].get<int64_t>());
  }
  EXPECT_EQ(sums.size(), 4u) << swipe;
  EXPECT_NE(imagery["after_reload"]["url"].get<std::string>().find(
                "comparison=" + std::to_string(imagery["comparison"].get<int>())),
            std::string::npos)
      << imagery;
  EXPECT_EQ(imagery["after_reload"]["blob_rows"], imagery["api_blob_count"]) << imagery;
  EXPECT_EQ(imagery["back"].get<std::string>().find("comparison="), std::string::npos) << imagery;
  // The frame match from the submission page: the imagery near the claimed point offered (a
  // bbox asked), the chosen frame and image matched (202), the states until "Done.", the result
  // as the API's, and the API's footprint in the map's source and drawn by its layer.
  const auto& fm = out["frame_match"];
  EXPECT_FALSE(fm["imagery_bbox"].empty()) << fm;
  EXPECT_NE(std::find(fm["offered"].begin(), fm["offered"].end(), imagery["before"]),
            fm["offered"].end())
      << fm;
  EXPECT_EQ(fm["post"]["status"], 202) << fm;
  EXPECT_EQ(fm["api"]["state"], "done") << fm;
  EXPECT_EQ(fm["api"]["matched"], true) << fm;
  EXPECT_EQ(fm["api"]["imagery_id"], imagery["before"]) << fm;
  EXPECT_EQ(std::to_string(fm["api"]["frame"].get<int>()), fm["frame"].get<std::string>()) << fm;
  EXPECT_EQ(fm["states"].back(), "Done.") << fm;
  EXPECT_EQ(fm["result"].get<std::string>().rfind("Matched:", 0), 0u) << fm;
  EXPECT_TRUE(fm["footprint_as_api"].get<bool>()) << fm;
  EXPECT_EQ(fm["map"]["layer"], "line") << fm;
  EXPECT_NE(std::find(fm["map"]["drawn"].begin(), fm["map"]["drawn"].end(), "match"),
            fm["map"]["drawn"].end())
      << fm;
  // 9. The admin's new token: shown once, copied, accepted by the API; revoked: refused.
  const auto& token = out["token"];
  EXPECT_TRUE(token["shape"].get<bool>()) << token;
  EXPECT_TRUE(token["clipboard_matches"].get<bool>()) << token;
  EXPECT_EQ(token["me"], "carla");
  EXPECT_NE(token["row"].get<std::string>().find("laptop"), std::string::npos) << token;
  EXPECT_EQ(token["shown_after_revoke"], 0);
  EXPECT_EQ(token["status_after_revoke"], 401);
  // axe-core: no violation of any impact on any screen.
  for (const char* screen :
       {"sign-in", "inbox", "submission", "observation", "inbox-tags", "verify", "aggregates",
        "convoys", "map", "map-shaded", "imagery", "imagery-comparison", "submission-match",
        "admin", "admin-new-token"}) {
    ASSERT_TRUE(out["axe"].contains(screen)) << screen;
    EXPECT_EQ(out["axe"][screen], nlohmann::json::array()) << screen << "\n"
                                                           << out["axe"][screen].dump(2);
  }

  // No console errors, page errors or CSP violations. Failed loads: only the base map's style
  // while the server has none (the map says so), the private submission's 404 at its URL and the
  // refused bulk tagging's 403.
  EXPECT_EQ(out["console_errors"], nlohmann::json::array()) << out.dump(2);
  EXPECT_EQ(out["page_errors"], nlohmann::json::array()) << out.dump(2);
  EXPECT_EQ(out["csp_violations"], nlohmann::json::array()) << out.dump(2);
  for (const auto& f : out["failed_resources"]) {
    const std::string s = f.get<std::string>();
    const bool style = s.find("/api/v1/map/style.json") != std::string::npos;
    const bool secret_404 =
        s.find("/api/v1/submissions/" + std::to_string(private_id)) != std::string::npos;
    const bool tags_403 = s.find("/api/v1/submissions/tags") != std::string::npos &&
                          s.find("403") != std::string::npos;
    EXPECT_TRUE(style || secret_404 || tags_403) << s;
    if (style) {
      EXPECT_FALSE(out["map_problem"].is_null()) << "the map must say why it is blank";
    }
  }
  EXPECT_GE(out["screenshots"].size(), 12u);
}

}  // namespace
}  // namespace cw::test
