// SseClient: Beast's response parser with a buffer body decodes the chunked framing; the event
// frames (RFC: lines "field: value", a blank line ends an event) are parsed here.
#include "tests/support/sse_client.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace cw::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct SseClient::Impl {
  net::io_context ioc;
  tcp::socket socket{ioc};
  mutable std::mutex mu;
  std::condition_variable cv;
  int status = 0;                // guarded by mu
  bool ended = false;            // guarded by mu
  std::vector<SseEvent> events;  // guarded by mu
  int comments = 0;              // guarded by mu
  std::string pending;           // the thread's undecoded text
  SseEvent current;
};

SseClient::SseClient(int port, const std::string& target,
                     const std::map<std::string, std::string>& headers)
    : impl_(std::make_unique<Impl>()) {
  std::string request = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  impl_->socket.connect(
      tcp::endpoint(net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  thread_ = std::thread([this, port, request] { run(port, request); });
}

SseClient::~SseClient() {
  close();
  thread_.join();
}

void SseClient::close() {
  beast::error_code ec;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ec);
}

void SseClient::run(int, std::string request) {
  Impl& im = *impl_;
  auto finish = [&] {
    std::lock_guard lock(im.mu);
    im.ended = true;
    im.cv.notify_all();
  };
  beast::error_code ec;
  net::write(im.socket, net::buffer(request), ec);
  if (ec) return finish();
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  http::read_header(im.socket, buffer, parser, ec);
  if (ec) return finish();
  {
    std::lock_guard lock(im.mu);
    im.status = parser.get().result_int();
    im.cv.notify_all();
  }
  char chunk[8192];
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof chunk;
    http::read_some(im.socket, buffer, parser, ec);
    if (ec == http::error::need_buffer) ec = {};
    const size_t got = sizeof chunk - parser.get().body().size;
    im.pending.append(chunk, got);
    // Complete lines become fields; a blank line dispatches the event.
    size_t nl;
    while ((nl = im.pending.find('\n')) != std::string::npos) {
      std::string line = im.pending.substr(0, nl);
      im.pending.erase(0, nl + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      std::lock_guard lock(im.mu);
      if (line.empty()) {
        if (!im.current.data.empty() || !im.current.event.empty()) {
          if (im.current.event.empty()) im.current.event = "message";
          if (!im.current.data.empty() && im.current.data.back() == '\n') {
            im.current.data.pop_back();
          }
          im.current.received = std::chrono::steady_clock::now();
          im.events.push_back(std::move(im.current));
          im.cv.notify_all();
        }
        im.current = SseEvent{};
      } else if (line[0] == ':') {
        ++im.comments;
        im.cv.notify_all();
      } else {
        const size_t colon = line.find(':');
        std::string field = line.substr(0, colon);
        std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!value.empty() && value[0] == ' ') value.erase(0, 1);
        if (field == "id") im.current.id = value;
        if (field == "event") im.current.event = value;
        if (field == "data") im.current.data += value + "\n";
      }
    }
    if (ec) break;
  }
  finish();
}

int SseClient::status(std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return impl_->status != 0 || impl_->ended; });
  return impl_->status;
}

bool SseClient::wait(const std::function<bool(const std::vector<SseEvent>&)>& done,
                     std::chrono::milliseconds timeout) {
  std::unique_lock lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [&] { return done(impl_->events) || impl_->ended; }) &&
         done(impl_->events);
}

std::vector<SseEvent> SseClient::events() const {
  std::lock_guard lock(impl_->mu);
  return impl_->events;
}

int SseClient::comments() const {
  std::lock_guard lock(impl_->mu);
  return impl_->comments;
}

bool SseClient::ended() const {
  std::lock_guard lock(impl_->mu);
  return impl_->ended;
}

}  // namespace cw::test
