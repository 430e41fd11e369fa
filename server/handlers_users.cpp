// /api/v1/me, organisations, user and token administration, and the audit log.
//
// An admin manages the users and tokens of their own organisation; a coordinator those of every
// organisation (store::UserScope). Users and tokens out of the caller's scope answer 404, like
// ids that do not exist; a user-creation naming an organisation out of scope answers the same
// 422 as one naming no organisation at all. Nobody creates a coordinator through the API.
#include <charconv>

#include "common/time.hpp"
#include "server/context.hpp"
#include "server/json_body.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/request_bodies.hpp"
#include "server/routes.hpp"
#include "store/audit.hpp"
#include "store/users.hpp"

namespace cw::server {

namespace {

Result<int64_t> id_param(const RequestContext& ctx, const std::string& name) {
  const std::string& s = ctx.params.at(name);
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v <= 0) {
    return Error(Code::kNotFound, "no such " + name + ": " + s);
  }
  return v;
}

nlohmann::json user_json(const store::User& u) {
  return {{"id", u.id},
          {"name", u.name},
          {"role", store::role_name(u.role)},
          {"org", {{"id", u.org_id}, {"name", u.org_name}}},
          {"created_at", format_rfc3339(u.created_at)},
          {"active_tokens", u.active_tokens}};
}

Result<Reply> me(RequestContext& ctx) {
  const store::Principal& p = ctx.user();
  return Reply::json(http::status::ok, {{"id", p.user_id},
                                        {"name", p.user_name},
                                        {"role", store::role_name(p.role)},
                                        {"org", {{"id", p.org_id}, {"name", p.org_name}}},
                                        {"token_id", p.token_id}});
}

nlohmann::json org_json(const store::Organisation& o) {
  return {{"id", o.id},
          {"name", o.name},
          {"created_at", format_rfc3339(o.created_at)},
          {"users", o.users}};
}

Result<Reply> list_orgs(RequestContext& ctx) {
  auto orgs = store::Users(ctx.services.db).list_orgs();
  if (!orgs.ok()) return orgs.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& o : *orgs) items.push_back(org_json(o));
  return Reply::json(http::status::ok, {{"items", items}});
}

Result<Reply> create_org(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto name = parse_new_organisation(*body);
  if (!name.ok()) return name.error();
  auto created = store::Users(ctx.services.db).create_org(*name, ctx.actor());
  if (!created.ok()) return created.error();
  Reply reply = Reply::json(http::status::created, org_json(*created));
  reply.headers.set(http::field::location, "/api/v1/organisations/" + std::to_string(created->id));
  return reply;
}

Result<Reply> list_users(RequestContext& ctx) {
  auto page = parse_page(ctx);
  if (!page.ok()) return page.error();
  auto users = store::Users(ctx.services.db)
                   .list(page->after, page->limit + 1, store::UserScope::of(ctx.user()));
  if (!users.ok()) return users.error();
  nlohmann::json items = nlohmann::json::array();
  bool more = static_cast<int>(users->size()) > page->limit;
  if (more) users->pop_back();
  for (const auto& u : *users) items.push_back(user_json(u));
  nlohmann::json next = more ? nlohmann::json(encode_cursor(users->back().id)) : nlohmann::json();
  return Reply::json(http::status::ok, {{"items", items}, {"next_cursor", next}});
}

Result<Reply> create_user(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto in = parse_new_user(*body);
  if (!in.ok()) return in.error();
  const store::Principal& who = ctx.user();
  if (in->org.empty()) in->org = who.org_name;  // an admin's own by default
  if (who.role != store::Role::kCoordinator && in->org != who.org_name) {
    // The same answer as for an organisation that does not exist (store::Users::add).
    return Error(Code::kUnprocessable, "no organisation named " + in->org, "org");
  }
  auto created = store::Users(ctx.services.db).add(in->name, in->org, in->role, ctx.actor());
  if (!created.ok()) return created.error();
  nlohmann::json out = user_json(created->user);
  out["token"] = {{"id", created->token_id}, {"token", created->token}};
  Reply reply = Reply::json(http::status::created, out);
  reply.headers.set(http::field::location, "/api/v1/users/" + std::to_string(created->user.id));
  return reply;
}

Result<Reply> get_user(RequestContext& ctx) {
  auto id = id_param(ctx, "id");
  if (!id.ok()) return id.error();
  auto user = store::Users(ctx.services.db).get(*id, store::UserScope::of(ctx.user()));
  if (!user.ok()) return user.error();
  return Reply::json(http::status::ok, user_json(*user));
}

Result<Reply> create_token(RequestContext& ctx) {
  auto id = id_param(ctx, "id");
  if (!id.ok()) return id.error();
  std::string label;
  if (!ctx.request.body().empty()) {
    auto body = parse_json_object(ctx.request);
    if (!body.ok()) return body.error();
    auto l = parse_token_label(*body);
    if (!l.ok()) return l.error();
    label = std::move(l.value());
  }
  auto token = store::Users(ctx.services.db)
                   .create_token(*id, label, ctx.actor(), store::UserScope::of(ctx.user()));
  if (!token.ok()) return token.error();
  return Reply::json(
      http::status::created,
      {{"id", token->id}, {"user_id", token->user_id}, {"label", label}, {"token", token->token}});
}

Result<Reply> revoke_token(RequestContext& ctx) {
  auto id = id_param(ctx, "id");
  if (!id.ok()) return id.error();
  if (Status s = store::Users(ctx.services.db)
                     .revoke_token(*id, ctx.actor(), store::UserScope::of(ctx.user()));
      !s.ok())
    return s.error();
  return Reply::empty(http::status::no_content);
}

Result<Reply> audit(RequestContext& ctx) {
  auto page = parse_page(ctx);
  if (!page.ok()) return page.error();
  std::string object = ctx.query_param("object").value_or("");
  if (object.size() > 200) return Error(Code::kUnprocessable, "object is too long", "object");
  auto entries = store::AuditLog(ctx.services.db)
                     .list(object, page->after, page->limit + 1, ctx.user().org_id);
  if (!entries.ok()) return entries.error();
  bool more = static_cast<int>(entries->size()) > page->limit;
  if (more) entries->pop_back();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& e : *entries) {
    items.push_back({{"id", e.id},
                     {"at", format_rfc3339(e.at)},
                     {"actor", e.actor},
                     {"actor_id", e.actor_id ? nlohmann::json(*e.actor_id) : nlohmann::json()},
                     {"action", e.action},
                     {"object", e.object},
                     {"diff", e.diff},
                     {"hash", e.hash}});
  }
  nlohmann::json next = more ? nlohmann::json(encode_cursor(entries->back().id)) : nlohmann::json();
  return Reply::json(http::status::ok, {{"items", items}, {"next_cursor", next}});
}

}  // namespace

void add_user_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/me", me, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/organisations", list_orgs, {.roles = kCoordinators});
  router.add(http::verb::post, "/api/v1/organisations", create_org, {.roles = kCoordinators});
  router.add(http::verb::get, "/api/v1/users", list_users, {.roles = kAdmins});
  router.add(http::verb::post, "/api/v1/users", create_user, {.roles = kAdmins});
  router.add(http::verb::get, "/api/v1/users/{id}", get_user, {.roles = kAdmins});
  router.add(http::verb::post, "/api/v1/users/{id}/tokens", create_token, {.roles = kAdmins});
  router.add(http::verb::delete_, "/api/v1/tokens/{id}", revoke_token, {.roles = kAdmins});
  router.add(http::verb::get, "/api/v1/audit", audit, {.roles = kAnalysts});
}

}  // namespace cw::server
