// The client's HTTP over libcurl: one easy handle, so consecutive requests to the server reuse
// one keep-alive connection. Bodies are small strings, or a span of an open file streamed from
// disk (tus PATCH), so a 2 GB video never sits in memory.
//
// Not thread-safe: one HttpClient per thread. Transport failures (refused, reset, cut short,
// stalled, TLS) are kUnavailable with curl's reason; any HTTP status is a response, not an error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cw::client {

struct HttpResponse {
  long status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; the last one wins
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A body read from a file descriptor: `length` bytes from `offset` (pread; the descriptor's
// position is not used). The descriptor stays the caller's.
struct FileBody {
  int fd = -1;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PATCH, DELETE
  std::string url;             // absolute
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when file.fd < 0 and the method carries a body
  FileBody file;     // PATCH from a file when fd >= 0
  std::function<void(uint64_t sent)> on_sent;  // bytes of the body sent so far (from curl)
};

struct HttpOptions {
  int connect_timeout_s = 10;
  int stall_timeout_s = 60;  // below 1 byte/s for this long: kUnavailable ("stalled")
  std::string user_agent = "convoywatch-submit";
};

class HttpClient {
 public:
  explicit HttpClient(HttpOptions options);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<HttpResponse> send(const HttpRequest& request);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `location` (absolute, or a path on the server) made absolute against `base`
// ("http://host:port" + optional path prefix).
std::string resolve_url(const std::string& base, const std::string& location);

}  // namespace cw::client
