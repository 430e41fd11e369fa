// Change detection between two registered images (imagery.hpp).
#include "pipeline/imagery.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <opencv2/imgproc.hpp>

#include "pipeline/internal/imagery_common.hpp"
#include "pipeline/png.hpp"

namespace cw::pipeline {

using namespace internal;

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
}  // namespace cw::pipeline
