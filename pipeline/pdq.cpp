// PDQ hashing, step for step as the reference C++ (ThreatExchange pdq/cpp: pdqhashing.cpp,
// downscaling.cpp, torben.cpp, io/pdqio.cpp), because the point of PDQ is agreeing with hashes
// computed elsewhere. Every floating-point operation that feeds a hash bit is done in the
// reference's type (float) and order. Where this file is faster than the reference it only
// reorders independent work: the tent filter streams rows through small ring buffers instead of
// filtering whole images (about 300 KB of scratch for a 1080p frame, where the reference holds two
// 8 MB float copies), runs several box-filter lines side by side, and runs the last pass only on
// the 64 columns that are sampled. Each value still sees the reference's additions and divisions
// in the reference's order, so the 64×64 image, and with it every hash, is bit-identical (checked
// against a literal transcription on the vector images, 2030 video frames and random sizes).
#include "pipeline/pdq.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace cw::pipeline {
namespace {

constexpr int kMinHashableDim = 5;
// The reference photo hasher resizes anything larger to this before filtering (pdqio.cpp).
constexpr int kDownsampleDims = 512;
constexpr int kBlock = 64;    // the filtered image is decimated to kBlock × kBlock
constexpr int kDctSize = 16;  // DCT frequencies 1..16 in each direction
constexpr int kJaroszPasses = 2;
// Rows of a box-filter pass run together: independent running sums hide the add latency that a
// single running sum along one row is bound by.
constexpr int kRowLanes = 8;

// Rec. 601 luma as the reference: float coefficients, R + G first, then B.
constexpr float kLumaR = 0.299f;
constexpr float kLumaG = 0.587f;
constexpr float kLumaB = 0.114f;

using Block = std::array<float, kBlock * kBlock>;    // row-major 64×64
using Dct = std::array<float, kDctSize * kDctSize>;  // row-major 16×16, [i][j] = freq (i+1, j+1)

// Rows 1..16 of the 64-point DCT-II basis, built exactly as the reference builds it (a float
// scale times a double cosine, rounded to float) so the coefficients match to the bit.
const std::array<float, kDctSize * kBlock>& dct_matrix() {
  static const std::array<float, kDctSize* kBlock> matrix = [] {
    constexpr double kPi = 3.14159265358979323846;
    const float scale = static_cast<float>(std::sqrt(2.0 / double{kBlock}));
    std::array<float, kDctSize * kBlock> m{};
    for (int i = 0; i < kDctSize; ++i) {
      for (int j = 0; j < kBlock; ++j) {
        m[i * kBlock + j] = static_cast<float>(
            scale * std::cos((kPi / 2.0 / double{kBlock}) * (i + 1) * (2 * j + 1)));
      }
    }
    return m;
  }();
  return matrix;
}

// Half a 64th of the dimension, rounded up: two X,Y passes of this window make a tent that
// spans one output pixel.
int jarosz_window(int dimension) { return (dimension + 2 * kBlock - 1) / (2 * kBlock); }

// What the reference's box1DFloat divides each output position's running sum by: the window
// shrinks at both ends of a line. The window is centred the reference's way (7 -> 3 before and 3
// after, 8 -> 3 before and 4 after), so `half` inputs are summed before the first output.
struct BoxShape {
  int half = 0;
  int phase1 = 0;             // adds before the first output
  int phase2 = 0;             // add, output (growing window)
  int phase3 = 0;             // add, subtract, output (full window)
  int phase4 = 0;             // subtract, output (shrinking window)
  std::vector<float> counts;  // per output position

  BoxShape(int length, int window)
      : half((window + 2) / 2),
        phase1(half - 1),
        phase2(window - half + 1),
        phase3(length - window),
        phase4(half - 1),
        counts(length) {
    int current = phase1;
    int oi = 0;
    for (int n = 0; n < phase2; ++n) counts[oi++] = static_cast<float>(++current);
    for (int n = 0; n < phase3; ++n) counts[oi++] = static_cast<float>(current);
    for (int n = 0; n < phase4; ++n) counts[oi++] = static_cast<float>(--current);
  }
};

// Four floats in one SSE register. GCC's -O2 vectoriser leaves the filter loops scalar, and they
// are most of the work, so the ones that run along memory are written four lanes at a time. Every
// lane still does exactly the scalar float operation, so the results are unchanged.
using Float4 = float __attribute__((vector_size(16)));

Float4 load4(const float* p) {
  Float4 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

void store4(float* p, Float4 v) { std::memcpy(p, &v, sizeof v); }

// One step of `n` independent running sums: sums[l] += add[l], then sums[l] -= sub[l], then
// out[l] = sums[l] / count; a null pointer skips that part. The order is the reference's.
void step_lanes(float* sums, const float* add, const float* sub, float* out, float count, int n) {
  int l = 0;
  for (; l + 4 <= n; l += 4) {
    Float4 v = load4(sums + l);
    if (add != nullptr) v += load4(add + l);
    if (sub != nullptr) v -= load4(sub + l);
    store4(sums + l, v);
    if (out != nullptr) store4(out + l, v / count);
  }
  for (; l < n; ++l) {
    if (add != nullptr) sums[l] += add[l];
    if (sub != nullptr) sums[l] -= sub[l];
    if (out != nullptr) out[l] = sums[l] / count;
  }
}

// Running sums of the reference's box1DFloat along kRowLanes rows side by side, as two Float4s
// whose lanes are the rows: one running sum is a chain of dependent additions, and interleaving
// independent rows hides its latency. Leaves the undivided sums in `out`.
void row_sums_8(const float* in, float* out, int cols, const BoxShape& shape) {
  static_assert(kRowLanes == 8);
  const float* r[8];
  float* o[8];
  for (int l = 0; l < 8; ++l) {
    r[l] = in + static_cast<std::ptrdiff_t>(l) * cols;
    o[l] = out + static_cast<std::ptrdiff_t>(l) * cols;
  }
  const auto column = [&](int pos, int half) {
    const int b = 4 * half;
    return Float4{r[b][pos], r[b + 1][pos], r[b + 2][pos], r[b + 3][pos]};
  };
  Float4 lo = {};  // rows 0-3
  Float4 hi = {};  // rows 4-7
  const auto put = [&](int pos) {
    for (int l = 0; l < 4; ++l) {
      o[l][pos] = lo[l];
      o[l + 4][pos] = hi[l];
    }
  };
  int li = 0;
  int ri = 0;
  int oi = 0;
  for (int n = 0; n < shape.phase1; ++n, ++ri) {
    lo += column(ri, 0);
    hi += column(ri, 1);
  }
  for (int n = 0; n < shape.phase2; ++n, ++ri, ++oi) {
    lo += column(ri, 0);
    hi += column(ri, 1);
    put(oi);
  }
  for (int n = 0; n < shape.phase3; ++n, ++ri, ++li, ++oi) {
    lo += column(ri, 0);
    hi += column(ri, 1);
    lo -= column(li, 0);
    hi -= column(li, 1);
    put(oi);
  }
  for (int n = 0; n < shape.phase4; ++n, ++li, ++oi) {
    lo -= column(li, 0);
    hi -= column(li, 1);
    put(oi);
  }
}

// The same for fewer rows (the last group of an image), one running sum per row.
void row_sums_each(const float* in, float* out, int rows, int cols, const BoxShape& shape) {
  for (int l = 0; l < rows; ++l) {
    const float* r = in + static_cast<std::ptrdiff_t>(l) * cols;
    float* o = out + static_cast<std::ptrdiff_t>(l) * cols;
    float sum = 0.0f;
    int li = 0;
    int ri = 0;
    int oi = 0;
    for (int n = 0; n < shape.phase1; ++n) sum += r[ri++];
    for (int n = 0; n < shape.phase2; ++n) {
      sum += r[ri++];
      o[oi++] = sum;
    }
    for (int n = 0; n < shape.phase3; ++n) {
      sum += r[ri++];
      sum -= r[li++];
      o[oi++] = sum;
    }
    for (int n = 0; n < shape.phase4; ++n) {
      sum -= r[li++];
      o[oi++] = sum;
    }
  }
}

// The reference's box1DFloat along each of `rows` rows: running sums, then the divisions along each
// row four at a time (the same quotients, vectorised). REQUIRES: rows <= kRowLanes.
void box_along_rows(const float* in, float* out, int rows, int cols, const BoxShape& shape) {
  if (rows == kRowLanes) {
    row_sums_8(in, out, cols, shape);
  } else {
    row_sums_each(in, out, rows, cols, shape);
  }
  for (int l = 0; l < rows; ++l) {
    float* o = out + static_cast<std::ptrdiff_t>(l) * cols;
    int c = 0;
    for (; c + 4 <= cols; c += 4) store4(o + c, load4(o + c) / load4(&shape.counts[c]));
    for (; c < cols; ++c) o[c] = o[c] / shape.counts[c];
  }
}

// The reference's box1DFloat down every column at once, fed one row at a time from the top and
// keeping only the last window + 1 rows. Row ri is added, row ri - window subtracted, and output
// row ri - (half - 1) written: the reference's phases, in its order, for every column.
class ColumnBox {
 public:
  ColumnBox(int length, int window, int lanes)
      : shape_(length, window),
        window_(window),
        lanes_(lanes),
        sums_(lanes, 0.0f),
        ring_(static_cast<std::size_t>(window + 1) * lanes),
        out_(lanes) {}

  // Adds the next row; `emit(index, row)` receives each output row as it is completed.
  template <typename Emit>
  void push(const float* row, Emit&& emit) {
    const int ri = next_in_++;
    float* slot = ring_row(ri);
    std::copy(row, row + lanes_, slot);
    const float* sub = ri >= window_ ? ring_row(ri - window_) : nullptr;
    if (ri >= shape_.half - 1) {
      step_lanes(sums_.data(), slot, sub, out_.data(), shape_.counts[next_out_], lanes_);
      emit(next_out_++, out_.data());
    } else {
      step_lanes(sums_.data(), slot, sub, nullptr, 1.0f, lanes_);
    }
  }

  // After the last row: the shrinking window at the bottom.
  template <typename Emit>
  void finish(Emit&& emit) {
    for (int n = 0; n < shape_.phase4; ++n) {
      const float* sub = ring_row(next_in_ - window_ + n);
      step_lanes(sums_.data(), nullptr, sub, out_.data(), shape_.counts[next_out_], lanes_);
      emit(next_out_++, out_.data());
    }
  }

 private:
  float* ring_row(int i) {
    return ring_.data() + static_cast<std::size_t>(i % (window_ + 1)) * lanes_;
  }

  BoxShape shape_;
  int window_;
  int lanes_;
  std::vector<float> sums_;
  std::vector<float> ring_;
  std::vector<float> out_;
  int next_in_ = 0;
  int next_out_ = 0;
};

// Where the reference's decimateFloat samples: the input pixel under each output pixel's centre.
int decimation_index(int out_index, int in_size) {
  return static_cast<int>(((out_index + 0.5) * in_size) / kBlock);
}

// Tent filter and decimation (the reference's jaroszFilterFloat: rows, columns, rows, columns;
// then decimateFloat), streamed: `source(first, count, out)` writes the luminance of rows
// [first, first + count) to out (count × cols). Only the 64 sampled columns go through the last
// column pass, and only the 64 sampled rows of its output are kept.
template <typename Source>
Block filter_and_decimate(const Source& source, int rows, int cols) {
  const BoxShape along_rows(cols, jarosz_window(cols));
  const int window_along_cols = jarosz_window(rows);
  ColumnBox first_cols(rows, window_along_cols, cols);
  ColumnBox last_cols(rows, window_along_cols, kBlock);

  std::array<int, kBlock> sample_rows;
  std::array<int, kBlock> sample_cols;
  for (int i = 0; i < kBlock; ++i) {
    sample_rows[i] = decimation_index(i, rows);
    sample_cols[i] = decimation_index(i, cols);
  }

  Block block{};
  int next_block_row = 0;  // sample_rows is non-decreasing; small images repeat rows
  const auto keep_sampled = [&](int row_index, const float* row) {
    for (; next_block_row < kBlock && sample_rows[next_block_row] == row_index; ++next_block_row) {
      std::copy(row, row + kBlock, block.begin() + next_block_row * kBlock);
    }
  };

  const std::size_t group = static_cast<std::size_t>(kRowLanes) * cols;
  std::vector<float> luma(group), filtered(group), pending(group), pending_filtered(group);
  int pending_rows = 0;
  std::array<float, kBlock> gathered;
  // Second row pass on the first column pass's output, kRowLanes rows at a time, then the last
  // column pass on the sampled columns.
  const auto flush = [&] {
    box_along_rows(pending.data(), pending_filtered.data(), pending_rows, cols, along_rows);
    for (int r = 0; r < pending_rows; ++r) {
      const float* row = pending_filtered.data() + static_cast<std::ptrdiff_t>(r) * cols;
      for (int j = 0; j < kBlock; ++j) gathered[j] = row[sample_cols[j]];
      last_cols.push(gathered.data(), keep_sampled);
    }
    pending_rows = 0;
  };
  const auto collect = [&](int, const float* row) {
    std::copy(row, row + cols, pending.begin() + static_cast<std::ptrdiff_t>(pending_rows) * cols);
    if (++pending_rows == kRowLanes) flush();
  };

  for (int first = 0; first < rows; first += kRowLanes) {
    const int count = std::min(kRowLanes, rows - first);
    source(first, count, luma.data());
    box_along_rows(luma.data(), filtered.data(), count, cols, along_rows);
    for (int r = 0; r < count; ++r) {
      first_cols.push(filtered.data() + static_cast<std::ptrdiff_t>(r) * cols, collect);
    }
  }
  first_cols.finish(collect);
  if (pending_rows > 0) flush();
  last_cols.finish(keep_sampled);
  return block;
}

// The reference's heuristic: count significant steps between neighbours of the 64×64 image.
// The truncating float → int conversions are part of the definition.
int quality_metric(const Block& m) {
  int gradient_sum = 0;
  for (int i = 0; i < kBlock - 1; ++i) {
    for (int j = 0; j < kBlock; ++j) {
      const float u = m[i * kBlock + j];
      const float v = m[(i + 1) * kBlock + j];
      const int d = static_cast<int>(((u - v) * 100) / 255);
      gradient_sum += std::abs(d);
    }
  }
  for (int i = 0; i < kBlock; ++i) {
    for (int j = 0; j < kBlock - 1; ++j) {
      const float u = m[i * kBlock + j];
      const float v = m[i * kBlock + j + 1];
      const int d = static_cast<int>(((u - v) * 100) / 255);
      gradient_sum += std::abs(d);
    }
  }
  return std::min(gradient_sum / 90, 100);
}

// B = D · A · Dᵀ for the 16 lowest non-DC frequencies. Each output sums over k = 0..63 in order,
// as the reference does; the loops are only arranged so the inner one runs along memory.
Dct dct_64_to_16(const Block& a) {
  const auto& d = dct_matrix();
  std::array<float, kDctSize * kBlock> t{};  // t = D · A
  for (int i = 0; i < kDctSize; ++i) {
    float* ti = &t[i * kBlock];
    for (int k = 0; k < kBlock; ++k) {
      const float dik = d[i * kBlock + k];
      const float* ak = &a[k * kBlock];
      for (int j = 0; j < kBlock; ++j) ti[j] += dik * ak[j];
    }
  }
  Dct b{};
  for (int i = 0; i < kDctSize; ++i) {
    for (int j = 0; j < kDctSize; ++j) {
      float sum = 0.0f;
      for (int k = 0; k < kBlock; ++k) sum += t[i * kBlock + k] * d[j * kBlock + k];
      b[i * kDctSize + j] = sum;
    }
  }
  return b;
}

// Torben Mogensen's median without sorting (public domain; the reference's torben.cpp). For an
// even count it returns the lower middle value, which is what the reference thresholds at.
float torben_median(const float* m, int n) {
  float min = m[0];
  float max = m[0];
  for (int i = 1; i < n; ++i) {
    if (m[i] < min) min = m[i];
    if (m[i] > max) max = m[i];
  }
  int less = 0;
  int greater = 0;
  int equal = 0;
  float guess = 0.0f;
  float max_lt_guess = 0.0f;
  float min_gt_guess = 0.0f;
  const int half = (n + 1) / 2;
  while (true) {
    guess = (min + max) / 2;
    less = greater = equal = 0;
    max_lt_guess = min;
    min_gt_guess = max;
    for (int i = 0; i < n; ++i) {
      if (m[i] < guess) {
        ++less;
        if (m[i] > max_lt_guess) max_lt_guess = m[i];
      } else if (m[i] > guess) {
        ++greater;
        if (m[i] < min_gt_guess) min_gt_guess = m[i];
      } else {
        ++equal;
      }
    }
    if (less <= half && greater <= half) break;
    if (less > greater) {
      max = max_lt_guess;
    } else {
      min = min_gt_guess;
    }
  }
  if (less >= half) return max_lt_guess;
  if (less + equal >= half) return guess;
  return min_gt_guess;
}

PdqHash bits_from_dct(const Dct& dct) {
  const float median = torben_median(dct.data(), kDctSize * kDctSize);
  PdqHash hash;
  for (int k = 0; k < kDctSize * kDctSize; ++k) {
    if (dct[k] > median) hash.set_bit(k);
  }
  return hash;
}

// A transformed image's DCT is the original's with some coefficients negated and possibly
// transposed: mirroring an axis negates that axis's odd frequencies (basis functions that are
// antisymmetric about the centre), i.e. the even indices, since index i is frequency i + 1.
// Index i is the vertical frequency, j the horizontal one. Sign tables as pdqhashing.cpp.
Dct dihedral_dct(const Dct& a, Dihedral variant) {
  Dct b{};
  for (int i = 0; i < kDctSize; ++i) {
    for (int j = 0; j < kDctSize; ++j) {
      const float v = a[i * kDctSize + j];
      const bool i_odd = i & 1;
      const bool j_odd = j & 1;
      const bool sum_odd = (i + j) & 1;
      float& same = b[i * kDctSize + j];
      float& swapped = b[j * kDctSize + i];
      switch (variant) {
        case Dihedral::kOriginal:
          same = v;
          break;
        case Dihedral::kRotate90:
          swapped = j_odd ? v : -v;
          break;
        case Dihedral::kRotate180:
          same = sum_odd ? -v : v;
          break;
        case Dihedral::kRotate270:
          swapped = i_odd ? v : -v;
          break;
        case Dihedral::kFlipX:
          same = i_odd ? v : -v;
          break;
        case Dihedral::kFlipY:
          same = j_odd ? v : -v;
          break;
        case Dihedral::kTranspose:
          swapped = v;
          break;
        case Dihedral::kAntiTranspose:
          swapped = sum_odd ? -v : v;
          break;
      }
    }
  }
  return b;
}

struct Spectrum {
  Dct dct{};
  int quality = 0;
};

// The DCT and quality of a rows × cols luminance image given by `source` (see
// filter_and_decimate).
template <typename Source>
Spectrum spectrum_from_rows(const Source& source, int rows, int cols) {
  Block block{};
  if (rows == kBlock && cols == kBlock) {
    // Already downsampled (the reference's shortcut for video pipelines that scale with ffmpeg).
    source(0, kBlock, block.data());
  } else {
    block = filter_and_decimate(source, rows, cols);
  }
  return Spectrum{dct_64_to_16(block), quality_metric(block)};
}

bool hashable(int rows, int cols) { return rows >= kMinHashableDim && cols >= kMinHashableDim; }

bool supported(const cv::Mat& image) {
  return image.dims == 2 &&
         (image.type() == CV_8UC1 || image.type() == CV_8UC3 || image.type() == CV_8UC4);
}

// kLumaX · v for every byte value: the same float products the reference computes pixel by pixel,
// without three int -> float conversions per pixel.
struct LumaTables {
  std::array<float, 256> r{}, g{}, b{};
  LumaTables() {
    for (int v = 0; v < 256; ++v) {
      r[v] = kLumaR * static_cast<float>(v);
      g[v] = kLumaG * static_cast<float>(v);
      b[v] = kLumaB * static_cast<float>(v);
    }
  }
};

const LumaTables& luma_tables() {
  static const LumaTables tables;
  return tables;
}

// Luminance of one image row: all its pixels, or those at `src_cols` when kResampled. kChannels
// is 1 (grey) or 3 / 4 (BGR / BGRA: R + G first, then B, as the reference adds them).
template <int kChannels, bool kResampled>
void luma_row(const uint8_t* row, const std::vector<int>& src_cols, int cols, float* out) {
  const LumaTables& t = luma_tables();
  for (int c = 0; c < cols; ++c) {
    const uint8_t* p = row + (kResampled ? src_cols[c] : c) * kChannels;
    if constexpr (kChannels == 1) {
      out[c] = static_cast<float>(p[0]);
    } else {
      out[c] = t.r[p[2]] + t.g[p[1]] + t.b[p[0]];
    }
  }
}

template <bool kResampled>
void luma_row(int channels, const uint8_t* row, const std::vector<int>& src_cols, int cols,
              float* out) {
  switch (channels) {
    case 1:
      return luma_row<1, kResampled>(row, src_cols, cols, out);
    case 3:
      return luma_row<3, kResampled>(row, src_cols, cols, out);
    default:
      return luma_row<4, kResampled>(row, src_cols, cols, out);
  }
}

// Nearest-neighbour source index of each of `to` output pixels, as CImg's resize (interpolation
// type 1), which the reference CLI uses: floor(i · from / to).
std::vector<int> nearest_indices(int from, int to) {
  std::vector<int> idx(to);
  for (int i = 0; i < to; ++i) {
    idx[i] = static_cast<int>(static_cast<long long>(i) * from / to);
  }
  return idx;
}

// The spectrum of an image; false if it cannot be hashed (unsupported type, under 5 px).
bool spectrum_from_image(const cv::Mat& image, PdqScale scale, Spectrum& out) {
  if (!supported(image) || !hashable(image.rows, image.cols)) return false;
  int rows = image.rows;
  int cols = image.cols;
  std::vector<int> src_rows;  // empty: identity
  std::vector<int> src_cols;
  if (scale == PdqScale::kReferenceFile && (rows > kDownsampleDims || cols > kDownsampleDims)) {
    src_rows = nearest_indices(rows, kDownsampleDims);
    src_cols = nearest_indices(cols, kDownsampleDims);
    rows = cols = kDownsampleDims;
  }
  const int channels = image.channels();
  const auto source = [&](int first, int count, float* dst) {
    for (int r = 0; r < count; ++r, dst += cols) {
      if (src_rows.empty()) {
        luma_row<false>(channels, image.ptr<uint8_t>(first + r), src_cols, cols, dst);
      } else {
        luma_row<true>(channels, image.ptr<uint8_t>(src_rows[first + r]), src_cols, cols, dst);
      }
    }
  };
  out = spectrum_from_rows(source, rows, cols);
  return true;
}

char hex_digit(unsigned v) { return "0123456789abcdef"[v & 15u]; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string PdqHash::to_hex() const {
  std::string hex(64, '0');
  for (int w = 15, pos = 0; w >= 0; --w) {
    for (int shift = 12; shift >= 0; shift -= 4) hex[pos++] = hex_digit(words[w] >> shift);
  }
  return hex;
}

Result<PdqHash> PdqHash::from_hex(std::string_view hex, std::string_view field) {
  if (hex.size() != 64) {
    return Error(Code::kUnprocessable,
                 "a PDQ hash is 64 hex digits, got " + std::to_string(hex.size()) + " characters",
                 std::string(field));
  }
  PdqHash hash;
  for (std::size_t pos = 0; pos < hex.size(); ++pos) {
    const int v = hex_value(hex[pos]);
    if (v < 0) {
      return Error(
          Code::kUnprocessable,
          "a PDQ hash is 64 hex digits; character " + std::to_string(pos + 1) + " is not one",
          std::string(field));
    }
    auto& word = hash.words[15 - pos / 4];
    word = static_cast<uint16_t>((word << 4) | v);
  }
  return hash;
}

int hamming(const PdqHash& a, const PdqHash& b) {
  int distance = 0;
  for (std::size_t i = 0; i < a.words.size(); ++i) {
    distance += std::popcount(static_cast<uint16_t>(a.words[i] ^ b.words[i]));
  }
  return distance;
}

PdqResult pdq_hash(const cv::Mat& image, PdqScale scale) {
  Spectrum spectrum;
  if (!spectrum_from_image(image, scale, spectrum)) return {};
  return PdqResult{bits_from_dct(spectrum.dct), spectrum.quality};
}

std::array<PdqResult, kDihedralCount> pdq_hash_dihedral(const cv::Mat& image, PdqScale scale) {
  std::array<PdqResult, kDihedralCount> results{};
  Spectrum spectrum;
  if (!spectrum_from_image(image, scale, spectrum)) return results;
  for (int v = 0; v < kDihedralCount; ++v) {
    results[v].hash = bits_from_dct(dihedral_dct(spectrum.dct, static_cast<Dihedral>(v)));
    results[v].quality = spectrum.quality;
  }
  return results;
}

PdqResult pdq_hash_luma(std::span<const float> luma, int rows, int cols) {
  if (!hashable(rows, cols) ||
      luma.size() != static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols)) {
    return {};
  }
  const auto source = [&](int first, int count, float* dst) {
    const auto begin = luma.begin() + static_cast<std::ptrdiff_t>(first) * cols;
    std::copy(begin, begin + static_cast<std::ptrdiff_t>(count) * cols, dst);
  };
  const Spectrum spectrum = spectrum_from_rows(source, rows, cols);
  return PdqResult{bits_from_dct(spectrum.dct), spectrum.quality};
}

}  // namespace cw::pipeline
