// Imagery: registration, change detection, frame-to-imagery matching and tie points
// (pipeline/imagery.hpp), and GDAL rasters (pipeline/raster.hpp), on real images from Debian's
// opencv-doc package (graf1/graf3 with the ground-truth homography H1to3p.xml, the aerial views
// aero1/aero3) and GeoTIFFs the tests write with GDAL, checked against PROJ through
// python3-pyproj (an independent implementation path: PROJ's Python binding, not GDAL's OGR).
// Missing opencv-doc or python3-pyproj fails the tests (scripts/setup installs both).
#include "pipeline/imagery.hpp"

#include <cpl_conv.h>
#include <gdal.h>
#include <gtest/gtest.h>
#include <ogr_srs_api.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/calib3d.hpp>
#include <opencv2/core.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "geo/geodesic.hpp"
#include "geo/tiles.hpp"
#include "pipeline/raster.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

const fs::path kData = "/usr/share/doc/opencv-doc/examples/data";

cv::Mat load(const std::string& name, int flags = cv::IMREAD_COLOR) {
  const cv::Mat m = cv::imread((kData / name).string(), flags);
  EXPECT_FALSE(m.empty()) << (kData / name) << " missing: install opencv-doc (scripts/setup)";
  return m;
}

cv::Point2d project(const cv::Matx33d& h, const cv::Point2d& p) {
  const cv::Vec3d v = h * cv::Vec3d(p.x, p.y, 1);
  return {v[0] / v[2], v[1] / v[2]};
}

// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("cw-imagery-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// ---------------------------------------------------------------------------------------------
// Registration

TEST(ImageryRegistrationTest, GrafOneOntoThreeMatchesGroundTruth) {
  const cv::Mat graf1 = load("graf1.png");
  const cv::Mat graf3 = load("graf3.png");
  ASSERT_FALSE(graf1.empty() || graf3.empty());
  cv::FileStorage fs((kData / "H1to3p.xml").string(), cv::FileStorage::READ);
  ASSERT_TRUE(fs.isOpened());
  cv::Mat truth_m;
  fs["H13"] >> truth_m;
  ASSERT_EQ(truth_m.size(), cv::Size(3, 3));
  const cv::Matx33d truth = truth_m;

  // H1to3p maps graf1 pixels to graf3 pixels: graf3 is `before`, graf1 is laid onto it.
  std::vector<int> seen;
  auto reg = register_images(graf3, graf1, {}, [&](int p) { seen.push_back(p); });
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  // Mean reprojection error over a grid of graf1 points that land inside graf3.
  double sum = 0, worst = 0;
  int n = 0;
  for (int y = 0; y < graf1.rows; y += 20) {
    for (int x = 0; x < graf1.cols; x += 20) {
      const cv::Point2d t = project(truth, cv::Point2d(x, y));
      if (t.x < 0 || t.y < 0 || t.x >= graf3.cols || t.y >= graf3.rows) continue;
      const double e = cv::norm(project(reg->homography, cv::Point2d(x, y)) - t);
      sum += e;
      worst = std::max(worst, e);
      ++n;
    }
  }
  ASSERT_GT(n, 500);
  const double mean = sum / n;
  std::cout << "  graf1 -> graf3: " << reg->matches << " matches, " << reg->inliers
            << " inliers, residual " << reg->residual_px << " px, ECC "
            << (reg->ecc_correlation ? std::to_string(*reg->ecc_correlation) : reg->ecc_note)
            << "; grid error vs H1to3p: mean " << mean << " px, max " << worst << " px over " << n
            << " points\n";
  EXPECT_LE(mean, 1.5);
  EXPECT_TRUE(reg->ecc_correlation.has_value()) << reg->ecc_note;
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), 100);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

TEST(ImageryRegistrationTest, OrbAlsoRegistersGraf) {
  RegistrationOptions options;
  options.features = FeatureKind::kOrb;
  auto reg = register_images(load("graf3.png"), load("graf1.png"), options);
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  EXPECT_GE(reg->inliers, 20);
}

TEST(ImageryRegistrationTest, RefusesWithAReason) {
  const cv::Mat aero = load("aero1.jpg");
  const cv::Mat flat(480, 640, CV_8UC3, cv::Scalar(90, 90, 90));
  cv::Mat noise(480, 640, CV_8UC1);
  cv::RNG(7).fill(noise, cv::RNG::UNIFORM, 0, 256);
  struct Case {
    const char* name;
    cv::Mat before, after;
    const char* expected;  // substring of the reason
  } cases[] = {
      {"empty", cv::Mat(), aero, "before image is empty"},
      {"tiny", aero, cv::Mat(10, 10, CV_8UC3, cv::Scalar(1)), "too small"},
      {"float", aero, cv::Mat(100, 100, CV_32F, cv::Scalar(1)), "not 8-bit"},
      {"flat", aero, flat, "too few features in after: 0 (need 20)"},
      {"noise", load("graf1.png"), noise, "too few"},
  };
  for (const auto& c : cases) {
    auto reg = register_images(c.before, c.after);
    ASSERT_FALSE(reg.ok()) << c.name;
    EXPECT_EQ(reg.error().code(), Code::kUnprocessable) << c.name;
    EXPECT_NE(reg.error().detail().find(c.expected), std::string::npos)
        << c.name << ": " << reg.error().detail();
  }
}

// ---------------------------------------------------------------------------------------------
// Change detection

TEST(ImageryChangeTest, FindsPlantedVehiclesInWarpedAero1) {
  const cv::Mat before = load("aero1.jpg");
  ASSERT_FALSE(before.empty());
  // after(known · p) = before(p): a small rotation, scale, shift and perspective.
  const double a = 4.0 * CV_PI / 180.0, s = 1.06;
  const cv::Matx33d known(s * std::cos(a), -s * std::sin(a), 30, s * std::sin(a), s * std::cos(a),
                          -20, 2e-5, -1e-5, 1);
  cv::Mat after;
  cv::warpPerspective(before, after, cv::Mat(known), before.size(), cv::INTER_LINEAR,
                      cv::BORDER_REFLECT);

  // 20 vehicle-sized dark blobs (about 8×4 px) at known places of before's grid, on ground light
  // enough for a dark vehicle to show, at least 30 px apart and well inside the overlap.
  cv::Mat grey;
  cv::cvtColor(before, grey, cv::COLOR_BGR2GRAY);
  std::mt19937 rng(20240607);
  std::uniform_real_distribution<double> ux(60, before.cols - 60), uy(60, before.rows - 60);
  std::vector<cv::Point2d> planted;
  for (int tries = 0; planted.size() < 20 && tries < 10000; ++tries) {
    const cv::Point2d p(ux(rng), uy(rng));
    const cv::Rect around(static_cast<int>(p.x) - 6, static_cast<int>(p.y) - 6, 13, 13);
    if (cv::mean(grey(around))[0] < 110) continue;
    bool far = true;
    for (const auto& q : planted) far = far && cv::norm(p - q) >= 30;
    if (far) planted.push_back(p);
  }
  ASSERT_EQ(planted.size(), 20u);
  std::uniform_real_distribution<double> angle(0, 180);
  for (const auto& p : planted) {
    const cv::Point2d q = project(known, p);
    cv::ellipse(after, cv::RotatedRect(cv::Point2f(q), cv::Size2f(8, 4), float(angle(rng))),
                cv::Scalar(25, 25, 30), cv::FILLED, cv::LINE_AA);
  }
  // Other light and sensor: contrast 0.85, brightness +18, Gaussian noise σ = 4.
  cv::Mat noisy;
  after.convertTo(noisy, CV_16SC3, 0.85, 18);
  cv::Mat noise(after.size(), CV_16SC3);
  cv::RNG(99).fill(noise, cv::RNG::NORMAL, 0, 4);
  noisy += noise;
  noisy.convertTo(after, CV_8UC3);

  auto reg = register_images(before, after);
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  auto change = detect_changes(before, after, *reg);
  ASSERT_TRUE(change.ok()) << change.error().detail();

  int found = 0;
  for (const auto& p : planted) {
    bool hit = false;
    for (const auto& b : change->blobs) hit = hit || cv::norm(b.centroid - p) <= 4.0;
    found += hit ? 1 : 0;
  }
  int false_blobs = 0;
  for (const auto& b : change->blobs) {
    bool near = false;
    for (const auto& p : planted) near = near || cv::norm(b.centroid - p) <= 4.0;
    false_blobs += near ? 0 : 1;
  }
  std::cout << "  change: registration " << reg->inliers << " inliers, residual "
            << reg->residual_px << " px; threshold " << change->threshold << "; found " << found
            << "/20 planted, " << change->blobs.size() << " blobs, " << false_blobs << " false\n";
  EXPECT_GE(found, 18);                                                 // ≥ 90 %
  EXPECT_LE(false_blobs * 10, static_cast<int>(change->blobs.size()));  // ≤ 10 % false
  EXPECT_EQ(change->mask.type(), CV_8UC1);
  EXPECT_EQ(change->mask.size(), before.size());
  const cv::Mat overlay = cv::imdecode(change->overlay_png, cv::IMREAD_COLOR);
  ASSERT_FALSE(overlay.empty());
  EXPECT_EQ(overlay.size(), before.size());
  // The overlay is tinted red where the mask is set.
  const cv::Point c(cvRound(change->blobs.front().centroid.x),
                    cvRound(change->blobs.front().centroid.y));
  if (change->mask.at<uchar>(c) != 0) {
    const cv::Vec3b px = overlay.at<cv::Vec3b>(c);
    EXPECT_GT(px[2], px[0] + 60);
  }
}

TEST(ImageryChangeTest, UnchangedPairHasNoBlobs) {
  const cv::Mat before = load("aero1.jpg");
  cv::Mat after = before.clone();
  cv::Mat noise(after.size(), CV_16SC3), noisy;
  cv::RNG(3).fill(noise, cv::RNG::NORMAL, 0, 3);
  after.convertTo(noisy, CV_16SC3, 1.1, -10);
  noisy += noise;
  noisy.convertTo(after, CV_8UC3);
  auto reg = register_images(before, after);
  ASSERT_TRUE(reg.ok()) << reg.error().detail();
  auto change = detect_changes(before, after, *reg);
  ASSERT_TRUE(change.ok()) << change.error().detail();
  EXPECT_LE(change->blobs.size(), 1u);
}

TEST(ImageryChangeTest, RefusesBadRegistrationsAndDisjointImages) {
  const cv::Mat aero = load("aero1.jpg");
  Registration singular;
  singular.homography = cv::Matx33d(1, 2, 0, 2, 4, 0, 0, 0, 1);
  Registration nan;
  nan.homography(0, 0) = std::nan("");
  Registration away;  // after lies entirely beside before
  away.homography = cv::Matx33d(1, 0, 5000, 0, 1, 0, 0, 0, 1);
  for (const auto& [reg, expected] :
       {std::pair{singular, "degenerate"}, std::pair{nan, "degenerate"},
        std::pair{away, "overlap too small"}}) {
    auto change = detect_changes(aero, aero, reg);
    ASSERT_FALSE(change.ok()) << expected;
    EXPECT_NE(change.error().detail().find(expected), std::string::npos) << change.error().detail();
  }
}

TEST(ImageryChangeTest, BlobsGeolocatedAndCountedInPolygon) {
  // A lon/lat grid of 1e-4° pixels with its top-left corner at 36.6 E, 50.6 N.
  const GeoReference geo = GeoReference::from_geotransform({36.6, 1e-4, 0, 50.6, 0, -1e-4});
  const std::vector<ChangeBlob> blobs = {
      {10, cv::Rect(0, 0, 4, 3), {9.5, 9.5}},    // centre 36.601, 50.599
      {12, cv::Rect(0, 0, 4, 3), {99.5, 49.5}},  // 36.61, 50.595
      {20, cv::Rect(0, 0, 4, 3), {499.5, 9.5}},  // 36.65, 50.599
  };
  const auto located = geolocate_blobs(blobs, geo);
  ASSERT_EQ(located.size(), 3u);
  EXPECT_NEAR(located[0].centroid.lon, 36.601, 1e-9);
  EXPECT_NEAR(located[0].centroid.lat, 50.599, 1e-9);
  // Independent: the pixel's sides as geodesic lengths (GeographicLib).
  const geo::GeoPoint c{50.599, 36.601, std::nullopt};
  const double ew =
      geo::distance_m({50.599, 36.60095, std::nullopt}, {50.599, 36.60105, std::nullopt});
  const double ns =
      geo::distance_m({50.59895, 36.601, std::nullopt}, {50.59905, 36.601, std::nullopt});
  EXPECT_NEAR(located[0].area_m2, 10 * ew * ns, 10 * ew * ns * 1e-4);
  (void)c;

  const std::vector<geo::GeoPoint> area = {{50.600, 36.600, std::nullopt},
                                           {50.600, 36.620, std::nullopt},
                                           {50.590, 36.620, std::nullopt},
                                           {50.590, 36.600, std::nullopt},
                                           {50.600, 36.600, std::nullopt}};
  auto inside = count_blobs_in_polygon(located, area);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(*inside, 2);
  EXPECT_FALSE(count_blobs_in_polygon(located, {area[0], area[1]}).ok());
  EXPECT_FALSE(count_blobs_in_polygon(located, {area[0], area[1], {95, 0, std::nullopt}}).ok());
}

// ---------------------------------------------------------------------------------------------
// Frame -> imagery

// Landmarks matched by eye on 3× enlargements of the two photographs (±4 px): the centre of the
// large cyan roof of the shopping area, and the centre of the smaller blue-green roof north-west
// of it in aero1 (north-east in aero3, which is seen from another heading).
struct Landmark {
  cv::Point2d aero1, aero3;
};
const Landmark kLandmarks[] = {{{318, 258}, {232, 264}}, {{290, 236}, {272, 245}}};

TEST(ImageryFrameMatchTest, Aero1FoundInAero3) {
  const cv::Mat frame = load("aero1.jpg");
  const cv::Mat imagery = load("aero3.jpg");
  ASSERT_FALSE(frame.empty() || imagery.empty());
  const GeoReference geo = GeoReference::from_geotransform({36.6, 1e-5, 0, 50.6, 0, -1e-5});
  auto match = match_frame_to_imagery(frame, imagery, &geo);
  ASSERT_TRUE(match.ok()) << match.error().detail();
  ASSERT_TRUE(match->footprint.has_value()) << match->reason;
  const Footprint& fp = *match->footprint;
  std::cout << "  aero1 -> aero3: " << match->views << " views, " << match->matches << " matches, "
            << match->inliers << " inliers, residual " << fp.residual_px << " px, confidence "
            << fp.confidence << "\n";
  for (const auto& l : kLandmarks) {
    const cv::Point2d p = project(fp.homography, l.aero1);
    std::cout << "  landmark " << l.aero1 << " -> " << p << ", by eye " << l.aero3 << "\n";
    EXPECT_LE(cv::norm(p - l.aero3), 12.0) << l.aero1;
  }
  EXPECT_GE(match->inliers, 20);
  EXPECT_GT(fp.confidence, 0.5);
  EXPECT_LE(fp.confidence, 1.0);
  // The centre is the frame centre's projection, and georeferenced through geo.
  const cv::Point2d centre =
      project(fp.homography, {(frame.cols - 1) / 2.0, (frame.rows - 1) / 2.0});
  EXPECT_LT(cv::norm(centre - fp.centre_px), 1e-9);
  ASSERT_TRUE(fp.centre_geo.has_value());
  EXPECT_NEAR(fp.centre_geo->lon, 36.6 + (fp.centre_px.x + 0.5) * 1e-5, 1e-12);
  EXPECT_NEAR(fp.centre_geo->lat, 50.6 - (fp.centre_px.y + 0.5) * 1e-5, 1e-12);
  ASSERT_EQ(fp.outline_geo.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(fp.outline_geo[i].lon, 36.6 + (fp.outline_px[i].x + 0.5) * 1e-5, 1e-12);
  }
}

TEST(ImageryFrameMatchTest, UnrelatedFramesAreNotMatched) {
  const cv::Mat imagery = load("aero3.jpg");
  for (const char* name : {"building.jpg", "graf1.png"}) {
    auto match = match_frame_to_imagery(load(name), imagery);
    ASSERT_TRUE(match.ok()) << name << ": " << match.error().detail();
    EXPECT_FALSE(match->footprint.has_value()) << name;
    EXPECT_EQ(match->reason.rfind("no reliable match: ", 0), 0u) << name << ": " << match->reason;
    std::cout << "  " << name << " vs aero3: " << match->reason << "\n";
  }
}

TEST(ImageryFrameMatchTest, BadInputIsAnError) {
  auto m = match_frame_to_imagery(cv::Mat(), load("aero3.jpg"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().field(), "frame");
}

// ---------------------------------------------------------------------------------------------
// Tie points

TEST(ImageryTiePointsTest, RecoversAnExactHomography) {
  const cv::Matx33d truth(0.9, -0.2, 120, 0.15, 1.1, 40, 1e-4, -2e-4, 1);
  const std::vector<cv::Point2d> frame_points = {{10, 20},  {600, 30},  {620, 450},
                                                 {15, 470}, {300, 240}, {150, 400}};
  for (std::size_t n : {4u, 5u, 6u}) {
    std::vector<TiePoint> pts;
    for (std::size_t i = 0; i < n; ++i) {
      pts.push_back({frame_points[i], project(truth, frame_points[i])});
    }
    auto fp = footprint_from_tie_points(pts, cv::Size(640, 480));
    ASSERT_TRUE(fp.ok()) << n << ": " << fp.error().detail();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c)
        EXPECT_NEAR(fp->homography(r, c), truth(r, c), 1e-6 * (1 + std::abs(truth(r, c))))
            << n << " points, element " << r << "," << c;
    EXPECT_LT(fp->residual_px, 1e-6);
    EXPECT_EQ(fp->inliers, static_cast<int>(n));
    const cv::Point2d tl = project(truth, {-0.5, -0.5});
    EXPECT_LT(cv::norm(fp->outline_px[0] - tl), 1e-6);
  }
}

TEST(ImageryTiePointsTest, RejectsBadPointSets) {
  struct Case {
    const char* name;
    std::vector<TiePoint> points;
    const char* expected;
  } cases[] = {
      {"three", {{{0, 0}, {0, 0}}, {{100, 0}, {100, 0}}, {{0, 100}, {0, 100}}}, "at least 4"},
      {"collinear frame",
       {{{0, 0}, {0, 0}}, {{10, 10}, {100, 0}}, {{20, 20}, {0, 100}}, {{30, 30}, {100, 100}}},
       "collinear in the frame"},
      {"collinear imagery",
       {{{0, 0}, {0, 0}}, {{100, 0}, {10, 0}}, {{0, 100}, {20, 0}}, {{100, 100}, {30, 0}}},
       "collinear in the imagery"},
      {"three of four on a line",
       {{{0, 0}, {0, 0}}, {{50, 0}, {50, 0}}, {{100, 0}, {100, 0}}, {{0, 100}, {0, 100}}},
       "three of the four"},
      {"coincident",
       {{{0, 0}, {0, 0}}, {{0, 0}, {5, 5}}, {{100, 0}, {100, 0}}, {{0, 100}, {0, 100}}},
       "coincide"},
      {"bow tie",  // two corners swapped: no homography maps the outline onto that
       {{{0, 0}, {0, 0}}, {{100, 0}, {100, 100}}, {{100, 100}, {100, 0}}, {{0, 100}, {0, 100}}},
       "degenerate"},
  };
  for (const auto& c : cases) {
    auto fp = footprint_from_tie_points(c.points, cv::Size(100, 100));
    ASSERT_FALSE(fp.ok()) << c.name;
    EXPECT_EQ(fp.error().code(), Code::kUnprocessable) << c.name;
    EXPECT_NE(fp.error().detail().find(c.expected), std::string::npos)
        << c.name << ": " << fp.error().detail();
  }
}

// ---------------------------------------------------------------------------------------------
// Rasters (GDAL)

// Writes a w×h 3-band Byte GeoTIFF in `epsg` with geotransform gt, every pixel `rgb`.
void write_geotiff(const fs::path& path, int epsg, const std::array<double, 6>& gt, int w, int h,
                   const cv::Vec3b& rgb) {
  GDALAllRegister();
  GDALDriverH driver = GDALGetDriverByName("GTiff");
  ASSERT_NE(driver, nullptr);
  GDALDatasetH ds = GDALCreate(driver, path.c_str(), w, h, 3, GDT_Byte, nullptr);
  ASSERT_NE(ds, nullptr);
  std::array<double, 6> g = gt;
  ASSERT_EQ(GDALSetGeoTransform(ds, g.data()), CE_None);
  OGRSpatialReferenceH srs = OSRNewSpatialReference(nullptr);
  ASSERT_EQ(OSRImportFromEPSG(srs, epsg), OGRERR_NONE);
  ASSERT_EQ(GDALSetSpatialRef(ds, srs), CE_None);
  OSRDestroySpatialReference(srs);
  std::vector<unsigned char> band(static_cast<std::size_t>(w) * h);
  for (int b = 0; b < 3; ++b) {
    std::fill(band.begin(), band.end(), rgb[b]);
    ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, b + 1), GF_Write, 0, 0, w, h, band.data(), w, h,
                           GDT_Byte, 0, 0),
              CE_None);
  }
  GDALClose(ds);
}

// (x, y) in EPSG:from -> (lon, lat) by python3-pyproj; fails the test when it cannot run.
std::vector<cv::Point2d> pyproj_to_wgs84(int from, const std::vector<cv::Point2d>& xy) {
  TempDir dir;
  const fs::path script = dir.path() / "t.py";
  std::ofstream(script) << "import sys\nfrom pyproj import Transformer\n"
                           "t = Transformer.from_crs("
                        << from
                        << ", 4326, always_xy=True)\n"
                           "for line in sys.stdin:\n"
                           "    x, y = map(float, line.split())\n"
                           "    lon, lat = t.transform(x, y)\n"
                           "    print(repr(lon), repr(lat))\n";
  const fs::path in = dir.path() / "in.txt", out = dir.path() / "out.txt";
  {
    std::ofstream f(in);
    f.precision(17);
    for (const auto& p : xy) f << p.x << " " << p.y << "\n";
  }
  const std::string cmd =
      "/usr/bin/python3 " + script.string() + " < " + in.string() + " > " + out.string();
  EXPECT_EQ(std::system(cmd.c_str()), 0) << "python3-pyproj is needed (scripts/setup)";
  std::vector<cv::Point2d> result;
  std::ifstream f(out);
  double lon = 0, lat = 0;
  while (f >> lon >> lat) result.emplace_back(lon, lat);
  EXPECT_EQ(result.size(), xy.size());
  return result;
}

// Belgorod, in UTM zone 37N: 10 m pixels, 320 × 200.
const std::array<double, 6> kUtmGt = {330000, 10, 0, 5610000, 0, -10};

TEST(ImageryRasterTest, GeoTiffFootprintAgreesWithProj) {
  TempDir dir;
  const fs::path tif = dir.path() / "utm.tif";
  write_geotiff(tif, 32637, kUtmGt, 320, 200, {200, 50, 20});
  auto raster = Raster::open_geotiff(tif.string());
  ASSERT_TRUE(raster.ok()) << raster.error().detail();
  const RasterInfo& info = raster->info();
  EXPECT_EQ(info.driver, "GTiff");
  EXPECT_EQ(info.width, 320);
  EXPECT_EQ(info.height, 200);
  EXPECT_EQ(info.bands, 3);
  EXPECT_EQ(info.data_type, "Byte");
  EXPECT_EQ(info.geotransform, kUtmGt);
  EXPECT_NE(info.crs_wkt.find("UTM zone 37N"), std::string::npos) << info.crs_wkt;
  ASSERT_EQ(info.footprint.size(), 32u);
  // The footprint ring's pixel positions (8 per edge, clockwise from the top-left corner).
  std::vector<cv::Point2d> xy;
  for (int k = 0; k < 8; ++k) xy.emplace_back(320.0 * k / 8, 0);
  for (int k = 0; k < 8; ++k) xy.emplace_back(320, 200.0 * k / 8);
  for (int k = 0; k < 8; ++k) xy.emplace_back(320 - 320.0 * k / 8, 200);
  for (int k = 0; k < 8; ++k) xy.emplace_back(0, 200 - 200.0 * k / 8);
  for (auto& p : xy) p = {kUtmGt[0] + p.x * kUtmGt[1], kUtmGt[3] + p.y * kUtmGt[5]};
  const auto expected = pyproj_to_wgs84(32637, xy);
  ASSERT_EQ(expected.size(), 32u);
  for (std::size_t i = 0; i < 32; ++i) {
    EXPECT_NEAR(info.footprint[i].lon, expected[i].x, 1e-9) << i;
    EXPECT_NEAR(info.footprint[i].lat, expected[i].y, 1e-9) << i;
  }
  // Longitude first in the x of EPSG:4326 output despite its lat/lon axis order.
  EXPECT_NEAR(info.footprint[0].lon, 36.61, 0.05);
  EXPECT_NEAR(info.footprint[0].lat, 50.61, 0.05);
  // UTM's scale factor at 2.4° from the central meridian is about 0.9996 + 0.0006.
  EXPECT_NEAR(info.ground_resolution_m, 10.0, 0.02);

  auto image = raster->read();
  ASSERT_TRUE(image.ok()) << image.error().detail();
  EXPECT_EQ(image->type(), CV_8UC3);
  EXPECT_EQ(image->at<cv::Vec3b>(100, 100), cv::Vec3b(20, 50, 200));  // BGR
  auto small = raster->read(100);
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->cols, 100);
  EXPECT_EQ(small->rows, 63);
}

TEST(ImageryRasterTest, TileIsOpaqueWhereTheRasterIs) {
  TempDir dir;
  const fs::path tif = dir.path() / "utm.tif";
  write_geotiff(tif, 32637, kUtmGt, 320, 200, {200, 50, 20});
  auto raster = Raster::open_geotiff(tif.string());
  ASSERT_TRUE(raster.ok()) << raster.error().detail();
  // The raster's centre, by PROJ.
  const auto centre = pyproj_to_wgs84(32637, {{331600, 5609000}});
  ASSERT_EQ(centre.size(), 1u);
  auto tile = geo::tile_for({centre[0].y, centre[0].x, std::nullopt}, 13);
  ASSERT_TRUE(tile.ok());
  auto png = raster->render_tile(*tile);
  ASSERT_TRUE(png.ok()) << png.error().detail();
  const cv::Mat rgba = cv::imdecode(*png, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(rgba.type(), CV_8UC4);
  ASSERT_EQ(rgba.size(), cv::Size(256, 256));

  // Each tile pixel's centre in UTM (by PROJ, EPSG:3857 -> 4326 done by the tile math, then
  // 4326 -> 32637 by pyproj) decides whether it must be opaque (a pixel inside the raster by more
  // than a tile pixel) or transparent (outside by more than that).
  const geo::TileBounds b = geo::tile_bounds(*tile);
  auto merc_y = [](double lat) { return std::log(std::tan(CV_PI / 4 + lat * CV_PI / 360)); };
  const double y0 = merc_y(b.north), y1 = merc_y(b.south);
  std::vector<cv::Point2d> lonlat;
  for (int j = 0; j < 256; j += 5) {
    for (int i = 0; i < 256; i += 5) {
      const double lon = b.west + (i + 0.5) / 256 * (b.east - b.west);
      const double my = y0 + (j + 0.5) / 256 * (y1 - y0);
      lonlat.emplace_back(lon, (2 * std::atan(std::exp(my)) - CV_PI / 2) * 180 / CV_PI);
    }
  }
  // Inverse: 4326 -> 32637 with pyproj, through a second small script.
  TempDir tdir;
  {
    std::ofstream in(tdir.path() / "in.txt");
    in.precision(17);
    for (const auto& p : lonlat) in << p.x << " " << p.y << "\n";
    std::ofstream(tdir.path() / "t.py")
        << "import sys\nfrom pyproj import Transformer\n"
           "t = Transformer.from_crs(4326, 32637, always_xy=True)\n"
           "for line in sys.stdin:\n    x, y = map(float, line.split())\n"
           "    e, n = t.transform(x, y)\n    print(repr(e), repr(n))\n";
  }
  const std::string cmd = "/usr/bin/python3 " + (tdir.path() / "t.py").string() + " < " +
                          (tdir.path() / "in.txt").string() + " > " +
                          (tdir.path() / "out.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "python3-pyproj is needed (scripts/setup)";
  std::ifstream out(tdir.path() / "out.txt");
  const double tile_px_m = 4.77;  // a zoom-13 pixel at 50.6° N is about 6.1 m; stay safe
  int opaque = 0, transparent = 0, k = 0;
  for (int j = 0; j < 256; j += 5) {
    for (int i = 0; i < 256; i += 5, ++k) {
      double e = 0, n = 0;
      ASSERT_TRUE(out >> e >> n);
      const double u = (e - kUtmGt[0]) / 10.0, v = (kUtmGt[3] - n) / 10.0;  // raster pixels
      const double margin = 2 * tile_px_m / 10.0 + 0.5;
      const cv::Vec4b px = rgba.at<cv::Vec4b>(j, i);
      if (u > margin && v > margin && u < 320 - margin && v < 200 - margin) {
        EXPECT_EQ(px[3], 255) << i << "," << j;
        EXPECT_EQ(px, cv::Vec4b(20, 50, 200, 255)) << i << "," << j;
        ++opaque;
      } else if (u < -margin || v < -margin || u > 320 + margin || v > 200 + margin) {
        EXPECT_EQ(px[3], 0) << i << "," << j;
        ++transparent;
      }
    }
  }
  std::cout << "  tile " << tile->z << "/" << tile->x << "/" << tile->y << ": " << opaque
            << " sampled pixels inside, " << transparent << " outside\n";
  EXPECT_GT(opaque, 100);
  EXPECT_GT(transparent, 100);

  // A tile far away is fully transparent.
  auto away = raster->render_tile(geo::TileId{13, 100, 100});
  ASSERT_TRUE(away.ok());
  const cv::Mat empty = cv::imdecode(*away, cv::IMREAD_UNCHANGED);
  ASSERT_EQ(empty.type(), CV_8UC4);
  std::vector<cv::Mat> ch;
  cv::split(empty, ch);
  EXPECT_EQ(cv::countNonZero(ch[3]), 0);
}

TEST(ImageryRasterTest, NonByteDataIsStretched) {
  TempDir dir;
  const fs::path tif = dir.path() / "u16.tif";
  GDALAllRegister();
  GDALDatasetH ds =
      GDALCreate(GDALGetDriverByName("GTiff"), tif.c_str(), 100, 50, 1, GDT_UInt16, nullptr);
  ASSERT_NE(ds, nullptr);
  std::array<double, 6> gt = {36.6, 1e-4, 0, 50.6, 0, -1e-4};
  ASSERT_EQ(GDALSetGeoTransform(ds, gt.data()), CE_None);
  ASSERT_EQ(GDALSetProjection(ds, SRS_WKT_WGS84_LAT_LONG), CE_None);
  std::vector<std::uint16_t> v(100 * 50);
  for (int i = 0; i < 100 * 50; ++i) v[i] = static_cast<std::uint16_t>(1000 + 40 * (i % 100));
  ASSERT_EQ(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, 100, 50, v.data(), 100, 50,
                         GDT_UInt16, 0, 0),
            CE_None);
  GDALClose(ds);
  auto raster = Raster::open_geotiff(tif.string());
  ASSERT_TRUE(raster.ok()) << raster.error().detail();
  EXPECT_EQ(raster->info().data_type, "UInt16");
  EXPECT_NEAR(raster->info().footprint[0].lon, 36.6, 1e-12);
  EXPECT_NEAR(raster->info().footprint[0].lat, 50.6, 1e-12);
  auto image = raster->read();
  ASSERT_TRUE(image.ok()) << image.error().detail();
  ASSERT_EQ(image->type(), CV_8UC1);
  EXPECT_EQ(image->at<uchar>(10, 0), 0);     // below the 2nd percentile
  EXPECT_EQ(image->at<uchar>(10, 99), 255);  // above the 98th
  EXPECT_NEAR(image->at<uchar>(10, 50), 128, 4);
}

TEST(ImageryRasterTest, PngWithCornersAndBadFiles) {
  TempDir dir;
  const fs::path png = dir.path() / "aero1.png";
  ASSERT_TRUE(cv::imwrite(png.string(), load("aero1.jpg")));
  const std::array<geo::GeoPoint, 4> corners = {
      geo::GeoPoint{50.61, 36.60, std::nullopt}, geo::GeoPoint{50.61, 36.62, std::nullopt},
      geo::GeoPoint{50.60, 36.62, std::nullopt}, geo::GeoPoint{50.60, 36.60, std::nullopt}};
  auto raster = Raster::open_with_corners(png.string(), corners);
  ASSERT_TRUE(raster.ok()) << raster.error().detail();
  EXPECT_EQ(raster->info().driver, "PNG");
  EXPECT_NEAR(raster->info().footprint[0].lat, 50.61, 1e-9);
  EXPECT_NEAR(raster->info().footprint[8].lon, 36.62, 1e-9);   // top-right
  EXPECT_NEAR(raster->info().footprint[16].lat, 50.60, 1e-9);  // bottom-right
  auto tile = geo::tile_for({50.605, 36.61, std::nullopt}, 14);
  ASSERT_TRUE(tile.ok());
  auto t = raster->render_tile(*tile);
  ASSERT_TRUE(t.ok()) << t.error().detail();
  const cv::Mat rgba = cv::imdecode(*t, cv::IMREAD_UNCHANGED);
  std::vector<cv::Mat> ch;
  cv::split(rgba, ch);
  EXPECT_GT(cv::countNonZero(ch[3]), 1000);

  // Bad files: corrupt TIFF, a PNG given as GeoTIFF, a TIFF without georeference, missing file,
  // GDAL's virtual file systems.
  const fs::path corrupt = dir.path() / "corrupt.tif";
  {
    std::ofstream f(corrupt, std::ios::binary);
    f << "II*" << '\0' << std::string(500, '\x7f');
  }
  const fs::path truncated = dir.path() / "truncated.tif";
  write_geotiff(truncated, 32637, kUtmGt, 320, 200, {1, 2, 3});
  fs::resize_file(truncated, fs::file_size(truncated) / 3);
  const fs::path plain = dir.path() / "plain.tif";
  ASSERT_TRUE(cv::imwrite(plain.string(), load("aero1.jpg")));
  struct Case {
    std::string path;
    Code code;
  } cases[] = {{corrupt.string(), Code::kUnprocessable},
               {png.string(), Code::kUnprocessable},
               {plain.string(), Code::kUnprocessable},
               {(dir.path() / "missing.tif").string(), Code::kNotFound},
               {"/vsicurl/http://127.0.0.1:9/x.tif", Code::kUnprocessable}};
  for (const auto& c : cases) {
    auto r = Raster::open_geotiff(c.path);
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error().code(), c.code) << c.path << ": " << r.error().detail();
    EXPECT_EQ(r.error().field(), "file");
  }
  // The truncated one opens (its header is intact) but its pixels cannot be read.
  auto t2 = Raster::open_geotiff(truncated.string());
  if (t2.ok()) {
    auto img = t2->read();
    ASSERT_FALSE(img.ok());
    EXPECT_EQ(img.error().code(), Code::kUnprocessable);
  } else {
    EXPECT_EQ(t2.error().code(), Code::kUnprocessable);
  }
  EXPECT_FALSE(
      Raster::open_with_corners(png.string(), {corners[0], corners[2], corners[1], corners[3]})
          .ok());
}

}  // namespace
}  // namespace cw::pipeline
