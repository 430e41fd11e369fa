// GeoReference and the geometry that registration (imagery_register.cpp), change detection
// (imagery_change.cpp) and frame-to-imagery matching (imagery_match.cpp) share
// (pipeline/internal/imagery_common.hpp).
//
// All geometry is computed on working copies scaled to a bounded size (features and ECC cost
// grows with the pixel count) and scaled back: a homography H_s between scaled images becomes
// S_dst⁻¹ · H_s · S_src at full resolution, S = diag(s, s, 1).
#include "pipeline/imagery.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opencv2/calib3d.hpp>
#include <opencv2/features2d.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/internal/imagery_common.hpp"

namespace cw::pipeline {
namespace {

// WGS 84 ellipsoid.
constexpr double kWgs84A = 6378137.0;
constexpr double kWgs84E2 = 6.69437999014e-3;

}  // namespace

namespace internal {

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

Features detect(const cv::Ptr<cv::Feature2D>& detector, const cv::Mat& grey, const cv::Mat& mask) {
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

cv::Point2d apply(const cv::Matx33d& h, const cv::Point2d& p, double* w_out) {
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

cv::Mat disk(int radius) {
  return cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * radius + 1, 2 * radius + 1));
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

}  // namespace internal

using namespace internal;

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

}  // namespace cw::pipeline
