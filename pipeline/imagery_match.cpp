// Frame-to-imagery matching (imagery.hpp): a ground-level frame against an overhead image over
// simulated affine views, and footprints from analyst tie points.
#include "pipeline/imagery.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include <fmt/format.h>

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/flann.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/internal/imagery_common.hpp"

namespace cw::pipeline {

using namespace internal;

// ---------------------------------------------------------------------------------------------
// Frame -> imagery

namespace {

// One simulated view of the frame: the image, its valid-pixel mask, and the affine map from the
// view back to the (working-scale) frame.
struct View {
  cv::Mat image;
  cv::Mat mask;
  cv::Matx23d back;
};

// ASIFT's affine_skew: rotate by phi (degrees) onto a canvas that holds the whole image, blur
// along x and squeeze x by 1/tilt.
View simulate_view(const cv::Mat& grey, double tilt, double phi) {
  View v;
  cv::Matx23d a(1, 0, 0, 0, 1, 0);
  cv::Mat img = grey;
  const cv::Mat full_mask(grey.size(), CV_8U, cv::Scalar(255));
  if (phi != 0.0) {
    const double r = phi * kPi / 180.0, s = std::sin(r), c = std::cos(r);
    const double w = grey.cols, h = grey.rows;
    std::vector<cv::Point2f> corners;
    for (const auto& p :
         {cv::Point2d(0, 0), cv::Point2d(w, 0), cv::Point2d(w, h), cv::Point2d(0, h)}) {
      corners.emplace_back(static_cast<float>(c * p.x - s * p.y),
                           static_cast<float>(s * p.x + c * p.y));
    }
    const cv::Rect box = cv::boundingRect(corners);
    a = cv::Matx23d(c, -s, -box.x, s, c, -box.y);
    cv::warpAffine(grey, img, cv::Mat(a), box.size(), cv::INTER_LINEAR, cv::BORDER_REPLICATE);
  }
  if (tilt != 1.0) {
    const double sigma = 0.8 * std::sqrt(tilt * tilt - 1.0);
    cv::GaussianBlur(img, img, cv::Size(0, 0), sigma, 0.01);
    cv::resize(img, img, cv::Size(), 1.0 / tilt, 1.0, cv::INTER_NEAREST);
    for (int k = 0; k < 3; ++k) a(0, k) /= tilt;
  }
  v.image = img;
  if (phi != 0.0 || tilt != 1.0) {
    cv::warpAffine(full_mask, v.mask, cv::Mat(a), img.size(), cv::INTER_NEAREST);
  } else {
    v.mask = full_mask;
  }
  // Keypoints on the canvas edge describe the border, not the scene.
  cv::erode(v.mask, v.mask, disk(3), cv::Point(-1, -1), 1, cv::BORDER_CONSTANT, cv::Scalar(0));
  cv::Mat back;
  cv::invertAffineTransform(cv::Mat(a), back);
  v.back = back;
  return v;
}

// See FrameMatchOptions. residual_px at the working scale.
double confidence_of(int inliers, double residual_px) {
  const double c =
      (1.0 - std::exp(-(inliers - 10) / 15.0)) / (1.0 + std::max(0.0, residual_px - 1.0) / 4.0);
  return std::clamp(c, 0.0, 1.0);
}

// Keypoints (in the image's own working-scale coordinates) and descriptors of every simulated
// view of an image, pooled.
Features simulated_features(const cv::Ptr<cv::Feature2D>& detector, const cv::Mat& grey,
                            const std::vector<double>& tilts, int& views,
                            const std::function<void()>& view_done) {
  Features pooled;
  std::vector<cv::Mat> descriptors;
  for (double t : tilts) {
    const double step = 72.0 / t;
    for (double phi = 0; phi < 180.0 - 1e-9; phi += step) {
      const View v = simulate_view(grey, t, phi);
      Features f = detect(detector, v.image, v.mask);
      for (auto& k : f.keypoints) {
        const cv::Point2f p = k.pt;
        k.pt =
            cv::Point2f(static_cast<float>(v.back(0, 0) * p.x + v.back(0, 1) * p.y + v.back(0, 2)),
                        static_cast<float>(v.back(1, 0) * p.x + v.back(1, 1) * p.y + v.back(1, 2)));
        pooled.keypoints.push_back(k);
      }
      if (!f.descriptors.empty()) descriptors.push_back(f.descriptors);
      ++views;
      if (view_done) view_done();
      if (t == 1.0) break;  // the untilted view is rotation-invariant already
    }
  }
  if (!descriptors.empty()) cv::vconcat(descriptors, pooled.descriptors);
  return pooled;
}

int count_views(const std::vector<double>& tilts) {
  int n = 0;
  for (double t : tilts) n += t == 1.0 ? 1 : static_cast<int>(std::ceil(180.0 / (72.0 / t) - 1e-9));
  return n;
}

}  // namespace

Result<FrameMatch> match_frame_to_imagery(const cv::Mat& frame, const cv::Mat& imagery,
                                          const GeoReference* geo, const FrameMatchOptions& options,
                                          const ProgressFn& progress) {
  if (auto s = check_image(frame, "frame", "frame"); !s) return s.error();
  if (auto s = check_image(imagery, "imagery", "imagery"); !s) return s.error();
  for (const auto* tilts : {&options.tilts, &options.imagery_tilts}) {
    if (tilts->empty()) return unprocessable("no tilts to simulate", "tilts");
    for (double t : *tilts) {
      if (!(t >= 1.0 && t <= 8.0)) return unprocessable("tilts must lie in [1, 8]", "tilts");
    }
  }
  report(progress, 0);

  const auto [frame_s, sf] = downscale(to_grey(frame), options.max_side);
  const auto [imagery_s, si] = downscale(to_grey(imagery), options.max_side);
  cv::Ptr<cv::Feature2D> detector = cv::AKAZE::create(cv::AKAZE::DESCRIPTOR_MLDB, 0, 3,
                                                      static_cast<float>(options.akaze_threshold));
  FrameMatch out;
  const int total_views = count_views(options.tilts) + count_views(options.imagery_tilts);
  int done = 0;
  auto view_done = [&] { report(progress, 80 * ++done / total_views); };
  const Features fi =
      simulated_features(detector, imagery_s, options.imagery_tilts, out.views, view_done);
  const Features ff = simulated_features(detector, frame_s, options.tilts, out.views, view_done);

  // Nearest imagery descriptors of each frame descriptor (LSH over the binary descriptors: the
  // pooled sets hold tens of thousands each), then the ratio test against the nearest one from a
  // different place.
  std::vector<std::vector<cv::DMatch>> knn;
  if (!ff.descriptors.empty() && fi.descriptors.rows >= 2) {
    cv::FlannBasedMatcher matcher(cv::makePtr<cv::flann::LshIndexParams>(6, 12, 1),
                                  cv::makePtr<cv::flann::SearchParams>(64));
    matcher.knnMatch(ff.descriptors, fi.descriptors, knn, 6);
  }
  report(progress, 85);
  struct Candidate {
    cv::Point2f frame, imagery;
    float distance;
  };
  std::vector<Candidate> candidates;
  for (const auto& m : knn) {
    if (m.empty()) continue;
    const cv::Point2f at = fi.keypoints[static_cast<std::size_t>(m[0].trainIdx)].pt;
    double second = std::numeric_limits<double>::infinity();
    for (std::size_t k = 1; k < m.size(); ++k) {
      const cv::Point2f other = fi.keypoints[static_cast<std::size_t>(m[k].trainIdx)].pt;
      if (cv::norm(other - at) > options.distinct_px) {
        second = m[k].distance;
        break;
      }
    }
    if (!(m[0].distance < options.ratio * second)) continue;
    candidates.push_back(
        {ff.keypoints[static_cast<std::size_t>(m[0].queryIdx)].pt, at, m[0].distance});
  }
  // One match per place on either side, the best first: a place seen in several views would
  // otherwise count as several agreeing matches and make a chance homography look supported.
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.distance < b.distance; });
  const double cell = std::max(1.0, options.distinct_px);
  auto key = [cell](const cv::Point2f& p, int dx, int dy) {
    return std::make_pair(static_cast<std::int64_t>(std::floor(p.x / cell)) + dx,
                          static_cast<std::int64_t>(std::floor(p.y / cell)) + dy);
  };
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<cv::Point2f>> used_f, used_i;
  auto taken = [&](const auto& used, const cv::Point2f& p) {
    for (int dy = -1; dy <= 1; ++dy) {
      for (int dx = -1; dx <= 1; ++dx) {
        auto it = used.find(key(p, dx, dy));
        if (it == used.end()) continue;
        for (const auto& q : it->second) {
          if (cv::norm(q - p) <= options.distinct_px) return true;
        }
      }
    }
    return false;
  };
  std::vector<cv::Point2f> pf, pi;
  for (const auto& c : candidates) {
    if (taken(used_f, c.frame) || taken(used_i, c.imagery)) continue;
    used_f[key(c.frame, 0, 0)].push_back(c.frame);
    used_i[key(c.imagery, 0, 0)].push_back(c.imagery);
    pf.push_back(c.frame);
    pi.push_back(c.imagery);
  }
  out.matches = static_cast<int>(pf.size());
  auto refuse = [&](const std::string& why) {
    out.reason = "no reliable match: " + why;
    report(progress, 100);
    return out;
  };
  if (out.matches < options.min_inliers) {
    return refuse(fmt::format("too few matches: {} (need {})", out.matches, options.min_inliers));
  }
  std::vector<unsigned char> inlier_mask;
  bool ok = false;
  const cv::Matx33d h_s = robust_homography(pf, pi, options.ransac_threshold_px, inlier_mask, ok);
  if (!ok) return refuse("homography estimation failed");
  out.inliers = cv::countNonZero(inlier_mask);
  const double ratio = static_cast<double>(out.inliers) / out.matches;
  if (out.inliers < options.min_inliers) {
    return refuse(fmt::format("too few inliers: {} of {} matches (need {})", out.inliers,
                              out.matches, options.min_inliers));
  }
  if (ratio < options.min_inlier_ratio) {
    return refuse(fmt::format("inlier ratio {:.2f} below {:.2f} ({} of {} matches)", ratio,
                              options.min_inlier_ratio, out.inliers, out.matches));
  }

  cv::Matx33d h = full_from_scaled(si) * h_s * scaled_from_full(sf);
  h = h * (1.0 / h(2, 2));

  Footprint fp;
  fp.homography = h;
  // The frame's area as it would appear at the imagery's scale, for the area-ratio check.
  const double frame_area = static_cast<double>(frame.cols) * frame.rows * (sf / si) * (sf / si);
  if (auto why = projected_outline(h, frame.size(), frame_area / options.max_area_ratio,
                                   frame_area * options.max_area_ratio, fp.outline_px)) {
    return refuse(*why);
  }
  fp.centre_px = apply(h, cv::Point2d((frame.cols - 1) / 2.0, (frame.rows - 1) / 2.0));
  std::vector<cv::Point2d> sf_pts, si_pts;
  for (std::size_t i = 0; i < pf.size(); ++i) {
    if (inlier_mask[i] == 0) continue;
    sf_pts.push_back(to_full(pf[i], sf));
    si_pts.push_back(to_full(pi[i], si));
  }
  fp.inliers = out.inliers;
  fp.residual_px = rms_error(h, sf_pts, si_pts);
  fp.confidence = confidence_of(out.inliers, fp.residual_px * si);
  georeference_footprint(fp, geo);
  out.footprint = std::move(fp);
  report(progress, 100);
  return out;
}

namespace {

// Normalised direct linear transform (Hartley & Zisserman, algorithm 4.2) in double precision:
// the homography src -> dst minimising the algebraic error, exact for exact correspondences.
// Empty when the points do not determine one.
std::optional<cv::Matx33d> dlt_homography(const std::vector<cv::Point2d>& src,
                                          const std::vector<cv::Point2d>& dst) {
  auto normaliser = [](const std::vector<cv::Point2d>& p) {
    cv::Point2d c(0, 0);
    for (const auto& q : p) c += q;
    c *= 1.0 / static_cast<double>(p.size());
    double d = 0;
    for (const auto& q : p) d += cv::norm(q - c);
    d /= static_cast<double>(p.size());
    const double k = d > 0 ? std::sqrt(2.0) / d : 1.0;
    return cv::Matx33d(k, 0, -k * c.x, 0, k, -k * c.y, 0, 0, 1);
  };
  const cv::Matx33d ts = normaliser(src), td = normaliser(dst);
  cv::Mat a(static_cast<int>(2 * src.size()), 9, CV_64F, cv::Scalar(0));
  for (std::size_t i = 0; i < src.size(); ++i) {
    const cv::Point2d s = apply(ts, src[i]), d = apply(td, dst[i]);
    double* r0 = a.ptr<double>(static_cast<int>(2 * i));
    double* r1 = a.ptr<double>(static_cast<int>(2 * i + 1));
    const double row0[9] = {-s.x, -s.y, -1, 0, 0, 0, d.x * s.x, d.x * s.y, d.x};
    const double row1[9] = {0, 0, 0, -s.x, -s.y, -1, d.y * s.x, d.y * s.y, d.y};
    std::copy(row0, row0 + 9, r0);
    std::copy(row1, row1 + 9, r1);
  }
  cv::Mat w, u, vt;
  cv::SVD::compute(a, w, u, vt, cv::SVD::FULL_UV);
  // Rank below 8: a family of solutions, not one homography.
  if (w.rows < 8 || w.at<double>(7) <= 1e-10 * w.at<double>(0)) return std::nullopt;
  cv::Matx33d hn;
  for (int k = 0; k < 9; ++k) hn(k / 3, k % 3) = vt.at<double>(8, k);
  cv::Matx33d h = td.inv() * hn * ts;
  if (!std::isfinite(h(2, 2)) || std::abs(h(2, 2)) < 1e-12) return std::nullopt;
  return h * (1.0 / h(2, 2));
}

}  // namespace

Result<Footprint> footprint_from_tie_points(const std::vector<TiePoint>& points,
                                            const cv::Size& frame_size, const GeoReference* geo) {
  constexpr const char* kField = "tie_points";
  if (points.size() < 4) {
    return unprocessable(fmt::format("need at least 4 tie points, got {}", points.size()), kField);
  }
  if (frame_size.width <= 0 || frame_size.height <= 0) {
    return unprocessable("frame size must be positive", "frame");
  }
  std::vector<cv::Point2d> pf, pi;
  for (const auto& p : points) {
    if (!std::isfinite(p.frame.x) || !std::isfinite(p.frame.y) || !std::isfinite(p.imagery.x) ||
        !std::isfinite(p.imagery.y)) {
      return unprocessable("tie point coordinates must be finite numbers", kField);
    }
    pf.push_back(p.frame);
    pi.push_back(p.imagery);
  }
  // Degenerate configurations, on each side: coincident points, all on one line, and (with
  // exactly four) three on one line — then no homography is determined.
  for (const auto* side : {&pf, &pi}) {
    const auto& s = *side;
    const char* name = side == &pf ? "frame" : "imagery";
    double extent = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
      for (std::size_t j = i + 1; j < s.size(); ++j)
        extent = std::max(extent, cv::norm(s[i] - s[j]));
    for (std::size_t i = 0; i < s.size(); ++i) {
      for (std::size_t j = i + 1; j < s.size(); ++j) {
        if (cv::norm(s[i] - s[j]) <= 1e-6 * std::max(1.0, extent)) {
          return unprocessable(
              fmt::format("tie points {} and {} coincide in the {}", i + 1, j + 1, name), kField);
        }
      }
    }
    auto near_line = [&](const cv::Point2d& a, const cv::Point2d& b, const cv::Point2d& c) {
      const cv::Point2d u = b - a, v = c - a;
      return std::abs(u.x * v.y - u.y * v.x) <= 1e-3 * extent * extent;
    };
    // All on one line: the smaller principal axis of the point cloud is (almost) nothing.
    cv::Point2d mean(0, 0);
    for (const auto& p : s) mean += p;
    mean *= 1.0 / static_cast<double>(s.size());
    double sxx = 0, syy = 0, sxy = 0;
    for (const auto& p : s) {
      const cv::Point2d d = p - mean;
      sxx += d.x * d.x;
      syy += d.y * d.y;
      sxy += d.x * d.y;
    }
    const double tr = sxx + syy, det = sxx * syy - sxy * sxy;
    const double disc = std::sqrt(std::max(0.0, tr * tr / 4 - det));
    const double small = tr / 2 - disc, large = tr / 2 + disc;
    if (small <= 1e-6 * large) {
      return unprocessable(fmt::format("tie points are collinear in the {}", name), kField);
    }
    if (s.size() == 4) {
      for (int skip = 0; skip < 4; ++skip) {
        std::vector<cv::Point2d> t;
        for (int k = 0; k < 4; ++k)
          if (k != skip) t.push_back(s[static_cast<std::size_t>(k)]);
        if (near_line(t[0], t[1], t[2])) {
          return unprocessable(
              fmt::format("three of the four tie points are collinear in the {}", name), kField);
        }
      }
    }
  }

  // With 8 or more pairs RANSAC first drops pairs that disagree with the rest (a mis-click).
  std::vector<unsigned char> mask(points.size(), 1);
  if (points.size() >= 8) {
    cv::Mat hm;
    try {
      hm = cv::findHomography(pf, pi, cv::RANSAC, 3.0, mask, 2000, 0.999);
    } catch (const cv::Exception&) {
      hm.release();
    }
    if (hm.empty()) return unprocessable("homography degenerate: no solution", kField);
  }
  std::vector<cv::Point2d> inf, ini;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (mask[i] == 0) continue;
    inf.push_back(pf[i]);
    ini.push_back(pi[i]);
  }
  const auto fitted = dlt_homography(inf, ini);
  if (!fitted) return unprocessable("homography degenerate: no unique solution", kField);
  const cv::Matx33d h = *fitted;
  Footprint fp;
  fp.homography = h;
  if (auto why = projected_outline(h, frame_size, 1e-9, std::numeric_limits<double>::infinity(),
                                   fp.outline_px)) {
    return unprocessable(*why, kField);
  }
  fp.centre_px = apply(h, cv::Point2d((frame_size.width - 1) / 2.0, (frame_size.height - 1) / 2.0));
  fp.inliers = static_cast<int>(inf.size());
  fp.residual_px = rms_error(h, inf, ini);
  fp.confidence = points.size() == 4 ? 1.0 : 1.0 / (1.0 + fp.residual_px / 2.0);
  georeference_footprint(fp, geo);
  return fp;
}

}  // namespace cw::pipeline
