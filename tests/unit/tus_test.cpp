// Unit tests for the tus 1.0.0 header helpers: lengths and offsets, Upload-Metadata with its
// strict base64, Tus-Resumable and the HTTP date used for Upload-Expires.
#include "server/tus.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace cw::server {
namespace {

TEST(TusTest, UploadLengthAndOffset) {
  struct Case {
    std::string value;
    std::optional<uint64_t> expected;  // nullopt: error
  };
  const std::vector<Case> cases = {
      {"0", 0},
      {"1", 1},
      {"1048576", 1048576},
      {"2147483648", 2147483648ull},
      {"007", 7},
      {"18446744073709551615", UINT64_MAX},
      {"18446744073709551616", std::nullopt},  // UINT64_MAX + 1
      {"18446744073709551620", std::nullopt},
      {"99999999999999999999999", std::nullopt},
      {"", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {" 1", std::nullopt},
      {"1 ", std::nullopt},
      {"1 2", std::nullopt},
      {"1.0", std::nullopt},
      {"1e6", std::nullopt},
      {"0x10", std::nullopt},
      {"١٢", std::nullopt},  // Arabic-Indic digits are not ASCII digits
      {std::string("1\0", 2), std::nullopt},
  };
  for (const Case& c : cases) {
    for (const bool is_length : {true, false}) {
      const Result<uint64_t> r =
          is_length ? parse_upload_length(c.value) : parse_upload_offset(c.value);
      if (c.expected) {
        ASSERT_TRUE(r.ok()) << c.value;
        EXPECT_EQ(*r, *c.expected) << c.value;
      } else {
        ASSERT_FALSE(r.ok()) << c.value;
        EXPECT_EQ(r.error().code(), Code::kInvalidArgument);
        EXPECT_EQ(r.error().field(), is_length ? "Upload-Length" : "Upload-Offset");
      }
    }
  }
}

TEST(TusTest, UploadMetadataValid) {
  using Map = std::map<std::string, std::string>;
  struct Case {
    std::string header;
    Map expected;
  };
  const std::vector<Case> cases = {
      // What tus-js-client sends: padded standard base64, pairs joined by ','.
      {"filename Y2xpcC5tcDQ=,filetype dmlkZW8vbXA0",
       {{"filename", "clip.mp4"}, {"filetype", "video/mp4"}}},
      // {"platform":"telegram","place":"Белгород"} as UTF-8.
      {"metadata eyJwbGF0Zm9ybSI6InRlbGVncmFtIiwicGxhY2UiOiLQkdC10LvQs9C+0YDQvtC0In0=",
       {{"metadata", R"({"platform":"telegram","place":"Белгород"})"}}},
      {"is_confidential", {{"is_confidential", ""}}},
      {"empty ,filename YQ==", {{"empty", ""}, {"filename", "a"}}},
      {"a YQ", {{"a", "a"}}},  // unpadded
      {"a YWI", {{"a", "ab"}}},
      {"a YWJj", {{"a", "abc"}}},
      {"a YWI=", {{"a", "ab"}}},
      {"a ////", {{"a", "\xff\xff\xff"}}},
      {"a +/+/", {{"a", "\xfb\xff\xbf"}}},
      {"a YQ==, b Yg==", {{"a", "a"}, {"b", "b"}}},  // blanks after the comma
      {" a YQ== ", {{"a", "a"}}},
      {"Key-With.Punct!~ YQ==", {{"Key-With.Punct!~", "a"}}},
      {"", {}},
      {"  ", {}},
  };
  for (const Case& c : cases) {
    const auto r = parse_upload_metadata(c.header);
    ASSERT_TRUE(r.ok()) << c.header << ": " << r.error().to_string();
    EXPECT_EQ(*r, c.expected) << c.header;
  }
}

TEST(TusTest, UploadMetadataInvalid) {
  struct Case {
    std::string header;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"filename Y2xpcC5tcDQ=,filename YQ==", "Upload-Metadata.filename"},  // duplicate
      {"filename not*base64", "Upload-Metadata.filename"},
      {"filename YQ=", "Upload-Metadata.filename"},    // padding cut short
      {"filename YQ===", "Upload-Metadata.filename"},  // too much padding
      {"filename Y===", "Upload-Metadata.filename"},
      {"filename =YQ=", "Upload-Metadata.filename"},  // padding in front
      {"filename Y=Q=", "Upload-Metadata.filename"},  // padding in the middle
      {"filename YQ==YQ==", "Upload-Metadata.filename"},
      {"filename Y", "Upload-Metadata.filename"},             // 6 bits are not a byte
      {"filename YR==", "Upload-Metadata.filename"},          // stray bits
      {"filename YWJ=", "Upload-Metadata.filename"},          // stray bits
      {"filename Y2xp cC5t", "Upload-Metadata.filename"},     // blank inside the value
      {"filename Y2xpcC5tcDQ-", "Upload-Metadata.filename"},  // URL-safe alphabet
      {"filename Y2xpcC5tcDQ_", "Upload-Metadata.filename"},
      {"filename Y2xp\ncC5t", "Upload-Metadata.filename"},
      {"a YQ==,,b YQ==", "Upload-Metadata"},  // empty pair
      {"a YQ==,", "Upload-Metadata"},
      {",a YQ==", "Upload-Metadata"},
      {"k\x01y YQ==", "Upload-Metadata"},
      {"kéy YQ==", "Upload-Metadata"},
  };
  for (const Case& c : cases) {
    const auto r = parse_upload_metadata(c.header);
    ASSERT_FALSE(r.ok()) << c.header;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << c.header;
    EXPECT_EQ(r.error().field(), c.field) << c.header;
    if (c.field != "Upload-Metadata") {
      EXPECT_NE(r.error().detail().find("'filename'"), std::string::npos) << c.header;
    }
  }
}

TEST(TusTest, TusResumable) {
  EXPECT_TRUE(check_tus_resumable("1.0.0").ok());
  for (std::string_view v : {"", "1.0", "0.2.2", "1.0.0 ", " 1.0.0", "1.0.1", "1.0.0,0.2.2"}) {
    const Status s = check_tus_resumable(v);
    ASSERT_FALSE(s.ok()) << v;
    EXPECT_EQ(s.error().code(), Code::kPreconditionFailed);
    EXPECT_EQ(s.error().field(), "Tus-Resumable");
  }
  EXPECT_EQ(kTusVersion, "1.0.0");
  EXPECT_EQ(kTusExtensions, "creation,termination,expiration");
}

TEST(TusTest, HttpDate) {
  using namespace std::chrono;
  struct Case {
    sys_seconds t;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {sys_days{2026y / November / 25} + 11h + 13min + 37s, "Wed, 25 Nov 2026 11:13:37 GMT"},
      {sys_seconds{0s}, "Thu, 01 Jan 1970 00:00:00 GMT"},
      {sys_days{1994y / November / 6} + 8h + 49min + 37s, "Sun, 06 Nov 1994 08:49:37 GMT"},
      {sys_days{2024y / February / 29} + 23h + 59min + 59s, "Thu, 29 Feb 2024 23:59:59 GMT"},
      {sys_days{2000y / January / 1}, "Sat, 01 Jan 2000 00:00:00 GMT"},
      {sys_days{2038y / January / 19} + 3h + 14min + 8s, "Tue, 19 Jan 2038 03:14:08 GMT"},
  };
  for (const Case& c : cases) EXPECT_EQ(format_http_date(c.t), c.expected);
  // Sub-seconds are dropped, not rounded.
  const system_clock::time_point almost =
      sys_days{2026y / November / 25} + 11h + 13min + 37s + 999ms;
  EXPECT_EQ(format_http_date(almost), "Wed, 25 Nov 2026 11:13:37 GMT");
}

}  // namespace
}  // namespace cw::server
