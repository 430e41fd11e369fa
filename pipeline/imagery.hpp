// Imagery comparison: co-registration of two images of one area, change detection between the
// registered pair, matching a drone or high-angle video frame to reference imagery (with affine
// view simulation as ASIFT does), and the same footprint from analyst-picked tie points.
//
// Everything here is a pure function of images and values (cv::Mat in, values out): no files,
// no database, no HTTP. Input comes from untrusted uploads, so bad images give an error value,
// and a result that is not reliable is refused with a reason instead of returned as a guess.
// Pixel coordinates follow OpenCV: the centre of the top-left pixel is (0, 0).
//
// Thread-safety: the functions may run on several threads at once. OpenCV may use its own thread
// pool inside a call (cv::setNumThreads controls it). A GeoReference is immutable once built and
// may be shared between threads if its crs_to_wgs84 function may (raster.hpp's is).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "common/error.hpp"
#include "geo/point.hpp"

namespace cw::pipeline {

// Called with 0..100 as a long step goes on; may be empty.
using ProgressFn = std::function<void(int percent)>;

// ---------------------------------------------------------------------------------------------
// Georeference: pixel -> WGS 84.

// Maps pixels of one image to WGS 84 through the image's CRS: pixel -> CRS by a projective
// matrix (a GDAL geotransform is its affine special case), CRS -> WGS 84 by a function.
struct GeoReference {
  // CRS (x, y, 1) ~ pixel_to_crs · (col, row, 1) in GDAL's pixel convention, where the top-left
  // corner (not centre) of the top-left pixel is (0, 0). Callers use OpenCV coordinates; the
  // half-pixel shift is applied inside.
  cv::Matx33d pixel_to_crs = cv::Matx33d::eye();
  // CRS (x, y) -> WGS 84, x/y in the CRS's traditional GIS order (easting, northing or lon, lat).
  // Empty: the CRS is WGS 84 itself with x = longitude, y = latitude. Returns empty for a point
  // it cannot transform.
  std::function<std::optional<geo::GeoPoint>(double x, double y)> crs_to_wgs84;

  // A GDAL geotransform: x = gt[0] + col·gt[1] + row·gt[2], y = gt[3] + col·gt[4] + row·gt[5].
  static GeoReference from_geotransform(
      const std::array<double, 6>& gt,
      std::function<std::optional<geo::GeoPoint>(double x, double y)> crs_to_wgs84 = {});
  // An image of `width` × `height` pixels whose outer corners (of the corner pixels) lie at the
  // given WGS 84 points: top-left, top-right, bottom-right, bottom-left. A projective map, so an
  // oblique photo's trapezoid works too. Errors: kUnprocessable (field "corners") for latitudes
  // or longitudes out of range, or corners that do not make a convex quadrilateral.
  static Result<GeoReference> from_corners(int width, int height,
                                           const std::array<geo::GeoPoint, 4>& corners);

  // WGS 84 position of a pixel (OpenCV coordinates); empty when it cannot be transformed.
  std::optional<geo::GeoPoint> to_wgs84(const cv::Point2d& pixel) const;
  // Ground area of one pixel around `pixel` in m², from the local Jacobian of the mapping on the
  // WGS 84 ellipsoid (so any CRS, projected or geographic, gives square metres).
  std::optional<double> pixel_area_m2(const cv::Point2d& pixel) const;
};

// ---------------------------------------------------------------------------------------------
// Registration of `after` onto `before`.

enum class FeatureKind { kAkaze, kOrb };

struct RegistrationOptions {
  FeatureKind features = FeatureKind::kAkaze;
  // Features and ECC work on copies scaled so that the longer side is at most this many pixels;
  // the homography is scaled back to full resolution.
  int max_side = 1600;
  double ratio = 0.8;  // Lowe's ratio test: best distance < ratio · second best
  int min_matches = 20;
  int min_inliers = 15;
  double ransac_threshold_px = 3.0;  // at the working scale
  // RMS reprojection error of the inlier matches above which the registration is refused,
  // in pixels of the working copy (where keypoints are located to about a pixel; the reported
  // residual_px is at full resolution).
  double max_residual_px = 4.0;
  bool refine_ecc = true;
  int ecc_iterations = 60;
  double ecc_epsilon = 1e-5;
  // ECC's result replaces the feature estimate only if its correlation is at least this and it
  // moves no image corner more than ecc_max_shift_px (full resolution) from the estimate.
  double ecc_min_correlation = 0.3;
  double ecc_max_shift_px = 20.0;
};

struct Registration {
  // Maps `after` pixel coordinates to `before` pixel coordinates (full resolution):
  // cv::warpPerspective(after, out, homography, before.size()) lays after over before.
  cv::Matx33d homography = cv::Matx33d::eye();
  int keypoints_before = 0;
  int keypoints_after = 0;
  int matches = 0;           // after the ratio test
  int inliers = 0;           // of the robust homography
  double residual_px = 0.0;  // RMS error of the inliers under `homography`, full resolution
  // Enhanced correlation coefficient (-1..1) of the refined alignment; empty when ECC did not run
  // or was not kept (see ecc_note).
  std::optional<double> ecc_correlation;
  std::string ecc_note;  // why ECC's result was not kept, or empty
  double scale = 1.0;    // working scale used (≤ 1)
};

// Co-registers `after` onto `before` (8-bit images, grey or BGR/BGRA, any sizes).
// Errors (kUnprocessable, field "registration") with a reason: "before image is empty", "too few
// features in after: 12 (need 20)", "too few matches: 7 (need 20)", "too few inliers: 9 of 31
// (need 15)", "homography degenerate", "residual too large: 6.1 px (limit 4.0)".
Result<Registration> register_images(const cv::Mat& before, const cv::Mat& after,
                                     const RegistrationOptions& options = {},
                                     const ProgressFn& progress = {});

// ---------------------------------------------------------------------------------------------
// Change detection on a registered pair.

enum class ThresholdMethod {
  kRobustSigma,  // median + k · 1.4826 · MAD of the difference over the overlap (default)
  kMeanSigma,    // mean + k · σ
  kOtsu,         // Otsu's threshold on the difference histogram
};

enum class ChangeSign {
  kAny,       // |after - before|
  kDarker,    // after darker than before (new vehicles on light ground, shadows)
  kBrighter,  // after brighter
};

struct ChangeOptions {
  ThresholdMethod method = ThresholdMethod::kRobustSigma;
  double k = 6.0;
  // The threshold is never below this (0..255 difference), so that the noise of an unchanged
  // pair does not become change.
  double min_threshold = 20.0;
  ChangeSign sign = ChangeSign::kAny;
  double blur_sigma = 1.0;  // Gaussian blur of both images before differencing (noise)
  int open_radius = 1;      // morphological opening (removes specks) then closing (fills gaps)
  int close_radius = 1;
  int min_area_px = 12;  // connected components outside [min, max] are dropped
  int max_area_px = 4000;
  // Pixels this close to the edge of the overlap are ignored (interpolation seams).
  int border_px = 4;
};

struct ChangeBlob {
  int area_px = 0;
  cv::Rect bbox;         // in before's pixel grid
  cv::Point2d centroid;  // in before's pixel grid
};

struct ChangeResult {
  cv::Mat mask;  // CV_8UC1, before's size: 255 on the kept blobs, 0 elsewhere
  // PNG bytes: `after` registered onto before's grid, changed pixels tinted red, outside the
  // overlap black.
  std::vector<std::uint8_t> overlay_png;
  std::vector<ChangeBlob> blobs;  // largest first
  double threshold = 0.0;         // on the 0..255 difference actually used
  double overlap_fraction = 0.0;  // share of before's pixels that after covers
};

// Detects change between `before` and `after` registered by `registration` (register_images on
// the same pair). Radiometric normalisation: after's bands are matched to before's mean and
// standard deviation over the overlap. Difference: per band, the largest over the bands.
// Errors: kUnprocessable (field "change") for empty images or an overlap under 5 % of before.
Result<ChangeResult> detect_changes(const cv::Mat& before, const cv::Mat& after,
                                    const Registration& registration,
                                    const ChangeOptions& options = {},
                                    const ProgressFn& progress = {});

struct GeoBlob {
  ChangeBlob blob;
  geo::GeoPoint centroid;
  double area_m2 = 0.0;
};

// Blobs with their centroid in WGS 84 and their area in m² (pixel count × the ground area of a
// pixel at the centroid). Blobs whose centroid cannot be transformed are left out.
std::vector<GeoBlob> geolocate_blobs(const std::vector<ChangeBlob>& blobs, const GeoReference& geo);

// How many of `blobs` have their centroid inside `polygon` (a WGS 84 ring, closed or not,
// treated as planar in longitude/latitude: fine for areas of a few tens of kilometres that do not
// cross the antimeridian). Errors: kUnprocessable (field "area") for fewer than 3 points or
// coordinates out of range.
Result<int> count_blobs_in_polygon(const std::vector<GeoBlob>& blobs,
                                   const std::vector<geo::GeoPoint>& polygon);

// ---------------------------------------------------------------------------------------------
// Frame -> imagery.

// Where a frame lies on the imagery.
struct Footprint {
  cv::Matx33d homography = cv::Matx33d::eye();  // frame pixels -> imagery pixels
  // The frame's outline projected onto the imagery: top-left, top-right, bottom-right,
  // bottom-left (outer corners), and the frame's centre.
  std::array<cv::Point2d, 4> outline_px{};
  cv::Point2d centre_px;
  // The same in WGS 84, when a GeoReference was given and transforms every point.
  std::vector<geo::GeoPoint> outline_geo;
  std::optional<geo::GeoPoint> centre_geo;
  int inliers = 0;
  double residual_px = 0.0;  // RMS error of the inliers (imagery pixels)
  double confidence = 0.0;   // 0..1, see FrameMatchOptions
};

struct FrameMatchOptions {
  // ASIFT's view simulation: tilts t (1 = the image as it is) and for each tilt rotations
  // 0 ≤ φ < 180° in steps of 72°/t; each view is blurred along x with σ = 0.8·√(t²−1) before it
  // is squeezed by 1/t. Keypoints of every view are mapped back to the image's own coordinates.
  // ASIFT simulates both images, so that two oblique views from different headings meet in some
  // simulated pair; leave imagery_tilts at {1} for nadir imagery to save time.
  std::vector<double> tilts = {1.0, 1.4142135623730951, 2.0, 2.8284271247461903, 4.0};
  std::vector<double> imagery_tilts = {1.0, 1.4142135623730951, 2.0, 2.8284271247461903};
  // Frame and imagery are scaled so that their longer side is at most this.
  int max_side = 1000;
  // AKAZE's detector response threshold (OpenCV's default is 0.001); lower finds more keypoints
  // in the blurred, squeezed views.
  double akaze_threshold = 0.0003;
  // Ratio test against the nearest descriptor that belongs to a different place (more than
  // distinct_px away in the imagery): the same place seen in several views is not ambiguity.
  double ratio = 0.75;
  double distinct_px = 4.0;
  int min_inliers = 20;
  double min_inlier_ratio = 0.1;     // of the matches that passed the ratio test
  double ransac_threshold_px = 4.0;  // imagery pixels at the working scale
  // Sanity of the projected outline: its area divided by the frame's area scaled to the imagery's
  // working scale must lie in [1 / max_area_ratio, max_area_ratio], and it must be convex with all
  // corners in front of the camera.
  double max_area_ratio = 50.0;
  // Confidence = (1 − e^(−(inliers − 10) / 15)) / (1 + max(0, residual − 1 px) / 4 px), clamped to
  // [0, 1]: unrelated images reach 5–7 chance inliers here (tests), so ten or fewer mean nothing;
  // about 30 inliers with a 2 px residual give 0.6, 60 with 1 px give 0.96.
};

// The outcome of a match: `footprint` when it holds, otherwise empty and `reason` says why.
struct FrameMatch {
  std::optional<Footprint> footprint;
  std::string reason;  // "no reliable match: too few inliers: 8 (need 20)", …; empty on success
  int views = 0;       // simulated views of the frame plus those of the imagery
  int matches = 0;     // after the ratio test, duplicates from overlapping views removed
  int inliers = 0;
};

// Matches `frame` against `imagery` (8-bit images). `geo`, when given, georeferences the imagery.
// Errors only for unusable input (kUnprocessable, field "frame" or "imagery": empty image, too
// small); not finding the frame is a FrameMatch without a footprint.
Result<FrameMatch> match_frame_to_imagery(const cv::Mat& frame, const cv::Mat& imagery,
                                          const GeoReference* geo = nullptr,
                                          const FrameMatchOptions& options = {},
                                          const ProgressFn& progress = {});

struct TiePoint {
  cv::Point2d frame;    // frame pixel
  cv::Point2d imagery;  // imagery pixel
};

// The footprint of a `frame_size` frame from analyst-picked point pairs: with 4 pairs the exact
// homography, with more a least-squares fit (RANSAC first when there are 8 or more, so one wrong
// pair is dropped). confidence is 1 for exact fits, falling with the residual otherwise.
// Errors (kUnprocessable, field "tie_points"): fewer than 4 pairs, (nearly) collinear points on
// either side, coincident points, a degenerate homography or one that turns the frame outline
// inside out.
Result<Footprint> footprint_from_tie_points(const std::vector<TiePoint>& points,
                                            const cv::Size& frame_size,
                                            const GeoReference* geo = nullptr);

}  // namespace cw::pipeline
