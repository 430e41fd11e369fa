// The extractor and the parallel decoder of frame extraction: the scene score, the candidate
// and signature picks of every decoded frame, and the decoding of keyframe-aligned chunks on
// several threads. Declared in pipeline/internal/frame_decoder.hpp; the design is in
// docs/frames.md.
#include "pipeline/internal/frame_decoder.hpp"

#include <algorithm>
#include <array>
#include <exception>
#include <limits>
#include <new>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace cw::pipeline::internal {
namespace {

constexpr int kTinyW = 64;
constexpr int kTinyH = 36;
constexpr int kMaxDimension = 16384;  // larger pictures are skipped
constexpr size_t kSceneHistory = 16;  // scores in the recent average

constexpr int kMaxDecodeThreads = 4;
constexpr int64_t kChunkMinMs = 4'000;
// Longer chunks mean more pictures held for the frames the reading thread has not reached yet
// (about one a second: keyframes, samples, signature frames, possible scene changes).
constexpr int64_t kChunkMaxMs = 15'000;
// Pictures held for chunks the reading thread has not reached: a thread starts a chunk more than
// one ahead of the others only below this.
constexpr int64_t kAheadBytes = int64_t{256} << 20;
constexpr int64_t kChunkMarginMs = 2'000;

// `tiny` (kTinyH × kTinyW, 8-bit) = the means of the cells of the frame's scan (cut at whole
// pixels), in full range. swscale's area filter from the decoded picture to GRAY8 gave the same
// within 1, and cost 0.8 ms on every decoded 1080p frame, most of it cache misses on a picture
// the decoder had just written; the scan is a quarter of the picture and is made anyway.
__attribute__((target_clones("avx2", "default"))) void tiny_from_grey(const GreyPicture& picture,
                                                                      cv::Mat& tiny) {
  const cv::Mat& grey = picture.grey;
  const int cols = grey.cols;
  const int rows = grey.rows;
  std::array<int, kTinyW + 1> x_edge{};
  for (int c = 0; c <= kTinyW; ++c) x_edge[c] = static_cast<int>(int64_t{c} * cols / kTinyW);
  thread_local std::vector<uint32_t> column_sums;
  column_sums.resize(static_cast<size_t>(cols));
  for (int r = 0; r < kTinyH; ++r) {
    const int y0 = static_cast<int>(int64_t{r} * rows / kTinyH);
    const int y1 = static_cast<int>(int64_t{r + 1} * rows / kTinyH);
    std::fill(column_sums.begin(), column_sums.end(), 0);
    uint32_t* sums = column_sums.data();
    for (int y = y0; y < y1; ++y) {  // ≤ kMaxDimension rows of ≤ 255: no overflow
      const uint8_t* p = grey.ptr<uint8_t>(y);
      for (int x = 0; x < cols; ++x) sums[x] += p[x];  // vectorised by the compiler
    }
    uint8_t* out = tiny.ptr<uint8_t>(r);
    for (int c = 0; c < kTinyW; ++c) {
      uint64_t sum = 0;
      for (int x = x_edge[c]; x < x_edge[c + 1]; ++x) sum += sums[x];
      const int64_t count = int64_t{x_edge[c + 1] - x_edge[c]} * (y1 - y0);
      double mean = count > 0 ? static_cast<double>(sum) / static_cast<double>(count) : 0;
      if (picture.video_range) mean = (mean - 16.0) * 255.0 / 219.0;
      out[c] = cv::saturate_cast<uint8_t>(mean);
    }
  }
}

// Whether `packet` of an H.264 stream starts with an IDR picture (its first slice is NAL unit
// type 5), in the length-prefixed form of MP4 and Matroska (avcC extradata) or in Annex B. No
// picture after an IDR in decoding order is shown before it (H.264 has no leading pictures at an
// IDR: the decoded picture buffer is emptied there), so a decoder that has shown everything
// before an IDR needs nothing from it.
bool h264_idr(const AVCodecParameters* par, const AVPacket* packet) {
  if (par->codec_id != AV_CODEC_ID_H264 || packet->data == nullptr) return false;
  const uint8_t* p = packet->data;
  const uint8_t* end = p + packet->size;
  // The type of the first slice (types 1–5) at or after `nal`; 0 when there is none.
  const auto slice_type = [](int type) { return type >= 1 && type <= 5; };
  if (par->extradata != nullptr && par->extradata_size >= 7 && par->extradata[0] == 1) {
    const int length_size = (par->extradata[4] & 3) + 1;
    while (end - p > length_size) {
      uint64_t length = 0;
      for (int i = 0; i < length_size; ++i) length = length << 8 | p[i];
      p += length_size;
      if (length == 0 || length > static_cast<uint64_t>(end - p)) return false;
      const int type = p[0] & 0x1f;
      if (slice_type(type)) return type == 5;
      p += length;
    }
    return false;
  }
  for (; end - p > 3; ++p) {  // Annex B: 00 00 01 before each NAL unit
    if (p[0] != 0 || p[1] != 0 || p[2] != 1) continue;
    const int type = p[3] & 0x1f;
    if (slice_type(type)) return type == 5;
    p += 2;
  }
  return false;
}

}  // namespace

bool valid_size(int width, int height) {
  return width > 0 && height > 0 && width <= kMaxDimension && height <= kMaxDimension;
}

Decoded describe(const AVFrame* frame, int64_t pts_ms, FrameScanner& scanner,
                 std::optional<GreyPicture>& scan) {
  Decoded d;
  d.pts_ms = pts_ms;
  d.width = frame->width;
  d.height = frame->height;
  d.keyframe = frame->key_frame != 0 || frame->pict_type == AV_PICTURE_TYPE_I;
  scan.reset();
  if (!valid_size(d.width, d.height)) return d;
  scan = scanner.scan(frame);
  if (scan) {
    cv::Mat tiny(kTinyH, kTinyW, CV_8UC1);
    tiny_from_grey(*scan, tiny);
    d.tiny = tiny;
  }
  return d;
}

Extractor::Extractor(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
                     Warnings& warnings, media::LogCollector& log)
    : opt_(options),
      warnings_(warnings),
      log_(log),
      writer_(std::move(out_dir), options, rotation, slot_ms, warnings_),
      thread_([this] { run_writer(); }) {}

Extractor::~Extractor() {
  queue_.abort();
  if (thread_.joinable()) thread_.join();
}

Status Extractor::take(Decoded d, const AVFrame* live) {
  if (!valid_size(d.width, d.height)) {
    warnings_.add(fmt::format("frames of {}x{} skipped", d.width, d.height));
    return Status::Ok();
  }
  ++decoded_;
  const int64_t pts_ms = std::max(d.pts_ms, last_pts_ms_);  // presentation order, even for odd
  last_pts_ms_ = pts_ms;                                    // timestamps

  if (d.tiny.empty()) {
    warnings_.add("a frame could not be scaled");
    return Status::Ok();
  }
  const cv::Mat& tiny = d.tiny;
  bool scene = false;
  if (!previous_tiny_.empty()) {
    const double score = mean_abs_diff(tiny, previous_tiny_);
    double average = 0;
    for (double s : recent_scores_) average += s;
    if (!recent_scores_.empty()) average /= static_cast<double>(recent_scores_.size());
    scene =
        opt_.detect_scenes && score >= opt_.scene_threshold && score >= opt_.scene_ratio * average;
    recent_scores_.push_back(score);
    if (recent_scores_.size() > kSceneHistory) recent_scores_.pop_front();
  }
  previous_tiny_ = tiny;

  const bool keyframe = d.keyframe;
  const int64_t interval = std::max<int64_t>(opt_.sample_interval.count(), 1);
  const bool sample = pts_ms >= next_sample_ms_;
  if (sample) next_sample_ms_ = (pts_ms / interval + 1) * interval;
  const int64_t signature_interval = opt_.signature_interval.count();
  const bool signature = signature_interval > 0 && pts_ms >= next_signature_ms_;
  if (signature) next_signature_ms_ = (pts_ms / signature_interval + 1) * signature_interval;
  const int64_t extra_interval = opt_.signature_extra_interval.count();
  const bool extra = signature_interval > 0 && extra_interval > 0 && pts_ms >= next_extra_ms_;
  if (extra) next_extra_ms_ = (pts_ms / extra_interval + 1) * extra_interval;
  if (!scene && !keyframe && !sample && !signature && !extra) return Status::Ok();

  Job job;
  job.pts_ms = pts_ms;
  job.signature = signature;
  job.signature_extra = extra && !signature;
  job.hash = std::move(d.hash);
  if (scene || keyframe || sample) {
    job.kind = scene ? FrameKind::kScene : (keyframe ? FrameKind::kKeyframe : FrameKind::kSample);
    job.tiny = tiny;
  }
  if (live != nullptr) {
    job.frame.reset(av_frame_clone(live));
    if (!job.frame) return Error(Code::kInternal, "out of memory holding a frame");
  } else if (d.frame) {
    job.frame = std::move(d.frame);
  } else if (!job.hash) {
    return Status::Ok();  // not kept by the decoding thread: only for timestamps that go back
  }
  if (!queue_.push(std::move(job))) return wait();  // the writer failed
  return Status::Ok();
}

void Extractor::discard() {
  queue_.abort();
  if (thread_.joinable()) thread_.join();
  writer_.remove_files();
}

Status Extractor::wait() {
  queue_.close();
  if (thread_.joinable()) {
    thread_.join();
    writer_log_.flush();
    for (const std::string& message : writer_log_.messages()) {
      log_.add(AV_LOG_WARNING, message + "\n");
    }
  }
  return writer_status_;
}

Status Extractor::finish(FramesResult& result) { return writer_.finish(result); }

int64_t Extractor::decoded() const { return decoded_; }

void Extractor::run_writer() {
  const media::LogScope log_scope(&writer_log_);
  Job job;
  while (queue_.pop(job)) {
    Status s;
    try {
      s = writer_.take(std::move(job));
    } catch (const std::bad_alloc&) {
      s = Error(Code::kInternal, "out of memory writing frames");
    } catch (const std::exception&) {
      s = Error(Code::kInternal, "an image operation failed while writing frames");
    }
    job = Job{};  // the decoder's picture goes back now, not at the next pop
    if (!s.ok()) {
      writer_status_ = std::move(s);  // read by wait() after the join
      queue_.abort();
      return;
    }
  }
}

int decode_threads(const FramesOptions& options) {
  if (options.decode_threads > 0) return std::min(options.decode_threads, kMaxDecodeThreads);
  return std::clamp(static_cast<int>(std::thread::hardware_concurrency()), 1, kMaxDecodeThreads);
}

std::vector<Chunk> plan_chunks(AVStream* st, int64_t start, int64_t duration_ms, int threads) {
  const int entries = avformat_index_get_entries_count(st);
  if (threads < 2 || entries <= 0 || duration_ms <= 0) return {};
  std::vector<Chunk> chunks{Chunk{}};
  int64_t chunk_start_ms = 0;
  for (int i = 0; i < entries; ++i) {
    const AVIndexEntry* e = avformat_index_get_entry(st, i);
    if (e == nullptr || (e->flags & AVINDEX_KEYFRAME) == 0 || e->timestamp == AV_NOPTS_VALUE) {
      continue;
    }
    // About four chunks a thread, shorter towards the end (a quarter of what is left a thread),
    // so that the threads, each taking the next chunk when it is free, finish close together.
    const int64_t target = std::clamp(
        std::min(duration_ms / (4 * threads), (duration_ms - chunk_start_ms) / (2 * threads)),
        kChunkMinMs, kChunkMaxMs);
    const int64_t ms = av_rescale_q(e->timestamp - start, st->time_base, {1, 1000});
    if (ms < chunk_start_ms + target || ms > duration_ms - kChunkMinMs / 2) continue;
    chunks.push_back(Chunk{e->timestamp, ms - kChunkMarginMs});
    chunk_start_ms = ms;
  }
  if (chunks.size() < 2) return {};
  return chunks;
}

Result<CodecPtr> open_decoder(const AVStream* st, const AVCodec* codec, bool keyframes_only,
                              int threads, const media::MediaInput& input) {
  CodecPtr dec(avcodec_alloc_context3(codec));
  if (!dec) return Error(Code::kInternal, "out of memory opening a decoder");
  if (const int rc = avcodec_parameters_to_context(dec.get(), st->codecpar); rc < 0) {
    return input.failure(rc);
  }
  dec->pkt_timebase = st->time_base;
  dec->thread_count = threads;
  dec->skip_frame = keyframes_only ? AVDISCARD_NONKEY : AVDISCARD_NONREF;
  dec->skip_loop_filter = AVDISCARD_NONKEY;
  if (const int rc = avcodec_open2(dec.get(), codec, nullptr); rc < 0) return input.failure(rc);
  return dec;
}

ParallelDecoder::ParallelDecoder(std::string path, const media::OpenOptions& open_options,
                                 int stream_index, std::vector<Chunk> chunks, int threads,
                                 const FramesOptions& options, int rotation)
    : path_(std::move(path)),
      open_options_(open_options),
      stream_index_(stream_index),
      chunks_(std::move(chunks)),
      threads_(std::clamp(threads, 1, static_cast<int>(chunks_.size()))),
      opt_(options),
      rotation_(rotation),
      state_(chunks_.size()) {}

ParallelOutcome ParallelDecoder::run(const std::function<Status(Decoded)>& take, Status* error) {
  std::vector<std::thread> threads;
  for (int w = 0; w < threads_; ++w) threads.emplace_back([this] { work(); });
  try {
    return hand_over(take, error, threads);
  } catch (...) {  // from `take`: stop the threads before the exception leaves
    abandon();
    for (std::thread& t : threads) t.join();
    throw;
  }
}

ParallelOutcome ParallelDecoder::hand_over(const std::function<Status(Decoded)>& take,
                                           Status* error, std::vector<std::thread>& threads) {
  ParallelOutcome outcome = ParallelOutcome::kDone;
  for (size_t c = 0; c < chunks_.size() && outcome == ParallelOutcome::kDone; ++c) {
    std::unique_lock lock(mutex_);
    consumer_chunk_ = static_cast<int>(c);
    changed_.notify_all();
    for (;;) {
      changed_.wait(lock,
                    [&] { return abandoned_ || !state_[c].records.empty() || state_[c].done; });
      if (abandoned_) {
        outcome = ParallelOutcome::kAbandoned;
        break;
      }
      if (state_[c].records.empty()) break;  // done
      Decoded d = std::move(state_[c].records.front());
      state_[c].records.pop_front();
      if (d.frame) {
        held_bytes_ -= picture_bytes(d.frame.get());
        changed_.notify_all();
      }
      lock.unlock();
      Status s = take(std::move(d));
      lock.lock();
      if (!s.ok()) {
        *error = std::move(s);
        abandoned_ = true;
        changed_.notify_all();
        outcome = ParallelOutcome::kFailed;
        break;
      }
    }
  }
  for (std::thread& t : threads) t.join();
  return outcome;
}

void ParallelDecoder::abandon() {
  const std::lock_guard lock(mutex_);
  abandoned_ = true;
  changed_.notify_all();
}

bool ParallelDecoder::open(Source& src, media::LogCollector& log) {
  auto opened = media::MediaInput::open(path_, open_options_, log);
  if (!opened.ok()) return false;
  src.input = std::move(*opened);
  AVFormatContext* ctx = src.input->format();
  if (stream_index_ >= static_cast<int>(ctx->nb_streams)) return false;
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index_) ctx->streams[i]->discard = AVDISCARD_ALL;
  }
  src.st = ctx->streams[stream_index_];
  src.start = src.st->start_time != AV_NOPTS_VALUE ? src.st->start_time : 0;
  src.codec = avcodec_find_decoder(src.st->codecpar->codec_id);
  if (src.codec == nullptr) return false;
  src.matroska = std::string_view(ctx->iformat->name).starts_with("matroska");
  src.packet.reset(av_packet_alloc());
  src.frame.reset(av_frame_alloc());
  return src.packet && src.frame;
}

void ParallelDecoder::work() {
  try {
    work_or_throw();
  } catch (const std::exception&) {  // cv::Exception, std::bad_alloc: decode in order instead
    abandon();
  }
}

void ParallelDecoder::work_or_throw() {
  media::LogCollector log;
  const media::LogScope log_scope(&log);
  Source src(rotation_);
  if (!open(src, log)) return abandon();
  log.flush();
  const size_t messages_at_open = log.messages().size();  // the main input logged them too
  for (;;) {
    int c = 0;
    {
      // The next chunk not taken, whichever thread is free first: chunks take unequal times.
      // Bounded memory: at most threads_ + 1 chunks ahead of the reading thread, and beyond the
      // next threads_ only while the pictures held are few. Never for the chunk it waits on.
      std::unique_lock lock(mutex_);
      if (abandoned_ || next_chunk_ >= static_cast<int>(chunks_.size())) return;
      c = next_chunk_++;
      changed_.wait(lock, [&] {
        return abandoned_ || consumer_chunk_ >= c - threads_ + 1 ||
               (consumer_chunk_ >= c - threads_ && held_bytes_ <= kAheadBytes);
      });
      if (abandoned_) return;
    }
    if (!decode_chunk(src, c)) return abandon();
    log.flush();
    if (log.messages().size() != messages_at_open) return abandon();
  }
}

bool ParallelDecoder::ends_before(const Source& src, int c, std::optional<int64_t>& end_pts) {
  const AVPacket* packet = src.packet.get();
  if ((packet->flags & AV_PKT_FLAG_KEY) == 0 || packet->pts == AV_NOPTS_VALUE) return false;
  const int64_t ms = av_rescale_q(packet->pts - src.start, src.st->time_base, {1, 1000});
  if (ms < chunks_[c + 1].lower_ms) return false;
  if (!end_pts) end_pts = wait_for_start(c + 1);
  return end_pts && packet->pts >= *end_pts && h264_idr(src.st->codecpar, packet);
}

std::optional<int64_t> ParallelDecoder::wait_for_start(int c) {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return abandoned_ || state_[c].start_pts.has_value(); });
  if (abandoned_) return std::nullopt;
  return state_[c].start_pts;
}

bool ParallelDecoder::decode_chunk(Source& src, int c) {
  AVFormatContext* ctx = src.input->format();
  if (c > 0 && av_seek_frame(ctx, stream_index_, chunks_[c].seek_ts, AVSEEK_FLAG_BACKWARD) < 0) {
    return false;
  }
  // One single-threaded decoder a thread (the parallelism is the chunks'), flushed between its
  // chunks: it keeps its picture buffers, which a new one would allocate and fault in again.
  // For Matroska a new one a chunk: a flushed one refused the first packet after a seek.
  if (!src.decoder || src.matroska) {
    auto opened = open_decoder(src.st, src.codec, false, 1, *src.input);
    if (!opened.ok()) return false;
    src.decoder = std::move(*opened);
  } else {
    avcodec_flush_buffers(src.decoder.get());
  }
  AVCodecContext* dec = src.decoder.get();
  const bool last = c + 1 == static_cast<int>(chunks_.size());
  const int64_t sample_interval = std::max<int64_t>(opt_.sample_interval.count(), 1);
  const int64_t signature_interval = opt_.signature_interval.count();  // 0: none
  const int64_t extra_interval =
      signature_interval > 0 ? opt_.signature_extra_interval.count() : 0;  // 0: none
  bool started = c == 0;  // chunk 0 takes every frame from the start, as decoding in order does
  int64_t last_pts = std::numeric_limits<int64_t>::min();
  std::optional<int64_t> end_pts;
  cv::Mat previous_tiny;
  int64_t previous_ms = -1;

  // 0: go on, 1: the chunk is complete, -1: abandon.
  const auto on_frame = [&](AVFrame* f) -> int {
    if ((f->flags & AV_FRAME_FLAG_CORRUPT) != 0 || f->decode_error_flags != 0) return -1;
    const int64_t pts = f->best_effort_timestamp;
    if (pts == AV_NOPTS_VALUE) return -1;
    const bool keyframe = f->key_frame != 0 || f->pict_type == AV_PICTURE_TYPE_I;
    const int64_t ms =
        std::max<int64_t>(av_rescale_q(pts - src.start, src.st->time_base, {1, 1000}), 0);
    if (!started) {
      // The chunk starts at the first keyframe (a point the decoder can start from: IDR or
      // recovery point) not before lower_ms, whatever keyframe the seek found: frames before
      // it are the previous chunk's.
      if (f->key_frame == 0 || ms < chunks_[c].lower_ms) return 0;
      started = true;
      const std::lock_guard lock(mutex_);
      state_[c].start_pts = pts;
      changed_.notify_all();
    } else if (pts <= last_pts) {
      return -1;
    }
    if (!last) {
      if (!end_pts && ms >= chunks_[c + 1].lower_ms) {
        end_pts = wait_for_start(c + 1);
        if (!end_pts || last_pts >= *end_pts) return -1;
      }
      if (end_pts && pts >= *end_pts) return 1;
    }
    last_pts = pts;
    Decoded d = describe(f, ms, src.scanner, src.scan);
    bool keep = keyframe || previous_ms < 0;
    bool hash = signature_interval > 0 && previous_ms < 0;
    if (!d.tiny.empty()) {
      keep = keep || ms / sample_interval != previous_ms / sample_interval ||
             (opt_.detect_scenes && !previous_tiny.empty() &&
              mean_abs_diff(d.tiny, previous_tiny) >= opt_.scene_threshold);
      hash =
          hash ||
          (signature_interval > 0 && ms / signature_interval != previous_ms / signature_interval) ||
          (extra_interval > 0 && ms / extra_interval != previous_ms / extra_interval);
      previous_tiny = d.tiny;
      previous_ms = ms;
    }
    if (!valid_size(d.width, d.height)) {
      keep = false;
      hash = false;
    }
    // Signature frames are hashed here, on all cores, and not held for the writer (most
    // decoded frames are signature extras: holding them all grew the decoder's buffer pool).
    if (hash) {
      d.hash = src.scan ? std::optional<PdqResult>(src.hasher.hash(*src.scan)) : std::nullopt;
    }
    if (keep) {
      d.frame.reset(av_frame_clone(f));
      if (!d.frame) return -1;
    }
    const int64_t bytes = d.frame ? picture_bytes(d.frame.get()) : 0;
    const std::lock_guard lock(mutex_);
    held_bytes_ += bytes;
    state_[c].records.push_back(std::move(d));
    changed_.notify_all();
    return 0;
  };
  // 0: go on, 1: the chunk is complete, -1: abandon.
  const auto drain = [&]() -> int {
    for (;;) {
      const int rc = avcodec_receive_frame(dec, src.frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return 0;
      if (rc < 0) return -1;
      const int r = on_frame(src.frame.get());
      av_frame_unref(src.frame.get());
      if (r != 0) return r;
    }
  };

  int r = 0;
  for (;;) {
    if (packets_.fetch_add(1) >= opt_.max_packets) return false;
    const int rc = av_read_frame(ctx, src.packet.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) return false;
    int sent = 0;
    if (src.packet->stream_index == stream_index_) {
      if (!last && ends_before(src, c, end_pts)) {  // then drain what is left, below
        av_packet_unref(src.packet.get());
        break;
      }
      sent = avcodec_send_packet(dec, src.packet.get());
    }
    av_packet_unref(src.packet.get());
    if (sent < 0) return false;
    if ((r = drain()) != 0) break;
  }
  if (r == 0) {
    if (avcodec_send_packet(dec, nullptr) < 0) return false;
    r = drain();
  }
  if (r < 0 || !started) return false;
  const std::lock_guard lock(mutex_);
  state_[c].done = true;
  changed_.notify_all();
  return true;
}

}  // namespace cw::pipeline::internal
