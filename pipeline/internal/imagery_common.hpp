// Internal to pipeline/imagery*.cpp: the image checks, scaling maps, feature matching and
// homography geometry that registration, change detection and frame-to-imagery matching share.
// Pure functions of their arguments (thread-safe); defined in pipeline/imagery.cpp.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/features2d.hpp>

#include "pipeline/imagery.hpp"

namespace cw::pipeline::internal {

inline constexpr double kPi = 3.14159265358979323846;
// Images smaller than this on a side cannot be registered or matched meaningfully.
inline constexpr int kMinSide = 32;

// Calls progress (when set) with percent clamped to [0, 100].
void report(const ProgressFn& progress, int percent);
// A kUnprocessable error naming field.
Error unprocessable(std::string detail, std::string field);
// Checks an input image: 8-bit, 1, 3 or 4 channels, at least kMinSide on each side; the error
// names the image (name) and field.
Status check_image(const cv::Mat& image, const char* name, const char* field);

// The image itself when it already has the wanted channels, else a converted copy.
cv::Mat to_grey(const cv::Mat& image);
cv::Mat to_bgr(const cv::Mat& image);
// A copy whose longer side is at most max_side (INTER_AREA), and the scale used (≤ 1).
std::pair<cv::Mat, double> downscale(const cv::Mat& image, int max_side);
// The exact maps between full-resolution pixel coordinates and those of a copy scaled by s
// (pixel centres: p_scaled = (p_full + 0.5)·s − 0.5).
cv::Matx33d full_from_scaled(double s);
cv::Matx33d scaled_from_full(double s);
cv::Point2d to_full(const cv::Point2f& p, double s);

cv::Ptr<cv::Feature2D> make_detector(FeatureKind kind);
struct Features {
  std::vector<cv::KeyPoint> keypoints;
  cv::Mat descriptors;
};
Features detect(const cv::Ptr<cv::Feature2D>& detector, const cv::Mat& grey,
                const cv::Mat& mask = {});
// Lowe's ratio test on 2-NN Hamming matches of query against train.
std::vector<cv::DMatch> ratio_matches(const cv::Mat& query, const cv::Mat& train, double ratio);

// h applied to p; the homogeneous w goes to *w_out when given.
cv::Point2d apply(const cv::Matx33d& h, const cv::Point2d& p, double* w_out = nullptr);
double polygon_area(const std::array<cv::Point2d, 4>& q);
bool convex(const std::array<cv::Point2d, 4>& q);
// Outer corners of a w×h image in OpenCV coordinates: TL, TR, BR, BL.
std::array<cv::Point2d, 4> outer_corners(const cv::Size& size);
// Projects a w×h outline by h into out; the reason when the projection is not a convex
// quadrilateral in front of the camera, or is too small or too large; empty when it is fine.
std::optional<std::string> projected_outline(const cv::Matx33d& h, const cv::Size& src,
                                             double min_area, double max_area,
                                             std::array<cv::Point2d, 4>& out);
double rms_error(const cv::Matx33d& h, const std::vector<cv::Point2d>& src,
                 const std::vector<cv::Point2d>& dst);
double max_corner_shift(const cv::Matx33d& a, const cv::Matx33d& b, const cv::Size& size);
// A robust homography src -> dst (USAC MAGSAC++) with ok = true, or the identity with ok = false.
cv::Matx33d robust_homography(const std::vector<cv::Point2f>& src,
                              const std::vector<cv::Point2f>& dst, double threshold,
                              std::vector<unsigned char>& inlier_mask, bool& ok);

// An elliptic structuring element of the given radius (a (2r+1)² kernel).
cv::Mat disk(int radius);

// Local metres per degree on the WGS 84 ellipsoid at latitude lat (degrees): {east, north}.
std::pair<double, double> metres_per_degree(double lat_deg);
bool valid_geo(const geo::GeoPoint& p);
// Fills outline_geo / centre_geo when geo is given and transforms every point.
void georeference_footprint(Footprint& fp, const GeoReference* geo);

}  // namespace cw::pipeline::internal
