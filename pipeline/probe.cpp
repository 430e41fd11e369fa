// probe_media with libavformat (FFmpeg 5.1 API), and the media JSON built from its result.
//
// The file is opened by media::MediaInput (media_input.hpp): the file protocol only, and the
// container checked against the demuxer list before any demuxer runs, which keeps playlists
// (hls, concat) from making FFmpeg open other files. Everything read from the file is bounded and
// cleaned to UTF-8 before it leaves this file.
#include "pipeline/probe.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <memory>
#include <string_view>

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
#include "pipeline/media_input.hpp"

namespace cw::pipeline {
namespace {

using media::clean_text;
using media::iequals;
using media::scrub;
using media::trim;

// Bounds on what a hostile file can make us keep. Real files have a few dozen short tags.
constexpr size_t kMaxTags = 256;             // per dictionary (format, or one stream)
constexpr size_t kMaxTagKeyBytes = 256;      //
constexpr size_t kMaxTagValueBytes = 16384;  // long descriptions and XMP-like blobs
constexpr size_t kMaxStreams = 64;           // streams listed; FFmpeg itself allows 1000

using media::Warnings;

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
    std::vector<std::string> notes;
    s.rotation_deg = media::stream_rotation(st, where, &notes);
    for (std::string& note : notes) warnings.add(std::move(note));
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
  media::LogCollector log;
  const media::LogScope log_scope(&log);
  media::OpenOptions open_options;
  open_options.timeout = options.timeout;
  open_options.probe_size = options.probe_size;
  open_options.analyze_duration_us = options.analyze_duration_us;
  open_options.demuxers = options.demuxers;
  auto opened = media::MediaInput::open(path, open_options, log);
  if (!opened.ok()) return opened.error();
  const AVFormatContext* ctx = (*opened)->format();
  const AVInputFormat* format = ctx->iformat;
  const uint64_t size = (*opened)->size_bytes();

  ProbeResult result;
  Warnings warnings(&result.warnings);
  result.size_bytes = static_cast<int64_t>(size);
  result.format_name = format != nullptr && format->name != nullptr ? format->name : "";
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
    warnings.add("ffmpeg: " +
                 clean_text(scrub(message, path, "<file>"), media::LogCollector::kMaxMessageBytes));
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
