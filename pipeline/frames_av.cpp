// FFmpeg holders and scaling for frame extraction: swscale with the colours a frame states, and
// the grey picture of a frame (its luma plane when it has one). Declared in
// pipeline/internal/frames_av.hpp; see docs/frames.md for the design.
#include "pipeline/internal/frames_av.hpp"

#include <string_view>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include <opencv2/core.hpp>

namespace cw::pipeline::internal {

Scaler::~Scaler() { sws_freeContext(ctx_); }

bool Scaler::scale(const AVFrame* src, cv::Mat& dst, AVPixelFormat dst_format, int flags) {
  ctx_ =
      sws_getCachedContext(ctx_, src->width, src->height, static_cast<AVPixelFormat>(src->format),
                           dst.cols, dst.rows, dst_format, flags, nullptr, nullptr, nullptr);
  if (ctx_ == nullptr) return false;
  if (dst_format == AV_PIX_FMT_BGR24) set_colour_matrix(src);
  uint8_t* planes[4] = {dst.data, nullptr, nullptr, nullptr};
  int strides[4] = {static_cast<int>(dst.step[0]), 0, 0, 0};
  return sws_scale(ctx_, src->data, src->linesize, 0, src->height, planes, strides) == dst.rows;
}

void Scaler::set_colour_matrix(const AVFrame* src) {
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

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  return cv::mean(diff)[0];
}

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

}  // namespace cw::pipeline::internal
