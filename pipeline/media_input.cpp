// MediaInput, FFmpeg log capture and the text helpers shared by the pipeline stages that open a
// video (FFmpeg 5.1 API). Moved out of probe.cpp so that probe and frames open files the same
// guarded way.
#include "pipeline/media_input.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
}

#include "common/utf8.hpp"

namespace cw::pipeline::media {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxDetailMessageBytes = 120;

thread_local LogCollector* t_collector = nullptr;

void log_callback(void* avcl, int level, const char* fmt, va_list args) {
  LogCollector* collector = t_collector;
  if (collector == nullptr || level > AV_LOG_WARNING || fmt == nullptr) return;
  char line[1024];
  int print_prefix = 0;  // no "[mov,mp4,... @ 0x55d...]" prefix
  if (av_log_format_line2(avcl, level, fmt, args, line, sizeof line, &print_prefix) < 0) return;
  collector->add(level, line);
}

// Owns an AVDictionary of options; FFmpeg takes and gives back the pointer.
class Options {
 public:
  Options() = default;
  ~Options() { av_dict_free(&dict_); }
  Options(const Options&) = delete;
  Options& operator=(const Options&) = delete;
  bool set(const char* key, const std::string& value) {
    return av_dict_set(&dict_, key, value.c_str(), 0) >= 0;
  }
  AVDictionary** get() { return &dict_; }

 private:
  AVDictionary* dict_ = nullptr;
};

std::string av_error_text(int rc) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(rc, buf, sizeof buf);  // fills "Error number N occurred" for unknown codes
  return clean_text(buf, sizeof buf);
}

// Clockwise degrees → 0, 90, 180 or 270 (a display matrix can hold any angle; frames are only
// ever turned by quarter turns, and a non-right angle is worth a note).
int quarter_turns(double clockwise_deg, std::string_view where, std::vector<std::string>* notes) {
  if (!std::isfinite(clockwise_deg)) {
    notes->push_back(fmt::format("{}: display matrix has no rotation (singular); 0° used", where));
    return 0;
  }
  double r = std::fmod(clockwise_deg, 360.0);
  if (r < 0) r += 360.0;
  const long turns = std::lround(r / 90.0);
  const int rounded = static_cast<int>(turns % 4) * 90;
  if (std::abs(r - static_cast<double>(turns) * 90.0) > 1.0) {
    notes->push_back(fmt::format("{}: rotation of {:.1f}° rounded to {}°", where, r, rounded));
  }
  return rounded;
}

}  // namespace

std::string clean_text(std::string_view in, size_t max_bytes, bool* truncated) {
  static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(std::min(in.size(), max_bytes));
  size_t i = 0;
  while (i < in.size()) {
    const size_t n = utf8_sequence_length(in, i);
    const std::string_view piece = n > 0 ? in.substr(i, n) : kReplacement;
    if (out.size() + piece.size() > max_bytes) break;
    out += piece;
    i += n > 0 ? n : 1;
  }
  if (truncated != nullptr) *truncated = i < in.size();
  return out;
}

std::string_view trim(std::string_view s) {
  const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string scrub(std::string s, std::string_view what, std::string_view with) {
  if (what.empty()) return s;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// Logging.

void LogCollector::add(int level, std::string_view piece) {
  if (pending_.size() < kMaxMessageBytes) pending_ += piece;
  pending_level_ = std::min(pending_level_, level);
  if (!piece.empty() && piece.back() == '\n') flush();
}

void LogCollector::flush() {
  // One line each: FFmpeg wraps some messages ("Consider increasing the value for ...").
  for (char& c : pending_) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  std::string text = clean_text(trim(pending_), kMaxMessageBytes);
  const int level = pending_level_;
  pending_.clear();
  pending_level_ = AV_LOG_WARNING;
  if (text.empty()) return;
  if (level <= AV_LOG_ERROR && !first_error_) first_error_ = text;
  if (messages_.size() < kMaxMessages) messages_.push_back(std::move(text));
}

LogScope::LogScope(LogCollector* collector) : previous_(t_collector) {
  static std::once_flag installed;
  std::call_once(installed, [] { av_log_set_callback(log_callback); });
  t_collector = collector;
}

LogScope::~LogScope() { t_collector = previous_; }

// ---------------------------------------------------------------------------------------------
// MediaInput.

MediaInput::MediaInput(std::string path, std::chrono::milliseconds timeout, LogCollector& log)
    : path_(std::move(path)),
      timeout_(timeout),
      log_(&log),
      deadline_(std::chrono::steady_clock::now() + timeout) {}

MediaInput::~MediaInput() {
  if (ctx_ != nullptr) avformat_close_input(&ctx_);
  if (pb_ != nullptr) avio_close(pb_);
}

int MediaInput::interrupt(void* opaque) {
  auto* self = static_cast<MediaInput*>(opaque);
  if (std::chrono::steady_clock::now() < self->deadline_) return 0;
  self->deadline_hit_ = true;
  return 1;
}

Error MediaInput::failure(int rc) const {
  if (deadline_hit_) {
    return Error(Code::kUnprocessable,
                 fmt::format("not a readable video: reading it took longer than {} s",
                             std::chrono::duration_cast<std::chrono::seconds>(timeout_).count()),
                 "file");
  }
  const std::string reason = av_error_text(rc);
  log_->flush();
  std::string detail = "not a readable video: " + reason;
  if (log_->first_error()) {
    const std::string message =
        clean_text(scrub(*log_->first_error(), path_, "<file>"), kMaxDetailMessageBytes);
    if (message != reason) detail += " (" + message + ")";
  }
  return Error(Code::kUnprocessable, detail, "file");
}

Result<std::unique_ptr<MediaInput>> MediaInput::open(const std::string& path,
                                                     const OpenOptions& options,
                                                     LogCollector& log) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Error(Code::kNotFound, "media file not found", "file");
  if (!fs::is_regular_file(status))
    return Error(Code::kUnprocessable, "not a regular file", "file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Error(Code::kNotFound, "media file not found", "file");
  if (size == 0) return Error(Code::kUnprocessable, "empty file", "file");

  std::unique_ptr<MediaInput> in(new MediaInput(path, options.timeout, log));
  in->size_ = size;
  const AVIOInterruptCB interrupt_cb{&MediaInput::interrupt, in.get()};

  // The file protocol only, even for anything a nested open might try.
  const std::string url = "file:" + path;
  {
    Options io_options;
    if (!io_options.set("protocol_whitelist", "file")) {
      return Error(Code::kInternal, "out of memory setting FFmpeg options");
    }
    const int rc =
        avio_open2(&in->pb_, url.c_str(), AVIO_FLAG_READ, &interrupt_cb, io_options.get());
    if (rc < 0) return in->failure(rc);
  }

  // Identify the container and vet it before any demuxer parses the file.
  const AVInputFormat* format = nullptr;
  const auto probe_bytes = static_cast<unsigned>(
      std::clamp<int64_t>(options.probe_size, 2048, std::numeric_limits<int>::max()));
  if (const int rc = av_probe_input_buffer2(in->pb_, &format, url.c_str(), nullptr, 0, probe_bytes);
      rc < 0) {
    return in->failure(rc);
  }
  if (format == nullptr || format->name == nullptr) return in->failure(AVERROR_INVALIDDATA);
  if (std::find(options.demuxers.begin(), options.demuxers.end(), format->name) ==
      options.demuxers.end()) {
    return Error(Code::kUnprocessable,
                 fmt::format("not a readable video: {} is not an accepted video container",
                             format->long_name != nullptr ? format->long_name : format->name),
                 "file");
  }

  {
    AVFormatContext* raw = avformat_alloc_context();
    if (raw == nullptr) return Error(Code::kInternal, "out of memory opening a video");
    raw->pb = in->pb_;
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;  // pb stays ours to close, after the context
    raw->interrupt_callback = interrupt_cb;
    Options open_options;
    const bool set =
        open_options.set("protocol_whitelist", "file") &&
        open_options.set("probesize", std::to_string(options.probe_size)) &&
        open_options.set("analyzeduration", std::to_string(options.analyze_duration_us)) &&
        open_options.set("enable_drefs", "0");  // mov: no external data references
    if (!set) {
      avformat_free_context(raw);
      return Error(Code::kInternal, "out of memory setting FFmpeg options");
    }
    // On failure avformat_open_input frees the context and nulls `raw`.
    const int rc = avformat_open_input(&raw, url.c_str(), format, open_options.get());
    if (rc < 0) return in->failure(rc);
    in->ctx_ = raw;
  }
  if (const int rc = avformat_find_stream_info(in->ctx_, nullptr); rc < 0) return in->failure(rc);
  return in;
}

// FFmpeg's av_display_rotation_get() answers counter-clockwise, so its sign is flipped: an
// iPhone portrait clip (tkhd matrix 0 1 / -1 0) gives -90 there and 90 here, and ffmpeg's own
// autorotate turns it clockwise.
int stream_rotation(const AVStream* st, std::string_view where, std::vector<std::string>* notes) {
  size_t size = 0;
  const uint8_t* side = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (side != nullptr && size >= 9 * sizeof(int32_t)) {
    int32_t matrix[9];
    std::memcpy(matrix, side, sizeof matrix);  // side data need not be aligned
    const int64_t det = int64_t{matrix[0]} * matrix[4] - int64_t{matrix[1]} * matrix[3];
    if (det < 0)
      notes->push_back(fmt::format("{}: display matrix also mirrors the picture", where));
    return quarter_turns(-av_display_rotation_get(matrix), where, notes);
  }
  const AVDictionaryEntry* entry = av_dict_get(st->metadata, "rotate", nullptr, 0);
  if (entry == nullptr || entry->value == nullptr) return 0;
  const std::string tag(trim(clean_text(entry->value, 64)));
  if (tag.empty()) return 0;
  int value = 0;
  const auto [end, ec] = std::from_chars(tag.data(), tag.data() + tag.size(), value);
  if (ec == std::errc() && end == tag.data() + tag.size()) {
    return quarter_turns(value, where, notes);
  }
  notes->push_back(fmt::format("{}: rotate tag \"{}\" is not a number; ignored", where, tag));
  return 0;
}

}  // namespace cw::pipeline::media
