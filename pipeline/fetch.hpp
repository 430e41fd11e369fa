// Fetching a submission's media by URL (the `fetch_url` job). A direct http(s) media URL is
// downloaded with libcurl, streamed into the caller's sink (normally a MediaWriter, which hashes
// as it writes). Post pages of social platforms (HTML) are handed to an optional external
// downloader from config ([fetch] downloader, e.g. yt-dlp), run in the sandbox.
//
// Server-side request forgery: every address curl is about to connect to — the first request
// and every redirect, after DNS — is checked in curl's open-socket callback, so a public name
// resolving to 127.0.0.1 or a redirect to 169.254.169.254 is refused unless allow_private is set.
// Proxies from the environment are ignored (the check would see the proxy, not the target).
//
// Errors say whether retrying can help: kUnavailable (timeouts, connection failures, HTTP 5xx
// and 429) is worth retrying; everything else (refused address, 4xx, too large, a web page, not
// http(s), too many redirects) is permanent. Thread-safe: each call has its own curl handle.
#pragma once

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace cw::pipeline {

struct FetchOptions {
  uint64_t max_bytes = uint64_t{4} << 30;
  std::chrono::seconds connect_timeout{10};
  std::chrono::seconds timeout{900};  // the whole transfer
  // Abort when slower than low_speed_bytes per second for low_speed_time.
  long low_speed_bytes = 1024;
  std::chrono::seconds low_speed_time{60};
  int max_redirects = 5;
  bool allow_private = false;
  std::string user_agent = "ConvoyWatch/0.1 (evidence archive)";
  // When set and it returns true, the transfer stops with kUnavailable "cancelled" (a worker
  // shutting down, or one whose job was taken over). Called from the transfer's thread.
  std::function<bool()> cancel;
};

struct FetchResult {
  std::string final_url;  // after redirects
  std::string content_type;
  long http_status = 0;
  long redirects = 0;
  uint64_t bytes = 0;
};

// Receives the body in chunks; a non-ok Status aborts the transfer and is returned as is.
using FetchSink = std::function<Status(std::string_view)>;

// Downloads `url` into `sink`. Media types accepted: video/*, application/octet-stream,
// binary/octet-stream, application/mp4, application/x-matroska, or none at all (the caller
// sniffs the bytes afterwards). A text/html or application/xhtml+xml answer is kUnsupportedMedia
// with detail starting "a web page" (the caller may try the external downloader); other types
// are kUnsupportedMedia too.
Result<FetchResult> fetch_media(const std::string& url, const FetchOptions& options,
                                const FetchSink& sink);

// True for addresses a server-side fetch must not reach by default: loopback, private (RFC 1918,
// fc00::/7), link-local (169.254/16, fe80::/10, cloud metadata), carrier-grade NAT, unspecified,
// multicast, reserved and documentation ranges, and IPv4-mapped/NAT64 forms of those. `why`
// gets a short name of the range ("loopback", "private", …).
bool is_private_address(const sockaddr* address, std::string* why = nullptr);
// Same for a numeric address text ("10.0.0.1", "::1"); false when it is not numeric.
bool is_private_address_text(const std::string& text, std::string* why = nullptr);

// For the external downloader, which connects on its own: resolves the URL's host and refuses
// (kForbidden) when any of its addresses is private, unless allow_private. kUnprocessable when
// the URL cannot be parsed or is not http(s); kUnavailable when the name does not resolve.
Status check_public_host(const std::string& url, bool allow_private);

// The external downloader's command line: `argv_template` with "{url}" replaced by the URL and
// "{dir}" by the output folder in every argument. argv[0] is resolved through PATH when it has
// no slash. kInvalidArgument when the template is empty or has no {url}; kNotFound when the
// program is not found.
Result<std::vector<std::string>> downloader_argv(const std::vector<std::string>& argv_template,
                                                 const std::string& url, const std::string& dir);

}  // namespace cw::pipeline
