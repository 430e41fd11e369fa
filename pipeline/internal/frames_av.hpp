// Internal to pipeline/frames*.cpp: FFmpeg's owners (packet, frame, decoder), the swscale
// context that follows a stream's size and format, and a frame's grey picture. Used by the
// decoding threads and the writer thread alike; each object belongs to one thread at a time
// unless it says otherwise (SharedWarnings).
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
}

#include "pipeline/media_input.hpp"

namespace cw::pipeline::internal {

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
  ~Scaler();
  // Scales `src` into `dst` (already allocated, 8-bit, `dst_format`). False on failure.
  bool scale(const AVFrame* src, cv::Mat& dst, AVPixelFormat dst_format, int flags);

 private:
  // A YUV source's colours as its frame states them (BT.709 or BT.601 weights, limited or full
  // range), to full-range RGB with BT.601's, as JfifPicture does: swscale alone would take every
  // source for BT.601.
  void set_colour_matrix(const AVFrame* src);

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

// The mean absolute difference of two 8-bit grey pictures of the same size (the 64×36 copies).
double mean_abs_diff(const cv::Mat& a, const cv::Mat& b);

// The grey picture of a frame: for the 8-bit YUV and grey formats the luma plane itself, shared
// with the frame (no copy); for anything else a full-range grey copy in `storage`, made by
// `scaler`. nullopt when the frame cannot be converted.
struct GreyPicture {
  cv::Mat grey;
  bool video_range = false;  // luma in 16..235 (limited range, as most video), not 0..255
};

// The luma plane of a frame in an 8-bit YUV or grey format, shared with the frame (no copy);
// nullopt for any other format.
std::optional<GreyPicture> luma_plane(const AVFrame* frame);

std::optional<GreyPicture> grey_picture(const AVFrame* frame, Scaler& scaler, cv::Mat& storage);

}  // namespace cw::pipeline::internal
