// extract_frames: opens the video, decodes it (in keyframe-aligned chunks on several threads
// when it can, else in order), and hands the frames to the Extractor, which picks and writes
// them; and the frames JSON. The design and its measurements: docs/frames.md (figures in
// bench/README.md). The parts: pipeline/frames_av.cpp (FFmpeg holders, scaling),
// pipeline/frame_signature.cpp (bars, the signature hasher), pipeline/frame_writer.cpp (slot
// picking, JPEGs), pipeline/frame_decoder.cpp (the extractor, the parallel decoder).
#include "pipeline/frames.hpp"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
}

#include "pipeline/internal/frame_decoder.hpp"
#include "pipeline/internal/frame_signature.hpp"
#include "pipeline/internal/frames_av.hpp"
#include "pipeline/media_input.hpp"
#include "pipeline/probe.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

using internal::Chunk;
using internal::CodecPtr;
using internal::decode_threads;
using internal::Decoded;
using internal::describe;
using internal::Extractor;
using internal::FramePtr;
using internal::FrameScanner;
using internal::GreyPicture;
using internal::open_decoder;
using internal::PacketPtr;
using internal::ParallelDecoder;
using internal::ParallelOutcome;
using internal::plan_chunks;
using internal::Warnings;

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

  FramesResult result;
  Warnings warnings(&result.warnings);
  std::vector<std::string> notes;
  result.rotation_deg = media::stream_rotation(st, "video", &notes);
  for (std::string& note : notes) warnings.add(std::move(note));

  const int max_frames = std::max(options.max_frames, 1);
  int64_t duration_ms = 0;
  if (st->duration > 0 && st->duration != AV_NOPTS_VALUE) {
    duration_ms = av_rescale_q(st->duration, st->time_base, AVRational{1, 1000});
  } else if (ctx->duration > 0 && ctx->duration != AV_NOPTS_VALUE) {
    duration_ms = ctx->duration / 1000;
  }
  const int64_t interval = std::max<int64_t>(options.sample_interval.count(), 1);
  const int64_t slot_ms = std::max(interval, (duration_ms + max_frames - 1) / max_frames);
  const int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;

  // FFmpeg's messages become warnings; then the last slot, the renumbering, the contact sheet.
  const auto complete = [&](Extractor& extractor) -> Result<FramesResult> {
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
    return std::move(result);
  };

  // Chunks of the timeline on several threads, when the container indexes its keyframes.
  const int threads = decode_threads(options);
  if (std::vector<Chunk> chunks = plan_chunks(st, start, duration_ms, threads);
      options.detect_scenes && !chunks.empty()) {
    const size_t warnings_before = result.warnings.size();
    const int used = std::min(threads, static_cast<int>(chunks.size()));
    Extractor extractor(out_dir, options, result.rotation_deg, slot_ms, warnings, log);
    ParallelDecoder decoder(path, open_options, stream_index, std::move(chunks), used, options,
                            result.rotation_deg);
    Status error;
    const ParallelOutcome outcome =
        decoder.run([&](Decoded d) { return extractor.take(std::move(d), nullptr); }, &error);
    if (outcome == ParallelOutcome::kFailed) return error.error();
    if (outcome == ParallelOutcome::kDone) {
      if (Status s = extractor.wait(); !s.ok()) return s.error();
      result.decode_threads = used;
      return complete(extractor);
    }
    extractor.discard();
    result.warnings.resize(warnings_before);
  }

  // In order, on this thread (FFmpeg's frame threads do the decoding).
  auto opened_decoder = open_decoder(st, codec, !options.detect_scenes, 0, input);
  if (!opened_decoder.ok()) return opened_decoder.error();
  CodecPtr dec = std::move(*opened_decoder);
  // Declared after `dec`: its writer thread holds the decoder's pictures until it is joined.
  Extractor extractor(out_dir, options, result.rotation_deg, slot_ms, warnings, log);
  FrameScanner scanner;
  std::optional<GreyPicture> scan;

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
      Status s = extractor.take(describe(frame.get(), std::max<int64_t>(pts_ms, 0), scanner, scan),
                                frame.get());
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
  if (Status s = extractor.wait(); !s.ok()) return s.error();

  if (stopped) warnings.add(*stopped);
  if (decode_errors > 0)
    warnings.add(fmt::format("{} packets could not be decoded", decode_errors));
  if (corrupt_frames > 0)
    warnings.add(fmt::format("{} frames decoded with errors", corrupt_frames));
  return complete(extractor);
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
  nlohmann::json signature = nlohmann::json::array();
  for (const SignatureEntry& e : result.signature) {
    nlohmann::json entry = {{"pts_ms", e.pts_ms}, {"pdq", e.pdq}, {"quality", e.quality}};
    if (e.extra) entry["extra"] = true;
    signature.push_back(std::move(entry));
  }
  return {{"frames", frames},
          {"contact_sheet", result.contact_sheet},
          {"rotation_deg", result.rotation_deg},
          {"warnings", result.warnings},
          {"signature", signature}};
}

}  // namespace cw::pipeline
