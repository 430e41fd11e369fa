// extract_frames with libavcodec/libswscale (FFmpeg 5.1 API) and OpenCV (resize, Laplacian,
// JPEG, drawing), the video signature (PDQ, pdq.hpp), and the frames JSON.
//
// Design — one decoding pass over a cheap stream (in pieces on several cores when it can):
// - Measured on a 60 s 1080p30 H.264 clip (2 cores): a full decode costs as much as
//   `ffmpeg -vf fps=1` itself (~9.3 s), seeking to each second was slower than decoding in order,
//   and ffmpeg's scene filter costs another full decode. Keyframes alone decode in ~0.35 s;
//   skipping the frames nothing refers to (AVDISCARD_NONREF: most B-frames) and deblocking only
//   keyframes (skip_loop_filter = AVDISCARD_NONKEY) decodes in ~3.3 s.
// - So a single pass decodes that cheap stream (see Threads below). Keyframes
//   come out of it bit-exact, so a separate keyframe-only pass would only re-read the file. Every
//   decoded frame is halved into a grey scan (FrameScanner: 2×2 means while the long side is over
//   kBarScanLongSide) and scored on a 64×36 copy of the scan (cell means): the mean absolute
//   difference to the previous decoded frame, a scene change when it is a peak (above
//   scene_threshold and scene_ratio × the recent average).
// - Candidates are keyframes, scene changes, and the first frame at or after each
//   sample_interval. The timeline is cut into slots (sample_interval, or duration/max_frames
//   when longer); each slot keeps one candidate, preferring scene > keyframe > sample, then the
//   sharper. Sharpness (variance of the Laplacian of the full grey picture) is measured on
//   candidates only. When a slot closes its winner is compared with the last kept frame (64×36
//   mean abs difference, near-duplicates dropped), then turned upright and written: 8-bit 4:2:0
//   straight from its planes (JfifPicture, jfif.hpp), other formats through BGR (swscale,
//   SWS_BILINEAR | SWS_ACCURATE_RND). Only one pending frame is held in memory.
// - If more than max_frames are kept (the container understated its duration, or gave none),
//   every other one is dropped — the better of each pair stays — and the slot length doubles.
//   Files are renumbered in time order at the end.
// - Threads. What is left of the stream after skipping is nearly one chain of references (each
//   decoded frame refers to the one before), so FFmpeg's frame threads barely overlap: 3.2 s
//   instead of 3.4 s for the clip above, for more CPU time. Pieces of the timeline that start at
//   keyframes do not depend on each other, though: ParallelDecoder decodes chunks of 4–15 s on
//   one thread a core (at most 4), each with its own input and a single-threaded decoder, and
//   hands the frames over in order, so scoring and picking are unchanged. A thread takes the
//   next chunk when it is free, and the chunks shorten towards the end, so that the threads
//   finish together; a chunk of H.264 stops in front of the IDR picture where the next begins
//   rather than decode it too (H.264 shows nothing before an IDR that comes after it). It needs the
//   container's keyframe index (MP4, MOV, Matroska, AVI) and a clean decode; anything irregular
//   (an error, a message from FFmpeg, a timestamp that goes back, a chunk without a keyframe)
//   gives it up, and the file is decoded in one pass as before, warnings and all. Only frames
//   that may be picked are held, for a few chunks ahead at most (kAheadBytes): bounded memory.
//   Figures for bench/analyze.sh's 60 s 1080p clip are in bench/README.md. (After
//   some seeks FFmpeg 5.1's Matroska demuxer flags a packet as corrupt: such files fall back.)
//   Everything done per candidate — sharpness, slot choice, colour conversion, JPEGs — and the
//   signature's bookkeeping run on a writer thread fed through a small bounded queue of frame
//   references (kQueueFrames, kQueueBytes), so encoding a JPEG does not stall decoding. The
//   writer keeps the order of work of one thread: the output is byte for byte what one thread
//   writes.
// - Signature: the first decoded frame at or after each signature_interval is hashed with PDQ
//   (a sample), and between samples the first at or after each signature_extra_interval (an extra,
//   kept when its quality is usable and it is more than kSignatureExtraMinBits from the hash kept
//   before it). Extras are there because a copy cut at a fraction of a second samples other
//   instants: measured on opencv-doc's Megamind (fast cuts, 24 fps), its frames 0.5 s apart are a
//   median 80 bits apart, so its cuts found 9-38 % of their samples among the source's samples, and
//   100 % among its samples and extras. Bars (letterbox, pillarbox) are found on the scan (a grey
//   copy halved down to at most 1024 px): from each side, looking at lines only until content,
//   lines that are nearly uniform (standard deviation ≤ kBarMaxStddev, leaving out the line's ends,
//   where a logo may sit) and close to the outermost line's level are bars, at most 40% a side;
//   when both opposite sides are bars all the way to the limit the frame is uniform along that axis
//   and nothing is trimmed (a blank frame is hashed as it is, and gets a low quality). The search
//   starts again inside the bars it found (a coloured pad around a film's black letterbox),
//   kMaxBarLevels times at most. The rest is averaged down to PDQ's 64×64 (area means from its
//   integral image, so that a copy at another size gives the same cells), stretched from video
//   range to full range (PDQ's quality score measures gradients), turned upright, its corners
//   filled with its mean (where logos go) and hashed (pdq_hash_luma). With parallel decoding the
//   decoding threads hash the frames from their scans and hand over only the hash (an extra every
//   60 ms means nearly every decoded frame: holding them all for the writer grew the decoder's
//   buffer pool to 600 MiB on a 60 s 1080p clip); decoding in order, the writer hashes them.
//   Hashing the decoded luma plane skips a full-size RGB conversion; PDQ's own luma from RGB uses
//   the BT.601 weights, which is what Y is for SD video and close to it for HD (BT.709). These
//   hashes are close to, not bit-identical with, PDQ hashes of the frame as an RGB picture: compare
//   signatures with signatures.
// - Sharpness is computed in one pass over the luma plane (laplacian_variance: the same value,
//   to the bit, as cv::Laplacian + cv::meanStdDev, ~7× faster); the buffers of the writer are
//   reused from frame to frame.
// - Cost of the choice: scene and sample frames are reference frames decoded without the
//   deblocking filter, so they can look slightly blockier than in a player; keyframes are exact.
//   FramesOptions::detect_scenes = false decodes keyframes only.
#include "pipeline/frames.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <new>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <thread>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "pipeline/jfif.hpp"
#include "pipeline/media_input.hpp"
#include "pipeline/pdq.hpp"
#include "pipeline/picture_ops.hpp"
#include "pipeline/probe.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int kTinyW = 64;
constexpr int kTinyH = 36;
constexpr int kMaxDimension = 16384;  // larger pictures are skipped
constexpr size_t kSceneHistory = 16;  // scores in the recent average
// Frames handed to the writer thread and not yet taken: at most this many, and at most this many
// bytes of pictures (one frame always fits). Enough to ride out one JPEG encode.
constexpr size_t kQueueFrames = 4;
constexpr int64_t kQueueBytes = int64_t{256} << 20;
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

struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;

using media::Warnings;

// An swscale context that follows the source size and format (they may change mid-stream).
class Scaler {
 public:
  Scaler() = default;
  Scaler(const Scaler&) = delete;
  Scaler& operator=(const Scaler&) = delete;
  ~Scaler() { sws_freeContext(ctx_); }
  // Scales `src` into `dst` (already allocated, 8-bit, `dst_format`). False on failure.
  bool scale(const AVFrame* src, cv::Mat& dst, AVPixelFormat dst_format, int flags) {
    ctx_ =
        sws_getCachedContext(ctx_, src->width, src->height, static_cast<AVPixelFormat>(src->format),
                             dst.cols, dst.rows, dst_format, flags, nullptr, nullptr, nullptr);
    if (ctx_ == nullptr) return false;
    if (dst_format == AV_PIX_FMT_BGR24) set_colour_matrix(src);
    uint8_t* planes[4] = {dst.data, nullptr, nullptr, nullptr};
    int strides[4] = {static_cast<int>(dst.step[0]), 0, 0, 0};
    return sws_scale(ctx_, src->data, src->linesize, 0, src->height, planes, strides) == dst.rows;
  }

 private:
  // A YUV source's colours as its frame states them (BT.709 or BT.601 weights, limited or full
  // range), to full-range RGB with BT.601's, as JfifPicture does: swscale alone would take every
  // source for BT.601.
  void set_colour_matrix(const AVFrame* src) {
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(src->format));
    if (desc == nullptr || (desc->flags & AV_PIX_FMT_FLAG_RGB) != 0 || desc->nb_components < 3) {
      return;
    }
    int* inv_table = nullptr;
    int* table = nullptr;
    int src_range = 0;
    int dst_range = 0;
    int brightness = 0;
    int contrast = 0;
    int saturation = 0;
    if (sws_getColorspaceDetails(ctx_, &inv_table, &src_range, &table, &dst_range, &brightness,
                                 &contrast, &saturation) < 0) {
      return;
    }
    const int space = src->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
    src_range = src_range != 0 || src->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    sws_setColorspaceDetails(ctx_, sws_getCoefficients(space), src_range,
                             sws_getCoefficients(SWS_CS_DEFAULT), dst_range, brightness, contrast,
                             saturation);
  }

  SwsContext* ctx_ = nullptr;
};

// The warnings of one extraction, added from both of its threads.
class SharedWarnings {
 public:
  explicit SharedWarnings(Warnings& warnings) : warnings_(warnings) {}
  void add(std::string text) {
    const std::lock_guard lock(mutex_);
    warnings_.add(std::move(text));
  }

 private:
  std::mutex mutex_;
  Warnings& warnings_;
};

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  return cv::mean(diff)[0];
}

int kind_rank(FrameKind kind) {
  switch (kind) {
    case FrameKind::kScene:
      return 2;
    case FrameKind::kKeyframe:
      return 1;
    case FrameKind::kSample:
      break;
  }
  return 0;
}

std::string timestamp_text(int64_t ms) {
  const int64_t tenths = std::max<int64_t>(ms, 0) / 100;
  return fmt::format("{:02d}:{:02d}.{}", tenths / 600, (tenths / 10) % 60, tenths % 10);
}

// The grey picture of a frame: for the 8-bit YUV and grey formats the luma plane itself, shared
// with the frame (no copy); for anything else a full-range grey copy in `storage`, made by
// `scaler`. nullopt when the frame cannot be converted.
struct GreyPicture {
  cv::Mat grey;
  bool video_range = false;  // luma in 16..235 (limited range, as most video), not 0..255
};

// The luma plane of a frame in an 8-bit YUV or grey format, shared with the frame (no copy);
// nullopt for any other format.
std::optional<GreyPicture> luma_plane(const AVFrame* frame) {
  const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
  if (desc != nullptr &&
      (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                      AV_PIX_FMT_FLAG_HWACCEL)) == 0 &&
      desc->nb_components >= 1 && desc->comp[0].plane == 0 && desc->comp[0].depth == 8 &&
      desc->comp[0].step == 1 && frame->data[0] != nullptr && frame->linesize[0] >= frame->width) {
    GreyPicture picture;
    picture.grey = cv::Mat(frame->height, frame->width, CV_8UC1, frame->data[0],
                           static_cast<size_t>(frame->linesize[0]));
    // Grey formats and the deprecated yuvj* ones are full range whatever the flag says.
    const bool full_range_format = std::string_view(desc->name).starts_with("yuvj");
    picture.video_range =
        desc->nb_components >= 3 && !full_range_format && frame->color_range != AVCOL_RANGE_JPEG;
    return picture;
  }
  return std::nullopt;
}

std::optional<GreyPicture> grey_picture(const AVFrame* frame, Scaler& scaler, cv::Mat& storage) {
  if (std::optional<GreyPicture> picture = luma_plane(frame)) return picture;
  // `storage` only ever holds memory of its own, never a frame's (create() keeps a same-sized
  // buffer, which must not be a decoder's).
  storage.create(frame->height, frame->width, CV_8UC1);
  if (!scaler.scale(frame, storage, AV_PIX_FMT_GRAY8, SWS_BILINEAR)) return std::nullopt;
  return GreyPicture{storage, false};  // swscale's GRAY8 is full range
}

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

// Frames ----------------------------------------------------------------------------------------

// The variance of the Laplacian of `grey`: what cv::Laplacian(grey, l, CV_16S) (3×3 kernel
// 0 1 0 / 1 -4 1 / 0 1 0, borders reflected without repeating the edge) and the square of
// cv::meanStdDev(l) give — the same integer sums, the same arithmetic on them — in one pass
// without the 16-bit picture: 0.6 ms instead of 4.2 ms for 1080p, on every candidate frame.
// Built for AVX2 and for any x86-64, chosen at load time (as is tiny_from_grey).
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

// The grey picture of a frame halved (2×2 means: OpenCV's fast area path on even sizes) while
// its long side is over kBarScanLongSide: what the scene score (its tiny copy) and the signature
// (bars, hash) are computed from, so that the decoded picture is read once. One per thread (it
// reuses its buffers); the picture it returns is valid until the next call, and while the frame
// is, when it is the frame's own luma plane.
class FrameScanner {
 public:
  // nullopt when the frame cannot be converted to grey.
  std::optional<GreyPicture> scan(const AVFrame* frame) {
    std::optional<GreyPicture> picture = grey_picture(frame, grey_scaler_, grey_storage_);
    if (!picture) return std::nullopt;
    for (int i = 0; std::max(picture->grey.cols, picture->grey.rows) > kBarScanLongSide; i ^= 1) {
      halve(picture->grey, halves_[i]);
      picture->grey = halves_[i];
    }
    return picture;
  }

 private:
  Scaler grey_scaler_;
  cv::Mat grey_storage_;
  cv::Mat halves_[2];
};

// The PDQ hash of a frame for the signature, from its scan (FrameScanner): bars trimmed, averaged
// down to 64×64 (see the top of this file). Pure but for its reused buffers, so each thread that
// hashes has one: the writer, and each thread of parallel decoding, which hashes the frames it
// decodes so that it need not hold them for the writer.
class SignatureHasher {
 public:
  explicit SignatureHasher(int rotation) : rotation_(rotation) {}

  PdqResult hash(const GreyPicture& scan) {
    cv::Mat content = scan.grey(content_rect(scan.grey));
    // Halved again (2×2 means, cheap) while over kSignatureLongSide.
    for (int i = 0; std::max(content.cols, content.rows) > kSignatureLongSide; i ^= 1) {
      halve(content, content_halves_[i]);
      content = content_halves_[i];
    }
    return hash_block(content, scan.video_range);
  }

 private:
  // PDQ of `content` averaged over 64×64 areas — PDQ's decimated size, reached directly: each
  // cell is the mean of the same part of the picture at any resolution, where PDQ's own tent
  // filter is sized from the picture's pixels (measured on opencv-doc's Megamind, a copy at half
  // size: median 22 bits from the full-size frame's hash that way, 4 this way). Stretched from
  // video range to full range (PDQ's quality score measures gradients), turned upright, and the
  // four corners filled with the mean of the rest (kCornerFraction).
  PdqResult hash_block(const cv::Mat& content, bool video_range) {
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

  int rotation_;
  // Reused buffers (a fresh buffer a frame costs page faults).
  cv::Mat content_halves_[2];
  cv::Mat integral_;
  cv::Mat content_float_;
  cv::Mat block_;
  cv::Mat upright_block_;
};

struct Candidate {
  FramePtr frame;
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  double sharpness = 0;
  cv::Mat tiny;
};

struct Kept {
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  int width = 0;
  int height = 0;
  double sharpness = 0;
  std::string file;  // as written; renamed at the end
  std::string thumb;
  cv::Mat thumb_image;
};

bool better(FrameKind kind_a, double sharp_a, FrameKind kind_b, double sharp_b) {
  if (kind_rank(kind_a) != kind_rank(kind_b)) return kind_rank(kind_a) > kind_rank(kind_b);
  return sharp_a > sharp_b;
}

// A decoded frame the decoding thread hands to the writer thread.
struct Job {
  FramePtr frame;  // a new reference to the decoder's picture
  int64_t pts_ms = 0;
  std::optional<FrameKind> kind;  // set for a candidate for the kept frames
  cv::Mat tiny;                   // its 64×36 grey copy (candidates)
  bool signature = false;         // hash it for the signature, as a sample
  bool signature_extra = false;   // hash it for the signature, as an extra
  // Hashed already by the decoding thread (parallel decoding): the hash, nullopt when the frame
  // could not be converted. `frame` is then set only when the frame is a candidate.
  std::optional<std::optional<PdqResult>> hash;
};

int64_t picture_bytes(const AVFrame* frame) {
  if (frame == nullptr) return 0;
  int64_t bytes = 0;
  for (const AVBufferRef* buf : frame->buf) {
    if (buf != nullptr) bytes += static_cast<int64_t>(buf->size);
  }
  return bytes;
}

// The bounded queue between the two threads. push() waits while it is full, pop() while it is
// empty; close() lets pop() drain what is left, abort() drops it and fails every push().
class JobQueue {
 public:
  // False when the queue was closed or aborted (the job is dropped).
  bool push(Job job) {
    const int64_t bytes = picture_bytes(job.frame.get());
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] {
      return closed_ || jobs_.empty() ||
             (jobs_.size() < kQueueFrames && bytes_ + bytes <= kQueueBytes);
    });
    if (closed_) return false;
    bytes_ += bytes;
    jobs_.push_back({std::move(job), bytes});
    not_empty_.notify_one();
    return true;
  }

  // False once the queue is closed and empty.
  bool pop(Job& job) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
    if (jobs_.empty()) return false;
    job = std::move(jobs_.front().job);
    bytes_ -= jobs_.front().bytes;
    jobs_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close() {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

  void abort() {
    std::deque<Entry> dropped;
    {
      const std::lock_guard lock(mutex_);
      closed_ = true;
      dropped.swap(jobs_);
      bytes_ = 0;
      not_empty_.notify_all();
      not_full_.notify_all();
    }
  }

 private:
  struct Entry {
    Job job;
    int64_t bytes = 0;
  };
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Entry> jobs_;
  int64_t bytes_ = 0;
  bool closed_ = false;
};

// The writer thread's side: picks one frame a slot, writes it, hashes the signature frames.
// Used by one thread at a time (the writer thread, then, once it is joined, the caller).
class Writer {
 public:
  Writer(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
         SharedWarnings& warnings)
      : out_dir_(std::move(out_dir)),
        opt_(options),
        rotation_(rotation),
        slot_ms_(std::max<int64_t>(slot_ms, 1)),
        warnings_(warnings),
        hasher_(rotation) {}

  // One frame handed over. Returns an error only for a failure to write.
  Status take(Job job) {
    if (job.signature || job.signature_extra) {
      const std::optional<PdqResult> pdq =
          job.hash ? *job.hash : (job.frame ? hash(job.frame.get()) : std::nullopt);
      if (pdq) {
        add_to_signature(*pdq, job.pts_ms, job.signature_extra);
      } else {
        warnings_.add("a frame could not be converted to grey");
      }
    }
    if (!job.kind || !job.frame) return Status::Ok();
    const FrameKind kind = *job.kind;
    const int64_t slot = job.pts_ms / slot_ms_;
    if (pending_ && slot != pending_slot_) {
      if (Status s = close_slot(); !s.ok()) return s;
    }
    // Cheap test first: a sample cannot beat a keyframe or scene already pending.
    if (pending_ && kind_rank(kind) < kind_rank(pending_->kind)) return Status::Ok();
    const std::optional<double> sharp = sharpness(job.frame.get());
    if (!sharp) return Status::Ok();
    if (pending_ && !better(kind, *sharp, pending_->kind, pending_->sharpness)) {
      return Status::Ok();
    }
    pending_ = Candidate{std::move(job.frame), job.pts_ms, kind, *sharp, job.tiny};
    pending_slot_ = slot;
    return Status::Ok();
  }

  // Removes the files written so far (an attempt that is given up).
  void remove_files() {
    std::error_code ec;
    for (const Kept& k : kept_) {
      fs::remove(out_dir_ / k.file, ec);
      fs::remove(out_dir_ / k.thumb, ec);
    }
    kept_.clear();
    pending_.reset();
  }

  // Writes the last pending frame, renumbers the files and writes the contact sheet.
  Status finish(FramesResult& result) {
    if (pending_) {
      if (Status s = close_slot(); !s.ok()) return s;
    }
    if (kept_.empty()) {
      return Error(Code::kUnprocessable, "no decodable video frames", "file");
    }
    if (dropped_duplicates_ > 0) {
      warnings_.add(fmt::format("{} near-identical frames dropped", dropped_duplicates_));
    }
    std::error_code ec;
    for (size_t i = 0; i < kept_.size(); ++i) {
      Kept& k = kept_[i];
      FrameInfo info;
      info.index = static_cast<int>(i);
      info.pts_ms = k.pts_ms;
      info.kind = k.kind;
      info.width = k.width;
      info.height = k.height;
      info.sharpness = k.sharpness;
      info.file = fmt::format("frame_{:03d}.jpg", i);
      info.thumb = fmt::format("thumb_{:03d}.jpg", i);
      // Targets never collide with a later file: indices only move down, in order.
      for (auto [from, to] : {std::pair{&k.file, &info.file}, std::pair{&k.thumb, &info.thumb}}) {
        if (*from == *to) continue;
        fs::rename(out_dir_ / *from, out_dir_ / *to, ec);
        if (ec) return Error(Code::kInternal, "cannot rename a frame file");
      }
      result.frames.push_back(std::move(info));
    }
    if (Status s = write_contact_sheet(result); !s.ok()) return s;
    result.contact_sheet = "contact_sheet.jpg";
    result.signature = std::move(signature_);
    return Status::Ok();
  }

 private:
  // Variance of the Laplacian of the grey picture (laplacian_variance).
  std::optional<double> sharpness(const AVFrame* frame) {
    const std::optional<GreyPicture> picture = grey_picture(frame, grey_scaler_, grey_storage_);
    if (!picture) {
      warnings_.add("a frame could not be converted to grey");
      return std::nullopt;
    }
    return laplacian_variance(picture->grey);
  }

  std::optional<PdqResult> hash(const AVFrame* frame) {
    const std::optional<GreyPicture> scan = scanner_.scan(frame);
    if (!scan) return std::nullopt;
    return hasher_.hash(*scan);
  }

  void add_to_signature(const PdqResult& pdq, int64_t pts_ms, bool extra) {
    if (extra) {
      if (pdq.quality < kSignatureExtraMinQuality) return;
      if (last_signature_hash_ &&
          hamming(pdq.hash, *last_signature_hash_) <= kSignatureExtraMinBits) {
        return;
      }
    }
    last_signature_hash_ = pdq.hash;
    signature_.push_back(SignatureEntry{pts_ms, pdq.hash.to_hex(), pdq.quality, extra});
  }

  Status close_slot() {
    Candidate c = std::move(*pending_);
    pending_.reset();
    if (!kept_.empty() && mean_abs_diff(c.tiny, last_kept_tiny_) < opt_.duplicate_threshold) {
      ++dropped_duplicates_;
      return Status::Ok();
    }
    // 8-bit 4:2:0 goes into the JPEG as it is (JfifPicture); other formats through BGR.
    const AVFrame* f = c.frame.get();
    const bool planes = jfif_.assign(f, rotation_);
    cv::Mat bgr;
    if (!planes) {
      bgr_.create(f->height, f->width, CV_8UC3);
      if (!bgr_scaler_.scale(f, bgr_, AV_PIX_FMT_BGR24, SWS_BILINEAR | SWS_ACCURATE_RND)) {
        warnings_.add("a frame could not be converted to colour");
        return Status::Ok();
      }
      bgr = bgr_;
      if (rotation_ != 0) {
        turn_upright(bgr_, upright_, rotation_);
        bgr = upright_;
      }
    }
    c.frame.reset();

    Kept k;
    k.pts_ms = c.pts_ms;
    k.kind = c.kind;
    k.width = planes ? jfif_.width() : bgr.cols;
    k.height = planes ? jfif_.height() : bgr.rows;
    k.sharpness = c.sharpness;
    k.file = fmt::format("frame_{:03d}.jpg", written_);
    k.thumb = fmt::format("thumb_{:03d}.jpg", written_);
    ++written_;
    const double scale = static_cast<double>(opt_.thumb_long_side) / std::max(k.width, k.height);
    const cv::Size thumb_size(std::max(1, static_cast<int>(std::lround(k.width * scale))),
                              std::max(1, static_cast<int>(std::lround(k.height * scale))));
    if (planes) {
      jfif_.bgr(thumb_size, k.thumb_image);
      if (Status s = jfif_.write((out_dir_ / k.file).string(), opt_.jpeg_quality); !s.ok()) {
        return s;
      }
    } else {
      cv::resize(bgr, k.thumb_image, thumb_size, 0, 0,
                 scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
      if (Status s = write_jpeg(k.file, bgr); !s.ok()) return s;
    }
    if (Status s = write_jpeg(k.thumb, k.thumb_image); !s.ok()) return s;
    last_kept_tiny_ = c.tiny;
    kept_.push_back(std::move(k));
    if (kept_.size() > static_cast<size_t>(std::max(opt_.max_frames, 1))) thin();
    return Status::Ok();
  }

  // Halves the kept frames, keeping the better of each pair, and doubles the slot length.
  void thin() {
    std::vector<Kept> kept;
    std::error_code ec;
    for (size_t i = 0; i < kept_.size(); i += 2) {
      size_t keep = i;
      if (i + 1 < kept_.size() &&
          better(kept_[i + 1].kind, kept_[i + 1].sharpness, kept_[i].kind, kept_[i].sharpness)) {
        keep = i + 1;
      }
      for (size_t j = i; j < std::min(i + 2, kept_.size()); ++j) {
        if (j == keep) continue;
        fs::remove(out_dir_ / kept_[j].file, ec);
        fs::remove(out_dir_ / kept_[j].thumb, ec);
      }
      kept.push_back(std::move(kept_[keep]));
    }
    kept_ = std::move(kept);
    slot_ms_ *= 2;
  }

  Status write_jpeg(const std::string& name, const cv::Mat& image) {
    return write_bgr_jpeg((out_dir_ / name).string(), image, opt_.jpeg_quality);
  }

  Status write_contact_sheet(const FramesResult& result) {
    int cell_w = 1;
    int thumb_h = 1;
    for (const Kept& k : kept_) {
      cell_w = std::max(cell_w, k.thumb_image.cols);
      thumb_h = std::max(thumb_h, k.thumb_image.rows);
    }
    constexpr int kLabelH = 22;
    constexpr int kGap = 4;
    const int n = static_cast<int>(kept_.size());
    const int cols = std::clamp(opt_.contact_sheet_columns, 1, std::max(1, n));
    const int rows = (n + cols - 1) / cols;
    cv::Mat sheet(rows * (thumb_h + kLabelH + kGap) + kGap, cols * (cell_w + kGap) + kGap, CV_8UC3,
                  cv::Scalar(32, 32, 32));
    for (int i = 0; i < n; ++i) {
      const cv::Mat& thumb = kept_[static_cast<size_t>(i)].thumb_image;
      const int x = kGap + (i % cols) * (cell_w + kGap);
      const int y = kGap + (i / cols) * (thumb_h + kLabelH + kGap);
      thumb.copyTo(sheet(cv::Rect(x + (cell_w - thumb.cols) / 2, y, thumb.cols, thumb.rows)));
      const FrameInfo& info = result.frames[static_cast<size_t>(i)];
      const std::string label =
          fmt::format("{}  {}", timestamp_text(info.pts_ms), frame_kind_name(info.kind));
      cv::putText(sheet, label, cv::Point(x + 4, y + thumb_h + 16), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                  cv::Scalar(240, 240, 240), 1, cv::LINE_AA);
    }
    return write_jpeg("contact_sheet.jpg", sheet);
  }

  fs::path out_dir_;
  const FramesOptions& opt_;
  int rotation_;
  int64_t slot_ms_;
  SharedWarnings& warnings_;
  int written_ = 0;
  int dropped_duplicates_ = 0;
  std::optional<Candidate> pending_;
  int64_t pending_slot_ = 0;
  cv::Mat last_kept_tiny_;
  std::vector<Kept> kept_;
  std::vector<SignatureEntry> signature_;
  std::optional<PdqHash> last_signature_hash_;  // the last one kept, sample or extra
  FrameScanner scanner_;
  SignatureHasher hasher_;
  Scaler grey_scaler_;
  Scaler bgr_scaler_;
  JfifPicture jfif_;
  // Reused buffers (a fresh 1080p buffer a frame costs page faults).
  cv::Mat grey_storage_;
  cv::Mat bgr_;
  cv::Mat upright_;
};

bool valid_size(int width, int height) {
  return width > 0 && height > 0 && width <= kMaxDimension && height <= kMaxDimension;
}

// `tiny` (kTinyH × kTinyW, 8-bit) = the means of the cells of the frame's scan (cut at whole
// pixels), in full range. swscale's area filter from the decoded picture to GRAY8 gave the same
// within 1, and cost 0.8 ms on every decoded 1080p frame, most of it cache misses on a picture
// the decoder had just written; the scan is a quarter of the picture and is made anyway.
__attribute__((target_clones("avx2", "default"))) void tiny_from_grey(const GreyPicture& picture,
                                                                      cv::Mat& tiny) {
  const cv::Mat& grey = picture.grey;
  const int cols = grey.cols;
  const int rows = grey.rows;
  std::array<int, kTinyW + 1> x_edge{};
  for (int c = 0; c <= kTinyW; ++c) x_edge[c] = static_cast<int>(int64_t{c} * cols / kTinyW);
  thread_local std::vector<uint32_t> column_sums;
  column_sums.resize(static_cast<size_t>(cols));
  for (int r = 0; r < kTinyH; ++r) {
    const int y0 = static_cast<int>(int64_t{r} * rows / kTinyH);
    const int y1 = static_cast<int>(int64_t{r + 1} * rows / kTinyH);
    std::fill(column_sums.begin(), column_sums.end(), 0);
    uint32_t* sums = column_sums.data();
    for (int y = y0; y < y1; ++y) {  // ≤ kMaxDimension rows of ≤ 255: no overflow
      const uint8_t* p = grey.ptr<uint8_t>(y);
      for (int x = 0; x < cols; ++x) sums[x] += p[x];  // vectorised by the compiler
    }
    uint8_t* out = tiny.ptr<uint8_t>(r);
    for (int c = 0; c < kTinyW; ++c) {
      uint64_t sum = 0;
      for (int x = x_edge[c]; x < x_edge[c + 1]; ++x) sum += sums[x];
      const int64_t count = int64_t{x_edge[c + 1] - x_edge[c]} * (y1 - y0);
      double mean = count > 0 ? static_cast<double>(sum) / static_cast<double>(count) : 0;
      if (picture.video_range) mean = (mean - 16.0) * 255.0 / 219.0;
      out[c] = cv::saturate_cast<uint8_t>(mean);
    }
  }
}

// A decoded frame as the decoding side describes it, in presentation order.
struct Decoded {
  int64_t pts_ms = 0;  // from the start of the stream, ≥ 0
  int width = 0;
  int height = 0;
  bool keyframe = false;
  cv::Mat tiny;    // the 64×36 grey copy; empty when it could not be made (or the size is bad)
  FramePtr frame;  // parallel decoding: a reference to the picture when it may be picked
  // Parallel decoding: the signature hash, when the frame may be a signature sample or extra
  // (nullopt inside: it could not be converted).
  std::optional<std::optional<PdqResult>> hash;
};

// The frame's description; `scan` = its scan (FrameScanner), nullopt when it has none.
Decoded describe(const AVFrame* frame, int64_t pts_ms, FrameScanner& scanner,
                 std::optional<GreyPicture>& scan) {
  Decoded d;
  d.pts_ms = pts_ms;
  d.width = frame->width;
  d.height = frame->height;
  d.keyframe = frame->key_frame != 0 || frame->pict_type == AV_PICTURE_TYPE_I;
  scan.reset();
  if (!valid_size(d.width, d.height)) return d;
  scan = scanner.scan(frame);
  if (scan) {
    cv::Mat tiny(kTinyH, kTinyW, CV_8UC1);
    tiny_from_grey(*scan, tiny);
    d.tiny = tiny;
  }
  return d;
}

// Scores every decoded frame (on the decoding thread, or the thread that receives the frames of
// parallel decoding), picks the ones worth a look and hands them to the Writer on its own thread.
class Extractor {
 public:
  // FFmpeg's messages on the writer thread (swscale's) join `log` once the writer is done.
  Extractor(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
            Warnings& warnings, media::LogCollector& log)
      : opt_(options),
        warnings_(warnings),
        log_(log),
        writer_(std::move(out_dir), options, rotation, slot_ms, warnings_),
        thread_([this] { run_writer(); }) {}

  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;
  ~Extractor() {
    queue_.abort();
    if (thread_.joinable()) thread_.join();
  }

  // The next decoded frame. `live` is the decoder's frame when decoding in order (a reference is
  // taken when it is picked); with parallel decoding it is null and d.frame is the reference.
  // Returns an error only for a failure to write (the writer's).
  Status take(Decoded d, const AVFrame* live) {
    if (!valid_size(d.width, d.height)) {
      warnings_.add(fmt::format("frames of {}x{} skipped", d.width, d.height));
      return Status::Ok();
    }
    ++decoded_;
    const int64_t pts_ms = std::max(d.pts_ms, last_pts_ms_);  // presentation order, even for odd
    last_pts_ms_ = pts_ms;                                    // timestamps

    if (d.tiny.empty()) {
      warnings_.add("a frame could not be scaled");
      return Status::Ok();
    }
    const cv::Mat& tiny = d.tiny;
    bool scene = false;
    if (!previous_tiny_.empty()) {
      const double score = mean_abs_diff(tiny, previous_tiny_);
      double average = 0;
      for (double s : recent_scores_) average += s;
      if (!recent_scores_.empty()) average /= static_cast<double>(recent_scores_.size());
      scene = opt_.detect_scenes && score >= opt_.scene_threshold &&
              score >= opt_.scene_ratio * average;
      recent_scores_.push_back(score);
      if (recent_scores_.size() > kSceneHistory) recent_scores_.pop_front();
    }
    previous_tiny_ = tiny;

    const bool keyframe = d.keyframe;
    const int64_t interval = std::max<int64_t>(opt_.sample_interval.count(), 1);
    const bool sample = pts_ms >= next_sample_ms_;
    if (sample) next_sample_ms_ = (pts_ms / interval + 1) * interval;
    const int64_t signature_interval = opt_.signature_interval.count();
    const bool signature = signature_interval > 0 && pts_ms >= next_signature_ms_;
    if (signature) next_signature_ms_ = (pts_ms / signature_interval + 1) * signature_interval;
    const int64_t extra_interval = opt_.signature_extra_interval.count();
    const bool extra = signature_interval > 0 && extra_interval > 0 && pts_ms >= next_extra_ms_;
    if (extra) next_extra_ms_ = (pts_ms / extra_interval + 1) * extra_interval;
    if (!scene && !keyframe && !sample && !signature && !extra) return Status::Ok();

    Job job;
    job.pts_ms = pts_ms;
    job.signature = signature;
    job.signature_extra = extra && !signature;
    job.hash = std::move(d.hash);
    if (scene || keyframe || sample) {
      job.kind = scene ? FrameKind::kScene : (keyframe ? FrameKind::kKeyframe : FrameKind::kSample);
      job.tiny = tiny;
    }
    if (live != nullptr) {
      job.frame.reset(av_frame_clone(live));
      if (!job.frame) return Error(Code::kInternal, "out of memory holding a frame");
    } else if (d.frame) {
      job.frame = std::move(d.frame);
    } else if (!job.hash) {
      return Status::Ok();  // not kept by the decoding thread: only for timestamps that go back
    }
    if (!queue_.push(std::move(job))) return wait();  // the writer failed
    return Status::Ok();
  }

  // Gives up: stops the writer and removes the files it wrote. Nothing may be called afterwards.
  void discard() {
    queue_.abort();
    if (thread_.joinable()) thread_.join();
    writer_.remove_files();
  }

  // Waits until the writer thread has taken every frame handed over; its error, if it failed.
  // add() must not be called afterwards.
  Status wait() {
    queue_.close();
    if (thread_.joinable()) {
      thread_.join();
      writer_log_.flush();
      for (const std::string& message : writer_log_.messages()) {
        log_.add(AV_LOG_WARNING, message + "\n");
      }
    }
    return writer_status_;
  }

  // Writes the last pending frame, renumbers the files and writes the contact sheet.
  // REQUIRES: wait() returned Ok.
  Status finish(FramesResult& result) { return writer_.finish(result); }

  int64_t decoded() const { return decoded_; }

 private:
  void run_writer() {
    const media::LogScope log_scope(&writer_log_);
    Job job;
    while (queue_.pop(job)) {
      Status s;
      try {
        s = writer_.take(std::move(job));
      } catch (const std::bad_alloc&) {
        s = Error(Code::kInternal, "out of memory writing frames");
      } catch (const std::exception&) {
        s = Error(Code::kInternal, "an image operation failed while writing frames");
      }
      job = Job{};  // the decoder's picture goes back now, not at the next pop
      if (!s.ok()) {
        writer_status_ = std::move(s);  // read by wait() after the join
        queue_.abort();
        return;
      }
    }
  }

  const FramesOptions& opt_;
  SharedWarnings warnings_;
  media::LogCollector& log_;
  media::LogCollector writer_log_;  // the writer thread's, read after the join
  int64_t next_sample_ms_ = 0;
  int64_t next_signature_ms_ = 0;
  int64_t next_extra_ms_ = 0;
  int64_t last_pts_ms_ = 0;
  int64_t decoded_ = 0;
  cv::Mat previous_tiny_;
  std::deque<double> recent_scores_;
  JobQueue queue_;
  Status writer_status_;
  Writer writer_;
  std::thread thread_;  // last: starts once everything it uses is built
};

// Parallel decoding ------------------------------------------------------------------------------

// A piece of the timeline for one decoding thread. Chunk 0 starts at the beginning; the others
// seek to a keyframe of the container's index (seek_ts, in the stream's time base) and start at
// the first keyframe they decode at or after lower_ms (the index time less kChunkMarginMs, as
// index times may be decoding times, and seeks may land earlier). A chunk ends where the next
// one starts; before lower_ms of the next chunk, its thread need not know where that is.
struct Chunk {
  int64_t seek_ts = 0;
  int64_t lower_ms = 0;
};

constexpr int kMaxDecodeThreads = 4;
constexpr int64_t kChunkMinMs = 4'000;
// Longer chunks mean more pictures held for the frames the reading thread has not reached yet
// (about one a second: keyframes, samples, signature frames, possible scene changes).
constexpr int64_t kChunkMaxMs = 15'000;
// Pictures held for chunks the reading thread has not reached: a thread starts a chunk more than
// one ahead of the others only below this.
constexpr int64_t kAheadBytes = int64_t{256} << 20;
constexpr int64_t kChunkMarginMs = 2'000;

int decode_threads(const FramesOptions& options) {
  if (options.decode_threads > 0) return std::min(options.decode_threads, kMaxDecodeThreads);
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxDecodeThreads);
}

// The chunks of the timeline, from the keyframes of the container's index (MP4, Matroska, AVI
// have one; MPEG-TS has none); empty when there are fewer than two.
std::vector<Chunk> plan_chunks(AVStream* st, int64_t start, int64_t duration_ms, int threads) {
  const int entries = avformat_index_get_entries_count(st);
  if (threads < 2 || entries <= 0 || duration_ms <= 0) return {};
  std::vector<Chunk> chunks{Chunk{}};
  int64_t chunk_start_ms = 0;
  for (int i = 0; i < entries; ++i) {
    const AVIndexEntry* e = avformat_index_get_entry(st, i);
    if (e == nullptr || (e->flags & AVINDEX_KEYFRAME) == 0 || e->timestamp == AV_NOPTS_VALUE) {
      continue;
    }
    // About four chunks a thread, shorter towards the end (a quarter of what is left a thread),
    // so that the threads, each taking the next chunk when it is free, finish close together.
    const int64_t target = std::clamp(
        std::min(duration_ms / (4 * threads), (duration_ms - chunk_start_ms) / (2 * threads)),
        kChunkMinMs, kChunkMaxMs);
    const int64_t ms = av_rescale_q(e->timestamp - start, st->time_base, {1, 1000});
    if (ms < chunk_start_ms + target || ms > duration_ms - kChunkMinMs / 2) continue;
    chunks.push_back(Chunk{e->timestamp, ms - kChunkMarginMs});
    chunk_start_ms = ms;
  }
  if (chunks.size() < 2) return {};
  return chunks;
}

// Opens the decoder of the stream. threads: FFmpeg's thread_count (0: one per core).
Result<CodecPtr> open_decoder(const AVStream* st, const AVCodec* codec, bool keyframes_only,
                              int threads, const media::MediaInput& input) {
  CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Error(Code::kInternal, "out of memory opening a decoder");
  if (const int rc = avcodec_parameters_to_context(dec.get(), st->codecpar); rc < 0) {
    return input.failure(rc);
  }
  dec->pkt_timebase = st->time_base;
  dec->thread_count = threads;
  dec->skip_frame = keyframes_only ? AVDISCARD_NONKEY : AVDISCARD_NONREF;
  dec->skip_loop_filter = AVDISCARD_NONKEY;
  if (const int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return input.failure(rc);
  return dec;
}

// Whether `packet` of an H.264 stream starts with an IDR picture (its first slice is NAL unit
// type 5), in the length-prefixed form of MP4 and Matroska (avcC extradata) or in Annex B. No
// picture after an IDR in decoding order is shown before it (H.264 has no leading pictures at an
// IDR: the decoded picture buffer is emptied there), so a decoder that has shown everything
// before an IDR needs nothing from it.
bool h264_idr(const AVCodecParameters* par, const AVPacket* packet) {
  if (par->codec_id != AV_CODEC_ID_H264 || packet->data == nullptr) return false;
  const uint8_t* p = packet->data;
  const uint8_t* end = p + packet->size;
  // The type of the first slice (types 1–5) at or after `nal`; 0 when there is none.
  const auto slice_type = [](int type) { return type >= 1 && type <= 5; };
  if (par->extradata != nullptr && par->extradata_size >= 7 && par->extradata[0] == 1) {
    const int length_size = (par->extradata[4] & 3) + 1;
    while (end - p > length_size) {
      uint64_t length = 0;
      for (int i = 0; i < length_size; ++i) length = length << 8 | p[i];
      p += length_size;
      if (length == 0 || length > static_cast<uint64_t>(end - p)) return false;
      const int type = p[0] & 0x1f;
      if (slice_type(type)) return type == 5;
      p += length;
    }
    return false;
  }
  for (; end - p > 3; ++p) {  // Annex B: 00 00 01 before each NAL unit
    if (p[0] != 0 || p[1] != 0 || p[2] != 1) continue;
    const int type = p[3] & 0x1f;
    if (slice_type(type)) return type == 5;
    p += 2;
  }
  return false;
}

enum class ParallelOutcome {
  kDone,       // every frame was handed over
  kAbandoned,  // the file is not regular enough: decode it in order instead (nothing was kept)
  kFailed,     // `take` failed
};

// Decodes the chunks on `threads` threads, each with its own input and a single-threaded decoder,
// and hands every decoded frame, in presentation order, to the calling thread. A thread keeps a
// reference only to the frames the Extractor may pick: keyframes, the first frame of a chunk and
// of each sample interval, and frames that differ from the previous one by at least
// scene_threshold — what it can tell without the frames before its chunk. The first frame of a
// chunk and of each signature or signature extra interval it hashes (SignatureHasher) and hands
// over the hash, not the picture.
// The file must decode cleanly: a decoding error, a message from FFmpeg, a timestamp that does not
// rise or a chunk without a keyframe abandons the attempt, and the caller decodes the file in
// order, as it always did, with the warnings that belong to it.
class ParallelDecoder {
 public:
  ParallelDecoder(std::string path, const media::OpenOptions& open_options, int stream_index,
                  std::vector<Chunk> chunks, int threads, const FramesOptions& options,
                  int rotation)
      : path_(std::move(path)),
        open_options_(open_options),
        stream_index_(stream_index),
        chunks_(std::move(chunks)),
        threads_(std::clamp(threads, 1, static_cast<int>(chunks_.size()))),
        opt_(options),
        rotation_(rotation),
        state_(chunks_.size()) {}

  // Runs the threads; `take` gets the frames on the calling thread. On kFailed, *error is set.
  ParallelOutcome run(const std::function<Status(Decoded)>& take, Status* error) {
    std::vector<std::thread> threads;
    for (int w = 0; w < threads_; ++w) threads.emplace_back([this] { work(); });
    try {
      return hand_over(take, error, threads);
    } catch (...) {  // from `take`: stop the threads before the exception leaves
      abandon();
      for (std::thread& t : threads) t.join();
      throw;
    }
  }

 private:
  ParallelOutcome hand_over(const std::function<Status(Decoded)>& take, Status* error,
                            std::vector<std::thread>& threads) {
    ParallelOutcome outcome = ParallelOutcome::kDone;
    for (size_t c = 0; c < chunks_.size() && outcome == ParallelOutcome::kDone; ++c) {
      std::unique_lock lock(mutex_);
      consumer_chunk_ = static_cast<int>(c);
      changed_.notify_all();
      for (;;) {
        changed_.wait(lock,
                      [&] { return abandoned_ || !state_[c].records.empty() || state_[c].done; });
        if (abandoned_) {
          outcome = ParallelOutcome::kAbandoned;
          break;
        }
        if (state_[c].records.empty()) break;  // done
        Decoded d = std::move(state_[c].records.front());
        state_[c].records.pop_front();
        if (d.frame) {
          held_bytes_ -= picture_bytes(d.frame.get());
          changed_.notify_all();
        }
        lock.unlock();
        Status s = take(std::move(d));
        lock.lock();
        if (!s.ok()) {
          *error = std::move(s);
          abandoned_ = true;
          changed_.notify_all();
          outcome = ParallelOutcome::kFailed;
          break;
        }
      }
    }
    for (std::thread& t : threads) t.join();
    return outcome;
  }

  struct ChunkState {
    std::deque<Decoded> records;
    bool done = false;
    std::optional<int64_t> start_pts;  // of the chunk's first keyframe (stream time base)
  };

  // One thread's input.
  struct Source {
    explicit Source(int rotation) : hasher(rotation) {}
    std::unique_ptr<media::MediaInput> input;
    AVStream* st = nullptr;
    const AVCodec* codec = nullptr;
    int64_t start = 0;
    bool matroska = false;
    CodecPtr decoder;
    PacketPtr packet;
    FramePtr frame;
    FrameScanner scanner;
    std::optional<GreyPicture> scan;
    SignatureHasher hasher;
  };

  void abandon() {
    const std::lock_guard lock(mutex_);
    abandoned_ = true;
    changed_.notify_all();
  }

  bool open(Source& src, media::LogCollector& log) {
    auto opened = media::MediaInput::open(path_, open_options_, log);
    if (!opened.ok()) return false;
    src.input = std::move(*opened);
    AVFormatContext* ctx = src.input->format();
    if (stream_index_ >= static_cast<int>(ctx->nb_streams)) return false;
    for (unsigned i = 0; i < ctx->nb_streams; ++i) {
      if (static_cast<int>(i) != stream_index_) ctx->streams[i]->discard = AVDISCARD_ALL;
    }
    src.st = ctx->streams[stream_index_];
    src.start = src.st->start_time != AV_NOPTS_VALUE ? src.st->start_time : 0;
    src.codec = avcodec_find_decoder(src.st->codecpar->codec_id);
    if (src.codec == nullptr) return false;
    src.matroska = std::string_view(ctx->iformat->name).starts_with("matroska");
    src.packet.reset(av_packet_alloc());
    src.frame.reset(av_frame_alloc());
    return src.packet && src.frame;
  }

  void work() {
    try {
      work_or_throw();
    } catch (const std::exception&) {  // cv::Exception, std::bad_alloc: decode in order instead
      abandon();
    }
  }

  void work_or_throw() {
    media::LogCollector log;
    const media::LogScope log_scope(&log);
    Source src(rotation_);
    if (!open(src, log)) return abandon();
    log.flush();
    const size_t messages_at_open = log.messages().size();  // the main input logged them too
    for (;;) {
      int c = 0;
      {
        // The next chunk not taken, whichever thread is free first: chunks take unequal times.
        // Bounded memory: at most threads_ + 1 chunks ahead of the reading thread, and beyond the
        // next threads_ only while the pictures held are few. Never for the chunk it waits on.
        std::unique_lock lock(mutex_);
        if (abandoned_ || next_chunk_ >= static_cast<int>(chunks_.size())) return;
        c = next_chunk_++;
        changed_.wait(lock, [&] {
          return abandoned_ || consumer_chunk_ >= c - threads_ + 1 ||
                 (consumer_chunk_ >= c - threads_ && held_bytes_ <= kAheadBytes);
        });
        if (abandoned_) return;
      }
      if (!decode_chunk(src, c)) return abandon();
      log.flush();
      if (log.messages().size() != messages_at_open) return abandon();
    }
  }

  // Whether chunk c (not the last) can stop decoding in front of src.packet: an H.264 IDR
  // picture at or after the start of chunk c + 1, which that chunk decodes. Otherwise the chunk
  // decodes on until a frame at or after that start comes out, which costs that keyframe and a
  // frame or two more (~25 ms a chunk for 1080p). Learns end_pts (waiting for chunk c + 1 to
  // start) once a keyframe is near it.
  bool ends_before(const Source& src, int c, std::optional<int64_t>& end_pts) {
    const AVPacket* packet = src.packet.get();
    if ((packet->flags & AV_PKT_FLAG_KEY) == 0 || packet->pts == AV_NOPTS_VALUE) return false;
    const int64_t ms = av_rescale_q(packet->pts - src.start, src.st->time_base, {1, 1000});
    if (ms < chunks_[c + 1].lower_ms) return false;
    if (!end_pts) end_pts = wait_for_start(c + 1);
    return end_pts && packet->pts >= *end_pts && h264_idr(src.st->codecpar, packet);
  }

  std::optional<int64_t> wait_for_start(int c) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return abandoned_ || state_[c].start_pts.has_value(); });
    if (abandoned_) return std::nullopt;
    return state_[c].start_pts;
  }

  // Decodes chunk c into state_[c]. False: abandon.
  bool decode_chunk(Source& src, int c) {
    AVFormatContext* ctx = src.input->format();
    if (c > 0 && av_seek_frame(ctx, stream_index_, chunks_[c].seek_ts, AVSEEK_FLAG_BACKWARD) < 0) {
      return false;
    }
    // One single-threaded decoder a thread (the parallelism is the chunks'), flushed between its
    // chunks: it keeps its picture buffers, which a new one would allocate and fault in again.
    // For Matroska a new one a chunk: a flushed one refused the first packet after a seek.
    if (!src.decoder || src.matroska) {
      auto opened = open_decoder(src.st, src.codec, false, 1, *src.input);
      if (!opened.ok()) return false;
      src.decoder = std::move(*opened);
    } else {
      avcodec_flush_buffers(src.decoder.get());
    }
    AVCodecContext* dec = src.decoder.get();
    const bool last = c + 1 == static_cast<int>(chunks_.size());
    const int64_t sample_interval = std::max<int64_t>(opt_.sample_interval.count(), 1);
    const int64_t signature_interval = opt_.signature_interval.count();  // 0: none
    const int64_t extra_interval =
        signature_interval > 0 ? opt_.signature_extra_interval.count() : 0;  // 0: none
    bool started = c == 0;  // chunk 0 takes every frame from the start, as decoding in order does
    int64_t last_pts = std::numeric_limits<int64_t>::min();
    std::optional<int64_t> end_pts;
    cv::Mat previous_tiny;
    int64_t previous_ms = -1;

    // 0: go on, 1: the chunk is complete, -1: abandon.
    const auto on_frame = [&](AVFrame* f) -> int {
      if ((f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0) return -1;
      const int64_t pts = f->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) return -1;
      const bool keyframe = f->key_frame != 0 || f->pict_type == AV_PICTURE_TYPE_I;
      const int64_t ms =
          std::max<int64_t>(av_rescale_q(pts - src.start, src.st->time_base, {1, 1000}), 0);
      if (!started) {
        // The chunk starts at the first keyframe (a point the decoder can start from: IDR or
        // recovery point) not before lower_ms, whatever keyframe the seek found: frames before
        // it are the previous chunk's.
        if (f->key_frame == 0 || ms < chunks_[c].lower_ms) return 0;
        started = true;
        const std::lock_guard lock(mutex_);
        state_[c].start_pts = pts;
        changed_.notify_all();
      } else if (pts <= last_pts) {
        return -1;
      }
      if (!last) {
        if (!end_pts && ms >= chunks_[c + 1].lower_ms) {
          end_pts = wait_for_start(c + 1);
          if (!end_pts || last_pts >= *end_pts) return -1;
        }
        if (end_pts && pts >= *end_pts) return 1;
      }
      last_pts = pts;
      Decoded d = describe(f, ms, src.scanner, src.scan);
      bool keep = keyframe || previous_ms < 0;
      bool hash = signature_interval > 0 && previous_ms < 0;
      if (!d.tiny.empty()) {
        keep = keep || ms / sample_interval != previous_ms / sample_interval ||
               (opt_.detect_scenes && !previous_tiny.empty() &&
                mean_abs_diff(d.tiny, previous_tiny) >= opt_.scene_threshold);
        hash = hash ||
               (signature_interval > 0 &&
                ms / signature_interval != previous_ms / signature_interval) ||
               (extra_interval > 0 && ms / extra_interval != previous_ms / extra_interval);
        previous_tiny = d.tiny;
        previous_ms = ms;
      }
      if (!valid_size(d.width, d.height)) {
        keep = false;
        hash = false;
      }
      // Signature frames are hashed here, on all cores, and not held for the writer (most
      // decoded frames are signature extras: holding them all grew the decoder's buffer pool).
      if (hash) {
        d.hash = src.scan ? std::optional<PdqResult>(src.hasher.hash(*src.scan)) : std::nullopt;
      }
      if (keep) {
        d.frame.reset(av_frame_clone(f));
        if (!d.frame) return -1;
      }
      const int64_t bytes = d.frame ? picture_bytes(d.frame.get()) : 0;
      const std::lock_guard lock(mutex_);
      held_bytes_ += bytes;
      state_[c].records.push_back(std::move(d));
      changed_.notify_all();
      return 0;
    };
    // 0: go on, 1: the chunk is complete, -1: abandon.
    const auto drain = [&]() -> int {
      for (;;) {
        const int rc = avcodec_receive_frame(dec, src.frame.get());
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
        if (rc < 0) return -1;
        const int r = on_frame(src.frame.get());
        av_frame_unref(src.frame.get());
        if (r != 0) return r;
      }
    };

    int r = 0;
    for (;;) {
      if (packets_.fetch_add(1) >= opt_.max_packets) return false;
      const int rc = av_read_frame(ctx, src.packet.get());
      if (rc == AVERROR_EOF) break;
      if (rc < 0) return false;
      int sent = 0;
      if (src.packet->stream_index == stream_index_) {
        if (!last && ends_before(src, c, end_pts)) {  // then drain what is left, below
          av_packet_unref(src.packet.get());
          break;
        }
        sent = avcodec_send_packet(dec, src.packet.get());
      }
      av_packet_unref(src.packet.get());
      if (sent < 0) return false;
      if ((r = drain()) != 0) break;
    }
    if (r == 0) {
      if (avcodec_send_packet(dec, nullptr) < 0) return false;
      r = drain();
    }
    if (r < 0 || !started) return false;
    const std::lock_guard lock(mutex_);
    state_[c].done = true;
    changed_.notify_all();
    return true;
  }

  const std::string path_;
  const media::OpenOptions open_options_;
  const int stream_index_;
  const std::vector<Chunk> chunks_;
  const int threads_;
  const FramesOptions& opt_;
  const int rotation_;
  std::atomic<int64_t> packets_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ChunkState> state_;  // guarded by mutex_
  int consumer_chunk_ = 0;         // guarded by mutex_
  int next_chunk_ = 0;             // the next chunk a thread takes; guarded by mutex_
  int64_t held_bytes_ = 0;         // pictures in state_[].records; guarded by mutex_
  bool abandoned_ = false;         // guarded by mutex_
};

// The main video: not cover art; the default-flagged one, then the largest picture (as probe).
int main_video_stream(const AVFormatContext* ctx) {
  int best = -1;
  std::pair<bool, int64_t> best_rank{false, -1};
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* st = ctx->streams[i];
    if (st == nullptr || st->codecpar == nullptr) continue;
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if ((st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) continue;
    const std::pair<bool, int64_t> rank{(st->disposition & AV_DISPOSITION_DEFAULT) != 0,
                                        int64_t{st->codecpar->width} * st->codecpar->height};
    if (best < 0 || rank > best_rank) {
      best = static_cast<int>(i);
      best_rank = rank;
    }
  }
  return best;
}

std::string av_error_text(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, buf, sizeof buf);
  return media::clean_text(buf, sizeof buf);
}

}  // namespace

const char* frame_kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::kKeyframe:
      return "keyframe";
    case FrameKind::kScene:
      return "scene";
    case FrameKind::kSample:
      break;
  }
  return "sample";
}

Result<FramesResult> extract_frames(const std::string& path, const std::string& out_dir,
                                    const FramesOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec)) {
    return Error(Code::kInternal, "frames output directory does not exist");
  }
  media::LogCollector log;
  const media::LogScope log_scope(&log);
  media::OpenOptions open_options;
  open_options.timeout = options.timeout;
  open_options.demuxers = default_video_demuxers();
  auto opened = media::MediaInput::open(path, open_options, log);
  if (!opened.ok()) return opened.error();
  media::MediaInput& input = **opened;
  AVFormatContext* ctx = input.format();

  const int stream_index = main_video_stream(ctx);
  if (stream_index < 0) return Error(Code::kUnprocessable, "no video stream", "file");
  AVStream* st = ctx->streams[stream_index];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) {
    return Error(Code::kUnprocessable, "not a readable video: unknown video codec", "file");
  }
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (ctx->streams[i] != nullptr && static_cast<int>(i) != stream_index) {
      ctx->streams[i]->discard = AVDISCARD_ALL;  // the demuxer skips their packets
    }
  }

  FramesResult result;
  Warnings warnings(&result.warnings);
  std::vector<std::string> notes;
  result.rotation_deg = media::stream_rotation(st, "video", &notes);
  for (std::string& note : notes) warnings.add(std::move(note));

  const int max_frames = std::max(options.max_frames, 1);
  int64_t duration_ms = 0;
  if (st->duration > 0 && st->duration != AV_NOPTS_VALUE) {
    duration_ms = av_rescale_q(st->duration, st->time_base, AVRational{1, 1000});
  } else if (ctx->duration > 0 && ctx->duration != AV_NOPTS_VALUE) {
    duration_ms = ctx->duration / 1000;
  }
  const int64_t interval = std::max<int64_t>(options.sample_interval.count(), 1);
  const int64_t slot_ms = std::max(interval, (duration_ms + max_frames - 1) / max_frames);
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;

  // FFmpeg's messages become warnings; then the last slot, the renumbering, the contact sheet.
  const auto complete = [&](Extractor& extractor) -> Result<FramesResult> {
    log.flush();
    for (const std::string& message : log.messages()) {
      warnings.add("ffmpeg: " + media::clean_text(media::scrub(message, path, "<file>"),
                                                  media::LogCollector::kMaxMessageBytes));
    }
    if (extractor.decoded() == 0) {
      if (input.deadline_hit()) return input.failure(AVERROR_EXIT);
      return Error(Code::kUnprocessable, "no decodable video frames", "file");
    }
    if (Status s = extractor.finish(result); !s.ok()) return s.error();
    return std::move(result);
  };

  // Chunks of the timeline on several threads, when the container indexes its keyframes.
  const int threads = decode_threads(options);
  if (std::vector<Chunk> chunks = plan_chunks(st, start, duration_ms, threads);
      options.detect_scenes && !chunks.empty()) {
    const size_t warnings_before = result.warnings.size();
    const int used = std::min(threads, static_cast<int>(chunks.size()));
    Extractor extractor(out_dir, options, result.rotation_deg, slot_ms, warnings, log);
    ParallelDecoder decoder(path, open_options, stream_index, std::move(chunks), used, options,
                            result.rotation_deg);
    Status error;
    const ParallelOutcome outcome =
        decoder.run([&](Decoded d) { return extractor.take(std::move(d), nullptr); }, &error);
    if (outcome == ParallelOutcome::kFailed) return error.error();
    if (outcome == ParallelOutcome::kDone) {
      if (Status s = extractor.wait(); !s.ok()) return s.error();
      result.decode_threads = used;
      return complete(extractor);
    }
    extractor.discard();
    result.warnings.resize(warnings_before);
  }

  // In order, on this thread (FFmpeg's frame threads do the decoding).
  auto opened_decoder = open_decoder(st, codec, !options.detect_scenes, 0, input);
  if (!opened_decoder.ok()) return opened_decoder.error();
  CodecPtr dec = std::move(*opened_decoder);
  // Declared after `dec`: its writer thread holds the decoder's pictures until it is joined.
  Extractor extractor(out_dir, options, result.rotation_deg, slot_ms, warnings, log);
  FrameScanner scanner;
  std::optional<GreyPicture> scan;

  PacketPtr packet(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!packet || !frame) return Error(Code::kInternal, "out of memory decoding a video");

  int64_t decode_errors = 0;
  int64_t corrupt_frames = 0;
  std::optional<std::string> stopped;
  const auto drain = [&]() -> Status {
    for (;;) {
      const int rc = avcodec_receive_frame(dec.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::Ok();
      if (rc < 0) {
        ++decode_errors;
        if (rc == AVERROR(ENOMEM)) return Error(Code::kInternal, "out of memory decoding");
        return Status::Ok();
      }
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0) {
        ++corrupt_frames;
      }
      const int64_t pts = frame->best_effort_timestamp;
      const int64_t pts_ms =
          pts == AV_NOPTS_VALUE ? -1 : av_rescale_q(pts - start, st->time_base, {1, 1000});
      Status s = extractor.take(describe(frame.get(), std::max<int64_t>(pts_ms, 0), scanner, scan),
                                frame.get());
      av_frame_unref(frame.get());
      if (!s.ok()) return s;
    }
  };

  for (int64_t packets = 0;; ++packets) {
    if (packets >= options.max_packets) {
      stopped = fmt::format("stopped after {} packets", packets);
      break;
    }
    const int rc = av_read_frame(ctx, packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      stopped = input.deadline_hit() ? "reading stopped at the time limit"
                                     : "reading stopped: " + av_error_text(rc);
      break;
    }
    if (packet->stream_index == stream_index) {
      const int sent = avcodec_send_packet(dec.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) ++decode_errors;
    }
    av_packet_unref(packet.get());
    if (Status s = drain(); !s.ok()) return s.error();
  }
  if (avcodec_send_packet(dec.get(), nullptr) >= 0) {
    if (Status s = drain(); !s.ok()) return s.error();
  }
  if (Status s = extractor.wait(); !s.ok()) return s.error();

  if (stopped) warnings.add(*stopped);
  if (decode_errors > 0)
    warnings.add(fmt::format("{} packets could not be decoded", decode_errors));
  if (corrupt_frames > 0)
    warnings.add(fmt::format("{} frames decoded with errors", corrupt_frames));
  return complete(extractor);
}

nlohmann::json to_json(const FramesResult& result) {
  nlohmann::json frames = nlohmann::json::array();
  for (const FrameInfo& f : result.frames) {
    frames.push_back({{"index", f.index},
                      {"pts_ms", f.pts_ms},
                      {"kind", frame_kind_name(f.kind)},
                      {"width", f.width},
                      {"height", f.height},
                      {"sharpness", f.sharpness},
                      {"file", f.file},
                      {"thumb", f.thumb}});
  }
  nlohmann::json signature = nlohmann::json::array();
  for (const SignatureEntry& e : result.signature) {
    nlohmann::json entry = {{"pts_ms", e.pts_ms}, {"pdq", e.pdq}, {"quality", e.quality}};
    if (e.extra) entry["extra"] = true;
    signature.push_back(std::move(entry));
  }
  return {{"frames", frames},
          {"contact_sheet", result.contact_sheet},
          {"rotation_deg", result.rotation_deg},
          {"warnings", result.warnings},
          {"signature", signature}};
}

}  // namespace cw::pipeline
