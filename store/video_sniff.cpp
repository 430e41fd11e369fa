// Magic-byte rules for the video containers ConvoyWatch accepts: ISO BMFF (MP4, QuickTime, 3GP),
// legacy QuickTime without ftyp, EBML (Matroska, WebM), RIFF AVI and MPEG-TS (plain and M2TS).
// Each rule checks a little more than the bare magic where that is cheap, because a false
// "video" sends a useless file to the pipeline while a false "not a video" is a 415 the
// investigator can see and report.
#include "store/video_sniff.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace cw::store {
namespace {

uint8_t byte_at(std::string_view s, size_t i) { return static_cast<uint8_t>(s[i]); }

uint32_t be32(std::string_view s, size_t i) {
  return (uint32_t{byte_at(s, i)} << 24) | (uint32_t{byte_at(s, i + 1)} << 16) |
         (uint32_t{byte_at(s, i + 2)} << 8) | uint32_t{byte_at(s, i + 3)};
}

// Box types and brands are four printable ASCII characters.
bool is_fourcc(std::string_view s) {
  if (s.size() != 4) return false;
  for (char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// ISO BMFF major brands of files that are not videos: HEIF/AVIF still images and image
// sequences, camera raw, and audio-only MPEG-4. They share the ftyp box with MP4.
constexpr std::array<std::string_view, 16> kNonVideoBrands = {
    "heic", "heix", "heim", "heis", "hevc", "hevx", "mif1", "msf1",
    "avif", "avis", "crx ", "M4A ", "M4B ", "M4P ", "F4A ", "F4B ",
};

std::optional<VideoContainer> sniff_iso_bmff(std::string_view b) {
  if (b.size() < 12 || b.substr(4, 4) != "ftyp") return std::nullopt;
  const std::string_view brand = b.substr(8, 4);
  if (!is_fourcc(brand)) return std::nullopt;
  if (brand == "qt  ") return VideoContainer::kQuickTime;
  if (brand.starts_with("3gp") || brand.starts_with("3g2")) return VideoContainer::k3gp;
  for (std::string_view other : kNonVideoBrands) {
    if (brand == other) return std::nullopt;
  }
  return VideoContainer::kMp4;
}

// Old QuickTime files start straight with a top-level atom (size + type), no ftyp.
std::optional<VideoContainer> sniff_legacy_quicktime(std::string_view b) {
  if (b.size() < 8) return std::nullopt;
  const std::string_view type = b.substr(4, 4);
  const bool padding = type == "wide" || type == "free" || type == "skip";
  if (!padding && type != "moov" && type != "mdat") return std::nullopt;
  // Size 0 means "to the end of the file" and 1 "64-bit size follows"; 2..7 cannot hold a
  // header, so such bytes are text that happens to contain the word.
  const uint32_t size = be32(b, 0);
  if (size >= 2 && size < 8) return std::nullopt;
  // A padding atom says little by itself, so when the next atom's header is present it must
  // look like one.
  if (padding && size >= 8 && size <= b.size() - 8 && !is_fourcc(b.substr(size + 4, 4))) {
    return std::nullopt;
  }
  return VideoContainer::kQuickTime;
}

// EBML variable-length integer at b[*pos]: its value without the length marker (or with it,
// for element ids, which are written that way in the specification). nullopt when cut short.
std::optional<uint64_t> read_vint(std::string_view b, size_t* pos, bool keep_marker,
                                  size_t max_len) {
  if (*pos >= b.size()) return std::nullopt;
  const uint8_t first = byte_at(b, *pos);
  size_t len = 1;
  while (len <= 8 && (first & (0x80u >> (len - 1))) == 0) ++len;
  if (len > max_len || *pos + len > b.size()) return std::nullopt;
  uint64_t value = keep_marker ? first : (first & (0xffu >> len));
  for (size_t i = 1; i < len; ++i) value = (value << 8) | byte_at(b, *pos + i);
  *pos += len;
  return value;
}

// Walks the EBML header's children for DocType (id 0x4282). Anything unexpected leaves the
// answer at Matroska: WebM is a Matroska profile, so that is the safe superset.
std::optional<VideoContainer> sniff_ebml(std::string_view b) {
  constexpr std::string_view kMagic = "\x1a\x45\xdf\xa3";
  constexpr uint64_t kDocTypeId = 0x4282;
  if (!b.starts_with(kMagic)) return std::nullopt;
  size_t pos = kMagic.size();
  const std::optional<uint64_t> header_size = read_vint(b, &pos, false, 8);
  if (!header_size) return VideoContainer::kMatroska;
  const size_t end = *header_size < b.size() - pos ? pos + *header_size : b.size();
  while (pos < end) {
    const std::optional<uint64_t> id = read_vint(b, &pos, true, 4);
    const std::optional<uint64_t> size = read_vint(b, &pos, false, 8);
    if (!id || !size || *size > end - pos) break;
    if (*id == kDocTypeId) {
      std::string_view doc_type = b.substr(pos, *size);
      // Strings may be padded with NULs.
      while (!doc_type.empty() && doc_type.back() == '\0') doc_type.remove_suffix(1);
      return doc_type == "webm" ? VideoContainer::kWebM : VideoContainer::kMatroska;
    }
    pos += *size;
  }
  return VideoContainer::kMatroska;
}

std::optional<VideoContainer> sniff_avi(std::string_view b) {
  if (b.size() >= 12 && b.starts_with("RIFF") && b.substr(8, 4) == "AVI ") {
    return VideoContainer::kAvi;
  }
  return std::nullopt;
}

// Sync byte 0x47 at the start of every packet in the buffer, at least three of them: one or two
// could be chance (GIF files start with 0x47), twenty-odd in 4 KiB are not.
bool has_ts_packets(std::string_view b, size_t offset, size_t packet_size) {
  constexpr uint8_t kSync = 0x47;
  constexpr size_t kMinPackets = 3;
  // An M2TS packet is its 4-byte prefix plus the 188 TS bytes, so `offset` lies inside it.
  if (b.size() < kMinPackets * packet_size) return false;
  for (size_t i = offset; i < b.size(); i += packet_size) {
    if (byte_at(b, i) != kSync) return false;
  }
  return true;
}

std::optional<VideoContainer> sniff_mpeg_ts(std::string_view b) {
  // 188-byte packets; M2TS (Blu-ray, AVCHD cameras) prefixes each with a 4-byte timestamp.
  if (has_ts_packets(b, 0, 188) || has_ts_packets(b, 4, 192)) return VideoContainer::kMpegTs;
  return std::nullopt;
}

}  // namespace

const char* container_name(VideoContainer container) {
  switch (container) {
    case VideoContainer::kMp4:
      return "mp4";
    case VideoContainer::kQuickTime:
      return "quicktime";
    case VideoContainer::k3gp:
      return "3gp";
    case VideoContainer::kMatroska:
      return "matroska";
    case VideoContainer::kWebM:
      return "webm";
    case VideoContainer::kAvi:
      return "avi";
    case VideoContainer::kMpegTs:
      return "mpegts";
  }
  return "unknown";
}

const char* container_mime(VideoContainer container) {
  switch (container) {
    case VideoContainer::kMp4:
      return "video/mp4";
    case VideoContainer::kQuickTime:
      return "video/quicktime";
    case VideoContainer::k3gp:
      return "video/3gpp";
    case VideoContainer::kMatroska:
      return "video/x-matroska";
    case VideoContainer::kWebM:
      return "video/webm";
    case VideoContainer::kAvi:
      return "video/x-msvideo";
    case VideoContainer::kMpegTs:
      return "video/mp2t";
  }
  return "application/octet-stream";
}

std::optional<VideoContainer> sniff_video(std::string_view first_bytes) {
  for (auto rule : {sniff_iso_bmff, sniff_ebml, sniff_avi, sniff_mpeg_ts, sniff_legacy_quicktime}) {
    if (std::optional<VideoContainer> found = rule(first_bytes)) return found;
  }
  return std::nullopt;
}

}  // namespace cw::store
