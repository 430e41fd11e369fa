// PNG encoding with libpng, for the pictures the imagery stages hand out (change overlays and
// masks, map tiles). OpenCV's imgcodecs would do it, but it links GDAL, GDCM and OpenEXR into
// every start of the one binary, the sandboxed video analysis included (~30 ms a start).
#pragma once

#include <cstdint>
#include <vector>

#include <opencv2/core.hpp>

#include "common/error.hpp"

namespace cw::pipeline {

// An 8-bit grey (CV_8UC1), BGR (CV_8UC3) or BGRA (CV_8UC4) picture as a PNG file's bytes, with
// zlib's fast settings (level 1, run-length strategy: what OpenCV's imencode used by default).
Result<std::vector<std::uint8_t>> encode_png(const cv::Mat& image);

}  // namespace cw::pipeline
