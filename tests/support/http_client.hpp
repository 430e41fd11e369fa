// A small synchronous HTTP/1.1 client over a real TCP socket (Beast), for e2e tests.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cw::test {

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;

  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? "" : it->second;
  }
};

// One request on a new connection. `headers` are sent as given. Throws on connection errors.
HttpResponse http_request(int port, const std::string& method, const std::string& target,
                          const std::map<std::string, std::string>& headers = {},
                          const std::string& body = {}, int timeout_ms = 30000);

// Raw bytes in, raw bytes out (for malformed requests); reads until the server closes or
// `timeout_ms` passes.
std::string raw_exchange(int port, const std::string& bytes, int timeout_ms = 5000);

}  // namespace cw::test
