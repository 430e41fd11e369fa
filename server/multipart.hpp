// Streaming multipart/form-data parser (RFC 7578 over RFC 2046) for video submissions.
//
// The parser is pure: it owns no socket and no file. The caller feeds body bytes in chunks of
// any size and receives callbacks on a MultipartHandler; part data is handed over as views into
// the caller's own chunk wherever possible, so a 2 GB file part streams straight to disk and the
// parser holds at most one delimiter's worth of bytes (plus, briefly, one part's header block,
// bounded by MultipartLimits::max_header_bytes). It is safe to feed arbitrary bytes (fuzzed).
//
// Thread-safety: a MultipartParser belongs to one request; it is not safe to share.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.hpp"

namespace cw::server {

// Extracts the boundary from a Content-Type header value such as
// `multipart/form-data; boundary=----abc` or `multipart/form-data; boundary="a b"`.
// Type, subtype and parameter names are case-insensitive. Errors: kUnsupportedMedia when the
// media type is not multipart/form-data; kInvalidArgument when the boundary is missing,
// repeated, longer than 70 characters or uses characters outside RFC 2046 bchars.
Result<std::string> multipart_boundary(std::string_view content_type);

struct MultipartLimits {
  // Bytes of one part's header block, from after the boundary line up to and including the
  // blank line that ends it.
  size_t max_header_bytes = 16 * 1024;
  size_t max_parts = 16;
};

struct PartHeaders {
  // The `name` parameter of Content-Disposition; never empty.
  std::string name;
  // `filename*` (RFC 5987, decoded to UTF-8) when present, else `filename`, else nullopt.
  // Always valid UTF-8 without control characters. It is what the client sent, possibly with a
  // directory part: never use it as a path (RFC 7578 section 4.2).
  std::optional<std::string> filename;
  // The Content-Type header value as sent, or empty when absent (RFC 7578 then means
  // text/plain).
  std::string content_type;
  // Every header field of the part in order: name as sent, value without surrounding blanks.
  std::vector<std::pair<std::string, std::string>> headers;
};

// Receives the parts of a body. An error returned from any method stops the parser and is
// returned unchanged from MultipartParser::feed, so a handler can refuse a part with the code
// it wants the client to see (kPayloadTooLarge, kUnsupportedMedia, ...).
class MultipartHandler {
 public:
  virtual ~MultipartHandler() = default;
  virtual Status on_part_begin(const PartHeaders& headers) = 0;
  // Called zero or more times per part with consecutive pieces of its content. `data` is valid
  // only during the call and is never empty.
  virtual Status on_part_data(std::string_view data) = 0;
  // Called when the part's closing delimiter has been seen. Not called for a part that is cut
  // short or after an error.
  virtual Status on_part_end() = 0;
};

class MultipartParser {
 public:
  // `boundary` is the value returned by multipart_boundary(). An invalid boundary makes every
  // feed() fail with kInvalidArgument. `handler` must outlive the parser.
  MultipartParser(std::string_view boundary, MultipartHandler& handler,
                  MultipartLimits limits = {});

  MultipartParser(const MultipartParser&) = delete;
  MultipartParser& operator=(const MultipartParser&) = delete;

  // Consumes the next piece of the body (any size, including empty). Returns the first error:
  // malformed syntax (kInvalidArgument), a limit exceeded (kPayloadTooLarge), or whatever the
  // handler returned. After an error every call returns that same error and the handler is not
  // called again. Bytes after the closing delimiter (the epilogue) are ignored.
  Status feed(std::string_view chunk);

  // Declares the end of the body. Fails with kInvalidArgument unless the closing delimiter
  // `--boundary--` was seen, i.e. when the body was cut short.
  Status finish();

  // True once the closing delimiter has been seen.
  bool done() const { return state_ == State::kDone; }
  // Parts begun so far.
  size_t parts() const { return parts_; }
  // Bytes the parser holds between calls: at most boundary length + 5 (a possible delimiter at
  // the end of the last chunk), or up to max_header_bytes + 2 while a part's header block is
  // being collected. It never grows with the size of a part.
  size_t buffered_bytes() const { return pending_.size() + header_buf_.size(); }

 private:
  enum class State { kPreamble, kHeaders, kData, kDone };

  Result<size_t> consume(std::string_view in);
  Result<size_t> scan_body(std::string_view in, size_t pos);
  Result<size_t> scan_headers(std::string_view in, size_t pos);
  size_t find_delimiter(std::string_view in, size_t from) const;
  size_t held_back_start(std::string_view in, size_t pos) const;
  Status fail(Error error);

  std::string delim_;                // "\r\n--" + boundary
  std::array<uint8_t, 256> skip_{};  // Boyer-Moore-Horspool shifts for delim_
  MultipartHandler& handler_;
  MultipartLimits limits_;
  State state_ = State::kPreamble;
  Status status_;
  std::string pending_;     // unconsumed tail of earlier chunks
  std::string header_buf_;  // the header block being collected
  size_t parts_ = 0;
};

}  // namespace cw::server
