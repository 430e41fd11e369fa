// Internal to pipeline/frames*.cpp: the grey scan of a frame (FrameScanner), the signature's
// PDQ hash of a scan with its bars trimmed (SignatureHasher), and the sharpness measure. Each
// object is used by one thread at a time (it reuses its buffers); every thread that scans or
// hashes has its own.
#pragma once

#include <optional>

#include <opencv2/core.hpp>

#include "pipeline/internal/frames_av.hpp"
#include "pipeline/pdq.hpp"

namespace cw::pipeline::internal {

// The variance of the Laplacian of `grey`: what cv::Laplacian(grey, l, CV_16S) (3×3 kernel
// 0 1 0 / 1 -4 1 / 0 1 0, borders reflected without repeating the edge) and the square of
// cv::meanStdDev(l) give — the same integer sums, the same arithmetic on them — in one pass
// without the 16-bit picture: 0.6 ms instead of 4.2 ms for 1080p, on every candidate frame.
// Built for AVX2 and for any x86-64, chosen at load time (as is tiny_from_grey).
__attribute__((target_clones("avx2", "default"))) double laplacian_variance(const cv::Mat& grey);

// The grey picture of a frame halved (2×2 means: OpenCV's fast area path on even sizes) while
// its long side is over kBarScanLongSide: what the scene score (its tiny copy) and the signature
// (bars, hash) are computed from, so that the decoded picture is read once. One per thread (it
// reuses its buffers); the picture it returns is valid until the next call, and while the frame
// is, when it is the frame's own luma plane.
class FrameScanner {
 public:
  // nullopt when the frame cannot be converted to grey.
  std::optional<GreyPicture> scan(const AVFrame* frame);

 private:
  Scaler grey_scaler_;
  cv::Mat grey_storage_;
  cv::Mat halves_[2];
};

// The PDQ hash of a frame for the signature, from its scan (FrameScanner): bars trimmed, averaged
// down to 64×64 (see docs/frames.md). Pure but for its reused buffers, so each thread that
// hashes has one: the writer, and each thread of parallel decoding, which hashes the frames it
// decodes so that it need not hold them for the writer.
class SignatureHasher {
 public:
  explicit SignatureHasher(int rotation);

  PdqResult hash(const GreyPicture& scan);

 private:
  // PDQ of `content` averaged over 64×64 areas — PDQ's decimated size, reached directly: each
  // cell is the mean of the same part of the picture at any resolution, where PDQ's own tent
  // filter is sized from the picture's pixels (measured on opencv-doc's Megamind, a copy at half
  // size: median 22 bits from the full-size frame's hash that way, 4 this way). Stretched from
  // video range to full range (PDQ's quality score measures gradients), turned upright, and the
  // four corners filled with the mean of the rest (kCornerFraction).
  PdqResult hash_block(const cv::Mat& content, bool video_range);

  int rotation_;
  // Reused buffers (a fresh buffer a frame costs page faults).
  cv::Mat content_halves_[2];
  cv::Mat integral_;
  cv::Mat content_float_;
  cv::Mat block_;
  cv::Mat upright_block_;
};

}  // namespace cw::pipeline::internal
