// The imagery steps over files (pipeline/imagery_tasks.hpp) on Debian's opencv-doc images:
// corner parsing, the probe's document, a comparison that writes its PNGs, the refusal of an
// unrelated pair, tie-point input checks and the progress file.
#include "pipeline/imagery_tasks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <opencv2/imgcodecs.hpp>

#include "tests/support/fixtures.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

const std::string kData = "/usr/share/doc/opencv-doc/examples/data/";
const std::array<geo::GeoPoint, 4> kCorners = {
    geo::GeoPoint{50.62, 36.58, std::nullopt}, geo::GeoPoint{50.62, 36.60, std::nullopt},
    geo::GeoPoint{50.61, 36.60, std::nullopt}, geo::GeoPoint{50.61, 36.58, std::nullopt}};

TEST(ImageryTasksTest, CornersAreFourLatLonPairs) {
  struct Case {
    std::string json;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"[[50.62,36.58],[50.62,36.6],[50.61,36.6],[50.61,36.58]]", true},
      {"[[50.62,36.58],[50.62,36.6],[50.61,36.6]]", false},
      {"[[50.62,36.58],[50.62,36.6],[50.61,36.6],[50.61,36.58],[1,2]]", false},
      {"[[95,36.58],[50.62,36.6],[50.61,36.6],[50.61,36.58]]", false},
      {"[[50,181],[50.62,36.6],[50.61,36.6],[50.61,36.58]]", false},
      {"[[50,\"36\"],[50.62,36.6],[50.61,36.6],[50.61,36.58]]", false},
      {"[[50],[50.62,36.6],[50.61,36.6],[50.61,36.58]]", false},
      {"{\"tl\":[50,36]}", false},
      {"null", false},
  };
  for (const auto& c : cases) {
    auto r = parse_corners(nlohmann::json::parse(c.json));
    EXPECT_EQ(r.ok(), c.ok) << c.json;
    if (!r.ok()) {
      EXPECT_EQ(r.error().code(), Code::kUnprocessable) << c.json;
      EXPECT_EQ(r.error().field(), "corners") << c.json;
    }
  }
  auto back = parse_corners(corners_json(kCorners));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, kCorners);
}

TEST(ImageryTasksTest, ProbeDescribesAnImageWithCornersAndRefusesOthers) {
  auto doc = probe_imagery({kData + "aero1.jpg", kCorners});
  ASSERT_TRUE(doc.ok()) << doc.error().detail();
  EXPECT_EQ((*doc)["driver"], "JPEG");
  EXPECT_EQ((*doc)["width"], 640);
  EXPECT_EQ((*doc)["height"], 480);
  EXPECT_EQ((*doc)["bands"], 3);
  EXPECT_TRUE((*doc)["geotransform"].is_null());
  EXPECT_GE((*doc)["footprint"].size(), 4u);
  EXPECT_EQ((*doc)["footprint"][0], nlohmann::json({50.62, 36.58}));
  // 0.02° of longitude at 50.6° N over 640 px: about 2.2 m a pixel.
  EXPECT_NEAR((*doc)["ground_resolution_m"].get<double>(), 2.2, 0.3);

  test::TempDir dir;
  std::ofstream(dir / "notes.txt") << "not pixels";
  const std::array<geo::GeoPoint, 4> bow_tie = {kCorners[0], kCorners[2], kCorners[1], kCorners[3]};
  auto refused = [](const std::string& what, const ImageryFile& file, const std::string& field) {
    auto r = probe_imagery(file);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code(), Code::kUnprocessable) << what;
    EXPECT_EQ(r.error().field(), field) << what << ": " << r.error().detail();
  };
  refused("JPEG as GeoTIFF", ImageryFile{kData + "aero1.jpg", std::nullopt}, "file");
  refused("text with corners", ImageryFile{(dir / "notes.txt").string(), kCorners}, "file");
  refused("bow tie", ImageryFile{kData + "aero1.jpg", bow_tie}, "corners");
}

TEST(ImageryTasksTest, ComparisonWritesOverlayAndMaskAndCountsInArea) {
  test::TempDir dir;
  const nlohmann::json spec = {
      {"before", {{"path", kData + "graf1.png"}, {"corners", corners_json(kCorners)}}},
      {"after", {{"path", kData + "graf3.png"}, {"corners", corners_json(kCorners)}}},
      {"area", {{50.61, 36.58}, {50.61, 36.59}, {50.62, 36.59}, {50.62, 36.58}}}};
  std::vector<int> seen;
  auto r = compare_imagery(spec, dir.out("task"), [&](int p) { seen.push_back(p); });
  ASSERT_TRUE(r.ok()) << r.error().detail();
  EXPECT_GE((*r)["inliers"].get<int>(), 100);
  EXPECT_LT((*r)["residual_px"].get<double>(), 3.0);
  EXPECT_EQ((*r)["blob_count"].get<size_t>(), (*r)["blobs"].size());
  int west = 0;
  for (const auto& b : (*r)["blobs"]) west += b["centroid"]["lon"].get<double>() < 36.59 ? 1 : 0;
  EXPECT_EQ((*r)["count_in_area"].get<int>(), west);
  cv::Mat overlay = cv::imread(dir.out("task") + "/overlay.png");
  cv::Mat mask = cv::imread(dir.out("task") + "/mask.png", cv::IMREAD_UNCHANGED);
  EXPECT_EQ(overlay.size(), cv::Size(800, 640));
  EXPECT_EQ(mask.size(), cv::Size(800, 640));
  ASSERT_FALSE(seen.empty());
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_GE(seen.back(), 90);

  // A pair that does not register: the reason, no guess.
  nlohmann::json unrelated = spec;
  unrelated["after"]["path"] = kData + "aero1.jpg";
  auto refused = compare_imagery(unrelated, dir.out("task2"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kUnprocessable);
  EXPECT_NE(refused.error().detail().find("too few"), std::string::npos)
      << refused.error().detail();
}

TEST(ImageryTasksTest, TiePointsAreCheckedAndGiveAFootprint) {
  const ImageryFile file{kData + "aero1.jpg", kCorners};
  auto pair = [](double fx, double fy, double ix, double iy) {
    return nlohmann::json{{"frame", {fx, fy}}, {"imagery", {ix, iy}}};
  };
  const nlohmann::json square = {pair(0, 0, 100, 100), pair(640, 0, 300, 100),
                                 pair(640, 480, 300, 300), pair(0, 480, 100, 300)};
  auto fp = tie_point_footprint(file, 640, 480, square);
  ASSERT_TRUE(fp.ok()) << fp.error().detail();
  EXPECT_TRUE((*fp)["matched"].get<bool>());
  EXPECT_EQ((*fp)["footprint"]["type"], "Polygon");
  EXPECT_NEAR((*fp)["centre"]["lon"].get<double>(), 36.58 + 0.02 * 200 / 640, 1e-4);
  EXPECT_NEAR((*fp)["confidence"].get<double>(), 1.0, 1e-9);

  const std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"not an array", nlohmann::json::object()},
      {"three pairs", {pair(0, 0, 1, 1), pair(5, 0, 6, 1), pair(0, 5, 1, 6)}},
      {"no imagery point",
       {{{"frame", {0, 0}}}, pair(5, 0, 6, 1), pair(0, 5, 1, 6), pair(5, 5, 6, 6)}},
      {"text",
       {{{"frame", {"a", 0}}, {"imagery", {1, 1}}},
        pair(5, 0, 6, 1),
        pair(0, 5, 1, 6),
        pair(5, 5, 6, 6)}},
      {"collinear", {pair(0, 0, 0, 0), pair(1, 1, 1, 1), pair(2, 2, 2, 2), pair(3, 3, 3, 3)}},
  };
  for (const auto& [what, points] : bad) {
    auto r = tie_point_footprint(file, 640, 480, points);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code(), Code::kUnprocessable) << what;
    EXPECT_EQ(r.error().field(), "tie_points") << what << ": " << r.error().detail();
  }
}

TEST(ImageryTasksTest, ProgressFileHoldsTheLatestPercentage) {
  test::TempDir dir;
  const std::string path = (dir / "progress").string();
  auto write = progress_file_writer(path);
  for (int p : {0, 10, 10, 55}) write(p);
  std::ifstream in(path);
  int value = -1;
  in >> value;
  EXPECT_EQ(value, 55);
  EXPECT_FALSE(fs::exists(path + ".tmp"));
}

}  // namespace
}  // namespace cw::pipeline
