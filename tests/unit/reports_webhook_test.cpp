// Tests for reports/webhook: HMAC-SHA256 against the RFC 4231 test vectors, the signature header
// against a value computed independently (Python's hmac module:
//   hmac.new(b"whsec_test", b'1645000000.{"kind":"daily","period":"2022-02-16"}',
//            hashlib.sha256).hexdigest()),
// and verification: round trip, tampering, clock skew, malformed headers.
#include "reports/webhook.hpp"

#include <gtest/gtest.h>

#include <string>

#include "common/hmac.hpp"
#include "common/sha256.hpp"

namespace cw::reports {
namespace {

std::string bytes(size_t n, char c) { return std::string(n, c); }

std::string hex_mac(std::string_view key, std::string_view data) {
  const HmacSha256 mac = hmac_sha256(key, data);
  return to_hex(mac.data(), mac.size());
}

struct Vector {
  const char* name;
  std::string key;
  std::string data;
  const char* hmac_hex;
};

TEST(WebhookTest, Rfc4231Vectors) {
  std::string key4;
  for (char c = 0x01; c <= 0x19; ++c) key4 += c;
  const Vector kVectors[] = {
      {"test case 1", bytes(20, '\x0b'), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {"test case 2", "Jefe", "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {"test case 3", bytes(20, '\xaa'), bytes(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {"test case 4", key4, bytes(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {"test case 6", bytes(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {"test case 7", bytes(131, '\xaa'),
       "This is a test using a larger than block-size key and a larger than block-size data. The "
       "key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
      // Not in RFC 4231: empty key and message (Python's hmac gives the same).
      {"empty key and data", "", "",
       "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"},
  };
  for (const Vector& v : kVectors) {
    SCOPED_TRACE(v.name);
    EXPECT_EQ(hex_mac(v.key, v.data), v.hmac_hex);
  }
}

constexpr std::string_view kSecret = "whsec_test";
constexpr std::string_view kBody = R"({"kind":"daily","period":"2022-02-16"})";
const std::chrono::sys_seconds kAt{std::chrono::seconds(1645000000)};

TEST(WebhookTest, HeaderFormat) {
  EXPECT_EQ(sign_webhook(kSecret, kBody, kAt),
            "t=1645000000,v1=d72ee2da035f5ad275dc6cbc6e0081ad04e6f46caab6558a8667a580b4614e88");
  EXPECT_EQ(kSignatureHeader, "ConvoyWatch-Signature");
}

TEST(WebhookTest, RoundTrip) {
  const std::string header = sign_webhook(kSecret, kBody, kAt);
  EXPECT_TRUE(verify_signature(kSecret, kBody, header, kAt).ok());
  // Clock skew either way, up to the tolerance.
  EXPECT_TRUE(verify_signature(kSecret, kBody, header, kAt + std::chrono::seconds(300)).ok());
  EXPECT_TRUE(verify_signature(kSecret, kBody, header, kAt - std::chrono::seconds(300)).ok());
  EXPECT_TRUE(verify_signature(kSecret, kBody, header, kAt + std::chrono::seconds(3000),
                               std::chrono::seconds(3600))
                  .ok());
  // Spaces after commas and unknown keys are tolerated; any one of several v1 may match.
  const std::string good = header.substr(header.find("v1=") + 3);
  EXPECT_TRUE(verify_signature(kSecret, kBody,
                               "t=1645000000, v0=zz, v1=" + std::string(64, '0') + ", v1=" + good,
                               kAt)
                  .ok());
  // An empty body signs and verifies too.
  EXPECT_TRUE(verify_signature(kSecret, "", sign_webhook(kSecret, "", kAt), kAt).ok());
}

struct Rejection {
  const char* name;
  std::string secret;
  std::string body;
  std::string header;
  std::chrono::sys_seconds now;
  Code code;
};

TEST(WebhookTest, Rejections) {
  const std::string header = sign_webhook(kSecret, kBody, kAt);
  const std::string mac = header.substr(header.find("v1=") + 3);
  std::string flipped = mac;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  const std::string body(kBody);
  const std::string secret(kSecret);
  const Rejection kCases[] = {
      {"body changed", secret, body + " ", header, kAt, Code::kUnauthenticated},
      {"wrong secret", "whsec_other", body, header, kAt, Code::kUnauthenticated},
      {"timestamp changed", secret, body, "t=1645000001,v1=" + mac, kAt, Code::kUnauthenticated},
      {"one hex digit changed", secret, body, "t=1645000000,v1=" + flipped, kAt,
       Code::kUnauthenticated},
      {"truncated signature", secret, body, "t=1645000000,v1=" + mac.substr(0, 62), kAt,
       Code::kUnauthenticated},
      {"too old", secret, body, header, kAt + std::chrono::seconds(301), Code::kUnauthenticated},
      {"from the future", secret, body, header, kAt - std::chrono::seconds(301),
       Code::kUnauthenticated},
      {"empty header", secret, body, "", kAt, Code::kInvalidArgument},
      {"no timestamp", secret, body, "v1=" + mac, kAt, Code::kInvalidArgument},
      {"no signature", secret, body, "t=1645000000", kAt, Code::kInvalidArgument},
      {"timestamp not a number", secret, body, "t=soon,v1=" + mac, kAt, Code::kInvalidArgument},
      {"negative timestamp", secret, body, "t=-5,v1=" + mac, kAt, Code::kInvalidArgument},
      {"huge timestamp", secret, body, "t=99999999999999999999999,v1=" + mac, kAt,
       Code::kInvalidArgument},
  };
  for (const Rejection& c : kCases) {
    SCOPED_TRACE(c.name);
    Status st = verify_signature(c.secret, c.body, c.header, c.now);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), c.code);
    EXPECT_EQ(st.error().field(), "ConvoyWatch-Signature");
    // The expected signature never leaks into the error.
    EXPECT_EQ(st.error().detail().find(mac), std::string::npos);
  }
}

}  // namespace
}  // namespace cw::reports
