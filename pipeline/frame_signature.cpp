// Bar detection and the signature hasher for frame extraction: letterbox and pillarbox bars
// found on a frame's scan, the rest averaged down to PDQ's 64×64 and hashed; and the variance
// of the Laplacian (sharpness). Declared in pipeline/internal/frame_signature.hpp; the design
// is in docs/frames.md.
#include "pipeline/internal/frame_signature.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include <opencv2/imgproc.hpp>

#include "pipeline/picture_ops.hpp"

namespace cw::pipeline::internal {
namespace {

// Signature: bars are searched on the scan, a grey copy of at most kBarScanLongSide px; the
// trimmed picture is halved while over kSignatureLongSide px, then averaged down to kBlockSide².
constexpr int kBarScanLongSide = 1024;
constexpr int kSignatureLongSide = 512;
constexpr int kBlockSide = 64;             // PDQ's decimated size
constexpr double kMaxBarFraction = 0.4;    // never more than this much of a side
constexpr double kBarMaxStddev = 6.0;      // a bar line is this uniform (grey levels)…
constexpr double kBarMaxLevelDiff = 12.0;  // …and this close to the outermost line's mean
constexpr int kMaxBarLevels = 3;           // nested bars trimmed, at most
constexpr int kMinContentSide = 16;        // px of the scan picture left at least
// Corners left out of the hash: squares of this fraction of the shorter side. A broadcaster's bug
// an eighth of the width, 8 px from the edges, fits in them on 4:3, 16:9 and letterboxed 1.85:1
// pictures. The bar search leaves out kBarCornerShare of that at the ends of each line: enough
// for such a bug in a letterbox bar, not so much that the middle of a dark picture's first lines
// passes for a bar (measured on opencv-doc's Megamind: the whole corner did).
constexpr double kCornerFraction = 0.3;
constexpr double kBarCornerShare = 0.8;

// Bars ------------------------------------------------------------------------------------------

struct LineStats {
  double mean = 0;
  double stddev = 0;
};

LineStats line_stats(uint64_t sum, uint64_t sum_sq, int count) {
  const double n = std::max(count, 1);
  const double mean = static_cast<double>(sum) / n;
  const double variance = static_cast<double>(sum_sq) / n - mean * mean;
  return {mean, std::sqrt(std::max(variance, 0.0))};
}

// The side of the corner squares of a picture (see kCornerFraction).
int corner_side(int cols, int rows) {
  return static_cast<int>(std::lround(std::min(cols, rows) * kCornerFraction));
}

// What the bar search leaves out at the ends of a line.
int bar_corner(int cols, int rows) {
  return static_cast<int>(std::lround(corner_side(cols, rows) * kBarCornerShare));
}

// The lines of one axis of a picture, each one's statistics worked out when the bar search asks
// for it: the search stops at the first line of content from each side, usually the first or
// second, so nothing else of the picture is read.
// Rows are measured over the columns between the corners (a logo in a corner does not make the
// rows of a bar look like content); columns over rows [top, bottom) less the corners' rows at
// both ends.
class Lines {
 public:
  static Lines rows(const cv::Mat& grey) {
    int skip = bar_corner(grey.cols, grey.rows);
    if (2 * skip >= grey.cols) skip = 0;
    return Lines(grey, true, skip, grey.cols - skip, grey.rows);
  }
  static Lines columns(const cv::Mat& grey, int top, int bottom) {
    if (const int skip = bar_corner(grey.cols, bottom - top); bottom - top > 2 * skip) {
      top += skip;
      bottom -= skip;
    }
    return Lines(grey, false, top, bottom, grey.cols);
  }

  int count() const { return count_; }

  LineStats operator[](int i) const {
    uint32_t sum = 0;  // ≤ kBarScanLongSide · 255² per line: fits
    uint32_t sum_sq = 0;
    if (rows_) {
      const uint8_t* p = grey_.ptr<uint8_t>(i);
      for (int c = from_; c < to_; ++c) {
        sum += p[c];
        sum_sq += static_cast<uint32_t>(p[c]) * p[c];
      }
    } else {
      for (int r = from_; r < to_; ++r) {
        const uint32_t v = grey_.ptr<uint8_t>(r)[i];
        sum += v;
        sum_sq += v * v;
      }
    }
    return line_stats(sum, sum_sq, to_ - from_);
  }

 private:
  Lines(const cv::Mat& grey, bool rows, int from, int to, int count)
      : grey_(grey), rows_(rows), from_(from), to_(to), count_(count) {}

  const cv::Mat& grey_;
  bool rows_;
  int from_;  // the span each line is measured over
  int to_;
  int count_;
};

// How many lines from one side (lines[first] outermost, in `step`s inwards) form a bar: each
// nearly uniform and close to the outermost line's level. nullopt when all of the first `limit`
// lines do: no content found on that side within the limit.
std::optional<int> bar_length(const Lines& lines, int first, int step, int limit) {
  const LineStats edge = lines[first];
  for (int i = 0; i < limit; ++i) {
    const LineStats line = i == 0 ? edge : lines[first + i * step];
    if (line.stddev > kBarMaxStddev || std::abs(line.mean - edge.mean) > kBarMaxLevelDiff) {
      return i;
    }
  }
  return std::nullopt;
}

// The two bar lengths of one axis (start side, end side), each at most kMaxBarFraction of it.
std::pair<int, int> bars(const Lines& lines) {
  const int count = lines.count();
  const int limit = static_cast<int>(count * kMaxBarFraction);
  if (limit <= 0) return {0, 0};
  const std::optional<int> start = bar_length(lines, 0, 1, limit);
  const std::optional<int> end = bar_length(lines, count - 1, -1, limit);
  if (!start && !end) return {0, 0};  // uniform along this axis: not bars, the picture itself
  return {start.value_or(limit), end.value_or(limit)};
}

// The part of `grey` inside its bars (all of it when there are none). Bars can nest — a channel's
// coloured padding around a film's own black letterbox — and each level is measured against
// its own outermost line, so the search starts again inside what it trimmed, a few times at
// most, while it finds more.
cv::Rect content_rect(const cv::Mat& grey) {
  cv::Rect rect(0, 0, grey.cols, grey.rows);
  for (int level = 0; level < kMaxBarLevels; ++level) {
    const cv::Mat part = grey(rect);
    const auto [top, bottom] = bars(Lines::rows(part));
    const int rows_end = part.rows - bottom;
    const auto [left, right] = bars(Lines::columns(part, top, rows_end));
    const cv::Rect inner(rect.x + left, rect.y + top, part.cols - left - right, rows_end - top);
    if (inner == rect || inner.width < kMinContentSide || inner.height < kMinContentSide) break;
    rect = inner;
  }
  return rect;
}

// The means of `grey` (8-bit, at least side × side) over a side × side grid of equal areas,
// as floats: what cv::resize(INTER_AREA) gives for a reduction (to float rounding), from the
// integral image — the integral of a picture of constant pixels is bilinear inside each pixel,
// so at a cell's fractional corners it is the bilinear interpolation of the integral image. 0.03
// ms for 480 × 270 to 64 × 64 where converting to float and resizing took 0.18 ms, on nearly
// every decoded frame (the signature).
void area_means(const cv::Mat& grey, int side, cv::Mat& integral, cv::Mat& out) {
  // 32-bit sums: what is hashed is at most kSignatureLongSide² · 255 < 2³¹.
  CV_Assert(int64_t{grey.cols} * grey.rows * 255 < (int64_t{1} << 31));
  cv::integral(grey, integral, CV_32S);
  out.create(side, side, CV_32F);
  const double sx = static_cast<double>(grey.cols) / side;
  const double sy = static_cast<double>(grey.rows) / side;
  thread_local std::vector<int> x_index;
  thread_local std::vector<double> x_frac;
  thread_local std::vector<double> above;
  thread_local std::vector<double> below;
  const size_t n = static_cast<size_t>(side) + 1;
  x_index.resize(n);
  x_frac.resize(n);
  above.resize(n);
  below.resize(n);
  for (int j = 0; j <= side; ++j) {
    const double x = std::min(j * sx, static_cast<double>(grey.cols));
    x_index[j] = std::min(static_cast<int>(x), grey.cols - 1);
    x_frac[j] = x - x_index[j];
  }
  // The integral at every column edge of the grid, on the line at height y.
  const auto line_at = [&](double y, std::vector<double>& line) {
    const int yi = std::min(static_cast<int>(y), grey.rows - 1);
    const double fy = y - yi;
    const int* a = integral.ptr<int>(yi);
    const int* b = integral.ptr<int>(yi + 1);
    for (size_t j = 0; j < n; ++j) {
      const int x = x_index[j];
      const double top = a[x] + x_frac[j] * (a[x + 1] - a[x]);
      const double bottom = b[x] + x_frac[j] * (b[x + 1] - b[x]);
      line[j] = top + fy * (bottom - top);
    }
  };
  const double scale = 1.0 / (sx * sy);
  line_at(0, above);
  for (int k = 0; k < side; ++k) {
    line_at(std::min((k + 1) * sy, static_cast<double>(grey.rows)), below);
    float* o = out.ptr<float>(k);
    for (int j = 0; j < side; ++j) {
      o[j] = static_cast<float>((below[j + 1] - below[j] - above[j + 1] + above[j]) * scale);
    }
    std::swap(above, below);
  }
}

}  // namespace

__attribute__((target_clones("avx2", "default"))) double laplacian_variance(const cv::Mat& grey) {
  const int rows = grey.rows;
  const int cols = grey.cols;
  if (rows == 0 || cols == 0) return 0;
  const auto reflect = [](int i, int n) {
    return i < 0 ? std::min(-i, n - 1) : (i >= n ? std::max(2 * n - 2 - i, 0) : i);
  };
  int64_t sum = 0;
  uint64_t sum_sq = 0;
  const auto edge = [&](const uint8_t* up, const uint8_t* mid, const uint8_t* down, int x) {
    const int v =
        up[x] + down[x] + mid[reflect(x - 1, cols)] + mid[reflect(x + 1, cols)] - 4 * mid[x];
    sum += v;
    sum_sq += static_cast<uint64_t>(int64_t{v} * v);
  };
  // |v| ≤ 1020, so 32-bit sums are exact over 4096 columns (4096 · 1020² < 2³²).
  constexpr int kChunk = 4096;
  for (int y = 0; y < rows; ++y) {
    const uint8_t* up = grey.ptr<uint8_t>(reflect(y - 1, rows));
    const uint8_t* mid = grey.ptr<uint8_t>(y);
    const uint8_t* down = grey.ptr<uint8_t>(reflect(y + 1, rows));
    edge(up, mid, down, 0);
    for (int start = 1; start < cols - 1; start += kChunk) {
      const int end = std::min(start + kChunk, cols - 1);
      int32_t chunk_sum = 0;
      uint32_t chunk_sq = 0;
      for (int x = start; x < end; ++x) {  // vectorised by the compiler
        const int v = up[x] + down[x] + mid[x - 1] + mid[x + 1] - 4 * mid[x];
        chunk_sum += v;
        chunk_sq += static_cast<uint32_t>(v * v);
      }
      sum += chunk_sum;
      sum_sq += chunk_sq;
    }
    if (cols > 1) edge(up, mid, down, cols - 1);
  }
  // As cv::meanStdDev computes it (times 1/n, not divided by n), so the values are the same bits.
  const double scale = 1.0 / (static_cast<double>(rows) * cols);
  const double mean = static_cast<double>(sum) * scale;
  const double stddev = std::sqrt(std::max(static_cast<double>(sum_sq) * scale - mean * mean, 0.0));
  return stddev * stddev;
}

std::optional<GreyPicture> FrameScanner::scan(const AVFrame* frame) {
  std::optional<GreyPicture> picture = grey_picture(frame, grey_scaler_, grey_storage_);
  if (!picture) return std::nullopt;
  for (int i = 0; std::max(picture->grey.cols, picture->grey.rows) > kBarScanLongSide; i ^= 1) {
    halve(picture->grey, halves_[i]);
    picture->grey = halves_[i];
  }
  return picture;
}

SignatureHasher::SignatureHasher(int rotation) : rotation_(rotation) {}

PdqResult SignatureHasher::hash(const GreyPicture& scan) {
  cv::Mat content = scan.grey(content_rect(scan.grey));
  // Halved again (2×2 means, cheap) while over kSignatureLongSide.
  for (int i = 0; std::max(content.cols, content.rows) > kSignatureLongSide; i ^= 1) {
    halve(content, content_halves_[i]);
    content = content_halves_[i];
  }
  return hash_block(content, scan.video_range);
}

PdqResult SignatureHasher::hash_block(const cv::Mat& content, bool video_range) {
  if (content.cols >= kBlockSide && content.rows >= kBlockSide) {
    area_means(content, kBlockSide, integral_, block_);
  } else {  // smaller than the block: OpenCV's INTER_AREA enlarges it
    content.convertTo(content_float_, CV_32F);
    cv::resize(content_float_, block_, cv::Size(kBlockSide, kBlockSide), 0, 0, cv::INTER_AREA);
  }
  if (video_range) {
    block_.convertTo(block_, CV_32F, 255.0 / 219.0, -16.0 * 255.0 / 219.0);
    cv::min(cv::max(block_, 0.0), 255.0, block_);
  }
  int cols = content.cols;
  int rows = content.rows;
  if (rotation_ != 0) {
    turn_upright(block_, upright_block_, rotation_);
    std::swap(block_, upright_block_);
    if (rotation_ != 180) std::swap(cols, rows);
  }
  const int side = corner_side(cols, rows);
  const int w = static_cast<int>(std::lround(static_cast<double>(side) * kBlockSide / cols));
  const int h = static_cast<int>(std::lround(static_cast<double>(side) * kBlockSide / rows));
  if (w > 0 && h > 0 && 2 * w < kBlockSide && 2 * h < kBlockSide) {
    const cv::Rect corners[] = {{0, 0, w, h},
                                {kBlockSide - w, 0, w, h},
                                {0, kBlockSide - h, w, h},
                                {kBlockSide - w, kBlockSide - h, w, h}};
    double corner_sum = 0;
    for (const cv::Rect& c : corners) corner_sum += cv::sum(block_(c))[0];
    const double mean = (cv::sum(block_)[0] - corner_sum) /
                        (static_cast<double>(kBlockSide * kBlockSide) - 4.0 * w * h);
    for (const cv::Rect& c : corners) block_(c).setTo(cv::Scalar(mean));
  }
  CV_Assert(block_.isContinuous());
  return pdq_hash_luma(std::span<const float>(block_.ptr<float>(), kBlockSide * kBlockSide),
                       kBlockSide, kBlockSide);
}

}  // namespace cw::pipeline::internal
