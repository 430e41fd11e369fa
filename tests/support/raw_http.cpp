// Hand-written HTTP/1.1 over a POSIX socket, with poll() deadlines.
#include "tests/support/raw_http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

namespace cw::test {

namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return static_cast<int>(std::max<long long>(0, left.count()));
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Parses `in` once it holds a whole response; false while more bytes are needed. `closed`: the
// peer will send nothing more (a body without Content-Length ends there).
bool parse_response(const std::string& in, bool closed, HttpResponse* out) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  HttpResponse r;
  size_t line_end = in.find("\r\n");
  std::string status_line = in.substr(0, line_end);
  if (status_line.size() < 12 || status_line.rfind("HTTP/1.", 0) != 0) return false;
  r.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end + 2;
  while (pos < end) {
    size_t eol = in.find("\r\n", pos);
    std::string line = in.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  size_t body_at = end + 4;
  // 1xx answers carry no body; the real one follows.
  if (r.status >= 100 && r.status < 200) {
    return parse_response(in.substr(body_at), closed, out);
  }
  if (auto it = r.headers.find("content-length"); it != r.headers.end()) {
    size_t length = std::stoull(it->second);
    if (in.size() - body_at < length) return false;
    r.body = in.substr(body_at, length);
  } else {
    if (!closed) return false;
    r.body = in.substr(body_at);
  }
  *out = std::move(r);
  return true;
}

}  // namespace

RawConnection::RawConnection(int port, int timeout_ms) : timeout_ms_(timeout_ms) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw std::runtime_error("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw std::runtime_error(std::string("connect failed: ") + std::strerror(err));
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(std::string_view bytes) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd_, POLLOUT, 0};
      int left = ms_left(deadline);
      if (left == 0 || ::poll(&p, 1, left) <= 0) {
        error_ = "send timed out";
        return false;
      }
      continue;
    }
    error_ = std::string("send failed: ") + std::strerror(errno);
    return false;
  }
  return true;
}

HttpResponse RawConnection::read_response() {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  HttpResponse out;
  char buf[64 * 1024];
  for (;;) {
    if (parse_response(in_, false, &out)) return out;
    pollfd p{fd_, POLLIN, 0};
    int left = ms_left(deadline);
    int ready = left == 0 ? 0 : ::poll(&p, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      error_ = "no complete response within " + std::to_string(timeout_ms_) + " ms";
      return HttpResponse{};
    }
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
    // Closed (0) or reset: what arrived is all there will be.
    if (parse_response(in_, true, &out)) return out;
    error_ = n == 0 ? "connection closed before a complete response"
                    : std::string("connection broken: ") + std::strerror(errno);
    return HttpResponse{};
  }
}

std::string request_head(const std::string& method, const std::string& target,
                         const std::map<std::string, std::string>& headers, long long body_size) {
  std::string head = method;
  head += ' ';
  head += target;
  head += " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers) {
    head += k;
    head += ": ";
    head += v;
    head += "\r\n";
  }
  if (body_size >= 0) {
    head += "Content-Length: ";
    head += std::to_string(body_size);
    head += "\r\n";
  }
  head += "\r\n";
  return head;
}

TimedResponse timed_request(int port, const std::string& method, const std::string& target,
                            const std::map<std::string, std::string>& headers,
                            const std::string& body, int timeout_ms) {
  TimedResponse out;
  const auto start = Clock::now();
  try {
    RawConnection c(port, timeout_ms);
    bool has_body = !body.empty() || method == "POST" || method == "PUT" || method == "PATCH";
    std::string request =
        request_head(method, target, headers, has_body ? static_cast<long long>(body.size()) : -1);
    request += body;
    // A refused body may break the connection while it is sent; the answer may still be there.
    bool sent = c.send(request);
    out.response = c.read_response();
    if (out.response.status == 0) out.error = (sent ? "" : "send: ") + c.error();
  } catch (const std::exception& e) {
    out.error = e.what();
  }
  out.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return out;
}

SubmissionForm submission_form(const std::string& metadata_json, const std::string& filename) {
  const std::string boundary = "cw-fault-boundary-7MA4YWxkTrZu0gW";
  SubmissionForm f;
  f.content_type = "multipart/form-data; boundary=";
  f.content_type += boundary;
  f.head = "--";
  f.head += boundary;
  f.head +=
      "\r\nContent-Disposition: form-data; name=\"metadata\"\r\nContent-Type: "
      "application/json\r\n\r\n";
  f.head += metadata_json;
  f.head += "\r\n--";
  f.head += boundary;
  f.head += "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"";
  f.head += filename;
  f.head += "\"\r\nContent-Type: video/mp4\r\n\r\n";
  f.tail = "\r\n--";
  f.tail += boundary;
  f.tail += "--\r\n";
  return f;
}

}  // namespace cw::test
