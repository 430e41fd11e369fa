// Opening an untrusted video with libavformat, shared by the pipeline stages that read one
// (probe, frames). Internal to pipeline/: the public headers of the stages do not include it.
//
// MediaInput::open() reads the file through an AVIOContext of our own on "file:<path>" with the
// protocol whitelist "file", so a path is never read as a URL; identifies the container and
// checks it against a demuxer list before any demuxer parses the file (no playlists, no
// references to other files, MOV external data references off); and arms a deadline that
// interrupts FFmpeg. LogScope routes FFmpeg's log to a LogCollector for the calling thread and
// keeps it off stderr. Text from the file goes through clean_text() before it leaves a stage.
//
// Thread-safety: a MediaInput, like the AVFormatContext it owns, belongs to one thread. Several
// threads may each open their own.
#pragma once

#include <algorithm>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

extern "C" {
struct AVFormatContext;
struct AVIOContext;
struct AVStream;
}

namespace cw::pipeline::media {

// Warnings a stage reports about one file: duplicates dropped, at most kMaxWarnings kept (a
// hostile file must not grow them without bound).
inline constexpr size_t kMaxWarnings = 50;
class Warnings {
 public:
  explicit Warnings(std::vector<std::string>* out) : out_(out) {}
  void add(std::string text) {
    if (out_->size() >= kMaxWarnings) return;
    if (std::find(out_->begin(), out_->end(), text) != out_->end()) return;
    out_->push_back(std::move(text));
  }

 private:
  std::vector<std::string>* out_;
};

// `in` as valid UTF-8 (each bad byte becomes U+FFFD), cut at a character boundary so that it
// fits in `max_bytes`. Sets *truncated when something was cut.
std::string clean_text(std::string_view in, size_t max_bytes, bool* truncated = nullptr);
std::string_view trim(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
// Replaces every occurrence of `what` in `s` (server paths stay out of user-visible text).
std::string scrub(std::string s, std::string_view what, std::string_view with);

// FFmpeg's warnings and errors for one stage run, one line each, bounded.
class LogCollector {
 public:
  static constexpr size_t kMaxMessages = 20;
  static constexpr size_t kMaxMessageBytes = 200;

  // FFmpeg sometimes logs one message in several calls; a message ends at a newline.
  void add(int level, std::string_view piece);
  void flush();
  // Warnings and errors, in order.
  const std::vector<std::string>& messages() const { return messages_; }
  const std::optional<std::string>& first_error() const { return first_error_; }

 private:
  std::string pending_;
  int pending_level_ = 24;  // AV_LOG_WARNING
  std::vector<std::string> messages_;
  std::optional<std::string> first_error_;
};

// While alive, FFmpeg messages logged on this thread go to `collector`. The first LogScope
// installs a process-wide log callback that never writes to stderr; messages from FFmpeg's own
// threads, or outside a scope, are dropped.
class LogScope {
 public:
  explicit LogScope(LogCollector* collector);
  ~LogScope();
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  LogCollector* previous_;
};

struct OpenOptions {
  std::chrono::milliseconds timeout{std::chrono::seconds(60)};
  int64_t probe_size = 5'000'000;           // FFmpeg's `probesize`
  int64_t analyze_duration_us = 5'000'000;  // FFmpeg's `analyzeduration`
  std::vector<std::string> demuxers;        // accepted FFmpeg demuxer names
};

// An opened, vetted input with its stream info read. Not movable: FFmpeg holds a pointer to the
// deadline inside.
class MediaInput {
 public:
  // REQUIRES: a LogScope for `log` is alive on this thread for as long as the input is used.
  // Errors: kNotFound when there is no such file; kUnprocessable "not a regular file",
  // "empty file", "not a readable video: <reason>", each naming the field "file".
  static Result<std::unique_ptr<MediaInput>> open(const std::string& path,
                                                  const OpenOptions& options, LogCollector& log);
  ~MediaInput();
  MediaInput(const MediaInput&) = delete;
  MediaInput& operator=(const MediaInput&) = delete;

  AVFormatContext* format() const { return ctx_; }
  uint64_t size_bytes() const { return size_; }
  bool deadline_hit() const { return deadline_hit_; }
  // The kUnprocessable error for a failed FFmpeg call: its reason, FFmpeg's first logged
  // error (the path scrubbed out), or the deadline.
  Error failure(int rc) const;

 private:
  MediaInput(std::string path, std::chrono::milliseconds timeout, LogCollector& log);
  static int interrupt(void* opaque);

  std::string path_;
  std::chrono::milliseconds timeout_;
  LogCollector* log_;
  std::chrono::steady_clock::time_point deadline_;
  std::atomic<bool> deadline_hit_{false};
  uint64_t size_ = 0;
  AVIOContext* pb_ = nullptr;       // ours; closed after ctx_
  AVFormatContext* ctx_ = nullptr;  // AVFMT_FLAG_CUSTOM_IO
};

// How the picture of `st` is turned clockwise for display: 0, 90, 180 or 270, from the display
// matrix side data, else from a `rotate` tag (FFmpeg < 5 through containers without a matrix).
// Oddities (a mirroring or non-right-angle matrix, a bad tag) are appended to *notes, each
// starting with `where`.
int stream_rotation(const AVStream* st, std::string_view where, std::vector<std::string>* notes);

}  // namespace cw::pipeline::media
