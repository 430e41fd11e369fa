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

// Where a long-lived response (Server-Sent Events) writes its body, one piece at a time. The
// session implements it; every method is thread-safe and never blocks.
class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Queues `data` for the client. False when the connection is gone or its queue is full (a
  // client that does not read): the stream has then ended and further pushes are dropped.
  virtual bool push(std::string data) = 0;
  // Ends the response (the last chunk) and the connection.
  virtual void end() = 0;
  // False once the connection has ended, for whatever reason.
  virtual bool open() const = 0;
};

// The producer of a long-lived response. The session calls start() once, after the header went
// out, with the sink to write to; the producer keeps it until the stream ends. stop() comes once
// when the connection ends first (the client left, the server stops).
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual void start(std::shared_ptr<StreamSink> sink) = 0;
  virtual void stop() = 0;
};

// What a handler answers. The transport adds the request id, CORS and connection headers.
// With `file` set the body is streamed from the file instead of `body`; with `stream` set the
// body is chunked and comes from the stream for as long as it lasts (`body` is ignored).
struct Reply {
  http::status status = http::status::ok;
  http::fields headers;
  std::string body;
  std::optional<FileSpan> file;
  std::shared_ptr<ResponseStream> stream;

  static Reply json(http::status status, const nlohmann::json& body);
  static Reply text(http::status status, std::string body, std::string content_type);
  static Reply empty(http::status status);
};

}  // namespace cw::server
