// What the server does with a request once its header is in, before any body byte is read: a
// pure function of the header, the routing table and the limits (no I/O, no database), so that
// the session stays a transport and the rules have a table test of their own
// (tests/unit/admission_test.cpp).
//
// The answer is either a reply to send at once — a malformed or smuggling-prone framing, a
// target that is not a valid path or not UTF-8, a CORS preflight or OPTIONS, 404, 405, a body
// larger than a route without a token accepts — or the route to run, with its parameters and the
// body limit, and whether its body streams to a sink (uploads) or is read whole. Authentication
// happens next, in the session, still before the body (middleware.hpp). On a route that needs a
// token, a declared body larger than the route accepts is answered (413) only after the token,
// rate limit and role passed: a caller without a valid token always gets its 401, whatever it
// declares, and learns nothing about the route's limits.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "server/http.hpp"
#include "server/router.hpp"

namespace cw::server {

struct Admission {
  enum class Kind {
    kReply,     // send `reply`; `close_after` when a body would be left unread
    kBuffered,  // read the body (at most body_limit bytes), then run route->handler
    kStream,    // open route->options.open_stream; the body (at most body_limit) goes to it
  };
  Kind kind = Kind::kReply;
  Reply reply;
  bool close_after = false;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;      // decoded path parameters
  std::string path;                               // decoded path
  std::multimap<std::string, std::string> query;  // decoded query parameters
  int64_t body_limit = 0;
  // kBuffered / kStream on a route that needs a token: the reply (413) to send once the caller
  // is admitted, instead of reading the body or opening the stream.
  std::optional<Reply> after_auth;
};

// `body_pending`: the message has a body still to read (Content-Length > 0 or chunked).
Admission admit_header(const RequestHeader& header, bool body_pending, const Router& router,
                       const ServerConfig& config);

}  // namespace cw::server
