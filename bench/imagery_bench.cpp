// cw_imagery_bench: the figures of bench/imagery.sh (see bench/README.md).
//   register: register_images() of two 4000×4000 BGR images in memory (defaults: AKAZE on copies
//             of at most 1600 px, MAGSAC++, ECC refinement);
//   change:   detect_changes() on the same pair at full resolution (warp, normalisation,
//             difference, threshold, morphology, components, overlay PNG encoding);
//   frame:    match_frame_to_imagery() of aero1.jpg against aero3.jpg (640×480 each, default
//             tilts: 26 views of the frame, 20 of the imagery), seconds per frame.
// The 4000×4000 `before` is a 4×4 mosaic of 16 different opencv-doc photographs (aero1, aero3
// and 14 others), each scaled to 1000×1000; `after` is `before` warped by a known homography
// (2° rotation, 3 % scale, a shift and a little perspective), its contrast and brightness
// changed, Gaussian noise (σ 4) added and 200 dark 16×8 px "vehicles" drawn in. Building them is
// not timed.
// Prints one line per run: "register run K seconds X inliers N residual R", "change run K seconds
// X blobs N found F", "frame run K seconds X inliers N"; everything on the calling thread plus
// OpenCV's own pool.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/imagery.hpp"

namespace {

using Clock = std::chrono::steady_clock;
namespace pl = cw::pipeline;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

const char* const kMosaic[] = {"aero1.jpg",     "aero3.jpg",        "graf1.png",  "building.jpg",
                               "home.jpg",      "baboon.jpg",       "fruits.jpg", "leuvenA.jpg",
                               "stuff.jpg",     "starry_night.jpg", "orange.jpg", "messi5.jpg",
                               "butterfly.jpg", "sudoku.png",       "board.jpg",  "apple.jpg"};

cv::Mat mosaic(const std::string& dir) {
  cv::Mat out(4000, 4000, CV_8UC3, cv::Scalar(0, 0, 0));
  int k = 0;
  for (const char* name : kMosaic) {
    cv::Mat img = cv::imread(dir + "/" + name, cv::IMREAD_COLOR);
    if (img.empty()) {
      std::cerr << "cw_imagery_bench: cannot read " << dir << "/" << name << "\n";
      std::exit(1);
    }
    cv::resize(img, out(cv::Rect((k % 4) * 1000, (k / 4) * 1000, 1000, 1000)), cv::Size(1000, 1000),
               0, 0, cv::INTER_CUBIC);
    ++k;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dir = "/usr/share/doc/opencv-doc/examples/data";
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--runs" && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else if (a == "--data" && i + 1 < argc) {
      dir = argv[++i];
    } else {
      std::cerr << "usage: cw_imagery_bench [--runs N] [--data DIR]\n";
      return 2;
    }
  }
  if (runs < 1) return 2;

  const cv::Mat before = mosaic(dir);
  const double a = 2.0 * CV_PI / 180.0, s = 1.03;
  const cv::Matx33d known(s * std::cos(a), -s * std::sin(a), 60, s * std::sin(a), s * std::cos(a),
                          -40, 3e-6, -2e-6, 1);
  cv::Mat after;
  cv::warpPerspective(before, after, cv::Mat(known), before.size(), cv::INTER_LINEAR,
                      cv::BORDER_REFLECT);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(300, 3700), ang(0, 180);
  std::vector<cv::Point2d> planted;
  while (planted.size() < 200) {
    const cv::Point2d p(u(rng), u(rng));
    bool far = true;
    for (const auto& q : planted) far = far && cv::norm(p - q) > 60;
    if (!far) continue;
    planted.push_back(p);
    const cv::Vec3d v = known * cv::Vec3d(p.x, p.y, 1);
    cv::ellipse(after,
                cv::RotatedRect(cv::Point2f(float(v[0] / v[2]), float(v[1] / v[2])),
                                cv::Size2f(16, 8), float(ang(rng))),
                cv::Scalar(20, 20, 25), cv::FILLED, cv::LINE_AA);
  }
  cv::Mat noisy, noise(after.size(), CV_16SC3);
  after.convertTo(noisy, CV_16SC3, 0.9, 15);
  cv::RNG(5).fill(noise, cv::RNG::NORMAL, 0, 4);
  noisy += noise;
  noisy.convertTo(after, CV_8UC3);
  noisy.release();
  noise.release();

  const cv::Mat frame = cv::imread(dir + "/aero1.jpg", cv::IMREAD_COLOR);
  const cv::Mat imagery = cv::imread(dir + "/aero3.jpg", cv::IMREAD_COLOR);
  if (frame.empty() || imagery.empty()) {
    std::cerr << "cw_imagery_bench: aero1.jpg / aero3.jpg missing in " << dir << "\n";
    return 1;
  }

  pl::ChangeOptions change_options;
  change_options.min_area_px = 40;  // the 16×8 vehicles are ~100 px
  for (int run = 1; run <= runs; ++run) {
    auto t0 = Clock::now();
    auto reg = pl::register_images(before, after);
    const double t_reg = seconds_since(t0);
    if (!reg.ok()) {
      std::cerr << "cw_imagery_bench: registration failed: " << reg.error().detail() << "\n";
      return 1;
    }
    std::printf("register run %d seconds %.3f inliers %d residual %.3f\n", run, t_reg, reg->inliers,
                reg->residual_px);
    t0 = Clock::now();
    auto change = pl::detect_changes(before, after, *reg, change_options);
    const double t_change = seconds_since(t0);
    if (!change.ok()) {
      std::cerr << "cw_imagery_bench: change detection failed: " << change.error().detail() << "\n";
      return 1;
    }
    int found = 0;
    for (const auto& p : planted) {
      for (const auto& b : change->blobs) {
        if (cv::norm(b.centroid - p) <= 6) {
          ++found;
          break;
        }
      }
    }
    std::printf("change run %d seconds %.3f blobs %zu found %d\n", run, t_change,
                change->blobs.size(), found);
    t0 = Clock::now();
    auto match = pl::match_frame_to_imagery(frame, imagery);
    const double t_frame = seconds_since(t0);
    if (!match.ok() || !match->footprint) {
      std::cerr << "cw_imagery_bench: frame matching failed\n";
      return 1;
    }
    std::printf("frame run %d seconds %.3f views %d inliers %d\n", run, t_frame, match->views,
                match->inliers);
    std::fflush(stdout);
  }
  return 0;
}
