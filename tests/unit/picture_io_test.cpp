// Unit tests for the picture files the program writes and reads without OpenCV's imgcodecs:
// encode_png (libpng), read_picture (GDAL's PNG and JPEG drivers) and write_bgr_jpeg (libjpeg).
// OpenCV's imgcodecs, which the tests still link, is the reference on the other side.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "pipeline/jfif.hpp"
#include "pipeline/png.hpp"
#include "pipeline/raster.hpp"
#include "tests/support/fixtures.hpp"

namespace cw::pipeline {
namespace {

cv::Mat pattern(int type) {
  cv::Mat m(37, 53, type);
  cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(256));
  return m;
}

TEST(PictureIoTest, PngDecodesToTheSamePixels) {
  for (int type : {CV_8UC1, CV_8UC3, CV_8UC4}) {
    SCOPED_TRACE(type);
    const cv::Mat in = pattern(type);
    const auto png = encode_png(in);
    ASSERT_TRUE(png.ok()) << png.error().to_string();
    ASSERT_GE(png->size(), 8u);
    EXPECT_EQ(std::string(png->begin(), png->begin() + 4), "\x89PNG");
    const cv::Mat out = cv::imdecode(*png, cv::IMREAD_UNCHANGED);
    ASSERT_EQ(out.type(), in.type());
    EXPECT_EQ(cv::norm(in, out, cv::NORM_INF), 0.0);  // channel order kept (BGR, BGRA)
  }
}

TEST(PictureIoTest, PngRefusesOtherPictures) {
  EXPECT_FALSE(encode_png(cv::Mat(4, 4, CV_16UC1, cv::Scalar(1))).ok());
  EXPECT_FALSE(encode_png(cv::Mat(4, 4, CV_32FC3, cv::Scalar(1))).ok());
  EXPECT_FALSE(encode_png(cv::Mat()).ok());
}

TEST(PictureIoTest, ReadPictureGivesWhatImreadGives) {
  test::TempDir dir;
  const cv::Mat bgr = pattern(CV_8UC3);
  const cv::Mat grey = pattern(CV_8UC1);
  const cv::Mat bgra = pattern(CV_8UC4);
  ASSERT_TRUE(cv::imwrite((dir / "bgr.png").string(), bgr));
  ASSERT_TRUE(cv::imwrite((dir / "grey.png").string(), grey));
  ASSERT_TRUE(cv::imwrite((dir / "bgra.png").string(), bgra));
  ASSERT_TRUE(cv::imwrite((dir / "photo.jpg").string(), bgr));
  for (const char* name : {"bgr.png", "grey.png", "bgra.png", "photo.jpg"}) {
    SCOPED_TRACE(name);
    const std::string path = (dir / name).string();
    const auto read = read_picture(path);
    ASSERT_TRUE(read.ok()) << read.error().to_string();
    const cv::Mat expected = cv::imread(path, cv::IMREAD_COLOR);
    ASSERT_EQ(read->type(), CV_8UC3);
    ASSERT_EQ(read->size(), expected.size());
    // Both decode JPEG with libjpeg; PNG is lossless.
    EXPECT_LE(cv::norm(*read, expected, cv::NORM_INF), 1.0);
  }
}

TEST(PictureIoTest, ReadPictureRefusesWhatIsNotAPicture) {
  test::TempDir dir;
  std::ofstream(dir / "text.png") << "not a picture";
  const auto text = read_picture((dir / "text.png").string());
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.error().code(), Code::kUnprocessable);
  const auto missing = read_picture((dir / "missing.jpg").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST(PictureIoTest, BgrJpegDecodesCloseToThePicture) {
  test::TempDir dir;
  cv::Mat in(48, 64, CV_8UC3);
  in(cv::Rect(0, 0, 32, 48)).setTo(cv::Scalar(40, 60, 200));    // B, G, R: red-ish
  in(cv::Rect(32, 0, 32, 48)).setTo(cv::Scalar(210, 120, 30));  // blue-ish
  const std::string path = (dir / "out.jpg").string();
  ASSERT_TRUE(write_bgr_jpeg(path, in, 90).ok());
  const cv::Mat out = cv::imread(path, cv::IMREAD_COLOR);
  ASSERT_EQ(out.size(), in.size());
  const cv::Scalar left = cv::mean(out(cv::Rect(4, 4, 16, 40)));
  const cv::Scalar right = cv::mean(out(cv::Rect(44, 4, 16, 40)));
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(left[c], in.at<cv::Vec3b>(0, 0)[c], 4.0) << c;
    EXPECT_NEAR(right[c], in.at<cv::Vec3b>(0, 63)[c], 4.0) << c;
  }
  EXPECT_FALSE(write_bgr_jpeg(path, cv::Mat(4, 4, CV_8UC1), 90).ok());
  const Status s = write_bgr_jpeg("/nonexistent-dir/x.jpg", in, 90);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().detail().find("nonexistent-dir"), std::string::npos);
}

}  // namespace
}  // namespace cw::pipeline
