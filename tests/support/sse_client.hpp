// A Server-Sent Events client for e2e tests: GET a text/event-stream over a real socket on a
// thread of its own, decode the chunked body and the event frames as they arrive, and let the
// test wait for what it expects.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

namespace cw::test {

struct SseEvent {
  std::string id;     // "" when the frame had none
  std::string event;  // "message" when the frame had none
  std::string data;
  std::chrono::steady_clock::time_point received;
  nlohmann::json json() const { return nlohmann::json::parse(data, nullptr, false); }
};

class SseClient {
 public:
  // Connects and sends GET `target` with `headers`; the response header is read on the thread.
  SseClient(int port, const std::string& target, const std::map<std::string, std::string>& headers);
  ~SseClient();  // closes the connection, joins the thread
  SseClient(const SseClient&) = delete;
  SseClient& operator=(const SseClient&) = delete;

  // The response status once the header is in (waits up to `timeout`; 0 when none came).
  int status(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until `done(events so far)` holds; false after `timeout`.
  bool wait(const std::function<bool(const std::vector<SseEvent>&)>& done,
            std::chrono::milliseconds timeout);
  std::vector<SseEvent> events() const;
  int comments() const;  // heartbeat and other comment lines seen
  // Whether the server ended the stream (last chunk or closed connection).
  bool ended() const;
  // Closes the connection from this side (a dropped connection).
  void close();

 private:
  void run(int port, std::string request);
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
};

}  // namespace cw::test
