#include "pipeline/picture_ops.hpp"

#include <opencv2/imgproc.hpp>

namespace cw::pipeline {

void halve(const cv::Mat& in, cv::Mat& out) {
  const cv::Mat even = in(cv::Rect(0, 0, in.cols & ~1, in.rows & ~1));
  cv::resize(even, out, cv::Size(even.cols / 2, even.rows / 2), 0, 0, cv::INTER_AREA);
}

void turn_upright(const cv::Mat& in, cv::Mat& out, int rotation) {
  if (rotation == 90) {
    cv::rotate(in, out, cv::ROTATE_90_CLOCKWISE);
  } else if (rotation == 180) {
    cv::rotate(in, out, cv::ROTATE_180);
  } else if (rotation == 270) {
    cv::rotate(in, out, cv::ROTATE_90_COUNTERCLOCKWISE);
  } else if (in.data != out.data) {
    in.copyTo(out);
  }
}

}  // namespace cw::pipeline
