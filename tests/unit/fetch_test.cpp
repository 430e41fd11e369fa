// pipeline/fetch: the address ranges refused by default (table-driven), the downloader's
// command line, and fetch_media against a real local HTTP server (tests/support/media_server.py).
#include "pipeline/fetch.hpp"

#include <gtest/gtest.h>

#include "common/sha256.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace cw::pipeline {
namespace {

TEST(FetchAddress, PrivateRangesAreRecognised) {
  struct Case {
    const char* address;
    bool refused;
    const char* why;
  };
  const Case cases[] = {
      {"127.0.0.1", true, "loopback"},
      {"127.255.255.254", true, "loopback"},
      {"10.1.2.3", true, "private"},
      {"172.16.0.1", true, "private"},
      {"172.31.255.255", true, "private"},
      {"172.32.0.1", false, ""},
      {"192.168.1.1", true, "private"},
      {"169.254.169.254", true, "link-local"},  // cloud metadata
      {"100.64.0.1", true, "carrier-grade NAT"},
      {"100.128.0.1", false, ""},
      {"0.0.0.0", true, "unspecified"},
      {"224.0.0.1", true, "multicast"},
      {"255.255.255.255", true, "reserved"},
      {"198.51.100.7", true, "documentation"},
      {"8.8.8.8", false, ""},
      {"91.198.174.192", false, ""},
      {"::1", true, "loopback"},
      {"::", true, "unspecified"},
      {"fd00::1", true, "private"},
      {"fe80::1", true, "link-local"},
      {"ff02::1", true, "multicast"},
      {"2001:db8::1", true, "documentation"},
      {"::ffff:127.0.0.1", true, "loopback"},
      {"::ffff:10.0.0.1", true, "private"},
      {"64:ff9b::a9fe:a9fe", true, "link-local"},
      {"::ffff:8.8.8.8", false, ""},
      {"2a00:1450:4001:81b::200e", false, ""},
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_EQ(is_private_address_text(c.address, &why), c.refused) << c.address;
    if (c.refused) {
      EXPECT_EQ(why, c.why) << c.address;
    }
  }
  EXPECT_FALSE(is_private_address_text("localhost"));  // not numeric: resolved elsewhere
}

TEST(FetchDownloader, PlaceholdersAndPathLookup) {
  auto argv =
      downloader_argv({"sh", "-c", "x", "{dir}/a", "--url={url}"}, "https://t.me/c/1", "/tmp/d");
  ASSERT_TRUE(argv.ok()) << argv.error().to_string();
  EXPECT_EQ(*argv, (std::vector<std::string>{"/usr/bin/sh", "-c", "x", "/tmp/d/a",
                                             "--url=https://t.me/c/1"}))
      << (*argv)[0];
  EXPECT_EQ(downloader_argv({}, "u", "d").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(downloader_argv({"sh", "{dir}"}, "u", "d").error().code(), Code::kInvalidArgument);
  EXPECT_EQ(downloader_argv({"no-such-downloader-xyz", "{url}"}, "u", "d").error().code(),
            Code::kNotFound);
}

class FetchMediaTest : public ::testing::Test {
 protected:
  FetchMediaTest() : video_(test::small_mp4(dir_.path().string())), web_(video_) {
    options_.allow_private = true;
    options_.timeout = std::chrono::seconds(30);
  }

  Result<FetchResult> fetch(const std::string& path) {
    body_.clear();
    return fetch_media(web_.url(path), options_, [this](std::string_view b) {
      body_.append(b);
      return Status::Ok();
    });
  }

  test::TempDir dir_;
  std::string video_;
  test::MediaHttpServer web_;
  FetchOptions options_;
  std::string body_;
};

TEST_F(FetchMediaTest, FollowsRedirectsAndDeliversTheExactBytes) {
  auto r = fetch("/redirect/5");
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->redirects, 5);
  EXPECT_EQ(r->http_status, 200);
  EXPECT_EQ(r->content_type, "video/mp4");
  EXPECT_EQ(r->final_url, web_.url("/clip.mp4"));
  EXPECT_EQ(r->bytes, body_.size());
  EXPECT_EQ(Sha256::hex_digest(body_), test::sha256_of_file(video_));
  EXPECT_TRUE(fetch("/octet").ok());
  EXPECT_TRUE(fetch("/untyped").ok());
}

TEST_F(FetchMediaTest, RefusalsAreClassified) {
  struct Case {
    const char* path;
    Code code;
    const char* detail;
  };
  options_.max_bytes = 2 << 20;
  const Case cases[] = {
      {"/redirect/6", Code::kUnprocessable, "more than 5 redirects"},
      {"/page", Code::kUnsupportedMedia, "a web page (text/html)"},
      {"/json", Code::kUnsupportedMedia, "application/json"},
      {"/status/404", Code::kUnprocessable, "HTTP 404"},
      {"/status/503", Code::kUnavailable, "HTTP 503"},
      {"/status/429", Code::kUnavailable, "HTTP 429"},
      {"/empty", Code::kUnprocessable, "empty body"},
      {"/big", Code::kPayloadTooLarge, "larger than the limit of 2097152 bytes"},
      {"/endless", Code::kPayloadTooLarge, "larger than the limit of 2097152 bytes"},
  };
  for (const Case& c : cases) {
    auto r = fetch(c.path);
    ASSERT_FALSE(r.ok()) << c.path;
    EXPECT_EQ(r.error().code(), c.code) << c.path << ": " << r.error().to_string();
    EXPECT_NE(r.error().detail().find(c.detail), std::string::npos)
        << c.path << ": " << r.error().detail();
    EXPECT_EQ(r.error().field(), "source_url");
    EXPECT_LE(body_.size(), options_.max_bytes);
  }
  auto ftp =
      fetch_media("ftp://127.0.0.1/x.mp4", options_, [](std::string_view) { return Status::Ok(); });
  EXPECT_EQ(ftp.error().code(), Code::kUnprocessable);
}

TEST_F(FetchMediaTest, LoopbackIsRefusedBeforeConnecting) {
  options_.allow_private = false;
  auto r = fetch("/clip.mp4");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kForbidden);
  EXPECT_NE(r.error().detail().find("127.0.0.1 is a loopback address"), std::string::npos)
      << r.error().detail();
  EXPECT_TRUE(body_.empty());
  EXPECT_EQ(check_public_host(web_.url("/x"), false).error().code(), Code::kForbidden);
  EXPECT_EQ(check_public_host("http://[::1]:9/x", false).error().code(), Code::kForbidden);
  EXPECT_TRUE(check_public_host(web_.url("/x"), true).ok());
  EXPECT_EQ(check_public_host("file:///etc/passwd", true).error().code(), Code::kUnprocessable);
}

TEST_F(FetchMediaTest, SinkErrorsAndCancellationStopTheTransfer) {
  auto r = fetch_media(web_.url("/endless"), options_, [](std::string_view) {
    return Status(Error(Code::kInsufficientStorage, "disk full"));
  });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInsufficientStorage);

  std::atomic<bool> cancel{false};
  options_.cancel = [&cancel] { return cancel.load(); };
  uint64_t got = 0;
  auto c = fetch_media(web_.url("/endless"), options_, [&](std::string_view b) {
    got += b.size();
    if (got > (1u << 20)) cancel = true;
    return Status::Ok();
  });
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().detail(), "cancelled");
}

}  // namespace
}  // namespace cw::pipeline
