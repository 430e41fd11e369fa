// Reference imagery end to end, over real HTTP against `convoywatch serve` with its embedded
// worker: a GeoTIFF the test writes with GDAL (UTM zone 37N, so the footprint is reprojected),
// listed by bbox and time, served as XYZ tiles; a before/after comparison of aero1.jpg against a
// warped copy with planted vehicles (Debian's opencv-doc), and one that cannot register; frame
// matching of a real analysed video frame (a video made of aero3.jpg) against aero1.jpg, an
// unrelated image, and tie points; and bad input that must leave nothing behind.
#include <cpl_conv.h>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "geo/tiles.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kData = "/usr/share/doc/opencv-doc/examples/data";

cv::Mat load(const std::string& name) {
  cv::Mat m = cv::imread((kData / name).string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(m.empty()) << (kData / name) << " missing: install opencv-doc (scripts/setup)";
  return m;
}

// A 3-band Byte GeoTIFF of `bgr` in EPSG:32637 (UTM 37N) with 0.5 m pixels.
void write_geotiff(const std::string& path, const cv::Mat& bgr, double x0, double y0) {
  GDALAllRegister();
  GDALDriverH driver = GDALGetDriverByName("GTiff");
  ASSERT_NE(driver, nullptr);
  GDALDatasetH ds = GDALCreate(driver, path.c_str(), bgr.cols, bgr.rows, 3, GDT_Byte, nullptr);
  ASSERT_NE(ds, nullptr);
  double gt[6] = {x0, 0.5, 0, y0, 0, -0.5};
  ASSERT_EQ(GDALSetGeoTransform(ds, gt), CE_None);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  ASSERT_EQ(OSRImportFromEPSG(srs, 32637), OGRERR_NONE);
  ASSERT_EQ(GDALSetSpatialRef(ds, srs), CE_None);
  OSRDestroySpatialReference(srs);
  std::vector<cv::Mat> channels;
  cv::split(bgr, channels);
  for (int b = 0; b < 3; ++b) {
    cv::Mat band = channels[2 - b].clone();  // band 1 = R
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Write, 0, 0, bgr.cols, bgr.rows,
                           band.data, bgr.cols, bgr.rows, GDT_Byte, 0, 0),
              CE_None);
  }
  GDALClose(ds);
}

cv::Point2d project(const cv::Matx33d& h, const cv::Point2d& p) {
  const cv::Vec3d v = h * cv::Vec3d(p.x, p.y, 1);
  return {v[0] / v[2], v[1] / v[2]};
}

size_t count_files(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

struct Part {
  std::string name;
  std::string filename;  // empty: a plain field
  std::string content;
};

class ImageryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("cw-imagery-");
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
            {"CONVOYWATCH_PIPELINE_WORKERS", "1"},
            {"CONVOYWATCH_PIPELINE_POLL_INTERVAL_MS", "500"}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    analyst_ = add_user("ana", "Bellingcat", "analyst");
    contributor_ = add_user("carl", "Bellingcat", "contributor");
    server_ = std::make_unique<ServerProcess>(env_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string add_user(const std::string& name, const std::string& org, const std::string& role) {
    return test::add_user(env_, name, org, role);
  }
  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "", const std::string& token = "") {
    return http_request(server_->port(), method, target,
                        {{"Authorization", "Bearer " + (token.empty() ? analyst_ : token)},
                         {"Content-Type", "application/json"}},
                        body, 60000);
  }
  HttpResponse multipart(const std::string& target, const std::vector<Part>& parts,
                         const std::string& token = "") {
    const std::string boundary = "ImAgErYbOuNdArY";
    std::string body;
    for (const auto& p : parts) {
      body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + p.name + "\"";
      if (!p.filename.empty()) body += "; filename=\"" + p.filename + "\"";
      body += "\r\n\r\n" + p.content + "\r\n";
    }
    body += "--" + boundary + "--\r\n";
    return http_request(server_->port(), "POST", target,
                        {{"Authorization", "Bearer " + (token.empty() ? analyst_ : token)},
                         {"Content-Type", "multipart/form-data; boundary=" + boundary}},
                        body, 120000);
  }
  HttpResponse upload(const std::string& file, const std::string& metadata,
                      const std::string& token = "") {
    return multipart(
        "/api/v1/imagery",
        {{"metadata", "", metadata}, {"file", fs::path(file).filename(), read_file(file)}}, token);
  }
  // Polls a task until it is done or failed (up to `limit`).
  // `running_progress` collects the progress values seen while it ran.
  nlohmann::json wait_task(const std::string& url, std::chrono::seconds limit = 300s,
                           std::set<int>* running_progress = nullptr) {
    nlohmann::json t;
    auto until = std::chrono::steady_clock::now() + limit;
    int last_progress = -1;
    while (std::chrono::steady_clock::now() < until) {
      auto r = call("GET", url);
      EXPECT_EQ(r.status, 200) << r.body;
      t = r.json();
      int p = t.value("progress", 0);
      EXPECT_GE(p, std::max(0, last_progress)) << "progress went back: " << t.dump();
      if (t["state"] == "running") {
        last_progress = p;
        if (running_progress != nullptr) running_progress->insert(p);
      }
      if (t["state"] == "done" || t["state"] == "failed") return t;
      std::this_thread::sleep_for(250ms);
    }
    ADD_FAILURE() << url << " did not finish: " << t.dump() << server_->log();
    return t;
  }
  // Nothing of a refused upload is left: no row, no stored file, no temp file.
  void expect_nothing_left(size_t rows, size_t stored, const std::string& what) {
    EXPECT_EQ(db_.query_value("SELECT count(*) FROM imagery"), std::to_string(rows)) << what;
    EXPECT_EQ(count_files(server_->media_root() + "/sha256"), stored) << what;
    EXPECT_EQ(count_files(server_->media_root() + "/tmp"), 0u) << what;
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::string analyst_, contributor_;
  std::unique_ptr<ServerProcess> server_;
};

std::string meta(const std::string& captured_at, const std::string& source,
                 const std::string& corners = "") {
  std::string m = R"({"captured_at": ")" + captured_at + R"(", "source": ")" + source + "\"";
  if (!corners.empty()) m += ", \"corners\": " + corners;
  return m + "}";
}

// [[lat, lon] × 4] of a footprint's bounding box: TL, TR, BR, BL.
std::string box_corners(double s, double w, double n, double e) {
  return fmt::format("[[{},{}],[{},{}],[{},{}],[{},{}]]", n, w, n, e, s, e, s, w);
}

TEST_F(ImageryE2eTest, GeoTiffListTilesAndBeforeAfterComparison) {
  const cv::Mat aero1 = load("aero1.jpg");
  ASSERT_FALSE(aero1.empty());
  const std::string tif = dir_ + "/before.tif";
  write_geotiff(tif, aero1, 330000, 5607000);
  auto up = upload(tif, meta("2022-02-14T08:30:00Z", "aerial photo"));
  ASSERT_EQ(up.status, 201) << up.body << server_->log();
  auto before = up.json();
  EXPECT_EQ(before["kind"], "geotiff");
  EXPECT_EQ(before["width"], 640);
  EXPECT_EQ(before["height"], 480);
  EXPECT_EQ(before["bands"], 3);
  EXPECT_EQ(before["sha256"], sha256_of_file(tif));
  EXPECT_NE(before["crs_wkt"].get<std::string>().find("UTM zone 37N"), std::string::npos);
  EXPECT_NEAR(before["ground_resolution_m"].get<double>(), 0.5, 0.01);
  EXPECT_EQ(up.header("location"), "/api/v1/imagery/" + std::to_string(before["id"].get<int>()));
  ASSERT_EQ(before["footprint"]["type"], "Polygon");
  double w = 180, s = 90, e = -180, n = -90;
  for (const auto& p : before["footprint"]["coordinates"][0]) {
    w = std::min(w, p[0].get<double>());
    e = std::max(e, p[0].get<double>());
    s = std::min(s, p[1].get<double>());
    n = std::max(n, p[1].get<double>());
  }
  // 320 m × 240 m of UTM 37N near Belgorod, turned by the meridian convergence (about 1.9°
  // there), so its bounding box is about 250 m high.
  EXPECT_NEAR(s, 50.59, 0.05);
  EXPECT_NEAR(w, 36.6, 0.05);
  EXPECT_NEAR((n - s) * 111200, 250, 8);
  const std::string sha = before["sha256"];
  const std::string stored =
      server_->media_root() + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  EXPECT_EQ(read_file(stored), read_file(tif));
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM audit_log WHERE action = 'imagery.create'"), "1");
  // The same bytes again: 409, nothing new.
  EXPECT_EQ(upload(tif, meta("2022-02-14T08:30:00Z", "aerial photo")).status, 409);
  expect_nothing_left(1, 1, "duplicate");

  // List: bbox hit and miss, time range, paging.
  std::string id = std::to_string(before["id"].get<int>());
  auto hit = call("GET", fmt::format("/api/v1/imagery?bbox={},{},{},{}", w - 0.01, s - 0.01,
                                     w + 0.001, s + 0.001));
  ASSERT_EQ(hit.status, 200) << hit.body;
  ASSERT_EQ(hit.json()["items"].size(), 1u);
  EXPECT_EQ(hit.json()["items"][0]["id"], before["id"]);
  EXPECT_EQ(call("GET", "/api/v1/imagery?bbox=30,45,31,46").json()["items"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/imagery?from=2022-02-15T00:00:00Z").json()["items"].size(), 0u);
  EXPECT_EQ(call("GET", "/api/v1/imagery?from=2022-02-14T00:00:00Z&to=2022-02-15T00:00:00Z")
                .json()["items"]
                .size(),
            1u);
  EXPECT_EQ(call("GET", "/api/v1/imagery?bbox=1,2,3").json()["field"], "bbox");
  EXPECT_EQ(call("GET", "/api/v1/imagery?to=yesterday").json()["field"], "to");
  EXPECT_EQ(call("GET", "/api/v1/imagery/" + id, "", contributor_).status, 200);

  // A tile at zoom 18 on the image's centre: a PNG with opaque pixels; one far away is empty.
  auto t = geo::tile_for(geo::GeoPoint{(s + n) / 2, (w + e) / 2, std::nullopt}, 18);
  ASSERT_TRUE(t.ok());
  std::string tile_url = fmt::format("/api/v1/imagery/{}/tiles/{}/{}/{}.png", id, t->z, t->x, t->y);
  auto tile = call("GET", tile_url);
  ASSERT_EQ(tile.status, 200) << tile.body;
  EXPECT_EQ(tile.header("content-type"), "image/png");
  EXPECT_NE(tile.header("cache-control").find("immutable"), std::string::npos);
  cv::Mat png =
      cv::imdecode(std::vector<uchar>(tile.body.begin(), tile.body.end()), cv::IMREAD_UNCHANGED);
  ASSERT_EQ(png.type(), CV_8UC4);
  ASSERT_EQ(png.size(), cv::Size(256, 256));
  std::vector<cv::Mat> ch;
  cv::split(png, ch);
  EXPECT_GT(cv::countNonZero(ch[3]), 256 * 256 / 2);  // the image covers most of the tile
  cv::Scalar mean = cv::mean(png, ch[3]);
  EXPECT_GT(mean[0] + mean[1] + mean[2], 60);  // real pixels, not black
  auto again = http_request(
      server_->port(), "GET", tile_url,
      {{"Authorization", "Bearer " + analyst_}, {"If-None-Match", tile.header("etag")}});
  EXPECT_EQ(again.status, 304);
  auto far = call("GET", fmt::format("/api/v1/imagery/{}/tiles/18/0/0.png", id));
  ASSERT_EQ(far.status, 200);
  png = cv::imdecode(std::vector<uchar>(far.body.begin(), far.body.end()), cv::IMREAD_UNCHANGED);
  cv::split(png, ch);
  EXPECT_EQ(cv::countNonZero(ch[3]), 0);
  for (const std::string bad : {"23/0/0", "18/262144/0", "18/0/-1", "a/b/c", "1/2/3x"}) {
    auto r = call("GET", "/api/v1/imagery/" + id + "/tiles/" + bad + ".png");
    EXPECT_EQ(r.status, 404) << bad << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << bad;
  }
  EXPECT_EQ(call("GET", "/api/v1/imagery/999/tiles/1/0/0.png").status, 404);

  // After: aero1 warped by a known homography, 16 dark vehicle-sized blobs at known places of
  // before's grid, other light and noise; a PNG with corners.
  const double a = 4.0 * CV_PI / 180.0, k = 1.06;
  const cv::Matx33d known(k * std::cos(a), -k * std::sin(a), 30, k * std::sin(a), k * std::cos(a),
                          -20, 2e-5, -1e-5, 1);
  cv::Mat after;
  cv::warpPerspective(aero1, after, cv::Mat(known), aero1.size(), cv::INTER_LINEAR,
                      cv::BORDER_REFLECT);
  cv::Mat grey;
  cv::cvtColor(aero1, grey, cv::COLOR_BGR2GRAY);
  std::mt19937 rng(8);
  std::uniform_real_distribution<double> ux(70, aero1.cols - 70), uy(70, aero1.rows - 70);
  std::vector<cv::Point2d> planted;
  for (int tries = 0; planted.size() < 16 && tries < 10000; ++tries) {
    const cv::Point2d p(ux(rng), uy(rng));
    const cv::Rect around(static_cast<int>(p.x) - 6, static_cast<int>(p.y) - 6, 13, 13);
    if (cv::mean(grey(around))[0] < 110) continue;
    bool apart = true;
    for (const auto& q : planted) apart = apart && cv::norm(p - q) >= 30;
    if (apart) planted.push_back(p);
  }
  ASSERT_EQ(planted.size(), 16u);
  for (const auto& p : planted) {
    cv::ellipse(after, cv::RotatedRect(cv::Point2f(project(known, p)), cv::Size2f(8, 4), 30),
                cv::Scalar(25, 25, 30), cv::FILLED, cv::LINE_AA);
  }
  cv::Mat noisy, noise(after.size(), CV_16SC3);
  after.convertTo(noisy, CV_16SC3, 0.85, 18);
  cv::RNG(7).fill(noise, cv::RNG::NORMAL, 0, 4);
  noisy += noise;
  noisy.convertTo(after, CV_8UC3);
  const std::string after_png = dir_ + "/after.png";
  ASSERT_TRUE(cv::imwrite(after_png, after));
  auto up2 =
      upload(after_png, meta("2022-02-20T08:30:00Z", "aerial photo", box_corners(s, w, n, e)));
  ASSERT_EQ(up2.status, 201) << up2.body << server_->log();
  EXPECT_EQ(up2.json()["kind"], "image");
  EXPECT_EQ(up2.json()["corners"][0][0].get<double>(), n);
  std::string after_id = std::to_string(up2.json()["id"].get<int>());

  // The area: the western half of before's footprint.
  const double mid = (w + e) / 2;
  std::string area = fmt::format(
      R"({{"type":"Polygon","coordinates":[[[{w},{s}],[{m},{s}],[{m},{n}],[{w},{n}],[{w},{s}]]]}})",
      fmt::arg("w", w - 0.01), fmt::arg("s", s - 0.01), fmt::arg("m", mid),
      fmt::arg("n", n + 0.01));
  auto cmp = call("POST", "/api/v1/imagery/compare",
                  R"({"before":)" + id + R"(,"after":)" + after_id + R"(,"area":)" + area + "}");
  ASSERT_EQ(cmp.status, 202) << cmp.body;
  // The embedded worker may have claimed it already.
  EXPECT_TRUE(cmp.json()["state"] == "queued" || cmp.json()["state"] == "running") << cmp.body;
  EXPECT_EQ(cmp.header("location"), cmp.json()["url"]);
  auto done = wait_task(cmp.json()["url"]);
  ASSERT_EQ(done["state"], "done") << done.dump() << server_->log();
  EXPECT_EQ(done["progress"], 100);
  const auto& res = done["result"];
  EXPECT_GE(res["inliers"].get<int>(), 50) << res.dump();
  EXPECT_LT(res["residual_px"].get<double>(), 2.0) << res.dump();
  EXPECT_TRUE(res["ecc"].is_number()) << res.dump();
  int found = 0, in_area = 0, west = 0;
  for (const auto& p : planted) {
    bool hit = false;
    for (const auto& b : res["blobs"]) {
      hit = hit || cv::norm(cv::Point2d(b["centroid_px"][0].get<double>(),
                                        b["centroid_px"][1].get<double>()) -
                            p) <= 4.0;
    }
    found += hit ? 1 : 0;
    west += p.x < aero1.cols / 2.0 - 4 ? 1 : 0;
  }
  for (const auto& b : res["blobs"]) {
    EXPECT_NEAR(b["area_m2"].get<double>(), b["area_px"].get<int>() * 0.25,
                0.05 * b["area_px"].get<int>());
    EXPECT_GE(b["centroid"]["lat"].get<double>(), s);
    EXPECT_LE(b["centroid"]["lat"].get<double>(), n);
    in_area += b["centroid"]["lon"].get<double>() < mid ? 1 : 0;
  }
  std::cout << "compare: " << res["inliers"] << " inliers, residual " << res["residual_px"]
            << " px, ecc " << res["ecc"] << ", " << found << "/16 planted found, "
            << res["blob_count"] << " blobs, " << res["count_in_area"] << " in the area\n";
  EXPECT_GE(found, 14) << res.dump();  // ≥ 90 % of 16 (rounded down)
  EXPECT_LE(res["blob_count"].get<int>(), 18) << res.dump();
  EXPECT_EQ(res["count_in_area"].get<int>(), in_area);
  EXPECT_NEAR(in_area, west, 2);
  for (const char* name : {"overlay", "mask"}) {
    auto img = call("GET", done[std::string(name) + "_url"].get<std::string>());
    ASSERT_EQ(img.status, 200) << name << ": " << img.body;
    EXPECT_EQ(img.header("content-type"), "image/png");
    cv::Mat m =
        cv::imdecode(std::vector<uchar>(img.body.begin(), img.body.end()), cv::IMREAD_UNCHANGED);
    EXPECT_EQ(m.size(), aero1.size()) << name;
  }
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM audit_log WHERE action LIKE 'imagery.%'"), "4");
  EXPECT_EQ(run_convoywatch({"audit", "verify"}, env_).exit_code, 0);

  // An unrelated pair: the job fails once, with the reason.
  const std::string graf = (kData / "graf1.png").string();
  auto up3 = upload(graf, meta("2022-02-21T08:30:00Z", "Maxar", box_corners(s, w, n, e)));
  ASSERT_EQ(up3.status, 201) << up3.body;
  auto bad = call(
      "POST", "/api/v1/imagery/compare",
      R"({"before":)" + id + R"(,"after":)" + std::to_string(up3.json()["id"].get<int>()) + "}");
  ASSERT_EQ(bad.status, 202) << bad.body;
  auto failed = wait_task(bad.json()["url"]);
  EXPECT_EQ(failed["state"], "failed") << failed.dump();
  EXPECT_EQ(failed["attempts"], 1);
  EXPECT_TRUE(failed["result"].is_null());
  const std::string reason = failed["last_error"].is_string() ? failed["last_error"] : "";
  EXPECT_TRUE(reason.find("too few") != std::string::npos ||
              reason.find("residual too large") != std::string::npos ||
              reason.find("degenerate") != std::string::npos)
      << reason;
  EXPECT_EQ(call("GET", bad.json()["url"].get<std::string>() + "/overlay.png").status, 404);
}

TEST_F(ImageryE2eTest, BadInputIsRefusedAndLeavesNothingBehind) {
  const std::string ok_meta = meta("2022-02-14T08:30:00Z", "Sentinel-2");
  const std::string corners = "[[50.6,36.6],[50.6,36.7],[50.5,36.7],[50.5,36.6]]";
  const std::string text = dir_ + "/notes.txt";
  write_file(text, "these are not pixels\n");
  const std::string fake_tif = dir_ + "/fake.tif";
  write_file(fake_tif, std::string("II*\0", 4) + std::string(4000, 'x'));
  const std::string png = (kData / "graf1.png").string();
  struct Case {
    std::string what;
    std::string file;
    std::string metadata;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"not an image", text, ok_meta, 422, "file"},
      {"TIFF magic, no TIFF", fake_tif, ok_meta, 422, "file"},
      {"PNG without corners", png, ok_meta, 422, "corners"},
      {"three corners", png, meta("2022-02-14T08:30:00Z", "Maxar", "[[50,36],[50,37],[49,37]]"),
       422, "corners"},
      {"latitude 95", png,
       meta("2022-02-14T08:30:00Z", "Maxar", "[[95,36],[50,37],[49,37],[49,36]]"), 422, "corners"},
      {"bow tie", png,
       meta("2022-02-14T08:30:00Z", "Maxar", "[[50.6,36.6],[50.5,36.7],[50.6,36.7],[50.5,36.6]]"),
       422, "corners"},
      {"no captured_at", png, R"({"source": "Maxar", "corners": )" + corners + "}", 422,
       "captured_at"},
      {"bad captured_at", png,
       R"({"captured_at": "Tuesday", "source": "Maxar", "corners": )" + corners + "}", 422,
       "captured_at"},
      {"no source", png, R"({"captured_at": "2022-02-14T08:30:00Z", "corners": )" + corners + "}",
       422, "source"},
      {"unknown field", png,
       R"({"captured_at": "2022-02-14T08:30:00Z", "source": "x", "cloud": 3, "corners": )" +
           corners + "}",
       422, "cloud"},
      {"metadata not JSON", png, "{", 422, "metadata"},
  };
  for (const auto& c : cases) {
    auto r = upload(c.file, c.metadata);
    EXPECT_EQ(r.status, c.status) << c.what << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << c.what;
    EXPECT_EQ(r.json()["field"], c.field) << c.what << ": " << r.body;
    expect_nothing_left(0, 0, c.what);
  }
  // No file part; a JSON body; a contributor.
  auto no_file = multipart("/api/v1/imagery", {{"metadata", "", ok_meta}});
  EXPECT_EQ(no_file.status, 422) << no_file.body;
  EXPECT_EQ(call("POST", "/api/v1/imagery", ok_meta).status, 415);
  auto contributor = upload(png, meta("2022-02-14T08:30:00Z", "Maxar", corners), contributor_);
  EXPECT_EQ(contributor.status, 403) << contributor.body;
  expect_nothing_left(0, 0, "no file, JSON, contributor");

  // Comparisons and matches that name what does not exist.
  auto up = upload(png, meta("2022-02-14T08:30:00Z", "Maxar", corners));
  ASSERT_EQ(up.status, 201) << up.body << server_->log();
  std::string id = std::to_string(up.json()["id"].get<int>());
  struct JsonCase {
    std::string target;
    std::string body;
    int status;
    std::string field;
  };
  const std::vector<JsonCase> json_cases = {
      {"/api/v1/imagery/compare", R"({"before":)" + id + R"(,"after":999})", 422, "after"},
      {"/api/v1/imagery/compare", R"({"before":999,"after":)" + id + "}", 422, "before"},
      {"/api/v1/imagery/compare", R"({"before":)" + id + R"(,"after":)" + id + "}", 422, "after"},
      {"/api/v1/imagery/compare", R"({"after":)" + id + "}", 422, "before"},
      {"/api/v1/imagery/compare", R"({"before":"one","after":)" + id + "}", 422, "before"},
      {"/api/v1/imagery/compare",
       R"({"before":)" + id + R"(,"after":)" + id +
           R"(,"area":{"type":"Point","coordinates":[1,2]}})",
       422, "area"},
      {"/api/v1/imagery/compare",
       R"({"before":)" + id + R"(,"after":)" + id +
           R"(,"area":{"type":"Polygon","coordinates":[[[36.6,50.5],[36.7,50.5],[36.7,50.6]]]}})",
       422, "area"},
  };
  for (const auto& c : json_cases) {
    auto r = call("POST", c.target, c.body);
    EXPECT_EQ(r.status, c.status) << c.body << ": " << r.body;
    EXPECT_EQ(r.json()["field"], c.field) << c.body << ": " << r.body;
  }
  EXPECT_EQ(
      call("POST", "/api/v1/imagery/compare", R"({"before":1,"after":2})", contributor_).status,
      403);
  EXPECT_EQ(call("POST", "/api/v1/media/" + std::string(64, 'a') + "/frames/0/match",
                 R"({"imagery_id":)" + id + "}")
                .status,
            404);
  EXPECT_EQ(call("GET", "/api/v1/imagery/999").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/imagery/comparisons/999").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/imagery/matches/999").status, 404);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM imagery_tasks"), "0");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM jobs"), "0");
  expect_nothing_left(1, 1, "after the JSON cases");
}

TEST_F(ImageryE2eTest, FrameOfAnAnalysedVideoIsMatchedOrRefused) {
  // A video of aero3.jpg (the same town as aero1.jpg, another oblique view), analysed by the
  // embedded worker like any submission.
  std::string clip =
      make_video(dir_, "aero3.mp4",
                 {"-loop", "1", "-i", (kData / "aero3.jpg").string(), "-t", "2", "-r", "5", "-c:v",
                  "libx264", "-crf", "12", "-pix_fmt", "yuv420p"});
  std::string sha = sha256_of_file(clip);
  auto sub = multipart("/api/v1/submissions", {{"file", "aero3.mp4", read_file(clip)}});
  ASSERT_EQ(sub.status, 201) << sub.body;
  std::string sub_url = "/api/v1/submissions/" + std::to_string(sub.json()["id"].get<int>());
  test::wait_until([&] { return call("GET", sub_url).json()["status"] == "done"; }, 180s, 100ms);
  ASSERT_EQ(call("GET", sub_url).json()["status"], "done") << server_->log();
  auto frames = call("GET", "/api/v1/media/" + sha + "/frames").json()["items"];
  ASSERT_FALSE(frames.empty());
  const int n = frames[0]["index"];
  const int fw = frames[0]["width"], fh = frames[0]["height"];

  const std::string corners = "[[50.62,36.58],[50.62,36.60],[50.61,36.60],[50.61,36.58]]";
  auto aero1 =
      upload((kData / "aero1.jpg").string(), meta("2022-02-14T08:30:00Z", "aerial photo", corners));
  ASSERT_EQ(aero1.status, 201) << aero1.body;
  auto graf =
      upload((kData / "graf1.png").string(), meta("2022-02-14T08:30:00Z", "Maxar", corners));
  ASSERT_EQ(graf.status, 201) << graf.body;
  const std::string match_url = fmt::format("/api/v1/media/{}/frames/{}/match", sha, n);

  auto job = call("POST", match_url, R"({"imagery_id":)" + aero1.json()["id"].dump() + "}");
  ASSERT_EQ(job.status, 202) << job.body;
  EXPECT_EQ(job.json()["media_sha256"], sha);
  auto unrelated = call("POST", match_url, R"({"imagery_id":)" + graf.json()["id"].dump() + "}");
  ASSERT_EQ(unrelated.status, 202) << unrelated.body;

  std::set<int> progress;
  auto matched = wait_task(job.json()["url"], 600s, &progress);
  // The view simulation takes seconds: the child's progress reaches the job while it runs.
  EXPECT_TRUE(
      std::any_of(progress.begin(), progress.end(), [](int p) { return p > 10 && p < 100; }))
      << "progress seen: " << nlohmann::json(progress).dump();
  ASSERT_EQ(matched["state"], "done") << matched.dump() << server_->log();
  const auto& r = matched["result"];
  std::cout << "match: " << r["inliers"] << " inliers, confidence " << r["confidence"]
            << ", centre " << r["centre"].dump() << "\n";
  ASSERT_TRUE(r["matched"].get<bool>()) << r.dump();
  EXPECT_EQ(r["footprint"]["type"], "Polygon");
  EXPECT_GT(r["confidence"].get<double>(), 0.3) << r.dump();
  EXPECT_GE(r["inliers"].get<int>(), 20);
  // The frame's centre lands on the imagery (aero3's view overlaps aero1's).
  EXPECT_GT(r["centre"]["lat"].get<double>(), 50.605);
  EXPECT_LT(r["centre"]["lat"].get<double>(), 50.625);
  EXPECT_GT(r["centre"]["lon"].get<double>(), 36.575);
  EXPECT_LT(r["centre"]["lon"].get<double>(), 36.605);

  auto refused = wait_task(unrelated.json()["url"], 600s);
  ASSERT_EQ(refused["state"], "done") << refused.dump();
  EXPECT_FALSE(refused["result"]["matched"].get<bool>());
  EXPECT_EQ(refused["result"]["reason"].get<std::string>().rfind("no reliable match", 0), 0u)
      << refused.dump();
  EXPECT_FALSE(refused["result"].contains("centre"));
  EXPECT_FALSE(refused["result"].contains("footprint"));

  // Tie points: the frame's corners picked on aero1 at a known square; inline, 200.
  const std::string tie = fmt::format(
      R"({{"imagery_id":{},"tie_points":[{{"frame":[0,0],"imagery":[100,100]}},)"
      R"({{"frame":[{},0],"imagery":[300,100]}},{{"frame":[{},{}],"imagery":[300,300]}},)"
      R"({{"frame":[0,{}],"imagery":[100,300]}}]}})",
      aero1.json()["id"].dump(), fw, fw, fh, fh);
  auto tp = call("POST", match_url, tie);
  ASSERT_EQ(tp.status, 200) << tp.body;
  EXPECT_TRUE(tp.json()["matched"].get<bool>());
  EXPECT_EQ(tp.json()["method"], "tie_points");
  EXPECT_NEAR(tp.json()["centre_px"][0].get<double>(), 199.5, 1.0);
  // aero1 is 640×480 between 36.58 and 36.60 E, 50.61 and 50.62 N.
  EXPECT_NEAR(tp.json()["centre"]["lon"].get<double>(), 36.58 + 0.02 * 200 / 640, 1e-4);
  EXPECT_NEAR(tp.json()["centre"]["lat"].get<double>(), 50.62 - 0.01 * 200 / 480, 1e-4);
  auto three = call(
      "POST", match_url,
      R"({"imagery_id":)" + aero1.json()["id"].dump() +
          R"(,"tie_points":[{"frame":[0,0],"imagery":[1,1]},{"frame":[5,0],"imagery":[6,1]},{"frame":[0,5],"imagery":[1,6]}]})");
  EXPECT_EQ(three.status, 422) << three.body;
  EXPECT_EQ(three.json()["field"], "tie_points");
  auto missing = call("POST", match_url, R"({"imagery_id":999})");
  EXPECT_EQ(missing.status, 422) << missing.body;
  EXPECT_EQ(missing.json()["field"], "imagery_id");
  EXPECT_EQ(
      call("POST", fmt::format("/api/v1/media/{}/frames/9999/match", sha), R"({"imagery_id":1})")
          .status,
      404);
}

}  // namespace
}  // namespace cw::test
