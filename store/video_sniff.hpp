// Which video container an upload is, from its first bytes only (magic numbers), so that an
// upload that is plainly not a video (a photo, a PDF, a web page) is refused with 415 before it
// is queued for processing. The pipeline's probe stage decides later whether the file really
// decodes; this check is deliberately cheap and never reads past the bytes it is given.
// Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string_view>

namespace cw::store {

enum class VideoContainer { kMp4, kQuickTime, k3gp, kMatroska, kWebM, kAvi, kMpegTs };

// Short stable name for logs and the database: "mp4", "quicktime", "3gp", "matroska", "webm",
// "avi", "mpegts".
const char* container_name(VideoContainer container);
// The registered or customary MIME type, e.g. "video/mp4", "video/mp2t".
const char* container_mime(VideoContainer container);

// `first_bytes` is the start of the file (MediaWriter::first_bytes() keeps 4 KiB, which every
// rule here fits in). nullopt for anything that is not one of the containers above, including
// ISO BMFF files that are images or audio (HEIC, AVIF, M4A).
std::optional<VideoContainer> sniff_video(std::string_view first_bytes);

}  // namespace cw::store
