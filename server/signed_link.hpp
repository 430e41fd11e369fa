// Short-lived links to an original that need no access token. A <video> element cannot send the
// Authorization header, so the dashboard asks for a link (POST /api/v1/media/{sha256}/original/
// link, with its token) and plays that. A link names the media, the token it was asked with and
// its expiry, and carries HMAC-SHA256 over them under the deployment's key (store/
// signing_keys.hpp). Whoever holds it may read that one original until it expires; on every
// request the server still checks that the token is active and that its user may see the media,
// so revoking the token or losing access ends the link early.
//
// Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cw::server {

// How long a link lives; a link claiming to live longer is refused.
inline constexpr int64_t kMediaLinkLifetimeSeconds = 600;

struct MediaLink {
  std::string sha256;    // 64 lowercase hex digits
  int64_t token_id = 0;  // the token the link was asked with
  int64_t expires = 0;   // Unix seconds
};

// Lowercase hex of HMAC-SHA256 under `key` over "cw-media-link-v1\n<sha256>\n<token>\n<expires>".
std::string media_link_signature(std::string_view key, const MediaLink& link);

// "/api/v1/media/<sha256>/original/signed?token=<id>&expires=<s>&signature=<hex>".
std::string media_link_path(std::string_view key, const MediaLink& link);

// Ok when `signature` is the link's (compared in constant time) and `now` (Unix seconds) is
// before `expires` and no more than kMediaLinkLifetimeSeconds before it; kForbidden otherwise,
// saying whether the link is forged or expired and what to do.
Status check_media_link(std::string_view key, const MediaLink& link, std::string_view signature,
                        int64_t now);

}  // namespace cw::server
