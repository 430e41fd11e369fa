// encode_png: libpng's write interface into memory.
#include "pipeline/png.hpp"

#include <csetjmp>
#include <vector>

#include <png.h>
#include <zlib.h>

namespace cw::pipeline {
namespace {

void append(png_structp png, png_bytep data, png_size_t size) {
  auto* out = static_cast<std::vector<std::uint8_t>*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + size);
}

void flush(png_structp /*png*/) {}

// libpng reports errors by longjmp: nothing here may need a destructor.
bool compress(const cv::Mat& image, int color_type, std::vector<std::uint8_t>* out,
              std::vector<png_bytep>* rows) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  if (png == nullptr) return false;
  png_infop info = png_create_info_struct(png);
  if (info == nullptr || setjmp(png_jmpbuf(png)) != 0) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, out, append, flush);
  png_set_compression_level(png, 1);
  png_set_compression_strategy(png, Z_RLE);
  png_set_IHDR(png, info, static_cast<png_uint_32>(image.cols),
               static_cast<png_uint_32>(image.rows), 8, color_type, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  if (color_type != PNG_COLOR_TYPE_GRAY) png_set_bgr(png);  // OpenCV's order: B, G, R (, A)
  png_write_image(png, rows->data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

}  // namespace

Result<std::vector<std::uint8_t>> encode_png(const cv::Mat& image) {
  int color_type = 0;
  switch (image.type()) {
    case CV_8UC1:
      color_type = PNG_COLOR_TYPE_GRAY;
      break;
    case CV_8UC3:
      color_type = PNG_COLOR_TYPE_RGB;
      break;
    case CV_8UC4:
      color_type = PNG_COLOR_TYPE_RGB_ALPHA;
      break;
    default:
      return Error(Code::kInternal, "PNG: not an 8-bit grey, BGR or BGRA picture");
  }
  if (image.empty()) return Error(Code::kInternal, "PNG: empty picture");
  std::vector<png_bytep> rows(static_cast<size_t>(image.rows));
  for (int r = 0; r < image.rows; ++r) {
    rows[static_cast<size_t>(r)] = const_cast<png_bytep>(image.ptr<std::uint8_t>(r));
  }
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<size_t>(image.total() * image.elemSize() / 4));
  if (!compress(image, color_type, &out, &rows)) {
    return Error(Code::kInternal, "PNG: libpng could not encode the picture");
  }
  return out;
}

}  // namespace cw::pipeline
