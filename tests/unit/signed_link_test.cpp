// server/signed_link.hpp: the signature covers the media, the token and the expiry; a link is
// refused when any of them or the signature changes, once it has expired, and when it claims a
// life longer than kMediaLinkLifetimeSeconds.
#include "server/signed_link.hpp"

#include <gtest/gtest.h>

#include "common/hmac.hpp"
#include "common/sha256.hpp"

namespace cw::server {
namespace {

const std::string kKey(32, 'k');
const MediaLink kLink{std::string(64, 'a'), 7, 1'700'000'600};
constexpr int64_t kNow = 1'700'000'000;

TEST(SignedLinkTest, SignatureIsHmacSha256OverTheNamedParts) {
  const HmacSha256 mac =
      hmac_sha256(kKey, "cw-media-link-v1\n" + std::string(64, 'a') + "\n7\n1700000600");
  EXPECT_EQ(media_link_signature(kKey, kLink), to_hex(mac.data(), mac.size()));
  EXPECT_EQ(media_link_path(kKey, kLink),
            "/api/v1/media/" + std::string(64, 'a') +
                "/original/signed?token=7&expires=1700000600&signature=" +
                to_hex(mac.data(), mac.size()));
}

TEST(SignedLinkTest, OnlyTheUntouchedLinkBeforeItsExpiryPasses) {
  const std::string sig = media_link_signature(kKey, kLink);
  EXPECT_TRUE(check_media_link(kKey, kLink, sig, kNow).ok());
  EXPECT_TRUE(check_media_link(kKey, kLink, sig, kLink.expires - 1).ok());

  MediaLink other = kLink;
  other.sha256 = std::string(64, 'b');
  EXPECT_EQ(check_media_link(kKey, other, sig, kNow).error().field(), "signature");
  other = kLink;
  other.token_id = 8;
  EXPECT_EQ(check_media_link(kKey, other, sig, kNow).error().field(), "signature");
  other = kLink;
  other.expires += 1;
  EXPECT_EQ(check_media_link(kKey, other, sig, kNow).error().field(), "signature");
  EXPECT_EQ(check_media_link(std::string(32, 'j'), kLink, sig, kNow).error().field(), "signature");
  for (const std::string& bad : {std::string(), sig.substr(1), sig + "0", std::string(64, '0')}) {
    auto s = check_media_link(kKey, kLink, bad, kNow);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code(), Code::kForbidden);
  }

  auto expired = check_media_link(kKey, kLink, sig, kLink.expires);
  ASSERT_FALSE(expired.ok());
  EXPECT_EQ(expired.error().code(), Code::kForbidden);
  EXPECT_EQ(expired.error().field(), "expires");
  // Signed (with the key) but living longer than a link may: refused all the same.
  EXPECT_EQ(check_media_link(kKey, kLink, sig, kLink.expires - kMediaLinkLifetimeSeconds - 1)
                .error()
                .field(),
            "expires");
}

}  // namespace
}  // namespace cw::server
