// HTTP types used inside server/ (and only there): Beast aliases and the Reply a handler gives.
#pragma once

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <string>

namespace cw::server {

namespace beast = boost::beast;
namespace http = boost::beast::http;

using Request = http::request<http::string_body>;
using RequestHeader = http::request_header<>;

// What a handler answers. The transport adds the request id, CORS and connection headers.
struct Reply {
  http::status status = http::status::ok;
  http::fields headers;
  std::string body;

  static Reply json(http::status status, const nlohmann::json& body);
  static Reply text(http::status status, std::string body, std::string content_type);
  static Reply empty(http::status status);
};

}  // namespace cw::server
