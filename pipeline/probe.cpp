// probe_media with libavformat (FFmpeg 5.1 API), and the media JSON built from its result.
//
// The file is opened through an AVIOContext of our own on "file:<path>" with the protocol
// whitelist "file", so a path is never read as a URL; the container is identified first and
// checked against the demuxer list before any demuxer runs, which keeps playlists (hls, concat)
// from making FFmpeg open other files. Everything read from the file is bounded and cleaned to
// UTF-8 before it leaves this file.
#include "pipeline/probe.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdarg>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavformat/avio.h>
#include <libavutil/avutil.h>
#include <libavutil/channel_layout.h>
#include <libavutil/dict.h>
#include <libavutil/display.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/pixdesc.h>
}

#include "geo/iso6709.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

// Bounds on what a hostile file can make us keep. Real files have a few dozen short tags.
constexpr size_t kMaxTags = 256;             // per dictionary (format, or one stream)
constexpr size_t kMaxTagKeyBytes = 256;      //
constexpr size_t kMaxTagValueBytes = 16384;  // long descriptions and XMP-like blobs
constexpr size_t kMaxStreams = 64;           // streams listed; FFmpeg itself allows 1000
constexpr size_t kMaxWarnings = 50;          //
constexpr size_t kMaxLogMessages = 20;       // FFmpeg warnings kept per probe
constexpr size_t kMaxLogMessageBytes = 200;  //
constexpr size_t kMaxDetailMessageBytes = 120;

// ---------------------------------------------------------------------------------------------
// Text from the file: valid UTF-8, bounded.

// Length of the valid UTF-8 sequence at s[i], or 0 when it is not one (overlong forms,
// surrogates and code points above U+10FFFF are invalid).
size_t utf8_sequence_length(std::string_view s, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  size_t n = 0;
  uint32_t cp = 0;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  static constexpr uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMinForLength[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// `in` as valid UTF-8 (each bad byte becomes U+FFFD), cut at a character boundary so that it
// fits in `max_bytes`. Sets *truncated when something was cut.
std::string clean_text(std::string_view in, size_t max_bytes, bool* truncated = nullptr) {
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

// Replaces every occurrence of `what` in `s` (server paths stay out of user-visible text).
std::string scrub(std::string s, std::string_view what, std::string_view with) {
  if (what.empty()) return s;
  for (size_t pos = s.find(what); pos != std::string::npos; pos = s.find(what, pos + with.size())) {
    s.replace(pos, what.size(), with);
  }
  return s;
}

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

// ---------------------------------------------------------------------------------------------
// FFmpeg logging: one process-wide callback that never writes to stderr. While a probe runs,
// the calling thread's warnings and errors are kept (bounded) for the result; messages logged
// from FFmpeg's own threads, or outside a probe, are dropped.

// FFmpeg sometimes logs one message in several calls; a message ends at a newline.
class LogCollector {
 public:
  void add(int level, std::string_view piece) {
    if (pending_.size() < kMaxLogMessageBytes) pending_ += piece;
    pending_level_ = std::min(pending_level_, level);
    if (!piece.empty() && piece.back() == '\n') flush();
  }
  void flush() {
    // One line each: FFmpeg wraps some messages ("Consider increasing the value for ...").
    for (char& c : pending_) {
      if (static_cast<unsigned char>(c) < 0x20) c = ' ';
    }
    std::string text = clean_text(trim(pending_), kMaxLogMessageBytes);
    const int level = pending_level_;
    pending_.clear();
    pending_level_ = AV_LOG_WARNING;
    if (text.empty()) return;
    if (level <= AV_LOG_ERROR && !first_error_) first_error_ = text;
    if (messages_.size() < kMaxLogMessages) messages_.push_back(std::move(text));
  }
  // Warnings and errors, in order.
  const std::vector<std::string>& messages() const { return messages_; }
  const std::optional<std::string>& first_error() const { return first_error_; }

 private:
  std::string pending_;
  int pending_level_ = AV_LOG_WARNING;
  std::vector<std::string> messages_;
  std::optional<std::string> first_error_;
};

thread_local LogCollector* t_collector = nullptr;

void log_callback(void* avcl, int level, const char* fmt, va_list args) {
  LogCollector* collector = t_collector;
  if (collector == nullptr || level > AV_LOG_WARNING || fmt == nullptr) return;
  char line[1024];
  int print_prefix = 0;  // no "[mov,mp4,... @ 0x55d...]" prefix
  if (av_log_format_line2(avcl, level, fmt, args, line, sizeof line, &print_prefix) < 0) return;
  collector->add(level, line);
}

class LogScope {
 public:
  explicit LogScope(LogCollector* collector) : previous_(t_collector) {
    static std::once_flag installed;
    std::call_once(installed, [] { av_log_set_callback(log_callback); });
    t_collector = collector;
  }
  ~LogScope() { t_collector = previous_; }
  LogScope(const LogScope&) = delete;
  LogScope& operator=(const LogScope&) = delete;

 private:
  LogCollector* previous_;
};

// ---------------------------------------------------------------------------------------------
// FFmpeg resources.

struct Deadline {
  std::chrono::steady_clock::time_point at;
  std::atomic<bool> hit{false};
};

int interrupt_callback(void* opaque) {
  auto* deadline = static_cast<Deadline*>(opaque);
  if (std::chrono::steady_clock::now() < deadline->at) return 0;
  deadline->hit = true;
  return 1;
}

struct IoCloser {
  void operator()(AVIOContext* pb) const { avio_close(pb); }
};
struct FormatCloser {
  void operator()(AVFormatContext* ctx) const { avformat_close_input(&ctx); }
};
using IoPtr = std::unique_ptr<AVIOContext, IoCloser>;
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;

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

Error unreadable(const std::string& reason, LogCollector& log, std::string_view path) {
  log.flush();
  std::string detail = "not a readable video: " + reason;
  if (log.first_error()) {
    const std::string message =
        clean_text(scrub(*log.first_error(), path, "<file>"), kMaxDetailMessageBytes);
    if (message != reason) detail += " (" + message + ")";
  }
  return Error(Code::kUnprocessable, detail, "file");
}

// ---------------------------------------------------------------------------------------------
// Reading values out of FFmpeg structures.

std::optional<double> positive_rate(AVRational r) {
  if (r.num <= 0 || r.den <= 0) return std::nullopt;
  const double v = av_q2d(r);
  if (!std::isfinite(v) || v <= 0) return std::nullopt;
  return v;
}

std::optional<double> seconds(int64_t ticks, AVRational time_base) {
  if (ticks == AV_NOPTS_VALUE || ticks <= 0 || time_base.num <= 0 || time_base.den <= 0) {
    return std::nullopt;
  }
  const double v = static_cast<double>(ticks) * av_q2d(time_base);
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

Tags read_tags(const AVDictionary* dict, std::string_view where, Warnings& warnings) {
  Tags tags;
  const AVDictionaryEntry* entry = nullptr;
  while ((entry = av_dict_get(dict, "", entry, AV_DICT_IGNORE_SUFFIX)) != nullptr) {
    if (tags.size() >= kMaxTags) {
      warnings.add(fmt::format("{}: only the first {} of {} tags kept", where, kMaxTags,
                               av_dict_count(dict)));
      break;
    }
    if (entry->key == nullptr) continue;
    bool cut = false;
    std::string key = clean_text(entry->key, kMaxTagKeyBytes);
    std::string value =
        entry->value == nullptr ? std::string() : clean_text(entry->value, kMaxTagValueBytes, &cut);
    if (cut) warnings.add(fmt::format("{}: tag {} cut to {} bytes", where, key, value.size()));
    tags.emplace_back(std::move(key), std::move(value));
  }
  return tags;
}

// The trimmed, non-empty value of the first tag named `key` (ASCII case ignored).
std::optional<std::string> find_tag(const Tags& tags, std::string_view key) {
  for (const auto& [k, v] : tags) {
    if (!iequals(k, key)) continue;
    const std::string_view value = trim(v);
    if (!value.empty()) return std::string(value);
  }
  return std::nullopt;
}

StreamType stream_type(AVMediaType type) {
  switch (type) {
    case AVMEDIA_TYPE_VIDEO:
      return StreamType::kVideo;
    case AVMEDIA_TYPE_AUDIO:
      return StreamType::kAudio;
    case AVMEDIA_TYPE_SUBTITLE:
      return StreamType::kSubtitle;
    case AVMEDIA_TYPE_DATA:
      return StreamType::kData;
    case AVMEDIA_TYPE_ATTACHMENT:
      return StreamType::kAttachment;
    default:
      return StreamType::kUnknown;
  }
}

// Clockwise degrees → 0, 90, 180 or 270 (a display matrix can hold any angle; frames are only
// ever turned by quarter turns, and a non-right angle is worth a warning).
int quarter_turns(double clockwise_deg, std::string_view where, Warnings& warnings) {
  if (!std::isfinite(clockwise_deg)) {
    warnings.add(fmt::format("{}: display matrix has no rotation (singular); 0° used", where));
    return 0;
  }
  double r = std::fmod(clockwise_deg, 360.0);
  if (r < 0) r += 360.0;
  const long turns = std::lround(r / 90.0);
  const int rounded = static_cast<int>(turns % 4) * 90;
  if (std::abs(r - static_cast<double>(turns) * 90.0) > 1.0) {
    warnings.add(fmt::format("{}: rotation of {:.1f}° rounded to {}°", where, r, rounded));
  }
  return rounded;
}

// How the picture is turned clockwise for display. FFmpeg's av_display_rotation_get() answers
// counter-clockwise, so its sign is flipped: an iPhone portrait clip (tkhd matrix 0 1 / -1 0)
// gives -90 there and 90 here, and ffmpeg's own autorotate turns it clockwise.
int stream_rotation(const AVStream* st, const Tags& tags, std::string_view where,
                    Warnings& warnings) {
  size_t size = 0;
  const uint8_t* side = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
  if (side != nullptr && size >= 9 * sizeof(int32_t)) {
    int32_t matrix[9];
    std::memcpy(matrix, side, sizeof matrix);  // side data need not be aligned
    const int64_t det = int64_t{matrix[0]} * matrix[4] - int64_t{matrix[1]} * matrix[3];
    if (det < 0) warnings.add(fmt::format("{}: display matrix also mirrors the picture", where));
    return quarter_turns(-av_display_rotation_get(matrix), where, warnings);
  }
  // Files written by FFmpeg < 5 through containers without a matrix carry a `rotate` tag,
  // clockwise degrees.
  if (auto tag = find_tag(tags, "rotate")) {
    int value = 0;
    const auto [end, ec] = std::from_chars(tag->data(), tag->data() + tag->size(), value);
    if (ec == std::errc() && end == tag->data() + tag->size()) {
      return quarter_turns(value, where, warnings);
    }
    warnings.add(fmt::format("{}: rotate tag \"{}\" is not a number; ignored", where, *tag));
  }
  return 0;
}

StreamInfo read_stream(const AVStream* st, Warnings& warnings) {
  StreamInfo s;
  s.index = st->index;
  const std::string where = fmt::format("stream {}", st->index);
  const AVCodecParameters* par = st->codecpar;
  s.tags = read_tags(st->metadata, where, warnings);
  s.default_stream = (st->disposition & AV_DISPOSITION_DEFAULT) != 0;
  s.attached_pic = (st->disposition & AV_DISPOSITION_ATTACHED_PIC) != 0;
  s.duration_s = seconds(st->duration, st->time_base);
  if (par == nullptr) return s;
  s.type = stream_type(par->codec_type);
  s.codec = avcodec_get_name(par->codec_id);
  if (par->profile != FF_PROFILE_UNKNOWN) {
    if (const char* name = avcodec_profile_name(par->codec_id, par->profile)) s.profile = name;
  }
  if (par->bit_rate > 0) s.bit_rate = par->bit_rate;
  if (s.type == StreamType::kVideo) {
    if (par->width > 0) s.width = par->width;
    if (par->height > 0) s.height = par->height;
    s.avg_frame_rate = positive_rate(st->avg_frame_rate);
    s.r_frame_rate = positive_rate(st->r_frame_rate);
    if (par->format >= 0 && par->format < AV_PIX_FMT_NB) {
      if (const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(par->format))) {
        s.pixel_format = name;
      }
    }
    s.rotation_deg = stream_rotation(st, s.tags, where, warnings);
  } else if (s.type == StreamType::kAudio) {
    if (par->sample_rate > 0) s.sample_rate = par->sample_rate;
    if (par->ch_layout.nb_channels > 0) {
      s.channels = par->ch_layout.nb_channels;
      char layout[128] = {};
      if (av_channel_layout_describe(&par->ch_layout, layout, sizeof layout) > 0) {
        s.channel_layout = clean_text(layout, sizeof layout);
      }
    }
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The summary fields.

// The main video: not cover art; among the rest the default-flagged one, then the largest
// picture, then the lowest index.
const StreamInfo* main_video(const std::vector<StreamInfo>& streams) {
  const StreamInfo* best = nullptr;
  const auto rank = [](const StreamInfo& s) {
    return std::make_pair(s.default_stream,
                          int64_t{s.width.value_or(0)} * int64_t{s.height.value_or(0)});
  };
  for (const StreamInfo& s : streams) {
    if (s.type != StreamType::kVideo || s.attached_pic) continue;
    if (best == nullptr || rank(s) > rank(*best)) best = &s;
  }
  return best;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// A short container name: the mov demuxer reads mp4, mov and 3gp alike, so its ftyp major
// brand says which; the matroska demuxer reads WebM too, which allows only VP8/VP9/AV1 with
// Vorbis/Opus.
std::string short_container(const ProbeResult& r) {
  if (r.format_name.starts_with("mov,")) {
    const std::optional<std::string> brand = find_tag(r.format_tags, "major_brand");
    if (!brand || iequals(*brand, "qt")) return "mov";
    if (starts_with_ci(*brand, "3g2")) return "3g2";
    if (starts_with_ci(*brand, "3g")) return "3gp";
    if (iequals(*brand, "mjp2")) return "mj2";
    if (starts_with_ci(*brand, "m4v")) return "m4v";
    return "mp4";
  }
  if (r.format_name == "matroska,webm") {
    static const std::vector<std::string_view> kWebm = {"vp8",    "vp9",  "av1",
                                                        "vorbis", "opus", "webvtt"};
    const bool webm = std::all_of(r.streams.begin(), r.streams.end(), [](const StreamInfo& s) {
      return std::find(kWebm.begin(), kWebm.end(), s.codec) != kWebm.end();
    });
    return webm ? "webm" : "mkv";
  }
  return r.format_name.substr(0, r.format_name.find(','));
}

// Creation times come as RFC 3339 from FFmpeg ("2022-02-16T06:05:00.000000Z"), with a colon-less
// offset from Apple ("2022-02-16T09:05:00+0300") and without a zone from AVI ("2022-02-16
// 06:05:00"), which is read as UTC with a warning.
std::optional<TimePoint> parse_creation_time(std::string_view raw, std::string_view where,
                                             Warnings& warnings) {
  std::string text(trim(raw));
  if (auto t = parse_rfc3339(text)) return *t;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const size_t n = text.size();
  if (n > 19 && (text[n - 5] == '+' || text[n - 5] == '-') && digit(text[n - 4]) &&
      digit(text[n - 3]) && digit(text[n - 2]) && digit(text[n - 1])) {
    if (auto t = parse_rfc3339(text.substr(0, n - 2) + ":" + text.substr(n - 2))) return *t;
  }
  if (n >= 19 && text.find_first_of("+-Zz", 11) == std::string::npos) {
    if (auto t = parse_rfc3339(text + "Z")) {
      warnings.add(fmt::format("{} has no time zone; read as UTC", where));
      return *t;
    }
  }
  warnings.add(fmt::format("{} \"{}\" is not a time; ignored", where, clean_text(text, 64)));
  return std::nullopt;
}

void fill_summary(ProbeResult& r, const StreamInfo& video, Warnings& warnings) {
  r.video_stream = video.index;
  r.rotation_deg = video.rotation_deg;
  const bool sideways = video.rotation_deg == 90 || video.rotation_deg == 270;
  r.width = sideways ? video.height.value_or(0) : video.width.value_or(0);
  r.height = sideways ? video.width.value_or(0) : video.height.value_or(0);
  r.fps = video.avg_frame_rate ? video.avg_frame_rate : video.r_frame_rate;
  r.video_codec = video.codec;
  r.audio = std::any_of(r.streams.begin(), r.streams.end(),
                        [](const StreamInfo& s) { return s.type == StreamType::kAudio; });
  if (!r.duration_s) r.duration_s = video.duration_s;

  // Apple's creationdate is the moment of capture and survives edits; creation_time is when the
  // file was written (the same moment for a camera original).
  struct Source {
    const Tags* tags;
    const char* key;
    const char* where;
  };
  for (const Source& src : {Source{&r.format_tags, "com.apple.quicktime.creationdate",
                                   "com.apple.quicktime.creationdate"},
                            Source{&r.format_tags, "creation_time", "creation_time"},
                            Source{&video.tags, "creation_time", "video creation_time"}}) {
    if (auto text = find_tag(*src.tags, src.key)) {
      r.creation_time = parse_creation_time(*text, src.where, warnings);
      if (r.creation_time) break;
    }
  }

  for (const Source& src :
       {Source{&r.format_tags, "com.apple.quicktime.location.ISO6709", ""},
        Source{&r.format_tags, "location", ""}, Source{&r.format_tags, "location-eng", ""},
        Source{&video.tags, "location", ""}}) {
    auto text = find_tag(*src.tags, src.key);
    if (!text) continue;
    auto point = geo::parse_iso6709(*text, src.key);
    if (point.ok()) {
      r.location = *point;
      r.location_raw = *text;
      break;
    }
    if (!r.location_raw) r.location_raw = *text;
    warnings.add(fmt::format("{} kept as text: {}", src.key, point.error().detail()));
  }

  const auto first_of = [&](std::initializer_list<const char*> keys) -> std::optional<std::string> {
    for (const Tags* tags : {static_cast<const Tags*>(&r.format_tags), &video.tags}) {
      for (const char* key : keys) {
        if (auto v = find_tag(*tags, key)) return v;
      }
    }
    return std::nullopt;
  };
  r.make = first_of({"com.apple.quicktime.make", "make", "com.android.manufacturer"});
  r.model = first_of({"com.apple.quicktime.model", "model", "com.android.model"});
  r.software = first_of({"com.apple.quicktime.software", "software"});
  if (!r.software) {
    if (auto android = first_of({"com.android.version"})) r.software = "Android " + *android;
  }
  r.encoder = find_tag(r.format_tags, "encoder");
  if (!r.encoder) r.encoder = find_tag(video.tags, "encoder");
  if (!r.encoder) r.encoder = find_tag(video.tags, "handler_name");
}

nlohmann::json tags_json(const Tags& tags) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : tags) {
    if (!out.contains(key)) out[key] = value;  // a repeated key keeps its first value
  }
  return out;
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

}  // namespace

const char* stream_type_name(StreamType type) {
  switch (type) {
    case StreamType::kVideo:
      return "video";
    case StreamType::kAudio:
      return "audio";
    case StreamType::kSubtitle:
      return "subtitle";
    case StreamType::kData:
      return "data";
    case StreamType::kAttachment:
      return "attachment";
    case StreamType::kUnknown:
      break;
  }
  return "unknown";
}

const std::vector<std::string>& default_video_demuxers() {
  static const std::vector<std::string> kDemuxers = {
      "mov,mp4,m4a,3gp,3g2,mj2",  // MP4, QuickTime, 3GP
      "matroska,webm",            //
      "avi",                      //
      "mpegts",                   // TS, M2TS
      "mpeg",                     // MPEG program stream (VOB, .mpg)
      "flv",                      //
      "asf",                      // WMV
      "ogg",                      // Theora
      "rm",                       // RealVideo
      "mxf",                      //
      "nut",                      //
      "ivf",                      // raw VP8/VP9/AV1
      "dv",                       //
      "h264",                     // raw elementary streams from drones and dashcams
      "hevc",                     //
      "m4v",                      //
      "mpegvideo",                //
  };
  return kDemuxers;
}

Result<ProbeResult> probe_media(const std::string& path, const ProbeOptions& options) {
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) return Error(Code::kNotFound, "media file not found", "file");
  if (!fs::is_regular_file(status))
    return Error(Code::kUnprocessable, "not a regular file", "file");
  const uintmax_t size = fs::file_size(path, ec);
  if (ec) return Error(Code::kNotFound, "media file not found", "file");
  if (size == 0) return Error(Code::kUnprocessable, "empty file", "file");

  LogCollector log;
  const LogScope log_scope(&log);
  Deadline deadline;
  deadline.at = std::chrono::steady_clock::now() + options.timeout;
  const AVIOInterruptCB interrupt{interrupt_callback, &deadline};
  const auto failed = [&](int rc) {
    if (deadline.hit) {
      return Error(
          Code::kUnprocessable,
          fmt::format("not a readable video: reading it took longer than {} s",
                      std::chrono::duration_cast<std::chrono::seconds>(options.timeout).count()),
          "file");
    }
    return unreadable(av_error_text(rc), log, path);
  };

  // The file protocol only, even for anything a nested open might try.
  const std::string url = "file:" + path;
  IoPtr pb;
  {
    Options io_options;
    if (!io_options.set("protocol_whitelist", "file")) {
      return Error(Code::kInternal, "out of memory setting FFmpeg options");
    }
    AVIOContext* raw = nullptr;
    const int rc = avio_open2(&raw, url.c_str(), AVIO_FLAG_READ, &interrupt, io_options.get());
    if (rc < 0) return failed(rc);
    pb.reset(raw);
  }

  // Identify the container and vet it before any demuxer parses the file.
  const AVInputFormat* format = nullptr;
  const auto probe_bytes = static_cast<unsigned>(
      std::clamp<int64_t>(options.probe_size, 2048, std::numeric_limits<int>::max()));
  if (const int rc =
          av_probe_input_buffer2(pb.get(), &format, url.c_str(), nullptr, 0, probe_bytes);
      rc < 0) {
    return failed(rc);
  }
  if (format == nullptr || format->name == nullptr) return failed(AVERROR_INVALIDDATA);
  if (std::find(options.demuxers.begin(), options.demuxers.end(), format->name) ==
      options.demuxers.end()) {
    return Error(Code::kUnprocessable,
                 fmt::format("not a readable video: {} is not an accepted video container",
                             format->long_name != nullptr ? format->long_name : format->name),
                 "file");
  }

  FormatPtr ctx;
  {
    AVFormatContext* raw = avformat_alloc_context();
    if (raw == nullptr) return Error(Code::kInternal, "out of memory opening a video");
    raw->pb = pb.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;  // pb stays ours to close, after the context
    raw->interrupt_callback = interrupt;
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
    if (rc < 0) return failed(rc);
    ctx.reset(raw);
  }
  if (const int rc = avformat_find_stream_info(ctx.get(), nullptr); rc < 0) return failed(rc);

  ProbeResult result;
  Warnings warnings(&result.warnings);
  result.size_bytes = static_cast<int64_t>(size);
  result.format_name =
      ctx->iformat != nullptr && ctx->iformat->name != nullptr ? ctx->iformat->name : format->name;
  result.format_long_name =
      ctx->iformat != nullptr && ctx->iformat->long_name != nullptr ? ctx->iformat->long_name : "";
  result.duration_s = seconds(ctx->duration, AVRational{1, AV_TIME_BASE});
  if (ctx->bit_rate > 0) result.bit_rate = ctx->bit_rate;
  result.format_tags = read_tags(ctx->metadata, "format", warnings);

  const size_t listed = std::min<size_t>(ctx->nb_streams, kMaxStreams);
  if (ctx->nb_streams > kMaxStreams) {
    warnings.add(fmt::format("only the first {} of {} streams read", kMaxStreams, ctx->nb_streams));
  }
  for (size_t i = 0; i < listed; ++i) {
    if (ctx->streams == nullptr || ctx->streams[i] == nullptr) continue;
    result.streams.push_back(read_stream(ctx->streams[i], warnings));
  }
  result.container = short_container(result);

  const StreamInfo* video = main_video(result.streams);
  if (video == nullptr) return Error(Code::kUnprocessable, "no video stream", "file");
  if (video->codec == avcodec_get_name(AV_CODEC_ID_NONE)) {
    return Error(Code::kUnprocessable, "not a readable video: unknown video codec", "file");
  }
  fill_summary(result, *video, warnings);
  if (result.width <= 0 || result.height <= 0) warnings.add("video size unknown");

  log.flush();
  for (const std::string& message : log.messages()) {
    warnings.add("ffmpeg: " + clean_text(scrub(message, path, "<file>"), kMaxLogMessageBytes));
  }
  return result;
}

nlohmann::json to_json(const ProbeResult& r) {
  nlohmann::json streams = nlohmann::json::array();
  nlohmann::json stream_tags = nlohmann::json::array();
  for (const StreamInfo& s : r.streams) {
    nlohmann::json j = {
        {"index", s.index},
        {"type", stream_type_name(s.type)},
        {"codec", s.codec},
        {"profile", or_null(s.profile)},
        {"default", s.default_stream},
        {"attached_pic", s.attached_pic},
        {"duration_s", or_null(s.duration_s)},
        {"bit_rate", or_null(s.bit_rate)},
    };
    if (s.type == StreamType::kVideo) {
      j["width"] = or_null(s.width);
      j["height"] = or_null(s.height);
      j["avg_frame_rate"] = or_null(s.avg_frame_rate);
      j["r_frame_rate"] = or_null(s.r_frame_rate);
      j["pixel_format"] = or_null(s.pixel_format);
      j["rotation_deg"] = s.rotation_deg;
    }
    if (s.type == StreamType::kAudio) {
      j["sample_rate"] = or_null(s.sample_rate);
      j["channels"] = or_null(s.channels);
      j["channel_layout"] = or_null(s.channel_layout);
    }
    streams.push_back(std::move(j));
    stream_tags.push_back(tags_json(s.tags));
  }

  nlohmann::json location = nullptr;
  if (r.location) {
    location = {
        {"lat", r.location->lat}, {"lon", r.location->lon}, {"alt", or_null(r.location->alt)}};
  }
  return {
      {"container", r.container},
      {"format_name", r.format_name},
      {"format_long_name", r.format_long_name},
      {"duration_s", or_null(r.duration_s)},
      {"bit_rate", or_null(r.bit_rate)},
      {"size_bytes", r.size_bytes},
      {"width", r.width},
      {"height", r.height},
      {"rotation_deg", r.rotation_deg},
      {"fps", or_null(r.fps)},
      {"video_codec", r.video_codec},
      {"audio", r.audio},
      {"creation_time",
       r.creation_time ? nlohmann::json(format_rfc3339(*r.creation_time)) : nlohmann::json()},
      {"location", location},
      {"location_raw", or_null(r.location_raw)},
      {"make", or_null(r.make)},
      {"model", or_null(r.model)},
      {"software", or_null(r.software)},
      {"encoder", or_null(r.encoder)},
      {"streams", streams},
      {"tags", {{"format", tags_json(r.format_tags)}, {"streams", stream_tags}}},
      {"warnings", r.warnings},
  };
}

}  // namespace cw::pipeline
