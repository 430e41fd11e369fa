// admit_header(): what the server does with a request header before reading any body, as one
// table of cases (method, target, headers) -> the answer: a status to send now (and whether the
// connection must close because a body would be left unread), or the route, its parameters and
// body limit.
#include "server/admission.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cw::server {
namespace {

Result<Reply> ok(RequestContext&) { return Reply::empty(http::status::ok); }

Router test_router() {
  Router r;
  r.add(http::verb::get, "/healthz", ok);
  r.add(http::verb::post, "/api/v1/open", ok, {.roles = {}, .body_limit = 1000});
  r.add(http::verb::get, "/api/v1/items", ok, {.roles = kAnyRole});
  r.add(http::verb::post, "/api/v1/items", ok, {.roles = kAnyRole, .body_limit = 1000});
  // The suffixed route first, as the real table does: "{id}" would match "42.csv" as well.
  r.add(http::verb::get, "/api/v1/items/{id}.csv", ok, {.roles = kAnyRole});
  r.add(http::verb::get, "/api/v1/items/{id}", ok, {.roles = kAnyRole});
  RouteOptions upload{.roles = kAnyRole};
  upload.open_stream = [](RequestContext&) -> Result<StreamStart> { return StreamStart{}; };
  upload.streams_when = [](const RequestHeader& h) {
    return h[http::field::content_type].starts_with("multipart/");
  };
  upload.stream_limit = 5000;
  r.add(http::verb::post, "/api/v1/uploads", ok, upload);
  r.set_fallback(ok);
  return r;
}

struct Case {
  const char* name;
  http::verb method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  bool body_pending;
  // Expected:
  Admission::Kind kind;
  int status;              // kReply
  bool close_after;        // kReply
  std::string pattern;     // kBuffered / kStream: the route's pattern
  int64_t body_limit = 0;  // kBuffered / kStream
  std::map<std::string, std::string> params = {};
  int after_auth = 0;  // kBuffered / kStream: the status to send once the caller is admitted
};

using K = Admission::Kind;
using V = http::verb;

const std::vector<Case> kCases = {
    {"plain GET (no token, so no body)",
     V::get,
     "/healthz",
     {},
     false,
     K::kBuffered,
     0,
     false,
     "/healthz",
     0},
    {"HEAD is GET", V::head, "/healthz", {}, false, K::kBuffered, 0, false, "/healthz", 0},
    {"a body on a route without a token: 413 at once",
     V::get,
     "/healthz",
     {{"Content-Length", "1"}},
     true,
     K::kReply,
     413,
     true,
     ""},
    {"path parameter",
     V::get,
     "/api/v1/items/42",
     {},
     false,
     K::kBuffered,
     0,
     false,
     "/api/v1/items/{id}",
     1 << 20,
     {{"id", "42"}}},
    {"suffixed parameter",
     V::get,
     "/api/v1/items/42.csv",
     {},
     false,
     K::kBuffered,
     0,
     false,
     "/api/v1/items/{id}.csv",
     1 << 20,
     {{"id", "42"}}},
    {"percent-decoded parameter",
     V::get,
     "/api/v1/items/a%20b",
     {},
     false,
     K::kBuffered,
     0,
     false,
     "/api/v1/items/{id}",
     1 << 20,
     {{"id", "a b"}}},
    {"route's own body limit",
     V::post,
     "/api/v1/items",
     {{"Content-Length", "10"}},
     true,
     K::kBuffered,
     0,
     false,
     "/api/v1/items",
     1000},
    {"body over the limit: 413 once the token passed, before reading it",
     V::post,
     "/api/v1/items",
     {{"Content-Length", "1001"}},
     true,
     K::kBuffered,
     0,
     false,
     "/api/v1/items",
     1000,
     {},
     413},
    {"a route without a token that takes a body",
     V::post,
     "/api/v1/open",
     {{"Content-Length", "1000"}},
     true,
     K::kBuffered,
     0,
     false,
     "/api/v1/open",
     1000},
    {"over the own limit of a route without a token: 413 at once",
     V::post,
     "/api/v1/open",
     {{"Content-Length", "1001"}},
     true,
     K::kReply,
     413,
     true,
     ""},
    {"streaming upload",
     V::post,
     "/api/v1/uploads",
     {{"Content-Type", "multipart/form-data; boundary=x"}, {"Content-Length", "4000"}},
     true,
     K::kStream,
     0,
     false,
     "/api/v1/uploads",
     5000},
    {"upload over the stream limit",
     V::post,
     "/api/v1/uploads",
     {{"Content-Type", "multipart/form-data; boundary=x"}, {"Content-Length", "5001"}},
     true,
     K::kStream,
     0,
     false,
     "/api/v1/uploads",
     5000,
     {},
     413},
    {"not streaming: the buffered limit",
     V::post,
     "/api/v1/uploads",
     {{"Content-Type", "application/json"}, {"Content-Length", "2000000"}},
     true,
     K::kBuffered,
     0,
     false,
     "/api/v1/uploads",
     1 << 20,
     {},
     413},
    {"unknown API path", V::get, "/api/v1/nothing", {}, false, K::kReply, 404, false, ""},
    {"unknown API path with a body: close",
     V::post,
     "/api/v1/nothing",
     {{"Content-Length", "5"}},
     true,
     K::kReply,
     404,
     true,
     ""},
    {"wrong method", V::delete_, "/api/v1/items", {}, false, K::kReply, 405, false, ""},
    {"OPTIONS lists methods", V::options, "/api/v1/items", {}, false, K::kReply, 204, false, ""},
    {"CORS preflight",
     V::options,
     "/api/v1/items/1",
     {{"Origin", "https://dash.example"}, {"Access-Control-Request-Method", "GET"}},
     false,
     K::kReply,
     204,
     false,
     ""},
    {"dashboard path", V::get, "/map", {}, false, K::kBuffered, 0, false, "/{path}", 0},
    {"dashboard root", V::get, "/", {}, false, K::kBuffered, 0, false, "/{path}", 0},
    {"no dashboard for POST", V::post, "/map", {}, false, K::kReply, 404, false, ""},
    {"no dashboard under /api", V::get, "/api/v2/x", {}, false, K::kReply, 404, false, ""},
    {"chunked with Content-Length: smuggling",
     V::post,
     "/api/v1/items",
     {{"Transfer-Encoding", "chunked"}, {"Content-Length", "5"}},
     true,
     K::kReply,
     400,
     true,
     ""},
    {"a coding other than chunked",
     V::post,
     "/api/v1/items",
     {{"Transfer-Encoding", "gzip"}},
     true,
     K::kReply,
     400,
     true,
     ""},
    {"chunked alone",
     V::post,
     "/api/v1/items",
     {{"Transfer-Encoding", "chunked"}},
     true,
     K::kBuffered,
     0,
     false,
     "/api/v1/items",
     1000},
    {"not UTF-8 in the path", V::get, "/api/v1/items/%ff", {}, false, K::kReply, 400, false, ""},
    {"NUL in the query", V::get, "/api/v1/items?q=%00", {}, false, K::kReply, 400, false, ""},
    {"not a path", V::get, "http://example.org/x", {}, false, K::kReply, 400, false, ""},
};

TEST(AdmissionTest, Table) {
  const Router router = test_router();
  ServerConfig config;
  config.cors_origins = {"https://dash.example"};
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    RequestHeader h;
    h.method(c.method);
    h.target(c.target);
    h.version(11);
    for (const auto& [k, v] : c.headers) h.insert(k, v);
    const Admission a = admit_header(h, c.body_pending, router, config);
    ASSERT_EQ(a.kind, c.kind);
    if (c.kind == K::kReply) {
      EXPECT_EQ(static_cast<int>(a.reply.status), c.status);
      EXPECT_EQ(a.close_after, c.close_after);
      continue;
    }
    ASSERT_NE(a.route, nullptr);
    EXPECT_EQ(a.route->pattern, c.pattern);
    EXPECT_EQ(a.body_limit, c.body_limit);
    EXPECT_EQ(a.params, c.params);
    EXPECT_EQ(a.after_auth ? static_cast<int>(a.after_auth->status) : 0, c.after_auth);
  }
}

TEST(AdmissionTest, ProblemsNameWhatIsWrong) {
  const Router router = test_router();
  ServerConfig config;
  RequestHeader h;
  h.method(http::verb::delete_);
  h.target("/api/v1/items");
  h.version(11);
  const Admission a = admit_header(h, false, router, config);
  EXPECT_EQ(a.reply.headers[http::field::content_type], "application/problem+json");
  EXPECT_NE(a.reply.headers[http::field::allow].find("POST"), std::string_view::npos);
  EXPECT_NE(a.reply.body.find("DELETE is not allowed on /api/v1/items"), std::string::npos);
}

}  // namespace
}  // namespace cw::server
