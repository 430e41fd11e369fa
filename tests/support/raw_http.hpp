// HTTP/1.1 written by hand on one TCP connection with real deadlines, for what http_request
// cannot do: send a body piece by piece (an upload that the test kills halfway), keep reading
// after the server refused a body and broke the connection (the 507 of a full disk), and time
// one request against a bound (a sync Beast stream ignores expires_after; these use poll()).
// A RawConnection belongs to one thread.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "tests/support/http_client.hpp"

namespace cw::test {

class RawConnection {
 public:
  // Connects to 127.0.0.1:port; throws std::runtime_error when it cannot. Every send() and
  // read_response() ends by `timeout_ms` after it began.
  explicit RawConnection(int port, int timeout_ms = 30000);
  ~RawConnection();
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  // Writes all of `bytes`; false once the connection is broken (closed or reset by the server)
  // or the deadline passed.
  bool send(std::string_view bytes);
  // Reads one response (status line, headers, a Content-Length body, or up to the close).
  // Bytes the server sent before it reset the connection are still read. status 0 when no
  // complete response arrived; error() then says why.
  HttpResponse read_response();
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  int timeout_ms_;
  std::string in_;
  std::string error_;
};

// The request line and headers of `method target` with Host, Content-Length (when `body_size`
// is not negative) and `headers` as given, up to and including the blank line.
std::string request_head(const std::string& method, const std::string& target,
                         const std::map<std::string, std::string>& headers, long long body_size);

struct TimedResponse {
  HttpResponse response;  // status 0 when none came
  double seconds = 0;     // from connect to the end of the response (or the failure)
  std::string error;      // why no response came
};

// One request on a new connection, timed; never throws.
TimedResponse timed_request(int port, const std::string& method, const std::string& target,
                            const std::map<std::string, std::string>& headers,
                            const std::string& body, int timeout_ms);

// multipart/form-data for POST /api/v1/submissions: `head` + file bytes + `tail` is the body.
struct SubmissionForm {
  std::string content_type;
  std::string head;  // the metadata part and the headers of the file part
  std::string tail;  // the end of the file part and the closing boundary
};
SubmissionForm submission_form(const std::string& metadata_json, const std::string& filename);

}  // namespace cw::test
