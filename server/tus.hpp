// tus 1.0.0 resumable-upload header handling (core, creation, termination, expiration).
//
// Pure functions from header values to values, used by the /api/v1/uploads handlers. They never
// see a request object, so they can be unit-tested and fuzzed. All of them are thread-safe.
// Errors name the header in Error::field() (and the metadata key where there is one); the
// handler maps the code to the status the tus protocol asks for.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cw::server {

inline constexpr std::string_view kTusVersion = "1.0.0";
inline constexpr std::string_view kTusExtensions = "creation,termination,expiration";

// Upload-Length / Upload-Offset: a non-negative decimal integer with no sign, blanks or other
// characters; values above UINT64_MAX are rejected. Errors are kInvalidArgument.
Result<uint64_t> parse_upload_length(std::string_view value);
Result<uint64_t> parse_upload_offset(std::string_view value);

// Upload-Metadata: comma-separated `key base64value` pairs; the value (and its separating space)
// may be left out, meaning an empty value. Keys are printable ASCII without spaces or commas,
// non-empty and unique. Values are standard-alphabet base64, padded or unpadded, with no
// stray bits; decoded values are raw bytes (not checked for UTF-8). Blanks around a pair are
// tolerated. An empty header value gives an empty map. Errors are kInvalidArgument with field
// "Upload-Metadata" or "Upload-Metadata.<key>".
Result<std::map<std::string, std::string>> parse_upload_metadata(std::string_view value);

// Tus-Resumable must be exactly kTusVersion; otherwise kPreconditionFailed (the handler answers
// 412 with a Tus-Version header).
Status check_tus_resumable(std::string_view value);

// RFC 9110 IMF-fixdate, e.g. "Wed, 25 Nov 2026 11:13:37 GMT" (sub-seconds are dropped), for
// Upload-Expires.
std::string format_http_date(std::chrono::system_clock::time_point t);

}  // namespace cw::server
