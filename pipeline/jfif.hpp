// A decoded video picture written as a JPEG straight from its own Y, Cb and Cr planes.
//
// A JPEG (JFIF) file holds full-range BT.601 YCbCr, normally with its chroma at half the width and
// height (4:2:0) — which is what most video decodes to already. Going through a BGR picture, as
// an image library would, costs a chroma upsampling and a colour conversion on the way in and a
// conversion and a chroma downsampling again inside the encoder, none of which adds anything.
// JfifPicture instead takes the decoded planes, fixes what differs between the video's YCbCr and
// JFIF's in one pass (limited range stretched to full range; BT.709 weights turned into BT.601
// ones when the frame says it is BT.709), turns them upright, and hands them to libjpeg as raw
// data. For the 60 kept 1080p frames of bench/analyze.sh's clip the writer thread's CPU time went
// from ~0.98 s to ~0.62 s (perf), JPEG encoding itself (~0.32 s) included.
//
// Formats other than 8-bit 4:2:0 (yuv420p, yuvj420p) are refused (assign returns false): the
// caller converts those to BGR as before.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "common/error.hpp"

struct AVFrame;

namespace cw::pipeline {

class JfifPicture {
 public:
  // Takes the picture of `frame`, turned upright by `rotation` degrees clockwise (90, 180, 270;
  // any other value leaves it as it is). False when the frame is not 8-bit 4:2:0 or has no
  // picture; the object is then empty.
  bool assign(const AVFrame* frame, int rotation);

  bool empty() const { return width_ == 0; }
  int width() const { return width_; }    // upright
  int height() const { return height_; }  // upright

  // The full-range BT.601 planes, upright, without the padding: Y at width × height, Cb and Cr
  // at ⌈width/2⌉ × ⌈height/2⌉.
  cv::Mat y() const { return y_(cv::Rect(0, 0, width_, height_)); }
  cv::Mat cb() const { return cb_(cv::Rect(0, 0, chroma_width(), chroma_height())); }
  cv::Mat cr() const { return cr_(cv::Rect(0, 0, chroma_width(), chroma_height())); }

  // Writes a baseline JPEG (4:2:0, quality clamped to 1–100) to `path`.
  Status write(const std::string& path, int quality) const;

  // A BGR copy at `size` (area means when shrinking), for thumbnails.
  void bgr(cv::Size size, cv::Mat& out) const;

 private:
  int chroma_width() const { return (width_ + 1) / 2; }
  int chroma_height() const { return (height_ + 1) / 2; }

  int width_ = 0;
  int height_ = 0;
  // Padded to whole JPEG blocks (16 luma, 8 chroma samples), edges repeated: libjpeg reads whole
  // blocks. Reused from picture to picture.
  cv::Mat y_;
  cv::Mat cb_;
  cv::Mat cr_;
  cv::Mat turn_[3];  // converted planes before they are turned upright
};

// Writes an 8-bit BGR picture (CV_8UC3) as a baseline JPEG (4:2:0, quality clamped to 1–100):
// thumbnails, the contact sheet, and frames of formats JfifPicture refuses. What cv::imwrite
// did, without linking OpenCV's imgcodecs into every start of the binary.
Status write_bgr_jpeg(const std::string& path, const cv::Mat& bgr, int quality);

}  // namespace cw::pipeline
