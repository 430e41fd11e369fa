// extract_frames with libavcodec/libswscale (FFmpeg 5.1 API) and OpenCV (resize, Laplacian,
// JPEG, drawing), and the frames JSON.
//
// Design — one decoding pass, in file order, over a cheap stream:
// - Measured on a 60 s 1080p30 H.264 clip (2 cores): a full decode costs as much as
//   `ffmpeg -vf fps=1` itself (~9.3 s), seeking to each second was slower than decoding in order,
//   and ffmpeg's scene filter costs another full decode. Keyframes alone decode in ~0.35 s;
//   skipping the frames nothing refers to (AVDISCARD_NONREF: most B-frames) and deblocking only
//   keyframes (skip_loop_filter = AVDISCARD_NONKEY) decodes in ~3.3 s.
// - So a single pass decodes that cheap stream with frame threads (thread_count 0). Keyframes
//   come out of it bit-exact, so a separate keyframe-only pass would only re-read the file. Every
//   decoded frame is scored on a 64×36 grey copy (sws_scale, area filter): the mean absolute
//   difference to the previous decoded frame, a scene change when it is a peak (above
//   scene_threshold and scene_ratio × the recent average).
// - Candidates are keyframes, scene changes, and the first frame at or after each
//   sample_interval. The timeline is cut into slots (sample_interval, or duration/max_frames
//   when longer); each slot keeps one candidate, preferring scene > keyframe > sample, then the
//   sharper. Sharpness (variance of the Laplacian of the full grey picture) is measured on
//   candidates only. When a slot closes its winner is compared with the last kept frame (64×36
//   mean abs difference, near-duplicates dropped), then converted to BGR (SWS_BILINEAR |
//   SWS_ACCURATE_RND), turned upright and written. Only one pending frame is held in memory.
// - If more than max_frames are kept (the container understated its duration, or gave none),
//   every other one is dropped — the better of each pair stays — and the slot length doubles.
//   Files are renumbered in time order at the end.
// - Cost of the choice: scene and sample frames are reference frames decoded without the
//   deblocking filter, so they can look slightly blockier than in a player; keyframes are exact.
//   FramesOptions::detect_scenes = false decodes keyframes only.
#include "pipeline/frames.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>

#include <fmt/format.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include "pipeline/media_input.hpp"
#include "pipeline/probe.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int kTinyW = 64;
constexpr int kTinyH = 36;
constexpr int kMaxDimension = 16384;  // larger pictures are skipped
constexpr size_t kSceneHistory = 16;  // scores in the recent average

struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct CodecFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using PacketPtr = std::unique_ptr<AVPacket, PacketFree>;
using FramePtr = std::unique_ptr<AVFrame, FrameFree>;
using CodecPtr = std::unique_ptr<AVCodecContext, CodecFree>;

using media::Warnings;

// An swscale context that follows the source size and format (they may change mid-stream).
class Scaler {
 public:
  ~Scaler() { sws_freeContext(ctx_); }
  // Scales `src` into `dst` (already allocated, 8-bit, `dst_format`). False on failure.
  bool scale(const AVFrame* src, cv::Mat& dst, AVPixelFormat dst_format, int flags) {
    ctx_ =
        sws_getCachedContext(ctx_, src->width, src->height, static_cast<AVPixelFormat>(src->format),
                             dst.cols, dst.rows, dst_format, flags, nullptr, nullptr, nullptr);
    if (ctx_ == nullptr) return false;
    uint8_t* planes[4] = {dst.data, nullptr, nullptr, nullptr};
    int strides[4] = {static_cast<int>(dst.step[0]), 0, 0, 0};
    return sws_scale(ctx_, src->data, src->linesize, 0, src->height, planes, strides) == dst.rows;
  }

 private:
  SwsContext* ctx_ = nullptr;
};

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat diff;
  cv::absdiff(a, b, diff);
  return cv::mean(diff)[0];
}

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

struct Candidate {
  FramePtr frame;
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  double sharpness = 0;
  cv::Mat tiny;
};

struct Kept {
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  int width = 0;
  int height = 0;
  double sharpness = 0;
  std::string file;  // as written; renamed at the end
  std::string thumb;
  cv::Mat thumb_image;
};

bool better(FrameKind kind_a, double sharp_a, FrameKind kind_b, double sharp_b) {
  if (kind_rank(kind_a) != kind_rank(kind_b)) return kind_rank(kind_a) > kind_rank(kind_b);
  return sharp_a > sharp_b;
}

class Extractor {
 public:
  Extractor(fs::path out_dir, const FramesOptions& options, int rotation, Warnings& warnings)
      : out_dir_(std::move(out_dir)), opt_(options), rotation_(rotation), warnings_(warnings) {}

  void set_slot_ms(int64_t ms) { slot_ms_ = std::max<int64_t>(ms, 1); }

  // One decoded frame at `pts_ms`. Returns an error only for a failure to write.
  Status add(const AVFrame* frame, int64_t pts_ms) {
    if (frame->width <= 0 || frame->height <= 0 || frame->width > kMaxDimension ||
        frame->height > kMaxDimension) {
      warnings_.add(fmt::format("frames of {}x{} skipped", frame->width, frame->height));
      return Status::Ok();
    }
    ++decoded_;
    pts_ms = std::max(pts_ms, last_pts_ms_);  // presentation order, even for odd timestamps
    last_pts_ms_ = pts_ms;

    cv::Mat tiny(kTinyH, kTinyW, CV_8UC1);
    if (!tiny_scaler_.scale(frame, tiny, AV_PIX_FMT_GRAY8, SWS_AREA)) {
      warnings_.add("a frame could not be scaled");
      return Status::Ok();
    }
    bool scene = false;
    if (!previous_tiny_.empty()) {
      const double score = mean_abs_diff(tiny, previous_tiny_);
      double average = 0;
      for (double s : recent_scores_) average += s;
      if (!recent_scores_.empty()) average /= static_cast<double>(recent_scores_.size());
      scene = opt_.detect_scenes && score >= opt_.scene_threshold &&
              score >= opt_.scene_ratio * average;
      recent_scores_.push_back(score);
      if (recent_scores_.size() > kSceneHistory) recent_scores_.pop_front();
    }
    previous_tiny_ = tiny;

    const bool keyframe = frame->key_frame != 0 || frame->pict_type == AV_PICTURE_TYPE_I;
    const int64_t interval = std::max<int64_t>(opt_.sample_interval.count(), 1);
    const bool sample = pts_ms >= next_sample_ms_;
    if (sample) next_sample_ms_ = (pts_ms / interval + 1) * interval;
    if (!scene && !keyframe && !sample) return Status::Ok();
    const FrameKind kind =
        scene ? FrameKind::kScene : (keyframe ? FrameKind::kKeyframe : FrameKind::kSample);

    const int64_t slot = pts_ms / slot_ms_;
    if (pending_ && slot != pending_slot_) {
      if (Status s = close_slot(); !s.ok()) return s;
    }
    // Cheap test first: a sample cannot beat a keyframe or scene already pending.
    if (pending_ && kind_rank(kind) < kind_rank(pending_->kind)) return Status::Ok();
    const std::optional<double> sharp = sharpness(frame);
    if (!sharp) return Status::Ok();
    if (pending_ && !better(kind, *sharp, pending_->kind, pending_->sharpness)) {
      return Status::Ok();
    }
    FramePtr copy(av_frame_clone(frame));
    if (!copy) return Error(Code::kInternal, "out of memory holding a frame");
    pending_ = Candidate{std::move(copy), pts_ms, kind, *sharp, tiny};
    pending_slot_ = slot;
    return Status::Ok();
  }

  // Writes the last pending frame, renumbers the files and writes the contact sheet.
  Status finish(FramesResult& result) {
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
    return Status::Ok();
  }

  int64_t decoded() const { return decoded_; }

 private:
  // Variance of the Laplacian of the grey picture. The luma plane is the grey picture for the
  // 8-bit YUV formats; anything else is converted first.
  std::optional<double> sharpness(const AVFrame* frame) {
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format));
    cv::Mat grey;
    if (desc != nullptr &&
        (desc->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_BITSTREAM |
                        AV_PIX_FMT_FLAG_HWACCEL)) == 0 &&
        desc->nb_components >= 1 && desc->comp[0].plane == 0 && desc->comp[0].depth == 8 &&
        desc->comp[0].step == 1 && frame->data[0] != nullptr &&
        frame->linesize[0] >= frame->width) {
      grey = cv::Mat(frame->height, frame->width, CV_8UC1, frame->data[0],
                     static_cast<size_t>(frame->linesize[0]));
    } else {
      grey.create(frame->height, frame->width, CV_8UC1);
      if (!grey_scaler_.scale(frame, grey, AV_PIX_FMT_GRAY8, SWS_BILINEAR)) {
        warnings_.add("a frame could not be converted to grey");
        return std::nullopt;
      }
    }
    cv::Mat laplacian;
    cv::Laplacian(grey, laplacian, CV_16S);
    cv::Scalar mean, stddev;
    cv::meanStdDev(laplacian, mean, stddev);
    return stddev[0] * stddev[0];
  }

  Status close_slot() {
    Candidate c = std::move(*pending_);
    pending_.reset();
    if (!kept_.empty() && mean_abs_diff(c.tiny, last_kept_tiny_) < opt_.duplicate_threshold) {
      ++dropped_duplicates_;
      return Status::Ok();
    }
    const AVFrame* f = c.frame.get();
    cv::Mat bgr(f->height, f->width, CV_8UC3);
    if (!bgr_scaler_.scale(f, bgr, AV_PIX_FMT_BGR24, SWS_BILINEAR | SWS_ACCURATE_RND)) {
      warnings_.add("a frame could not be converted to colour");
      return Status::Ok();
    }
    c.frame.reset();
    if (rotation_ == 90) cv::rotate(bgr, bgr, cv::ROTATE_90_CLOCKWISE);
    if (rotation_ == 180) cv::rotate(bgr, bgr, cv::ROTATE_180);
    if (rotation_ == 270) cv::rotate(bgr, bgr, cv::ROTATE_90_COUNTERCLOCKWISE);

    Kept k;
    k.pts_ms = c.pts_ms;
    k.kind = c.kind;
    k.width = bgr.cols;
    k.height = bgr.rows;
    k.sharpness = c.sharpness;
    k.file = fmt::format("frame_{:03d}.jpg", written_);
    k.thumb = fmt::format("thumb_{:03d}.jpg", written_);
    ++written_;
    const double scale = static_cast<double>(opt_.thumb_long_side) / std::max(bgr.cols, bgr.rows);
    const cv::Size thumb_size(std::max(1, static_cast<int>(std::lround(bgr.cols * scale))),
                              std::max(1, static_cast<int>(std::lround(bgr.rows * scale))));
    cv::resize(bgr, k.thumb_image, thumb_size, 0, 0, scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
    if (Status s = write_jpeg(k.file, bgr); !s.ok()) return s;
    if (Status s = write_jpeg(k.thumb, k.thumb_image); !s.ok()) return s;
    last_kept_tiny_ = c.tiny;
    kept_.push_back(std::move(k));
    if (kept_.size() > static_cast<size_t>(std::max(opt_.max_frames, 1))) thin();
    return Status::Ok();
  }

  // Halves the kept frames, keeping the better of each pair, and doubles the slot length.
  void thin() {
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

  Status write_jpeg(const std::string& name, const cv::Mat& image) {
    const std::vector<int> params = {cv::IMWRITE_JPEG_QUALITY,
                                     std::clamp(opt_.jpeg_quality, 1, 100)};
    bool written = false;
    try {
      written = cv::imwrite((out_dir_ / name).string(), image, params);
    } catch (const cv::Exception&) {
      written = false;
    }
    if (!written) return Error(Code::kInternal, "cannot write " + name);
    return Status::Ok();
  }

  Status write_contact_sheet(const FramesResult& result) {
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

  fs::path out_dir_;
  const FramesOptions& opt_;
  int rotation_;
  Warnings& warnings_;
  int64_t slot_ms_ = 1000;
  int64_t next_sample_ms_ = 0;
  int64_t last_pts_ms_ = 0;
  int64_t decoded_ = 0;
  int written_ = 0;
  int dropped_duplicates_ = 0;
  std::optional<Candidate> pending_;
  int64_t pending_slot_ = 0;
  cv::Mat previous_tiny_;
  cv::Mat last_kept_tiny_;
  std::deque<double> recent_scores_;
  std::vector<Kept> kept_;
  Scaler tiny_scaler_;
  Scaler grey_scaler_;
  Scaler bgr_scaler_;
};

// The main video: not cover art; the default-flagged one, then the largest picture (as probe).
int main_video_stream(const AVFormatContext* ctx) {
  int best = -1;
  std::pair<bool, int64_t> best_rank{false, -1};
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* st = ctx->streams[i];
    if (st == nullptr || st->codecpar == nullptr) continue;
    if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO) continue;
    if ((st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0) continue;
    const std::pair<bool, int64_t> rank{(st->disposition & AV_DISPOSITION_DEFAULT) != 0,
                                        int64_t{st->codecpar->width} * st->codecpar->height};
    if (best < 0 || rank > best_rank) {
      best = static_cast<int>(i);
      best_rank = rank;
    }
  }
  return best;
}

std::string av_error_text(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, buf, sizeof buf);
  return media::clean_text(buf, sizeof buf);
}

}  // namespace

const char* frame_kind_name(FrameKind kind) {
  switch (kind) {
    case FrameKind::kKeyframe:
      return "keyframe";
    case FrameKind::kScene:
      return "scene";
    case FrameKind::kSample:
      break;
  }
  return "sample";
}

Result<FramesResult> extract_frames(const std::string& path, const std::string& out_dir,
                                    const FramesOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(out_dir, ec)) {
    return Error(Code::kInternal, "frames output directory does not exist");
  }
  media::LogCollector log;
  const media::LogScope log_scope(&log);
  media::OpenOptions open_options;
  open_options.timeout = options.timeout;
  open_options.demuxers = default_video_demuxers();
  auto opened = media::MediaInput::open(path, open_options, log);
  if (!opened.ok()) return opened.error();
  media::MediaInput& input = **opened;
  AVFormatContext* ctx = input.format();

  const int stream_index = main_video_stream(ctx);
  if (stream_index < 0) return Error(Code::kUnprocessable, "no video stream", "file");
  AVStream* st = ctx->streams[stream_index];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (codec == nullptr) {
    return Error(Code::kUnprocessable, "not a readable video: unknown video codec", "file");
  }
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (ctx->streams[i] != nullptr && static_cast<int>(i) != stream_index) {
      ctx->streams[i]->discard = AVDISCARD_ALL;  // the demuxer skips their packets
    }
  }

  CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Error(Code::kInternal, "out of memory opening a decoder");
  if (const int rc = avcodec_parameters_to_context(dec.get(), st->codecpar); rc < 0) {
    return input.failure(rc);
  }
  dec->pkt_timebase = st->time_base;
  dec->thread_count = 0;  // one per core
  dec->skip_frame = options.detect_scenes ? AVDISCARD_NONREF : AVDISCARD_NONKEY;
  dec->skip_loop_filter = AVDISCARD_NONKEY;
  if (const int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return input.failure(rc);

  FramesResult result;
  Warnings warnings(&result.warnings);
  std::vector<std::string> notes;
  result.rotation_deg = media::stream_rotation(st, "video", &notes);
  for (std::string& note : notes) warnings.add(std::move(note));

  Extractor extractor(out_dir, options, result.rotation_deg, warnings);
  const int max_frames = std::max(options.max_frames, 1);
  int64_t duration_ms = 0;
  if (st->duration > 0 && st->duration != AV_NOPTS_VALUE) {
    duration_ms = av_rescale_q(st->duration, st->time_base, AVRational{1, 1000});
  } else if (ctx->duration > 0 && ctx->duration != AV_NOPTS_VALUE) {
    duration_ms = ctx->duration / 1000;
  }
  const int64_t interval = std::max<int64_t>(options.sample_interval.count(), 1);
  extractor.set_slot_ms(std::max(interval, (duration_ms + max_frames - 1) / max_frames));
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;

  PacketPtr packet(av_packet_alloc());
  FramePtr frame(av_frame_alloc());
  if (!packet || !frame) return Error(Code::kInternal, "out of memory decoding a video");

  int64_t decode_errors = 0;
  int64_t corrupt_frames = 0;
  std::optional<std::string> stopped;
  const auto drain = [&]() -> Status {
    for (;;) {
      const int rc = avcodec_receive_frame(dec.get(), frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return Status::Ok();
      if (rc < 0) {
        ++decode_errors;
        if (rc == AVERROR(ENOMEM)) return Error(Code::kInternal, "out of memory decoding");
        return Status::Ok();
      }
      if ((frame->flags & AV_FRAME_FLAG_CORRUPT) != 0 || frame->decode_error_flags != 0) {
        ++corrupt_frames;
      }
      const int64_t pts = frame->best_effort_timestamp;
      const int64_t pts_ms =
          pts == AV_NOPTS_VALUE ? -1 : av_rescale_q(pts - start, st->time_base, {1, 1000});
      Status s = extractor.add(frame.get(), std::max<int64_t>(pts_ms, 0));
      av_frame_unref(frame.get());
      if (!s.ok()) return s;
    }
  };

  for (int64_t packets = 0;; ++packets) {
    if (packets >= options.max_packets) {
      stopped = fmt::format("stopped after {} packets", packets);
      break;
    }
    const int rc = av_read_frame(ctx, packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      stopped = input.deadline_hit() ? "reading stopped at the time limit"
                                     : "reading stopped: " + av_error_text(rc);
      break;
    }
    if (packet->stream_index == stream_index) {
      const int sent = avcodec_send_packet(dec.get(), packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) ++decode_errors;
    }
    av_packet_unref(packet.get());
    if (Status s = drain(); !s.ok()) return s.error();
  }
  if (avcodec_send_packet(dec.get(), nullptr) >= 0) {
    if (Status s = drain(); !s.ok()) return s.error();
  }

  if (stopped) warnings.add(*stopped);
  if (decode_errors > 0)
    warnings.add(fmt::format("{} packets could not be decoded", decode_errors));
  if (corrupt_frames > 0)
    warnings.add(fmt::format("{} frames decoded with errors", corrupt_frames));
  log.flush();
  for (const std::string& message : log.messages()) {
    warnings.add("ffmpeg: " + media::clean_text(media::scrub(message, path, "<file>"),
                                                media::LogCollector::kMaxMessageBytes));
  }
  if (extractor.decoded() == 0) {
    if (input.deadline_hit()) return input.failure(AVERROR_EXIT);
    return Error(Code::kUnprocessable, "no decodable video frames", "file");
  }
  if (Status s = extractor.finish(result); !s.ok()) return s.error();
  return result;
}

nlohmann::json to_json(const FramesResult& result) {
  nlohmann::json frames = nlohmann::json::array();
  for (const FrameInfo& f : result.frames) {
    frames.push_back({{"index", f.index},
                      {"pts_ms", f.pts_ms},
                      {"kind", frame_kind_name(f.kind)},
                      {"width", f.width},
                      {"height", f.height},
                      {"sharpness", f.sharpness},
                      {"file", f.file},
                      {"thumb", f.thumb}});
  }
  return {{"frames", frames},
          {"contact_sheet", result.contact_sheet},
          {"rotation_deg", result.rotation_deg},
          {"warnings", result.warnings}};
}

}  // namespace cw::pipeline
