// The probe stage: what a video file says about itself, read with libavformat — container,
// streams, duration, rotation, creation time, ISO 6709 GPS position, camera make/model/software,
// encoder and every raw tag — without decoding the picture (find_stream_info decodes a few
// packets to learn codec parameters, nothing more).
//
// probe_media() is a pure function of (path, options): it never touches the database or HTTP.
// It runs on untrusted uploads inside the sandboxed worker child, so it treats the file as
// hostile: only the file protocol and a list of video demuxers are allowed (no playlists, no
// references to other files), every FFmpeg return value is checked, tag counts and sizes are
// bounded, tag text is made valid UTF-8, and a deadline interrupts FFmpeg. Expected failures
// (empty file, not a video, no video stream) are kUnprocessable errors; oddities that still
// leave a usable result (a malformed location, an odd rotation, FFmpeg warnings) are strings
// in ProbeResult::warnings.
//
// Thread-safety: probe_media() may be called from several threads at once. The first call
// installs a process-wide FFmpeg log callback that keeps FFmpeg quiet on stderr and collects
// its warnings for the calling thread's probe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "geo/point.hpp"

namespace cw::pipeline {

// Raw metadata, in file order. Keys and values are valid UTF-8 (bad bytes become U+FFFD).
using Tags = std::vector<std::pair<std::string, std::string>>;

enum class StreamType { kVideo, kAudio, kSubtitle, kData, kAttachment, kUnknown };

// "video", "audio", "subtitle", "data", "attachment", "unknown".
const char* stream_type_name(StreamType type);

struct StreamInfo {
  int index = 0;
  StreamType type = StreamType::kUnknown;
  std::string codec;                   // FFmpeg's short name ("h264"); "none" when unknown
  std::optional<std::string> profile;  // "High", "Main", "LC"
  bool default_stream = false;         // disposition "default"
  bool attached_pic = false;           // cover art, not a video track
  std::optional<double> duration_s;
  std::optional<int64_t> bit_rate;  // bits per second
  Tags tags;

  // Video. width/height are as stored (before rotation); rotation_deg is how the picture is
  // turned clockwise for display: 0, 90, 180 or 270.
  std::optional<int> width;
  std::optional<int> height;
  std::optional<double> avg_frame_rate;
  std::optional<double> r_frame_rate;
  std::optional<std::string> pixel_format;
  int rotation_deg = 0;

  // Audio.
  std::optional<int> sample_rate;
  std::optional<int> channels;
  std::optional<std::string> channel_layout;
};

struct ProbeResult {
  // Container.
  std::string format_name;       // FFmpeg demuxer name: "mov,mp4,m4a,3gp,3g2,mj2"
  std::string format_long_name;  // "QuickTime / MOV"
  std::string container;         // short: "mp4", "mov", "3gp", "webm", "mkv", "avi", "mpegts"
  std::optional<double> duration_s;
  std::optional<int64_t> bit_rate;
  int64_t size_bytes = 0;
  std::vector<StreamInfo> streams;

  // Summary of the main video stream (see probe.cpp for how it is chosen), as the media JSON
  // carries it. width/height are as displayed: swapped when rotation_deg is 90 or 270.
  int video_stream = 0;  // StreamInfo::index of the main video
  int width = 0;
  int height = 0;
  int rotation_deg = 0;
  std::optional<double> fps;
  std::string video_codec;
  bool audio = false;

  std::optional<TimePoint> creation_time;
  std::optional<geo::GeoPoint> location;
  // The location tag's text as written, kept whether or not it parsed (a malformed one is
  // evidence too and gets a warning).
  std::optional<std::string> location_raw;
  std::optional<std::string> make;
  std::optional<std::string> model;
  std::optional<std::string> software;
  std::optional<std::string> encoder;

  Tags format_tags;
  std::vector<std::string> warnings;
};

// Demuxers probe_media accepts (FFmpeg names). Playlist and script formats (hls, dash, concat),
// image sequences and audio-only formats are left out on purpose: the first can make FFmpeg
// open other files, the rest are not videos.
const std::vector<std::string>& default_video_demuxers();

struct ProbeOptions {
  // FFmpeg is interrupted after this long; the probe then fails as unreadable.
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  // Bytes FFmpeg reads to identify the container and the streams (FFmpeg's `probesize`).
  int64_t probe_size = 5'000'000;
  // Stream time FFmpeg analyses for codec parameters, µs (FFmpeg's `analyzeduration`).
  int64_t analyze_duration_us = 5'000'000;
  std::vector<std::string> demuxers = default_video_demuxers();
};

// Reads the metadata of the video at `path` (a local file; never interpreted as a URL).
// Errors: kNotFound when there is no such file; kUnprocessable "empty file", "not a readable
// video: <reason>" or "no video stream", each naming the field "file".
Result<ProbeResult> probe_media(const std::string& path, const ProbeOptions& options = {});

// The media JSON: container, duration_s, bit_rate, size_bytes, width, height, rotation_deg, fps,
// video_codec, audio, creation_time (RFC 3339), location {lat, lon, alt}, location_raw, make,
// model, software, encoder, streams [...], tags {"format": {...}, "streams": [{...}, ...]},
// warnings [...]. Missing values are null.
nlohmann::json to_json(const ProbeResult& result);

}  // namespace cw::pipeline
