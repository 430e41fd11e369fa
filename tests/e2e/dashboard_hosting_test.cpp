// The dashboard served by `serve` at / (server/handlers_dashboard.cpp), with a dashboard folder
// made by the test: files with ETags and 304, precompressed copies by Accept-Encoding, a year of
// caching for hashed assets, the app's own routes answered with index.html, a strict CSP on
// HTML, nothing outside the folder, the API untouched; and without a built dashboard, a page
// that says how to build one.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;

const std::string kIndex =
    "<!DOCTYPE html><html><head><script type=\"module\" src=\"/assets/app-3f2a91.js\"></script>"
    "</head><body><div id=\"app\"></div></body></html>";
const std::string kApp = "console.log('convoywatch');\n";

class DashboardHostingTest : public ::testing::Test {
 protected:
  void start(const std::string& dashboard_dir) {
    server_ = std::make_unique<ServerProcess>(std::map<std::string, std::string>{
        {"CONVOYWATCH_DATABASE_URL", db_.url()},
        {"CONVOYWATCH_SERVER_DASHBOARD_DIR", dashboard_dir},
        {"CONVOYWATCH_SERVER_CORS_ORIGINS", "https://dash.example.org"}});
  }
  HttpResponse get(const std::string& target, std::map<std::string, std::string> h = {}) {
    return http_request(server_->port(), "GET", target, h);
  }

  TestDatabase db_{"cw_geo_template"};
  std::string dir_ = make_temp_dir("cw-dashboard-");
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(DashboardHostingTest, ServesTheBuiltApp) {
  fs::create_directories(dir_ + "/assets");
  write_file(dir_ + "/index.html", kIndex);
  write_file(dir_ + "/assets/app-3f2a91.js", kApp);
  write_file(dir_ + "/assets/app-3f2a91.js.gz", "GZIP-COPY");
  write_file(dir_ + "/assets/app-3f2a91.js.br", "BROTLI-COPY");
  write_file(dir_ + "/favicon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>");
  write_file(dir_ + "/.env", "SECRET=1");
  start(dir_);

  auto root = get("/");
  ASSERT_EQ(root.status, 200) << root.body;
  EXPECT_EQ(root.body, kIndex);
  EXPECT_EQ(root.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(root.header("cache-control"), "no-cache");
  const std::string csp = root.header("content-security-policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos) << csp;
  EXPECT_NE(csp.find("connect-src 'self' https://dash.example.org"), std::string::npos) << csp;
  EXPECT_NE(csp.find("worker-src 'self' blob:"), std::string::npos) << csp;
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;

  // The app's own routes, deep links included, are index.html; a missing file is a 404.
  for (const char* route : {"/inbox", "/submissions/12", "/map?from=2022-02-01&z=6"}) {
    auto r = get(route);
    EXPECT_EQ(r.status, 200) << route;
    EXPECT_EQ(r.body, kIndex) << route;
  }
  EXPECT_EQ(get("/assets/missing-123.js").status, 404);

  // Hashed assets: immutable; ETag and 304.
  auto app = get("/assets/app-3f2a91.js");
  ASSERT_EQ(app.status, 200);
  EXPECT_EQ(app.body, kApp);
  EXPECT_EQ(app.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(app.header("cache-control"), "public, max-age=31536000, immutable");
  const std::string etag = app.header("etag");
  ASSERT_FALSE(etag.empty());
  auto again = get("/assets/app-3f2a91.js", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  // Precompressed copies: brotli before gzip, only when accepted.
  auto br = get("/assets/app-3f2a91.js", {{"Accept-Encoding", "gzip, deflate, br"}});
  EXPECT_EQ(br.body, "BROTLI-COPY");
  EXPECT_EQ(br.header("content-encoding"), "br");
  auto gz = get("/assets/app-3f2a91.js", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(gz.body, "GZIP-COPY");
  EXPECT_EQ(gz.header("content-encoding"), "gzip");
  EXPECT_NE(gz.header("etag"), etag);  // another representation, another ETag
  auto plain = get("/assets/app-3f2a91.js", {{"Accept-Encoding", "br;q=0, identity"}});
  EXPECT_EQ(plain.body, kApp);

  // Nothing outside the folder, nothing hidden, and HEAD has no body.
  EXPECT_EQ(get("/.env").status, 404);
  EXPECT_EQ(get("/assets/..%2F..%2Fetc%2Fpasswd").status, 404);
  EXPECT_EQ(raw_exchange(server_->port(), "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n")
                .find("root:"),
            std::string::npos);
  auto head = http_request(server_->port(), "HEAD", "/favicon.svg");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-type"), "image/svg+xml");

  // The API is untouched: an unknown API path is still a problem, not index.html.
  auto api = get("/api/v1/nothing-here");
  EXPECT_EQ(api.status, 404);
  EXPECT_EQ(api.header("content-type"), "application/problem+json");
  EXPECT_EQ(http_request(server_->port(), "POST", "/inbox").status, 404);
}

TEST_F(DashboardHostingTest, WithoutABuiltDashboardRootSaysHowToBuildIt) {
  start("off");
  auto root = get("/");
  EXPECT_EQ(root.status, 200);
  EXPECT_NE(root.body.find("scripts/run"), std::string::npos) << root.body;
  EXPECT_NE(root.body.find("npm --prefix dashboard"), std::string::npos) << root.body;
  EXPECT_EQ(get("/inbox").status, 404);
}

}  // namespace
}  // namespace cw::test
