// Operational routes: /healthz, /readyz, /metrics and the OpenAPI document.
#include "server/context.hpp"
#include "server/metrics.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "store/geodata.hpp"
#include "store/migrations.hpp"

namespace cw::server {

namespace {

Result<Reply> healthz(RequestContext&) { return Reply::json(http::status::ok, {{"status", "ok"}}); }

Result<Reply> readyz(RequestContext& ctx) {
  if (Status s = ctx.services.db.ping(); !s.ok()) {
    return problem(http::status::service_unavailable, "database: " + s.error().detail());
  }
  auto state = store::migration_state(ctx.services.db, store::builtin_migrations());
  if (!state.ok()) {
    return problem(http::status::service_unavailable, "migrations: " + state.error().detail());
  }
  if (!state->pending.empty()) {
    return problem(http::status::service_unavailable,
                   "migrations pending: " + state->pending.front() + " (run convoywatch migrate)");
  }
  auto geodata = store::geodata_ready(ctx.services.db);
  if (!geodata.ok()) {
    return problem(http::status::service_unavailable, "geodata: " + geodata.error().detail());
  }
  if (!*geodata) {
    return problem(http::status::service_unavailable,
                   "the reference geodata is not loaded, so observations cannot be derived: run "
                   "`convoywatch geodata load` (or `convoywatch migrate`)");
  }
  return Reply::json(http::status::ok, {{"status", "ready"},
                                        {"migrations", state->applied.size()},
                                        {"geodata", true},
                                        {"sandbox", ctx.services.config.pipeline.sandbox}});
}

Result<Reply> metrics(RequestContext& ctx) {
  return Reply::text(
      http::status::ok,
      ctx.services.metrics.render(ctx.services.db.stats(), ctx.services.media.tus_hash_stats()),
      "text/plain; version=0.0.4; charset=utf-8");
}

Result<Reply> openapi(RequestContext&) {
  Reply r = Reply::text(http::status::ok, std::string(openapi_document()), "application/json");
  r.headers.set(http::field::cache_control, "no-cache");
  return r;
}

}  // namespace

void add_ops_routes(Router& router) {
  RouteOptions open_inline{.roles = {}, .body_limit = 0, .blocking = false};
  RouteOptions open_blocking{.roles = {}, .body_limit = 0, .blocking = true};
  router.add(http::verb::get, "/healthz", healthz, open_inline);
  router.add(http::verb::get, "/readyz", readyz, open_blocking);
  router.add(http::verb::get, "/metrics", metrics, open_inline);
  router.add(http::verb::get, "/api/v1/openapi.json", openapi, open_inline);
}

}  // namespace cw::server
