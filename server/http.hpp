// HTTP types used inside server/ (and only there): Beast aliases and the Reply a handler gives.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace cw::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using RequestHeader = http::request_header<>;

// An open file (closed when the last reference goes) and the byte range of it to send.
struct FileSpan {
  std::shared_ptr<const int> fd;  // owns the descriptor
  uint64_t offset = 0;
  uint64_t length = 0;
  static FileSpan adopt(int fd, uint64_t offset, uint64_t length);
};

// What a handler answers. The transport adds the request id, CORS and connection headers.
// With `file` set the body is streamed from the file instead of `body`.
struct Reply {
  http::status status = http::status::ok;
  http::fields headers;
  std::string body;
  std::optional<FileSpan> file;

  static Reply json(http::status status, const nlohmann::json& body);
  static Reply text(http::status status, std::string body, std::string content_type);
  static Reply empty(http::status status);
};

}  // namespace cw::server
