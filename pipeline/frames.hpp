// The frames stage: the still pictures an analyst looks at instead of the video. From the main
// video stream it picks keyframes, scene changes and uniform samples (at most one a second),
// drops near-identical ones, keeps at most FramesOptions::max_frames spread over the whole
// timeline, turns them upright, and writes each as a full-size JPEG, a thumbnail, and all the
// thumbnails as one contact sheet with timestamps. In the same pass it computes the video's
// signature: a PDQ hash (pdq.hpp) of one frame a second, bars trimmed, corners left out and
// upright, plus the hashes of the frames between those that look different, for finding
// near-duplicate footage (video_match.hpp).
//
// extract_frames() is a pure function of (path, out_dir, options): it never touches the database
// or HTTP; it writes only the files it names in its result, inside out_dir. It runs on untrusted
// uploads in the sandboxed worker child, so the file is opened the guarded way probe_media opens
// it (media_input.hpp), every FFmpeg return is checked, loops are bounded and a deadline
// interrupts FFmpeg. A decode error part-way keeps what was extracted and adds a warning.
//
// How it stays cheap (see docs/frames.md): one decoding pass that skips the frames nothing refers
// to (AVDISCARD_NONREF) and deblocks only keyframes, split into pieces of the timeline decoded on
// several cores when the container indexes its keyframes; every decoded frame is scored on a
// 64×36 grey copy; only the few candidate frames are handed to a writer thread, which measures,
// converts and encodes them while decoding goes on.
//
// Thread-safety: extract_frames() may run on several threads at once (distinct out_dirs). Each
// call starts (and joins) threads of its own: a writer, and decoding threads (decode_threads).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace cw::pipeline {

enum class FrameKind { kKeyframe, kScene, kSample };

// "keyframe", "scene", "sample".
const char* frame_kind_name(FrameKind kind);

struct FrameInfo {
  int index = 0;       // 0-based, in time order; the NNN of the file names (frame_000.jpg)
  int64_t pts_ms = 0;  // presentation time from the start of the stream
  FrameKind kind = FrameKind::kSample;
  int width = 0;  // upright (after rotation), as saved
  int height = 0;
  double sharpness = 0;  // variance of the Laplacian of the grey picture; higher is sharper
  std::string file;      // "frame_000.jpg", relative to out_dir
  std::string thumb;     // "thumb_000.jpg"
};

// One entry of the video signature. A sample is the PDQ hash of the first decoded frame at or
// after a multiple of FramesOptions::signature_interval: samples are what match percentages
// count. An extra is the hash of a decoded frame between two samples (signature_extra_interval)
// that differs from the hash kept before it by more than kSignatureExtraMinBits and has a
// usable quality: what the other video's samples, taken at other instants when it was cut at a
// fraction of a second, are compared with.
struct SignatureEntry {
  int64_t pts_ms = 0;
  // 64 lowercase hex digits (PdqHash::to_hex), of the upright picture with black or uniform bars
  // (letterbox, pillarbox, coloured padding, nested) trimmed off and its four corners (where
  // channels put their logos) filled with its mean level, hashed from its luma scaled to at most
  // 512 px.
  std::string pdq;
  int quality = 0;  // 0..100; below 50 (blank, flat frames) it should not be matched
  bool extra = false;
};

// Extras closer than this to the hash kept before them (sample or extra) are not kept.
inline constexpr int kSignatureExtraMinBits = 12;
// Extras are kept only from this quality (PDQ's own floor for matching).
inline constexpr int kSignatureExtraMinQuality = 50;

struct FramesResult {
  std::vector<FrameInfo> frames;  // in time order
  // In time order: samples, at most one an interval, and the extras between them.
  std::vector<SignatureEntry> signature;
  std::string contact_sheet;  // "contact_sheet.jpg", relative to out_dir
  int rotation_deg = 0;       // clockwise turn applied to every frame
  std::vector<std::string> warnings;
  // Threads that decoded the video (FramesOptions::decode_threads); 1: in order. Not in the JSON.
  int decode_threads = 1;
};

struct FramesOptions {
  int max_frames = 64;
  // Uniform samples at most this often.
  std::chrono::milliseconds sample_interval{1000};
  // When false, only keyframes are decoded (much faster, no scene changes; samples become the
  // keyframe nearest each interval).
  bool detect_scenes = true;
  // Scene change: mean absolute difference (0–255) of the 64×36 grey copies of consecutive
  // decoded frames at least this, and at least scene_ratio times the recent average.
  double scene_threshold = 25.0;
  double scene_ratio = 3.0;
  // A pick whose 64×36 grey copy differs from the previously kept one by less than this mean
  // absolute difference is a near-duplicate and is dropped.
  double duplicate_threshold = 1.0;
  // One signature hash an interval: the first decoded frame at or after each multiple of it (with
  // detect_scenes = false only keyframes are decoded, so it is the next keyframe). 0 turns the
  // signature off.
  std::chrono::milliseconds signature_interval{1000};
  // Extras: between samples, the first decoded frame at or after each multiple of this is hashed
  // as well (and kept when it differs, see SignatureEntry). 0 turns extras off. Cost: about
  // 1 ms of the writer thread a 1080p frame hashed.
  std::chrono::milliseconds signature_extra_interval{60};
  int thumb_long_side = 320;
  int jpeg_quality = 90;
  int contact_sheet_columns = 8;
  // Threads decoding pieces of the timeline at once, each from a keyframe of the container's
  // index (MP4, Matroska, AVI), when the video is at least ~10 s long: 0 = one a core (at most
  // 4), 1 = one pass in order. The result is the same either way; a file that does not decode
  // cleanly is decoded in order, which gives its warnings.
  int decode_threads = 0;
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};
  // Bound on packets read (a hostile file cannot make the loop endless).
  int64_t max_packets = 50'000'000;
};

// Extracts frames from the video at `path` into the existing directory `out_dir`.
// REQUIRES: out_dir exists and is writable; files named frame_*.jpg, thumb_*.jpg and
// contact_sheet.jpg there are overwritten.
// Errors: kNotFound (no such file); kUnprocessable "not a readable video: ...", "no video
// stream", "no decodable video frames" (field "file"); kInternal when a file cannot be written.
Result<FramesResult> extract_frames(const std::string& path, const std::string& out_dir,
                                    const FramesOptions& options = {});

// {"frames": [{index, pts_ms, kind, width, height, sharpness, file, thumb}],
//  "contact_sheet": "contact_sheet.jpg", "rotation_deg": N, "warnings": [...],
//  "signature": [{"pts_ms": N, "pdq": "<64 hex>", "quality": N}]} — extras have "extra": true
nlohmann::json to_json(const FramesResult& result);

}  // namespace cw::pipeline
