// RFC 9457 problem documents: the one place where an Error's Code becomes an HTTP status.
#pragma once

#include "common/error.hpp"
#include "server/http.hpp"

namespace cw::server {

http::status http_status(Code code);
// application/problem+json with type, title, status, detail, and `field` when the error names
// one. 503 and 429 carry Retry-After.
Reply problem(const Error& error);
Reply problem(http::status status, std::string detail, std::string field = {});

}  // namespace cw::server
