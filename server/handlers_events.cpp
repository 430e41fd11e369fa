// GET /api/v1/events: the live event stream (server/events.hpp).
#include "server/context.hpp"
#include "server/events.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"

namespace cw::server {

namespace {

// Last-Event-ID (what EventSource sends when it reconnects), or ?last_event_id= for clients
// that cannot set headers.
Result<std::optional<int64_t>> last_event_id(const RequestContext& ctx) {
  std::string text(ctx.request["Last-Event-ID"]);
  std::string field = "Last-Event-ID";
  if (text.empty()) {
    text = ctx.query_param("last_event_id").value_or("");
    field = "last_event_id";
  }
  if (text.empty()) return std::optional<int64_t>();
  int64_t id = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || id > (INT64_MAX - 9) / 10) {
      return Error(Code::kUnprocessable, field + " must be an event id (digits)", field);
    }
    id = id * 10 + (c - '0');
  }
  return std::optional<int64_t>(id);
}

Result<Reply> events(RequestContext& ctx) {
  if (ctx.services.events == nullptr) {
    return Error(Code::kUnavailable, "live events are not available on this server");
  }
  auto after = last_event_id(ctx);
  if (!after.ok()) return after.error();
  auto stream = ctx.services.events->open(ctx.user(), *after);
  if (!stream.ok()) return stream.error();
  Reply r;
  r.status = http::status::ok;
  r.headers.set(http::field::content_type, "text/event-stream; charset=utf-8");
  r.headers.set(http::field::cache_control, "no-cache, no-store");
  r.headers.set("X-Accel-Buffering", "no");  // proxies must not hold events back
  r.stream = std::move(*stream);
  return r;
}

}  // namespace

void add_event_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/events", events, {.roles = kAnyRole});
}

}  // namespace cw::server
