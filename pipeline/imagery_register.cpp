// Registration of two images of the same place (imagery.hpp): features, a robust homography,
// optional ECC refinement, checked against the projected outline and the residual.
#include "pipeline/imagery.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opencv2/video/tracking.hpp>

#include "pipeline/internal/imagery_common.hpp"

namespace cw::pipeline {

using namespace internal;

// ---------------------------------------------------------------------------------------------
// Registration

Result<Registration> register_images(const cv::Mat& before, const cv::Mat& after,
                                     const RegistrationOptions& options,
                                     const ProgressFn& progress) {
  constexpr const char* kField = "registration";
  if (auto s = check_image(before, "before", kField); !s) return s.error();
  if (auto s = check_image(after, "after", kField); !s) return s.error();
  report(progress, 0);

  const auto [before_s, sb] = downscale(to_grey(before), options.max_side);
  const auto [after_s, sa] = downscale(to_grey(after), options.max_side);
  Registration reg;
  reg.scale = std::min(sb, sa);

  auto detector = make_detector(options.features);
  const Features fb = detect(detector, before_s);
  report(progress, 20);
  const Features fa = detect(detector, after_s);
  report(progress, 40);
  reg.keypoints_before = static_cast<int>(fb.keypoints.size());
  reg.keypoints_after = static_cast<int>(fa.keypoints.size());
  for (const auto& [name, n] :
       {std::pair{"before", reg.keypoints_before}, std::pair{"after", reg.keypoints_after}}) {
    if (n < options.min_matches) {
      return unprocessable(
          fmt::format("too few features in {}: {} (need {})", name, n, options.min_matches),
          kField);
    }
  }

  const auto matches = ratio_matches(fa.descriptors, fb.descriptors, options.ratio);
  reg.matches = static_cast<int>(matches.size());
  if (reg.matches < options.min_matches) {
    return unprocessable(
        fmt::format("too few matches: {} (need {})", reg.matches, options.min_matches), kField);
  }
  std::vector<cv::Point2f> pa, pb;
  for (const auto& m : matches) {
    pa.push_back(fa.keypoints[m.queryIdx].pt);
    pb.push_back(fb.keypoints[m.trainIdx].pt);
  }
  std::vector<unsigned char> inlier_mask;
  bool ok = false;
  const cv::Matx33d h_s = robust_homography(pa, pb, options.ransac_threshold_px, inlier_mask, ok);
  if (!ok) return unprocessable("homography degenerate: estimation failed", kField);
  reg.inliers = cv::countNonZero(inlier_mask);
  if (reg.inliers < options.min_inliers) {
    return unprocessable(fmt::format("too few inliers: {} of {} (need {})", reg.inliers,
                                     reg.matches, options.min_inliers),
                         kField);
  }
  report(progress, 55);

  // Full-resolution inlier coordinates, for the residual.
  std::vector<cv::Point2d> ia, ib;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    if (inlier_mask[i] == 0) continue;
    ia.push_back(to_full(pa[i], sa));
    ib.push_back(to_full(pb[i], sb));
  }
  cv::Matx33d h = full_from_scaled(sb) * h_s * scaled_from_full(sa);
  h = h * (1.0 / h(2, 2));

  std::array<cv::Point2d, 4> outline;
  const double before_area = static_cast<double>(before.cols) * before.rows;
  if (auto why =
          projected_outline(h, after.size(), before_area / 400.0, before_area * 400.0, outline)) {
    return unprocessable(*why, kField);
  }

  if (options.refine_ecc) {
    // ECC aligns input (after) to template (before): its warp maps template coordinates to input
    // coordinates, the inverse of ours.
    cv::Mat tmpl, input;
    before_s.convertTo(tmpl, CV_32F);
    after_s.convertTo(input, CV_32F);
    cv::Matx33d w_s = h_s.inv();
    w_s = w_s * (1.0 / w_s(2, 2));
    cv::Mat warp(3, 3, CV_32F);
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) warp.at<float>(r, c) = static_cast<float>(w_s(r, c));
    try {
      const double rho =
          cv::findTransformECC(tmpl, input, warp, cv::MOTION_HOMOGRAPHY,
                               cv::TermCriteria(cv::TermCriteria::COUNT | cv::TermCriteria::EPS,
                                                options.ecc_iterations, options.ecc_epsilon),
                               cv::Mat(), 5);
      const cv::Matx33d w_ecc = warp;
      cv::Matx33d h_ecc_s = w_ecc.inv();
      h_ecc_s = h_ecc_s * (1.0 / h_ecc_s(2, 2));
      cv::Matx33d h_ecc = full_from_scaled(sb) * h_ecc_s * scaled_from_full(sa);
      h_ecc = h_ecc * (1.0 / h_ecc(2, 2));
      const double shift = max_corner_shift(h, h_ecc, after.size());
      if (!std::isfinite(rho) || rho < options.ecc_min_correlation) {
        reg.ecc_note = fmt::format("ECC correlation {:.3f} below {:.3f}; feature estimate kept",
                                   rho, options.ecc_min_correlation);
      } else if (!(shift <= options.ecc_max_shift_px)) {
        reg.ecc_note = fmt::format(
            "ECC moved a corner by {:.1f} px (limit {:.1f}); feature "
            "estimate kept",
            shift, options.ecc_max_shift_px);
      } else {
        h = h_ecc;
        reg.ecc_correlation = rho;
      }
    } catch (const cv::Exception&) {
      reg.ecc_note = "ECC did not converge; feature estimate kept";
    }
  }
  report(progress, 95);

  reg.homography = h;
  reg.residual_px = rms_error(h, ia, ib);
  // The limit is for the working scale, where keypoints are located to about a pixel.
  const double residual_scaled = reg.residual_px * sb;
  if (residual_scaled > options.max_residual_px) {
    return unprocessable(fmt::format("residual too large: {:.1f} px (limit {:.1f} at the working "
                                     "scale {:.2f})",
                                     residual_scaled, options.max_residual_px, sb),
                         kField);
  }
  report(progress, 100);
  return reg;
}
}  // namespace cw::pipeline
