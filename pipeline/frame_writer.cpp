// Slot picking and the JPEG writer of frame extraction: the queue to the writer thread, the
// choice of one frame a slot (scene > keyframe > sample, then the sharper), near-duplicates
// dropped, JPEGs and the contact sheet written, signature hashes kept. Declared in
// pipeline/internal/frame_writer.hpp; the design is in docs/frames.md.
#include "pipeline/internal/frame_writer.hpp"

#include <algorithm>
#include <cmath>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <opencv2/imgproc.hpp>

#include "pipeline/picture_ops.hpp"

namespace cw::pipeline::internal {
namespace {

// Frames handed to the writer thread and not yet taken: at most this many, and at most this many
// bytes of pictures (one frame always fits). Enough to ride out one JPEG encode.
constexpr size_t kQueueFrames = 4;
constexpr int64_t kQueueBytes = int64_t{256} << 20;

int kind_rank(FrameKind kind) {
  switch (kind) {
    case FrameKind::kScene:
      return 2;
    case FrameKind::kKeyframe:
      return 1;
    case FrameKind::kSample:
      break;
  }
  return 0;
}

std::string timestamp_text(int64_t ms) {
  const int64_t tenths = std::max<int64_t>(ms, 0) / 100;
  return fmt::format("{:02d}:{:02d}.{}", tenths / 600, (tenths / 10) % 60, tenths % 10);
}

bool better(FrameKind kind_a, double sharp_a, FrameKind kind_b, double sharp_b) {
  if (kind_rank(kind_a) != kind_rank(kind_b)) return kind_rank(kind_a) > kind_rank(kind_b);
  return sharp_a > sharp_b;
}

}  // namespace

int64_t picture_bytes(const AVFrame* frame) {
  if (frame == nullptr) return 0;
  int64_t bytes = 0;
  for (const AVBufferRef* buf : frame->buf) {
    if (buf != nullptr) bytes += static_cast<int64_t>(buf->size);
  }
  return bytes;
}

bool JobQueue::push(Job job) {
  const int64_t bytes = picture_bytes(job.frame.get());
  std::unique_lock lock(mutex_);
  not_full_.wait(lock, [&] {
    return closed_ || jobs_.empty() ||
           (jobs_.size() < kQueueFrames && bytes_ + bytes <= kQueueBytes);
  });
  if (closed_) return false;
  bytes_ += bytes;
  jobs_.push_back({std::move(job), bytes});
  not_empty_.notify_one();
  return true;
}

bool JobQueue::pop(Job& job) {
  std::unique_lock lock(mutex_);
  not_empty_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
  if (jobs_.empty()) return false;
  job = std::move(jobs_.front().job);
  bytes_ -= jobs_.front().bytes;
  jobs_.pop_front();
  not_full_.notify_one();
  return true;
}

void JobQueue::close() {
  const std::lock_guard lock(mutex_);
  closed_ = true;
  not_empty_.notify_all();
  not_full_.notify_all();
}

void JobQueue::abort() {
  std::deque<Entry> dropped;
  {
    const std::lock_guard lock(mutex_);
    closed_ = true;
    dropped.swap(jobs_);
    bytes_ = 0;
    not_empty_.notify_all();
    not_full_.notify_all();
  }
}

Writer::Writer(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
               SharedWarnings& warnings)
    : out_dir_(std::move(out_dir)),
      opt_(options),
      rotation_(rotation),
      slot_ms_(std::max<int64_t>(slot_ms, 1)),
      warnings_(warnings),
      hasher_(rotation) {}

Status Writer::take(Job job) {
  if (job.signature || job.signature_extra) {
    const std::optional<PdqResult> pdq =
        job.hash ? *job.hash : (job.frame ? hash(job.frame.get()) : std::nullopt);
    if (pdq) {
      add_to_signature(*pdq, job.pts_ms, job.signature_extra);
    } else {
      warnings_.add("a frame could not be converted to grey");
    }
  }
  if (!job.kind || !job.frame) return Status::Ok();
  const FrameKind kind = *job.kind;
  const int64_t slot = job.pts_ms / slot_ms_;
  if (pending_ && slot != pending_slot_) {
    if (Status s = close_slot(); !s.ok()) return s;
  }
  // Cheap test first: a sample cannot beat a keyframe or scene already pending.
  if (pending_ && kind_rank(kind) < kind_rank(pending_->kind)) return Status::Ok();
  const std::optional<double> sharp = sharpness(job.frame.get());
  if (!sharp) return Status::Ok();
  if (pending_ && !better(kind, *sharp, pending_->kind, pending_->sharpness)) {
    return Status::Ok();
  }
  pending_ = Candidate{std::move(job.frame), job.pts_ms, kind, *sharp, job.tiny};
  pending_slot_ = slot;
  return Status::Ok();
}

void Writer::remove_files() {
  std::error_code ec;
  for (const Kept& k : kept_) {
    fs::remove(out_dir_ / k.file, ec);
    fs::remove(out_dir_ / k.thumb, ec);
  }
  kept_.clear();
  pending_.reset();
}

Status Writer::finish(FramesResult& result) {
  if (pending_) {
    if (Status s = close_slot(); !s.ok()) return s;
  }
  if (kept_.empty()) {
    return Error(Code::kUnprocessable, "no decodable video frames", "file");
  }
  if (dropped_duplicates_ > 0) {
    warnings_.add(fmt::format("{} near-identical frames dropped", dropped_duplicates_));
  }
  std::error_code ec;
  for (size_t i = 0; i < kept_.size(); ++i) {
    Kept& k = kept_[i];
    FrameInfo info;
    info.index = static_cast<int>(i);
    info.pts_ms = k.pts_ms;
    info.kind = k.kind;
    info.width = k.width;
    info.height = k.height;
    info.sharpness = k.sharpness;
    info.file = fmt::format("frame_{:03d}.jpg", i);
    info.thumb = fmt::format("thumb_{:03d}.jpg", i);
    // Targets never collide with a later file: indices only move down, in order.
    for (auto [from, to] : {std::pair{&k.file, &info.file}, std::pair{&k.thumb, &info.thumb}}) {
      if (*from == *to) continue;
      fs::rename(out_dir_ / *from, out_dir_ / *to, ec);
      if (ec) return Error(Code::kInternal, "cannot rename a frame file");
    }
    result.frames.push_back(std::move(info));
  }
  if (Status s = write_contact_sheet(result); !s.ok()) return s;
  result.contact_sheet = "contact_sheet.jpg";
  result.signature = std::move(signature_);
  return Status::Ok();
}

std::optional<double> Writer::sharpness(const AVFrame* frame) {
  const std::optional<GreyPicture> picture = grey_picture(frame, grey_scaler_, grey_storage_);
  if (!picture) {
    warnings_.add("a frame could not be converted to grey");
    return std::nullopt;
  }
  return laplacian_variance(picture->grey);
}

std::optional<PdqResult> Writer::hash(const AVFrame* frame) {
  const std::optional<GreyPicture> scan = scanner_.scan(frame);
  if (!scan) return std::nullopt;
  return hasher_.hash(*scan);
}

void Writer::add_to_signature(const PdqResult& pdq, int64_t pts_ms, bool extra) {
  if (extra) {
    if (pdq.quality < kSignatureExtraMinQuality) return;
    if (last_signature_hash_ &&
        hamming(pdq.hash, *last_signature_hash_) <= kSignatureExtraMinBits) {
      return;
    }
  }
  last_signature_hash_ = pdq.hash;
  signature_.push_back(SignatureEntry{pts_ms, pdq.hash.to_hex(), pdq.quality, extra});
}

Status Writer::close_slot() {
  Candidate c = std::move(*pending_);
  pending_.reset();
  if (!kept_.empty() && mean_abs_diff(c.tiny, last_kept_tiny_) < opt_.duplicate_threshold) {
    ++dropped_duplicates_;
    return Status::Ok();
  }
  // 8-bit 4:2:0 goes into the JPEG as it is (JfifPicture); other formats through BGR.
  const AVFrame* f = c.frame.get();
  const bool planes = jfif_.assign(f, rotation_);
  cv::Mat bgr;
  if (!planes) {
    bgr_.create(f->height, f->width, CV_8UC3);
    if (!bgr_scaler_.scale(f, bgr_, AV_PIX_FMT_BGR24, SWS_BILINEAR | SWS_ACCURATE_RND)) {
      warnings_.add("a frame could not be converted to colour");
      return Status::Ok();
    }
    bgr = bgr_;
    if (rotation_ != 0) {
      turn_upright(bgr_, upright_, rotation_);
      bgr = upright_;
    }
  }
  c.frame.reset();

  Kept k;
  k.pts_ms = c.pts_ms;
  k.kind = c.kind;
  k.width = planes ? jfif_.width() : bgr.cols;
  k.height = planes ? jfif_.height() : bgr.rows;
  k.sharpness = c.sharpness;
  k.file = fmt::format("frame_{:03d}.jpg", written_);
  k.thumb = fmt::format("thumb_{:03d}.jpg", written_);
  ++written_;
  const double scale = static_cast<double>(opt_.thumb_long_side) / std::max(k.width, k.height);
  const cv::Size thumb_size(std::max(1, static_cast<int>(std::lround(k.width * scale))),
                            std::max(1, static_cast<int>(std::lround(k.height * scale))));
  if (planes) {
    jfif_.bgr(thumb_size, k.thumb_image);
    if (Status s = jfif_.write((out_dir_ / k.file).string(), opt_.jpeg_quality); !s.ok()) {
      return s;
    }
  } else {
    cv::resize(bgr, k.thumb_image, thumb_size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (Status s = write_jpeg(k.file, bgr); !s.ok()) return s;
  }
  if (Status s = write_jpeg(k.thumb, k.thumb_image); !s.ok()) return s;
  last_kept_tiny_ = c.tiny;
  kept_.push_back(std::move(k));
  if (kept_.size() > static_cast<size_t>(std::max(opt_.max_frames, 1))) thin();
  return Status::Ok();
}

void Writer::thin() {
  std::vector<Kept> kept;
  std::error_code ec;
  for (size_t i = 0; i < kept_.size(); i += 2) {
    size_t keep = i;
    if (i + 1 < kept_.size() &&
        better(kept_[i + 1].kind, kept_[i + 1].sharpness, kept_[i].kind, kept_[i].sharpness)) {
      keep = i + 1;
    }
    for (size_t j = i; j < std::min(i + 2, kept_.size()); ++j) {
      if (j == keep) continue;
      fs::remove(out_dir_ / kept_[j].file, ec);
      fs::remove(out_dir_ / kept_[j].thumb, ec);
    }
    kept.push_back(std::move(kept_[keep]));
  }
  kept_ = std::move(kept);
  slot_ms_ *= 2;
}

Status Writer::write_jpeg(const std::string& name, const cv::Mat& image) {
  return write_bgr_jpeg((out_dir_ / name).string(), image, opt_.jpeg_quality);
}

Status Writer::write_contact_sheet(const FramesResult& result) {
  int cell_w = 1;
  int thumb_h = 1;
  for (const Kept& k : kept_) {
    cell_w = std::max(cell_w, k.thumb_image.cols);
    thumb_h = std::max(thumb_h, k.thumb_image.rows);
  }
  constexpr int kLabelH = 22;
  constexpr int kGap = 4;
  const int n = static_cast<int>(kept_.size());
  const int cols = std::clamp(opt_.contact_sheet_columns, 1, std::max(1, n));
  const int rows = (n + cols - 1) / cols;
  cv::Mat sheet(rows * (thumb_h + kLabelH + kGap) + kGap, cols * (cell_w + kGap) + kGap, CV_8UC3,
                cv::Scalar(32, 32, 32));
  for (int i = 0; i < n; ++i) {
    const cv::Mat& thumb = kept_[static_cast<size_t>(i)].thumb_image;
    const int x = kGap + (i % cols) * (cell_w + kGap);
    const int y = kGap + (i / cols) * (thumb_h + kLabelH + kGap);
    thumb.copyTo(sheet(cv::Rect(x + (cell_w - thumb.cols) / 2, y, thumb.cols, thumb.rows)));
    const FrameInfo& info = result.frames[static_cast<size_t>(i)];
    const std::string label =
        fmt::format("{}  {}", timestamp_text(info.pts_ms), frame_kind_name(info.kind));
    cv::putText(sheet, label, cv::Point(x + 4, y + thumb_h + 16), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                cv::Scalar(240, 240, 240), 1, cv::LINE_AA);
  }
  return write_jpeg("contact_sheet.jpg", sheet);
}

}  // namespace cw::pipeline::internal
