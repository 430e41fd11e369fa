// SHA-256, hex, base64, RFC 3339 and the rate limiter.
#include <gtest/gtest.h>

#include "common/base64.hpp"
#include "common/sha256.hpp"
#include "common/time.hpp"
#include "server/rate_limit.hpp"

namespace cw {
namespace {

TEST(Sha256Test, KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(Sha256::hex_digest(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256::hex_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  std::string million(1000000, 'a');
  for (size_t i = 0; i < million.size(); i += 4096)
    h.update(std::string_view(million).substr(i, 4096));
  EXPECT_EQ(to_hex(h.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HexTest, RoundTripAndRejects) {
  std::string bytes;
  ASSERT_TRUE(from_hex("00ff10Ab", &bytes));
  EXPECT_EQ(to_hex(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), "00ff10ab");
  EXPECT_FALSE(from_hex("abc", &bytes));
  EXPECT_FALSE(from_hex("zz", &bytes));
  EXPECT_TRUE(is_sha256_hex(std::string(64, 'a')));
  EXPECT_FALSE(is_sha256_hex(std::string(64, 'A')));
  EXPECT_FALSE(is_sha256_hex(std::string(63, 'a')));
}

TEST(Base64Test, Rfc4648Vectors) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case kCases[] = {{"", ""},
                         {"f", "Zg=="},
                         {"fo", "Zm8="},
                         {"foo", "Zm9v"},
                         {"foob", "Zm9vYg=="},
                         {"fooba", "Zm9vYmE="},
                         {"foobar", "Zm9vYmFy"}};
  for (const Case& c : kCases) EXPECT_EQ(base64_encode(c.in), c.out) << c.in;
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(Rfc3339Test, ParseAndFormat) {
  const std::vector<std::pair<std::string, std::string>> ok = {
      {"2022-02-16T06:05:00Z", "2022-02-16T06:05:00Z"},
      {"2022-02-16t06:05:00z", "2022-02-16T06:05:00Z"},
      {"2022-02-16T08:05:00+02:00", "2022-02-16T06:05:00Z"},
      {"2022-02-16T06:05:00.250Z", "2022-02-16T06:05:00.25Z"},
      {"2024-02-29T23:59:59.999999-01:00", "2024-03-01T00:59:59.999999Z"},
      {"1999-12-31T23:59:60Z", "1999-12-31T23:59:59Z"},
  };
  for (const auto& [in, out] : ok) {
    auto t = parse_rfc3339(in);
    ASSERT_TRUE(t.ok()) << in << ": " << t.error().detail();
    EXPECT_EQ(format_rfc3339(*t), out) << in;
  }
  for (const char* bad :
       {"", "2022-02-16", "2022-02-16T06:05:00", "2022-02-30T00:00:00Z", "2022-13-01T00:00:00Z",
        "2022-02-16T24:00:00Z", "2022-02-16T06:05:00+2", "2022-02-16T06:05:00Zjunk",
        "2022-02-16T06:05:00.Z", "x022-02-16T06:05:00Z"}) {
    auto t = parse_rfc3339(bad, "posted_at");
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.error().field(), "posted_at");
    EXPECT_EQ(t.error().code(), Code::kUnprocessable);
  }
}

TEST(RateLimiterTest, BurstThenRate) {
  server::RateLimiter limiter(60, 3);  // one a second, three at once
  auto t0 = std::chrono::steady_clock::now();
  int retry = 0;
  EXPECT_TRUE(limiter.allow(1, &retry, t0));
  EXPECT_TRUE(limiter.allow(1, &retry, t0));
  EXPECT_TRUE(limiter.allow(1, &retry, t0));
  EXPECT_FALSE(limiter.allow(1, &retry, t0));
  EXPECT_EQ(retry, 1);
  EXPECT_TRUE(limiter.allow(2, &retry, t0));  // other tokens are separate
  EXPECT_TRUE(limiter.allow(1, &retry, t0 + std::chrono::milliseconds(1100)));
  EXPECT_FALSE(limiter.allow(1, &retry, t0 + std::chrono::milliseconds(1200)));
  server::RateLimiter off(0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(off.allow(1, &retry, t0));
}

}  // namespace
}  // namespace cw
