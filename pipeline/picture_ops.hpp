// Two small picture operations that the frame scan, the signature and the JPEG writer share.
#pragma once

#include <opencv2/core.hpp>

namespace cw::pipeline {

// `out` = `in` halved by 2×2 means (OpenCV's fast INTER_AREA path on even sizes; an odd last row
// or column is dropped). `out` must not share memory with `in`; callers that halve repeatedly
// alternate between two buffers.
void halve(const cv::Mat& in, cv::Mat& out);

// `out` = `in` turned by `rotation` degrees clockwise (90, 180, 270; any other value gives a
// copy, or nothing when `out` is `in`). An `out` of the turned size and type, such as a region
// of a larger picture, is written in place.
void turn_upright(const cv::Mat& in, cv::Mat& out, int rotation);

}  // namespace cw::pipeline
