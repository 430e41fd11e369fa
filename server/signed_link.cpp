#include "server/signed_link.hpp"

#include <fmt/format.h>

#include "common/hmac.hpp"
#include "common/sha256.hpp"

namespace cw::server {

std::string media_link_signature(std::string_view key, const MediaLink& link) {
  const HmacSha256 mac = hmac_sha256(
      key, fmt::format("cw-media-link-v1\n{}\n{}\n{}", link.sha256, link.token_id, link.expires));
  return to_hex(mac.data(), mac.size());
}

std::string media_link_path(std::string_view key, const MediaLink& link) {
  return fmt::format("/api/v1/media/{}/original/signed?token={}&expires={}&signature={}",
                     link.sha256, link.token_id, link.expires, media_link_signature(key, link));
}

Status check_media_link(std::string_view key, const MediaLink& link, std::string_view signature,
                        int64_t now) {
  const std::string expected = media_link_signature(key, link);
  // Constant time: every byte is compared whatever the first difference.
  unsigned diff = signature.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    diff |= static_cast<unsigned char>(expected[i]) ^
            static_cast<unsigned char>(i < signature.size() ? signature[i] : 0);
  }
  if (diff != 0) {
    return Error(Code::kForbidden,
                 "the link's signature is not valid: ask for a new link "
                 "(POST /api/v1/media/{sha256}/original/link)",
                 "signature");
  }
  if (now >= link.expires || link.expires - now > kMediaLinkLifetimeSeconds) {
    return Error(
        Code::kForbidden,
        "the link has expired: ask for a new one (POST /api/v1/media/{sha256}/original/link)",
        "expires");
  }
  return Status::Ok();
}

}  // namespace cw::server
