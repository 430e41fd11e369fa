// Registration, change detection and frame-to-imagery matching (imagery.hpp).
//
// All geometry is computed on working copies scaled to a bounded size (features and ECC cost
// grows with the pixel count) and scaled back: a homography H_s between scaled images becomes
// S_dst⁻¹ · H_s · S_src at full resolution, S = diag(s, s, 1).
#include "pipeline/imagery.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <utility>

#include <fmt/format.h>

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/flann.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/video/tracking.hpp>

#include "pipeline/png.hpp"

namespace cw::pipeline {
namespace {

constexpr double kPi = 3.14159265358979323846;
// WGS 84 ellipsoid.
constexpr double kWgs84A = 6378137.0;
constexpr double kWgs84E2 = 6.69437999014e-3;
// Images smaller than this on a side cannot be registered or matched meaningfully.
constexpr int kMinSide = 32;

void report(const ProgressFn& progress, int percent) {
  if (progress) progress(std::clamp(percent, 0, 100));
}

Error unprocessable(std::string detail, std::string field) {
  return Error(Code::kUnprocessable, std::move(detail), std::move(field));
}

// Checks an input image: 8-bit, 1, 3 or 4 channels, not tiny.
Status check_image(const cv::Mat& image, const char* name, const char* field) {
  if (image.empty()) return unprocessable(fmt::format("{} image is empty", name), field);
  if (image.depth() != CV_8U ||
      (image.channels() != 1 && image.channels() != 3 && image.channels() != 4)) {
    return unprocessable(fmt::format("{} image is not 8-bit grey, BGR or BGRA", name), field);
  }
  if (image.cols < kMinSide || image.rows < kMinSide) {
    return unprocessable(fmt::format("{} image is too small: {}x{} (need at least {}x{})", name,
                                     image.cols, image.rows, kMinSide, kMinSide),
                         field);
  }
  return Status::Ok();
}

cv::Mat to_grey(const cv::Mat& image) {
  if (image.channels() == 1) return image;
  cv::Mat grey;
  cv::cvtColor(image, grey, image.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
  return grey;
}

cv::Mat to_bgr(const cv::Mat& image) {
  if (image.channels() == 3) return image;
  cv::Mat bgr;
  cv::cvtColor(image, bgr, image.channels() == 4 ? cv::COLOR_BGRA2BGR : cv::COLOR_GRAY2BGR);
  return bgr;
}

// A copy whose longer side is at most max_side (INTER_AREA), and the scale used (≤ 1).
std::pair<cv::Mat, double> downscale(const cv::Mat& image, int max_side) {
  const int longer = std::max(image.cols, image.rows);
  if (max_side <= 0 || longer <= max_side) return {image, 1.0};
  const double s = static_cast<double>(max_side) / longer;
  cv::Mat out;
  cv::resize(image, out, cv::Size(), s, s, cv::INTER_AREA);
  // The real scale per axis differs from s by rounding; use the x one (within 1/size).
  return {out, static_cast<double>(out.cols) / image.cols};
}

// The exact maps between full-resolution pixel coordinates and those of a copy scaled by s
// (pixel centres: p_scaled = (p_full + 0.5)·s − 0.5).
cv::Matx33d full_from_scaled(double s) {
  return {1 / s, 0, 0.5 / s - 0.5, 0, 1 / s, 0.5 / s - 0.5, 0, 0, 1};
}
cv::Matx33d scaled_from_full(double s) {
  return {s, 0, 0.5 * s - 0.5, 0, s, 0.5 * s - 0.5, 0, 0, 1};
}

cv::Point2d to_full(const cv::Point2f& p, double s) {
  return {(p.x + 0.5) / s - 0.5, (p.y + 0.5) / s - 0.5};
}

cv::Ptr<cv::Feature2D> make_detector(FeatureKind kind) {
  if (kind == FeatureKind::kOrb) return cv::ORB::create(8000);
  return cv::AKAZE::create();
}

struct Features {
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
};

Features detect(const cv::Ptr<cv::Feature2D>& detector, const cv::Mat& grey,
                const cv::Mat& mask = {}) {
  Features f;
  detector->detectAndCompute(grey, mask, f.keypoints, f.descriptors);
  return f;
}

// Lowe's ratio test on 2-NN Hamming matches of query against train.
std::vector<cv::DMatch> ratio_matches(const cv::Mat& query, const cv::Mat& train, double ratio) {
  std::vector<cv::DMatch> good;
  if (query.empty() || train.rows < 2) return good;
  cv::BFMatcher matcher(cv::NORM_HAMMING);
  std::vector<std::vector<cv::DMatch>> knn;
  matcher.knnMatch(query, train, knn, 2);
  for (const auto& m : knn) {
    if (m.size() == 2 && m[0].distance < ratio * m[1].distance) good.push_back(m[0]);
  }
  return good;
}

cv::Point2d apply(const cv::Matx33d& h, const cv::Point2d& p, double* w_out = nullptr) {
  const cv::Vec3d v = h * cv::Vec3d(p.x, p.y, 1.0);
  if (w_out != nullptr) *w_out = v[2];
  return {v[0] / v[2], v[1] / v[2]};
}

double polygon_area(const std::array<cv::Point2d, 4>& q) {
  double a = 0;
  for (int i = 0; i < 4; ++i) a += q[i].x * q[(i + 1) % 4].y - q[(i + 1) % 4].x * q[i].y;
  return a / 2.0;
}

bool convex(const std::array<cv::Point2d, 4>& q) {
  int sign = 0;
  for (int i = 0; i < 4; ++i) {
    const cv::Point2d a = q[(i + 1) % 4] - q[i];
    const cv::Point2d b = q[(i + 2) % 4] - q[(i + 1) % 4];
    const double cross = a.x * b.y - a.y * b.x;
    if (std::abs(cross) < 1e-12) return false;
    const int s = cross > 0 ? 1 : -1;
    if (sign != 0 && s != sign) return false;
    sign = s;
  }
  return true;
}

// Outer corners of a w×h image in OpenCV coordinates: TL, TR, BR, BL.
std::array<cv::Point2d, 4> outer_corners(const cv::Size& size) {
  const double w = size.width, h = size.height;
  return {cv::Point2d(-0.5, -0.5), cv::Point2d(w - 0.5, -0.5), cv::Point2d(w - 0.5, h - 0.5),
          cv::Point2d(-0.5, h - 0.5)};
}

// Projects a w×h outline by h; empty optional (with the reason) when the projection is not a
// convex quadrilateral in front of the camera, or is too small or too large.
std::optional<std::string> projected_outline(const cv::Matx33d& h, const cv::Size& src,
                                             double min_area, double max_area,
                                             std::array<cv::Point2d, 4>& out) {
  if (!std::isfinite(cv::determinant(h)) || std::abs(cv::determinant(h)) < 1e-12) {
    return std::string("homography degenerate");
  }
  const auto corners = outer_corners(src);
  int sign = 0;
  for (int i = 0; i < 4; ++i) {
    double w = 0;
    out[i] = apply(h, corners[i], &w);
    const int s = w > 0 ? 1 : -1;
    if (std::abs(w) < 1e-12 || (sign != 0 && s != sign)) {
      return std::string("homography degenerate: the outline crosses the horizon");
    }
    sign = s;
  }
  if (!convex(out)) return std::string("homography degenerate: projected outline not convex");
  const double area = std::abs(polygon_area(out));
  if (area < min_area || area > max_area) {
    return fmt::format(
        "homography degenerate: projected outline area {:.3g} px² outside "
        "[{:.3g}, {:.3g}]",
        area, min_area, max_area);
  }
  return std::nullopt;
}

double rms_error(const cv::Matx33d& h, const std::vector<cv::Point2d>& src,
                 const std::vector<cv::Point2d>& dst) {
  if (src.empty()) return 0.0;
  double sum = 0;
  for (std::size_t i = 0; i < src.size(); ++i) {
    const cv::Point2d d = apply(h, src[i]) - dst[i];
    sum += d.dot(d);
  }
  return std::sqrt(sum / static_cast<double>(src.size()));
}

double max_corner_shift(const cv::Matx33d& a, const cv::Matx33d& b, const cv::Size& size) {
  double m = 0;
  for (const auto& c : outer_corners(size)) m = std::max(m, cv::norm(apply(a, c) - apply(b, c)));
  return m;
}

// A robust homography src -> dst (USAC MAGSAC++), or empty.
cv::Matx33d robust_homography(const std::vector<cv::Point2f>& src,
                              const std::vector<cv::Point2f>& dst, double threshold,
                              std::vector<unsigned char>& inlier_mask, bool& ok) {
  ok = false;
  if (src.size() < 4) return cv::Matx33d::eye();
  cv::Mat h;
  try {
    h = cv::findHomography(src, dst, cv::USAC_MAGSAC, threshold, inlier_mask, 10000, 0.999);
  } catch (const cv::Exception&) {
    return cv::Matx33d::eye();
  }
  if (h.empty()) return cv::Matx33d::eye();
  cv::Matx33d out = h;  // Mat -> Matx converts the element type
  if (!std::isfinite(out(2, 2)) || std::abs(out(2, 2)) < 1e-12) return cv::Matx33d::eye();
  ok = true;
  return out * (1.0 / out(2, 2));
}

// Local metres per degree on the WGS 84 ellipsoid at latitude lat (degrees): {east, north}.
std::pair<double, double> metres_per_degree(double lat_deg) {
  const double phi = lat_deg * kPi / 180.0;
  const double s = std::sin(phi);
  const double w = std::sqrt(1.0 - kWgs84E2 * s * s);
  const double n = kWgs84A / w;                               // prime vertical radius
  const double m = kWgs84A * (1.0 - kWgs84E2) / (w * w * w);  // meridional radius
  return {n * std::cos(phi) * kPi / 180.0, m * kPi / 180.0};
}

bool valid_geo(const geo::GeoPoint& p) {
  return std::isfinite(p.lat) && std::isfinite(p.lon) && std::abs(p.lat) <= geo::kMaxLatitude &&
         std::abs(p.lon) <= geo::kMaxLongitude;
}

// Fills outline_geo / centre_geo when geo is given and transforms every point.
void georeference_footprint(Footprint& fp, const GeoReference* geo) {
  if (geo == nullptr) return;
  std::vector<geo::GeoPoint> outline;
  for (const auto& p : fp.outline_px) {
    auto g = geo->to_wgs84(p);
    if (!g) return;
    outline.push_back(*g);
  }
  auto centre = geo->to_wgs84(fp.centre_px);
  if (!centre) return;
  fp.outline_geo = std::move(outline);
  fp.centre_geo = centre;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// GeoReference

GeoReference GeoReference::from_geotransform(
    const std::array<double, 6>& gt,
    std::function<std::optional<geo::GeoPoint>(double, double)> crs_to_wgs84) {
  GeoReference g;
  g.pixel_to_crs = cv::Matx33d(gt[1], gt[2], gt[0], gt[4], gt[5], gt[3], 0, 0, 1);
  g.crs_to_wgs84 = std::move(crs_to_wgs84);
  return g;
}

Result<GeoReference> GeoReference::from_corners(int width, int height,
                                                const std::array<geo::GeoPoint, 4>& corners) {
  if (width <= 0 || height <= 0) return unprocessable("image size must be positive", "corners");
  std::array<cv::Point2d, 4> lonlat;
  for (int i = 0; i < 4; ++i) {
    if (!valid_geo(corners[i])) {
      return unprocessable(fmt::format("corner {} is not a valid WGS 84 position", i + 1),
                           "corners");
    }
    lonlat[i] = {corners[i].lon, corners[i].lat};
  }
  if (!convex(lonlat)) {
    return unprocessable(
        "corners do not make a convex quadrilateral (order: top-left, "
        "top-right, bottom-right, bottom-left)",
        "corners");
  }
  const std::array<cv::Point2f, 4> src = {
      cv::Point2f(0, 0), cv::Point2f(static_cast<float>(width), 0),
      cv::Point2f(static_cast<float>(width), static_cast<float>(height)),
      cv::Point2f(0, static_cast<float>(height))};
  std::array<cv::Point2f, 4> dst;
  // Relative to the first corner, so float precision is not spent on the absolute degrees.
  for (int i = 0; i < 4; ++i) {
    dst[i] = cv::Point2f(static_cast<float>(lonlat[i].x - lonlat[0].x),
                         static_cast<float>(lonlat[i].y - lonlat[0].y));
  }
  cv::Mat h = cv::getPerspectiveTransform(src.data(), dst.data(), cv::DECOMP_LU);
  cv::Matx33d m = h;
  m = cv::Matx33d(1, 0, lonlat[0].x, 0, 1, lonlat[0].y, 0, 0, 1) * m;
  GeoReference g;
  g.pixel_to_crs = m * (1.0 / m(2, 2));
  return g;
}

std::optional<geo::GeoPoint> GeoReference::to_wgs84(const cv::Point2d& pixel) const {
  const cv::Vec3d v = pixel_to_crs * cv::Vec3d(pixel.x + 0.5, pixel.y + 0.5, 1.0);
  if (!std::isfinite(v[2]) || std::abs(v[2]) < 1e-15) return std::nullopt;
  const double x = v[0] / v[2], y = v[1] / v[2];
  if (!std::isfinite(x) || !std::isfinite(y)) return std::nullopt;
  std::optional<geo::GeoPoint> p;
  if (crs_to_wgs84) {
    p = crs_to_wgs84(x, y);
  } else {
    p = geo::GeoPoint{y, x, std::nullopt};
  }
  if (!p || !valid_geo(*p)) return std::nullopt;
  return p;
}

std::optional<double> GeoReference::pixel_area_m2(const cv::Point2d& pixel) const {
  const auto c = to_wgs84(pixel);
  const auto e = to_wgs84(pixel + cv::Point2d(1, 0));
  const auto s = to_wgs84(pixel + cv::Point2d(0, 1));
  if (!c || !e || !s) return std::nullopt;
  const auto [mx, my] = metres_per_degree(c->lat);
  const double ex = (e->lon - c->lon) * mx, ey = (e->lat - c->lat) * my;
  const double sx = (s->lon - c->lon) * mx, sy = (s->lat - c->lat) * my;
  return std::abs(ex * sy - ey * sx);
}

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

// ---------------------------------------------------------------------------------------------
// Change detection

namespace {

// Quantiles and Otsu over a histogram of values in [0, 255] with 4 bins a level.
struct Histogram {
  static constexpr int kBins = 1024;
  static constexpr double kPerLevel = kBins / 256.0;
  std::vector<double> counts = std::vector<double>(kBins, 0.0);
  double total = 0;

  void add(const cv::Mat& values, const cv::Mat& mask) {
    for (int r = 0; r < values.rows; ++r) {
      const float* v = values.ptr<float>(r);
      const unsigned char* m = mask.ptr<unsigned char>(r);
      for (int c = 0; c < values.cols; ++c) {
        if (m[c] == 0) continue;
        const int b = std::clamp(static_cast<int>(v[c] * kPerLevel), 0, kBins - 1);
        counts[b] += 1;
        total += 1;
      }
    }
  }
  double quantile(double q) const {
    double acc = 0;
    const double target = q * total;
    for (int b = 0; b < kBins; ++b) {
      acc += counts[b];
      if (acc >= target) return (b + 0.5) / kPerLevel;
    }
    return 255.0;
  }
  double otsu() const {
    double sum = 0;
    for (int b = 0; b < kBins; ++b) sum += b * counts[b];
    double w0 = 0, sum0 = 0, best = -1, best_b = 0;
    for (int b = 0; b < kBins; ++b) {
      w0 += counts[b];
      if (w0 == 0) continue;
      const double w1 = total - w0;
      if (w1 == 0) break;
      sum0 += b * counts[b];
      const double m0 = sum0 / w0, m1 = (sum - sum0) / w1;
      const double between = w0 * w1 * (m0 - m1) * (m0 - m1);
      if (between > best) {
        best = between;
        best_b = b;
      }
    }
    return (best_b + 1) / kPerLevel;
  }
};

cv::Mat disk(int radius) {
  return cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * radius + 1, 2 * radius + 1));
}

}  // namespace

Result<ChangeResult> detect_changes(const cv::Mat& before, const cv::Mat& after,
                                    const Registration& registration, const ChangeOptions& options,
                                    const ProgressFn& progress) {
  constexpr const char* kField = "change";
  if (auto s = check_image(before, "before", kField); !s) return s.error();
  if (auto s = check_image(after, "after", kField); !s) return s.error();
  {
    const cv::Matx33d& h = registration.homography;
    bool finite = true;
    for (double v : h.val) finite = finite && std::isfinite(v);
    const double det = finite ? cv::determinant(h) : 0.0;
    if (!finite || !std::isfinite(det) || std::abs(det) < 1e-12) {
      return unprocessable("homography degenerate", kField);
    }
  }
  report(progress, 0);

  // Colour when both are colour; otherwise compare grey.
  const bool colour = before.channels() > 1 && after.channels() > 1;
  const cv::Mat b8 = colour ? to_bgr(before) : to_grey(before);
  const cv::Mat a8 = colour ? to_bgr(after) : to_grey(after);

  cv::Mat warped, covered;
  cv::warpPerspective(a8, warped, cv::Mat(registration.homography), before.size(), cv::INTER_LINEAR,
                      cv::BORDER_CONSTANT);
  cv::warpPerspective(cv::Mat(after.size(), CV_8U, cv::Scalar(255)), covered,
                      cv::Mat(registration.homography), before.size(), cv::INTER_NEAREST,
                      cv::BORDER_CONSTANT);
  cv::Mat valid;
  if (options.border_px > 0) {
    cv::erode(covered, valid, disk(options.border_px), cv::Point(-1, -1), 1, cv::BORDER_CONSTANT,
              cv::Scalar(0));
  } else {
    valid = covered;
  }
  ChangeResult result;
  result.overlap_fraction =
      static_cast<double>(cv::countNonZero(valid)) / (static_cast<double>(before.total()));
  if (result.overlap_fraction < 0.05) {
    return unprocessable(fmt::format("overlap too small: {:.1f} % of before (need 5 %)",
                                     100 * result.overlap_fraction),
                         kField);
  }
  report(progress, 25);

  cv::Mat bf, af;
  b8.convertTo(bf, CV_32F);
  warped.convertTo(af, CV_32F);
  if (options.blur_sigma > 0) {
    cv::GaussianBlur(bf, bf, cv::Size(), options.blur_sigma);
    cv::GaussianBlur(af, af, cv::Size(), options.blur_sigma);
  }
  std::vector<cv::Mat> bb, ab;
  cv::split(bf, bb);
  cv::split(af, ab);
  cv::Mat diff(before.size(), CV_32F, cv::Scalar(0));
  for (std::size_t i = 0; i < bb.size(); ++i) {
    cv::Scalar mb, sdb, ma, sda;
    cv::meanStdDev(bb[i], mb, sdb, valid);
    cv::meanStdDev(ab[i], ma, sda, valid);
    const double gain = sda[0] > 1e-6 ? sdb[0] / sda[0] : 1.0;
    cv::Mat norm = (ab[i] - ma[0]) * gain + mb[0];
    cv::Mat d;
    switch (options.sign) {
      case ChangeSign::kAny:
        d = cv::abs(norm - bb[i]);
        break;
      case ChangeSign::kDarker:
        cv::max(bb[i] - norm, 0.0, d);
        break;
      case ChangeSign::kBrighter:
        cv::max(norm - bb[i], 0.0, d);
        break;
    }
    cv::max(diff, d, diff);
  }
  diff.setTo(0, valid == 0);
  report(progress, 50);

  Histogram hist;
  hist.add(diff, valid);
  double threshold = 0;
  switch (options.method) {
    case ThresholdMethod::kRobustSigma: {
      const double median = hist.quantile(0.5);
      Histogram dev;
      cv::Mat absdev = cv::abs(diff - median);
      dev.add(absdev, valid);
      threshold = median + options.k * 1.4826 * dev.quantile(0.5);
      break;
    }
    case ThresholdMethod::kMeanSigma: {
      cv::Scalar mean, sd;
      cv::meanStdDev(diff, mean, sd, valid);
      threshold = mean[0] + options.k * sd[0];
      break;
    }
    case ThresholdMethod::kOtsu:
      threshold = hist.otsu();
      break;
  }
  result.threshold = std::max(threshold, options.min_threshold);

  cv::Mat binary = (diff > result.threshold) & valid;
  if (options.open_radius > 0)
    cv::morphologyEx(binary, binary, cv::MORPH_OPEN, disk(options.open_radius));
  if (options.close_radius > 0) {
    cv::morphologyEx(binary, binary, cv::MORPH_CLOSE, disk(options.close_radius));
  }
  report(progress, 70);

  cv::Mat labels, stats, centroids;
  const int n = cv::connectedComponentsWithStats(binary, labels, stats, centroids, 8, CV_32S);
  std::vector<unsigned char> keep(static_cast<std::size_t>(n), 0);
  for (int i = 1; i < n; ++i) {
    const int area = stats.at<int>(i, cv::CC_STAT_AREA);
    if (area < options.min_area_px || area > options.max_area_px) continue;
    keep[static_cast<std::size_t>(i)] = 1;
    ChangeBlob blob;
    blob.area_px = area;
    blob.bbox = cv::Rect(stats.at<int>(i, cv::CC_STAT_LEFT), stats.at<int>(i, cv::CC_STAT_TOP),
                         stats.at<int>(i, cv::CC_STAT_WIDTH), stats.at<int>(i, cv::CC_STAT_HEIGHT));
    blob.centroid = {centroids.at<double>(i, 0), centroids.at<double>(i, 1)};
    result.blobs.push_back(blob);
  }
  std::stable_sort(result.blobs.begin(), result.blobs.end(),
                   [](const ChangeBlob& a, const ChangeBlob& b) { return a.area_px > b.area_px; });
  result.mask = cv::Mat(before.size(), CV_8U, cv::Scalar(0));
  for (int r = 0; r < labels.rows; ++r) {
    const int* l = labels.ptr<int>(r);
    unsigned char* m = result.mask.ptr<unsigned char>(r);
    for (int c = 0; c < labels.cols; ++c) m[c] = keep[static_cast<std::size_t>(l[c])] ? 255 : 0;
  }
  report(progress, 85);

  cv::Mat overlay = to_bgr(warped).clone();
  overlay.setTo(cv::Scalar(0, 0, 0), covered == 0);
  cv::Mat tinted;
  cv::addWeighted(overlay, 0.4, cv::Mat(overlay.size(), CV_8UC3, cv::Scalar(0, 0, 255)), 0.6, 0,
                  tinted);
  tinted.copyTo(overlay, result.mask);
  auto png = encode_png(overlay);
  if (!png.ok()) return Error(Code::kInternal, "could not encode the overlay PNG", kField);
  result.overlay_png = std::move(*png);
  report(progress, 100);
  return result;
}

std::vector<GeoBlob> geolocate_blobs(const std::vector<ChangeBlob>& blobs,
                                     const GeoReference& geo) {
  std::vector<GeoBlob> out;
  for (const auto& b : blobs) {
    const auto p = geo.to_wgs84(b.centroid);
    const auto a = geo.pixel_area_m2(b.centroid);
    if (!p || !a) continue;
    out.push_back(GeoBlob{b, *p, *a * b.area_px});
  }
  return out;
}

Result<int> count_blobs_in_polygon(const std::vector<GeoBlob>& blobs,
                                   const std::vector<geo::GeoPoint>& polygon) {
  std::vector<geo::GeoPoint> ring = polygon;
  if (ring.size() >= 2 && ring.front().lat == ring.back().lat &&
      ring.front().lon == ring.back().lon) {
    ring.pop_back();
  }
  if (ring.size() < 3) return unprocessable("a polygon needs at least 3 distinct points", "area");
  for (const auto& p : ring) {
    if (!valid_geo(p)) return unprocessable("polygon point out of range", "area");
  }
  int count = 0;
  for (const auto& b : blobs) {
    // Even-odd ray casting towards +longitude.
    bool inside = false;
    const double x = b.centroid.lon, y = b.centroid.lat;
    for (std::size_t i = 0, j = ring.size() - 1; i < ring.size(); j = i++) {
      const double xi = ring[i].lon, yi = ring[i].lat, xj = ring[j].lon, yj = ring[j].lat;
      if ((yi > y) != (yj > y) && x < (xj - xi) * (y - yi) / (yj - yi) + xi) inside = !inside;
    }
    if (inside) ++count;
  }
  return count;
}

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
