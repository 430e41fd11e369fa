// PDQ perceptual image hashing (Meta ThreatExchange, "pdqhash-2017"), written from the published
// algorithm and the reference C++ (pdq/cpp/hashing) so that our hashes can be compared with hashes
// other teams and platforms share: luminance, a two-pass Jarosz tent filter, decimation to 64×64,
// a 16×16 DCT, a median threshold → 256 bits, plus a 0–100 quality score.
//
// Everything here is a pure function of its input: no state, safe to call from any thread.
// Matching rule of the references: two hashes are the same picture when hamming() ≤ 31; hashes of
// quality < 50 (flat, blank or tiny images) should not be matched at all.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <opencv2/core/mat.hpp>

#include "common/error.hpp"

namespace cw::pipeline {

// A 256-bit PDQ hash in the reference layout: bit k is bit (k & 15) of words[k >> 4], where bit
// k = 16·i + j says whether DCT coefficient (i, j) is above the median.
struct PdqHash {
  std::array<uint16_t, 16> words{};

  bool bit(int k) const { return (words[k >> 4] >> (k & 15)) & 1u; }
  void set_bit(int k) { words[k >> 4] |= static_cast<uint16_t>(1u << (k & 15)); }

  // 64 lowercase hex digits, words[15] first (the reference's text form).
  std::string to_hex() const;
  // Accepts exactly 64 hex digits (either case). `field` names the input in the error.
  static Result<PdqHash> from_hex(std::string_view hex, std::string_view field = "pdq");

  bool operator==(const PdqHash&) const = default;
};

// Number of differing bits, 0..256.
int hamming(const PdqHash& a, const PdqHash& b);

struct PdqResult {
  PdqHash hash;
  // 0..100; the references discard hashes below 50. 0 also means "could not hash" (see pdq_hash).
  int quality = 0;
};

// The eight symmetries of the square, in the order pdq_hash_dihedral returns them. The geometric
// meaning is the one checked by the tests with cv::rotate / cv::flip / cv::transpose.
enum class Dihedral {
  kOriginal = 0,
  kRotate90,       // cv::ROTATE_90_COUNTERCLOCKWISE (the reference's "rotate 90")
  kRotate180,      // cv::ROTATE_180
  kRotate270,      // cv::ROTATE_90_CLOCKWISE
  kFlipX,          // upside down, cv::flip(…, 0) (mirrored about the x axis)
  kFlipY,          // left-right mirror, cv::flip(…, 1) (mirrored about the y axis)
  kTranspose,      // cv::transpose (the reference's "flip plus 1")
  kAntiTranspose,  // transpose then rotate 180 (the reference's "flip minus 1")
};
inline constexpr int kDihedralCount = 8;

// How an image is sized before the tent filter.
enum class PdqScale {
  // As the reference photo hasher (pdq/cpp/io/pdqio.cpp): an image with a side over 512 px is first
  // resized to 512×512 (aspect ratio not kept) by nearest-neighbour sampling. Use for photos, so
  // hashes agree with the reference CLI.
  kReferenceFile,
  // As vPDQ: the filter runs on the full image. Use for video frames, so hashes agree with vPDQ
  // hash files. Identical to kReferenceFile for images of 512 px or less.
  // The published vPDQ hashes come from libswscale's portable YUV -> RGB code; x86 SIMD
  // conversion rounds some pixels one level differently, which moves dark, low-contrast frames by
  // up to ~20 bits. Decoders that want vPDQ's exact bits convert with SWS_ACCURATE_RND (≤ 2 bits
  // from the reference on the test videos).
  kNative,
};

// Hashes an 8-bit image: CV_8UC3 (BGR, as cv::imread and cv::VideoCapture give), CV_8UC4 (BGRA,
// alpha ignored as the reference does) or CV_8UC1 (grey). Any stride is fine (ROIs).
// Like the reference, an image smaller than 5 px on a side gives an all-zero hash of quality 0;
// so does a Mat of any other type (a caller bug, but quality 0 keeps it out of every match).
PdqResult pdq_hash(const cv::Mat& image, PdqScale scale = PdqScale::kReferenceFile);

// The hashes of the eight transformed images (indexed by Dihedral), all from one DCT as the
// reference does. They equal the hashes of the transformed images when the reference's sampling
// is mirror-symmetric (320 px sides, for one); at other sizes its off-centre box windows and
// decimation points cost from a few to tens of bits on detailed images (still the nearest
// variant). Same input rules as pdq_hash; all eight share one quality.
std::array<PdqResult, kDihedralCount> pdq_hash_dihedral(const cv::Mat& image,
                                                        PdqScale scale = PdqScale::kReferenceFile);

// Hashes a luminance buffer (row-major rows × cols, values 0..255) at its native size, as the
// reference's pdqHash256FromFloatLuma. A 64×64 buffer is taken as already downsampled.
// REQUIRES: luma.size() == rows * cols (otherwise quality 0, as for a too-small image).
PdqResult pdq_hash_luma(std::span<const float> luma, int rows, int cols);

}  // namespace cw::pipeline
