// JfifPicture: decoded 4:2:0 planes to JFIF's full-range BT.601 planes, and libjpeg's raw-data
// interface to encode them.
#include "pipeline/jfif.hpp"

#include <algorithm>
#include <array>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <vector>

#include <opencv2/imgproc.hpp>

extern "C" {
#include <jpeglib.h>
#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
}

#include "pipeline/picture_ops.hpp"

namespace cw::pipeline {
namespace {

constexpr int kShift = 16;  // fixed point: values are scaled by 2^16
constexpr int32_t kHalf = 1 << (kShift - 1);

int32_t fixed(double v) { return static_cast<int32_t>(v * (1 << kShift) + (v < 0 ? -0.5 : 0.5)); }

// From a video's 8-bit YCbCr (cb = Cb − 128, cr = Cr − 128) to JFIF's:
//   Y'  = (ky·Y + a·cb + b·cr + y_bias) >> 16
//   Cb' = 128 + ((cb_cb·cb + cb_cr·cr + ½) >> 16),  Cr' = 128 + ((cr_cb·cb + cr_cr·cr + ½) >> 16)
struct Transform {
  int32_t ky = 0;
  int32_t y_bias = 0;
  int32_t a = 0;
  int32_t b = 0;
  int32_t cb_cb = 0;
  int32_t cb_cr = 0;
  int32_t cr_cb = 0;
  int32_t cr_cr = 0;
};

// The luma weights of a colour matrix (ITU-R BT.601, BT.709).
struct Weights {
  double kr;
  double kb;
};
constexpr Weights kBt601{0.299, 0.114};
constexpr Weights kBt709{0.2126, 0.0722};

// The transform for a source in `from` weights and limited ("studio", Y 16–235, C 16–240) or
// full range to full-range BT.601. Normalised (Y in 0…1, C in −½…½), with the source decoded
//   R = Y + r_cr·Cr,  G = Y + g_cb·Cb + g_cr·Cr,  B = Y + b_cb·Cb
// and encoded again with BT.601's weights.
Transform transform_for(Weights from, bool full_range) {
  const Weights to = kBt601;
  const double kg = 1 - from.kr - from.kb;
  const double r_cr = 2 * (1 - from.kr);
  const double b_cb = 2 * (1 - from.kb);
  const double g_cb = -2 * from.kb * (1 - from.kb) / kg;
  const double g_cr = -2 * from.kr * (1 - from.kr) / kg;
  const double to_kg = 1 - to.kr - to.kb;
  // Y' = Y + a·Cb + b·Cr (the weights of each sum to 1).
  const double a = to_kg * g_cb + to.kb * b_cb;
  const double b = to.kr * r_cr + to_kg * g_cr;
  // Cb' = (B − Y') / (2(1 − kb')), Cr' = (R − Y') / (2(1 − kr')).
  const double cb_cb = (b_cb - a) / (2 * (1 - to.kb));
  const double cb_cr = -b / (2 * (1 - to.kb));
  const double cr_cb = -a / (2 * (1 - to.kr));
  const double cr_cr = (r_cr - b) / (2 * (1 - to.kr));
  // 8-bit units: Y = ky·(Y8 − y0), C = kc·c8 (normalised, then × 255 for full-range output).
  const double ky = full_range ? 1.0 : 255.0 / 219.0;
  const double y0 = full_range ? 0.0 : 16.0;
  const double kc = full_range ? 1.0 : 255.0 / 224.0;
  Transform t;
  t.ky = fixed(ky);
  t.y_bias = fixed(-ky * y0) + kHalf;
  t.a = fixed(kc * a);
  t.b = fixed(kc * b);
  t.cb_cb = fixed(kc * cb_cb);
  t.cb_cr = fixed(kc * cb_cr);
  t.cr_cb = fixed(kc * cr_cb);
  t.cr_cr = fixed(kc * cr_cr);
  return t;
}

uint8_t clamp8(int32_t v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

// Converts the planes of a w × h 4:2:0 picture into y, cb, cr (allocated, at least that size).
// `t` by value: its fields stay in registers (stores through uint8_t* may alias a reference).
// Built twice, for AVX2 and for any x86-64 (SSE2 has no 32-bit multiply), chosen at load time.
__attribute__((target_clones("avx2", "default"))) void convert(const AVFrame* f, const Transform t,
                                                               cv::Mat& y, cv::Mat& cb,
                                                               cv::Mat& cr) {
  const int w = f->width;
  const int h = f->height;
  const int cw = (w + 1) / 2;
  const int ch = (h + 1) / 2;
  thread_local std::vector<int32_t> chroma_offset;  // a·cb + b·cr, one a chroma column
  thread_local std::vector<int32_t> offset;         // the same, one a luma column
  chroma_offset.resize(static_cast<size_t>(cw));
  offset.resize(static_cast<size_t>(cw) * 2);
  for (int j = 0; j < ch; ++j) {
    const uint8_t* in_cb = f->data[1] + static_cast<ptrdiff_t>(j) * f->linesize[1];
    const uint8_t* in_cr = f->data[2] + static_cast<ptrdiff_t>(j) * f->linesize[2];
    uint8_t* out_cb = cb.ptr<uint8_t>(j);
    uint8_t* out_cr = cr.ptr<uint8_t>(j);
    int32_t* c_off = chroma_offset.data();
    for (int i = 0; i < cw; ++i) {  // vectorised by the compiler, as are the loops below
      const int32_t u = in_cb[i] - 128;
      const int32_t v = in_cr[i] - 128;
      c_off[i] = t.a * u + t.b * v;
      out_cb[i] = clamp8(128 + ((t.cb_cb * u + t.cb_cr * v + kHalf) >> kShift));
      out_cr[i] = clamp8(128 + ((t.cr_cb * u + t.cr_cr * v + kHalf) >> kShift));
    }
    int32_t* off = offset.data();
    for (int x = 0; x < 2 * cw; ++x) off[x] = c_off[x / 2];
    for (int r = 2 * j; r < std::min(2 * j + 2, h); ++r) {
      const uint8_t* in = f->data[0] + static_cast<ptrdiff_t>(r) * f->linesize[0];
      uint8_t* out = y.ptr<uint8_t>(r);
      for (int x = 0; x < w; ++x) out[x] = clamp8((t.ky * in[x] + off[x] + t.y_bias) >> kShift);
    }
  }
}

// Repeats the last column and row of the w × h picture at the top left of `m` to its edges.
void pad_edges(cv::Mat& m, int w, int h) {
  for (int r = 0; r < h; ++r) {
    uint8_t* row = m.ptr<uint8_t>(r);
    std::memset(row + w, row[w - 1], static_cast<size_t>(m.cols - w));
  }
  for (int r = h; r < m.rows; ++r) std::memcpy(m.ptr<uint8_t>(r), m.ptr<uint8_t>(h - 1), m.cols);
}

int round_up(int v, int multiple) { return (v + multiple - 1) / multiple * multiple; }

struct ErrorManager {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr /*cinfo*/, int /*level*/) {}

// What libjpeg is given: JFIF planes (padded to whole blocks, fed as raw data) or, when `bgr` is
// set, the rows of an 8-bit BGR picture (libjpeg-turbo's JCS_EXT_BGR input).
struct Source {
  const cv::Mat* y = nullptr;
  const cv::Mat* cb = nullptr;
  const cv::Mat* cr = nullptr;
  const cv::Mat* bgr = nullptr;
  int width = 0;
  int height = 0;
};

// A baseline 4:2:0 JPEG of `in` into `file`. libjpeg reports errors by longjmp: nothing here may
// need a destructor. False on failure, with libjpeg's message in `message`.
bool compress(std::FILE* file, const Source& in, int quality, char (&message)[JMSG_LENGTH_MAX]) {
  jpeg_compress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.message[0] = '\0';
  if (setjmp(err.jump) != 0) {
    std::memcpy(message, err.message, sizeof message);
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = static_cast<JDIMENSION>(in.width);
  cinfo.image_height = static_cast<JDIMENSION>(in.height);
  cinfo.input_components = 3;
  cinfo.in_color_space = in.bgr != nullptr ? JCS_EXT_BGR : JCS_YCbCr;
  jpeg_set_defaults(&cinfo);  // YCbCr 4:2:0 in the file
  jpeg_set_quality(&cinfo, quality, TRUE);
  cinfo.dct_method = JDCT_ISLOW;
  if (in.bgr != nullptr) {
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
      const int r = static_cast<int>(cinfo.next_scanline);
      JSAMPROW row = const_cast<uint8_t*>(in.bgr->ptr<uint8_t>(r));
      jpeg_write_scanlines(&cinfo, &row, 1);
    }
  } else {
    cinfo.raw_data_in = TRUE;
    jpeg_start_compress(&cinfo, TRUE);
    JSAMPROW y_rows[2 * DCTSIZE];
    JSAMPROW cb_rows[DCTSIZE];
    JSAMPROW cr_rows[DCTSIZE];
    JSAMPARRAY planes[3] = {y_rows, cb_rows, cr_rows};
    while (cinfo.next_scanline < cinfo.image_height) {
      const int top = static_cast<int>(cinfo.next_scanline);
      for (int i = 0; i < 2 * DCTSIZE; ++i) {
        y_rows[i] = const_cast<uint8_t*>(in.y->ptr<uint8_t>(top + i));
      }
      for (int i = 0; i < DCTSIZE; ++i) {
        cb_rows[i] = const_cast<uint8_t*>(in.cb->ptr<uint8_t>(top / 2 + i));
        cr_rows[i] = const_cast<uint8_t*>(in.cr->ptr<uint8_t>(top / 2 + i));
      }
      jpeg_write_raw_data(&cinfo, planes, 2 * DCTSIZE);
    }
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

// Opens `path`, lets `encode` write into it and closes it; errors name the file only.
template <typename Encode>
Status write_file(const std::string& path, Encode encode) {
  const std::string name = std::filesystem::path(path).filename().string();
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return Error(Code::kInternal, "cannot create " + name);
  char message[JMSG_LENGTH_MAX] = {};
  const bool compressed = encode(file, message);
  const bool flushed = std::fflush(file) == 0 && std::ferror(file) == 0;
  const bool closed = std::fclose(file) == 0;
  if (!compressed) return Error(Code::kInternal, "cannot encode " + name + ": " + message);
  if (!flushed || !closed) return Error(Code::kInternal, "cannot write " + name);
  return Status::Ok();
}

}  // namespace

bool JfifPicture::assign(const AVFrame* f, int rotation) {
  width_ = height_ = 0;
  if (f == nullptr || f->width <= 0 || f->height <= 0 || f->data[0] == nullptr ||
      f->data[1] == nullptr || f->data[2] == nullptr) {
    return false;
  }
  const auto format = static_cast<AVPixelFormat>(f->format);
  if (format != AV_PIX_FMT_YUV420P && format != AV_PIX_FMT_YUVJ420P) return false;
  const bool full_range = format == AV_PIX_FMT_YUVJ420P || f->color_range == AVCOL_RANGE_JPEG;
  const Weights weights = f->colorspace == AVCOL_SPC_BT709 ? kBt709 : kBt601;
  const Transform t = transform_for(weights, full_range);

  if (rotation != 90 && rotation != 180 && rotation != 270) rotation = 0;
  const bool quarter = rotation == 90 || rotation == 270;
  const int w = quarter ? f->height : f->width;
  const int h = quarter ? f->width : f->height;
  y_.create(round_up(h, 2 * DCTSIZE), round_up(w, 2 * DCTSIZE), CV_8UC1);
  cb_.create(y_.rows / 2, y_.cols / 2, CV_8UC1);
  cr_.create(y_.rows / 2, y_.cols / 2, CV_8UC1);
  const int cw = (f->width + 1) / 2;
  const int ch = (f->height + 1) / 2;
  if (rotation == 0) {
    convert(f, t, y_, cb_, cr_);
  } else {
    turn_[0].create(f->height, f->width, CV_8UC1);
    turn_[1].create(ch, cw, CV_8UC1);
    turn_[2].create(ch, cw, CV_8UC1);
    convert(f, t, turn_[0], turn_[1], turn_[2]);
    cv::Mat* planes[3] = {&y_, &cb_, &cr_};
    for (int p = 0; p < 3; ++p) {
      const cv::Size size = quarter ? cv::Size(turn_[p].rows, turn_[p].cols) : turn_[p].size();
      cv::Mat target = (*planes[p])(cv::Rect(cv::Point(0, 0), size));
      turn_upright(turn_[p], target, rotation);
    }
  }
  width_ = w;
  height_ = h;
  pad_edges(y_, w, h);
  pad_edges(cb_, chroma_width(), chroma_height());
  pad_edges(cr_, chroma_width(), chroma_height());
  return true;
}

Status JfifPicture::write(const std::string& path, int quality) const {
  if (empty()) return Error(Code::kInternal, "no picture to write");
  return write_file(path, [&](std::FILE* file, char(&message)[JMSG_LENGTH_MAX]) {
    Source in;
    in.y = &y_;
    in.cb = &cb_;
    in.cr = &cr_;
    in.width = width_;
    in.height = height_;
    return compress(file, in, std::clamp(quality, 1, 100), message);
  });
}

Status write_bgr_jpeg(const std::string& path, const cv::Mat& bgr, int quality) {
  if (bgr.empty() || bgr.type() != CV_8UC3) return Error(Code::kInternal, "not a BGR picture");
  return write_file(path, [&](std::FILE* file, char(&message)[JMSG_LENGTH_MAX]) {
    Source in;
    in.bgr = &bgr;
    in.width = bgr.cols;
    in.height = bgr.rows;
    return compress(file, in, std::clamp(quality, 1, 100), message);
  });
}

void JfifPicture::bgr(cv::Size size, cv::Mat& out) const {
  const cv::Mat planes[3] = {y(), cr(), cb()};  // OpenCV's order: Y, Cr, Cb
  cv::Mat small[3];
  for (int p = 0; p < 3; ++p) {
    // Halved first while at least four times as large (2×2 means: OpenCV's fast path), then
    // area means the rest of the way: the same picture as one INTER_AREA step to the rounding,
    // 0.37 ms instead of 0.72 for the luma of a 1080p frame's thumbnail.
    cv::Mat plane = planes[p];
    cv::Mat halves[2];
    for (int i = 0; plane.cols >= 4 * size.width && plane.rows >= 4 * size.height; i ^= 1) {
      halve(plane, halves[i]);
      plane = halves[i];
    }
    const bool shrink = size.width <= plane.cols && size.height <= plane.rows;
    cv::resize(plane, small[p], size, 0, 0, shrink ? cv::INTER_AREA : cv::INTER_LINEAR);
  }
  cv::Mat merged;
  cv::merge(small, 3, merged);
  cv::cvtColor(merged, out, cv::COLOR_YCrCb2BGR);
}

}  // namespace cw::pipeline
