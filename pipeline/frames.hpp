// The frames stage: the still pictures an analyst looks at instead of the video. From the main
// video stream it picks keyframes, scene changes and uniform samples (at most one a second),
// drops near-identical ones, keeps at most FramesOptions::max_frames spread over the whole
// timeline, turns them upright, and writes each as a full-size JPEG, a thumbnail, and all the
// thumbnails as one contact sheet with timestamps.
//
// extract_frames() is a pure function of (path, out_dir, options): it never touches the database
// or HTTP; it writes only the files it names in its result, inside out_dir. It runs on untrusted
// uploads in the sandboxed worker child, so the file is opened the guarded way probe_media opens
// it (media_input.hpp), every FFmpeg return is checked, loops are bounded and a deadline
// interrupts FFmpeg. A decode error part-way keeps what was extracted and adds a warning.
//
// How it stays cheap (see frames.cpp): one decoding pass in file order that skips the frames
// nothing refers to (AVDISCARD_NONREF) and deblocks only keyframes; every decoded frame is scored
// on a 64×36 grey copy; only the few frames that win a time slot are converted, measured and
// encoded.
//
// Thread-safety: extract_frames() may run on several threads at once (distinct out_dirs).
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

struct FramesResult {
  std::vector<FrameInfo> frames;  // in time order
  std::string contact_sheet;      // "contact_sheet.jpg", relative to out_dir
  int rotation_deg = 0;           // clockwise turn applied to every frame
  std::vector<std::string> warnings;
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
  int thumb_long_side = 320;
  int jpeg_quality = 90;
  int contact_sheet_columns = 8;
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
//  "contact_sheet": "contact_sheet.jpg", "rotation_deg": N, "warnings": [...]}
nlohmann::json to_json(const FramesResult& result);

}  // namespace cw::pipeline
