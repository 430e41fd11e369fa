// /api/v1/observations (list in four formats, create, read, patch, delete, verification,
// bulk import) and /api/v1/submissions/{id}/geolocation.
#include <fmt/format.h>

#include <algorithm>
#include <iterator>
#include <map>

#include "common/sha256.hpp"
#include "server/json_body.hpp"
#include "server/metrics.hpp"
#include "server/observation_io.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/read_cache.hpp"
#include "server/request_bodies.hpp"
#include "server/routes.hpp"
#include "store/analysis.hpp"
#include "store/geolocations.hpp"
#include "store/observations.hpp"
#include "store/submissions.hpp"

namespace cw::server {
namespace {

Result<int64_t> path_id(RequestContext& ctx) {
  return positive_id(ctx.params.at("id"), "id", Code::kNotFound);
}

enum class Format { kJson, kGeoJson, kCsv, kKml };

// `format=` wins over Accept; unknown format values are 422, an Accept naming none of ours is
// answered with JSON.
Result<Format> pick_format(const RequestContext& ctx) {
  if (auto f = ctx.query_param("format")) {
    if (*f == "json") return Format::kJson;
    if (*f == "geojson") return Format::kGeoJson;
    if (*f == "csv") return Format::kCsv;
    if (*f == "kml") return Format::kKml;
    return Error(Code::kUnprocessable, "format must be one of json, geojson, csv, kml", "format");
  }
  std::string accept(ctx.request[http::field::accept]);
  if (accept.find("application/geo+json") != std::string::npos) return Format::kGeoJson;
  if (accept.find("text/csv") != std::string::npos) return Format::kCsv;
  if (accept.find("application/vnd.google-earth.kml+xml") != std::string::npos) return Format::kKml;
  return Format::kJson;
}

// The same query with the cursor moved on, for Link headers.
std::string next_link(const RequestContext& ctx, const std::string& cursor) {
  std::string target = "/api/v1/observations?";
  for (const auto& [k, v] : ctx.query) {
    if (k == "cursor") continue;
    target += k + "=" + v + "&";  // values were decoded; re-encode the few unsafe characters
  }
  std::string out;
  for (char c : target + "cursor=" + cursor) {
    if (c == ' ' || c == '"' || c == '<' || c == '>' || c == '#') {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
  }
  return out;
}

Result<Reply> render_list(RequestContext& ctx, Format format) {
  bool json = format == Format::kJson;
  auto filter = parse_observation_filter(ctx.query, json ? 50 : 10000,
                                         json ? store::kMaxListLimit : store::kMaxExportRows);
  if (!filter.ok()) return filter.error();
  int limit = filter->limit;
  filter->limit = limit + 1;
  auto rows = store::Observations(ctx.services.db).list(*filter);
  if (!rows.ok()) return rows.error();
  bool more = static_cast<int>(rows->size()) > limit;
  if (more) rows->pop_back();
  std::string cursor = more ? encode_cursor(rows->back().id) : std::string();
  Reply reply;
  switch (format) {
    case Format::kJson: {
      nlohmann::json items = nlohmann::json::array();
      for (const auto& o : *rows) items.push_back(store::to_json(o));
      reply = Reply::json(
          http::status::ok,
          {{"items", items}, {"next_cursor", more ? nlohmann::json(cursor) : nlohmann::json()}});
      break;
    }
    case Format::kGeoJson:
      reply = Reply::text(http::status::ok, render_geojson(*rows, cursor), "application/geo+json");
      break;
    case Format::kCsv:
      reply = Reply::text(http::status::ok, render_csv(*rows), "text/csv; charset=utf-8");
      reply.headers.set(http::field::content_disposition,
                        "attachment; filename=\"observations.csv\"");
      break;
    case Format::kKml:
      reply =
          Reply::text(http::status::ok, render_kml(*rows), "application/vnd.google-earth.kml+xml");
      reply.headers.set(http::field::content_disposition,
                        "attachment; filename=\"observations.kml\"");
      break;
  }
  if (more) {
    // Built in steps: GCC 12's -Wrestrict misfires on "<" + string + "…" at -O3.
    std::string link = next_link(ctx, cursor);
    link.insert(0, 1, '<');
    link.append(">; rel=\"next\"");
    reply.headers.set(http::field::link, link);
  }
  return reply;
}

// The list cache's key: the format and every query parameter, each length-prefixed (decoded
// values may hold any separator).
std::string list_cache_key(Format format, const std::multimap<std::string, std::string>& query) {
  std::string key(1, static_cast<char>('0' + static_cast<int>(format)));
  for (const auto& [k, v] : query) {
    fmt::format_to(std::back_inserter(key), "{}:{}{}:{}", k.size(), k, v.size(), v);
  }
  return key;
}

// A page is the same for every caller (observations have no visibility rules), so it is kept
// until an observation, or a name it shows, changes (server/read_cache.hpp).
Result<Reply> list_observations(RequestContext& ctx) {
  auto format = pick_format(ctx);
  if (!format.ok()) return format.error();
  return read_through(
      ctx.services.caches, &ReadCaches::lists, store::ChangeFeed::Topic::kObservations,
      ctx.services.metrics, "lists", [&] { return list_cache_key(*format, ctx.query); },
      [&] { return render_list(ctx, *format); },
      [](const Reply& r) {
        size_t bytes = r.body.size();
        for (const auto& field : r.headers) bytes += field.value().size() + 32;
        return bytes;
      });
}

nlohmann::json observation_with_history(const store::Observation& o,
                                        const std::vector<store::Verdict>& verdicts) {
  nlohmann::json out = store::to_json(o);
  nlohmann::json history = nlohmann::json::array();
  for (const auto& v : verdicts) {
    history.push_back({{"verdict", v.verdict},
                       {"note", v.note},
                       {"analyst", v.analyst},
                       {"at", format_rfc3339(v.at)}});
  }
  out["verifications"] = history;
  return out;
}

Result<Reply> create_observation(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto in = parse_observation(*body);
  if (!in.ok()) return in.error();
  auto o = store::Observations(ctx.services.db).create(ctx.user(), *in);
  if (!o.ok()) return o.error();
  Reply r = Reply::json(http::status::created, observation_with_history(*o, {}));
  r.headers.set(http::field::location, fmt::format("/api/v1/observations/{}", o->id));
  return r;
}

Result<Reply> get_observation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  store::Observations obs(ctx.services.db);
  auto o = obs.get(*id);
  if (!o.ok()) return o.error();
  auto v = obs.verdicts(*id);
  if (!v.ok()) return v.error();
  return Reply::json(http::status::ok, observation_with_history(*o, *v));
}

// JSON merge patch (RFC 7396) over the current input fields, then the full validation.
Result<Reply> patch_observation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  std::string_view type = ctx.request[http::field::content_type];
  if (type.substr(0, type.find(';')) == "application/merge-patch+json") {
    ctx.request.set(http::field::content_type, "application/json");
  }
  auto patch = parse_json_object(ctx.request);
  if (!patch.ok()) return patch.error();
  store::Observations obs(ctx.services.db);
  auto cur = obs.get(*id);
  if (!cur.ok()) return cur.error();
  nlohmann::json merged = observation_input_json(cur->input);
  merged.merge_patch(*patch);
  auto in = parse_observation(merged);
  if (!in.ok()) return in.error();
  auto o = obs.update(ctx.user(), *id, *in);
  if (!o.ok()) return o.error();
  return Reply::json(http::status::ok, observation_with_history(*o, {}));
}

Result<Reply> delete_observation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  if (Status s = store::Observations(ctx.services.db).remove(ctx.user(), *id); !s.ok()) {
    return s.error();
  }
  return Reply::empty(http::status::no_content);
}

Result<Reply> verify_observation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto verdict = parse_observation_verdict(*body);
  if (!verdict.ok()) return verdict.error();
  store::Observations obs(ctx.services.db);
  auto o = obs.verify(ctx.user(), *id, verdict->verdict, verdict->note);
  if (!o.ok()) return o.error();
  auto v = obs.verdicts(*id);
  if (!v.ok()) return v.error();
  return Reply::json(http::status::ok, observation_with_history(*o, *v));
}

Result<Reply> import_observations(RequestContext& ctx) {
  std::string type(ctx.request[http::field::content_type]);
  type = type.substr(0, type.find(';'));
  while (!type.empty() && type.back() == ' ') type.pop_back();
  ImportResult parsed;
  const std::string& body = ctx.request.body();
  if (type == "text/csv") {
    parsed = parse_import_csv(body);
  } else if (type == "application/x-ndjson" || type == "application/jsonl") {
    parsed = parse_import_ndjson(body);
  } else {
    return Error(Code::kUnsupportedMedia, "the body must be text/csv or application/x-ndjson",
                 "Content-Type");
  }
  if (!parsed.problems.empty()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& p : parsed.problems) {
      errors.push_back({{"line", p.line}, {"field", p.field}, {"reason", p.reason}});
    }
    Error e(Code::kUnprocessable,
            fmt::format("{} line(s) are invalid; nothing was imported (first: line {}: {})",
                        parsed.problems.size(), parsed.problems[0].line, parsed.problems[0].reason),
            parsed.problems[0].field);
    Reply reply = problem(e);
    nlohmann::json doc = nlohmann::json::parse(reply.body);
    doc["errors"] = errors;
    // Column names and values are echoed as sent: replace what is not UTF-8 rather than throw.
    reply.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return reply;
  }
  if (parsed.rows.empty()) return Error(Code::kUnprocessable, "no rows to import", "body");
  auto ids = store::Observations(ctx.services.db)
                 .import(ctx.user(), parsed.rows, Sha256::hex_digest(body));
  if (!ids.ok()) return ids.error();
  return Reply::json(
      http::status::created,
      {{"imported", parsed.rows.size()}, {"first_id", ids->first}, {"last_id", ids->last}});
}

nlohmann::json geolocation_json(const store::Geolocation& g) {
  nlohmann::json refs = nlohmann::json::array();
  for (const auto& f : g.frame_refs) refs.push_back({{"sha256", f.sha256}, {"frame", f.frame}});
  return {{"id", g.id},
          {"lat", g.lat},
          {"lon", g.lon},
          {"precision", g.precision},
          {"method", g.method},
          {"evidence", g.evidence},
          {"frame_refs", refs},
          {"analyst", g.analyst},
          {"at", format_rfc3339(g.at)}};
}

// Current geolocation, its history, and the hints an analyst starts from.
Result<Reply> get_geolocation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  auto sub = store::Submissions(ctx.services.db).get(ctx.user(), *id);
  if (!sub.ok()) return sub.error();
  store::Geolocations geo(ctx.services.db);
  auto history = geo.history(*id);
  if (!history.ok()) return history.error();
  nlohmann::json hist = nlohmann::json::array();
  for (const auto& g : *history) hist.push_back(geolocation_json(g));

  nlohmann::json gps;
  if (sub->media) {
    auto analysis = store::Analyses(ctx.services.db).get(sub->media->sha256);
    if (analysis.ok()) {
      const auto& loc = analysis->first["media"].value("location", nlohmann::json());
      if (loc.is_object()) gps = loc;
    } else if (analysis.error().code() != Code::kNotFound) {
      return analysis.error();
    }
  }
  nlohmann::json claimed;
  std::optional<std::pair<double, double>> claim;
  if (const auto& c = sub->meta.claimed_location) {
    if (c->lat && c->lon) {
      claim = std::make_pair(*c->lat, *c->lon);
      claimed = {{"lat", *c->lat}, {"lon", *c->lon}, {"radius_m", c->radius_m.value_or(0)}};
    } else if (c->place) {
      claimed = {{"place", *c->place}};
    }
  }
  std::string text = sub->meta.description.value_or("");
  if (sub->meta.claimed_location && sub->meta.claimed_location->place) {
    text += " " + *sub->meta.claimed_location->place;
  }
  if (!claim && !gps.is_null() && gps.contains("lat")) {
    claim = std::make_pair(gps["lat"].get<double>(), gps["lon"].get<double>());
  }
  auto places = geo.places_in(store::text_words(text), claim);
  if (!places.ok()) return places.error();
  nlohmann::json hints = nlohmann::json::array();
  for (const auto& p : *places) {
    hints.push_back(
        {{"geonameid", p.geonameid},
         {"name", p.name},
         {"matched", p.matched},
         {"country", p.country},
         {"admin1", p.admin1},
         {"population", p.population},
         {"lat", p.lat},
         {"lon", p.lon},
         {"km_from_claim", p.km_from_claim ? nlohmann::json(*p.km_from_claim) : nlohmann::json()}});
  }
  return Reply::json(http::status::ok,
                     {{"current", hist.empty() ? nlohmann::json() : hist[0]},
                      {"history", hist},
                      {"hints", {{"metadata_gps", gps}, {"claimed", claimed}, {"places", hints}}}});
}

Result<Reply> add_geolocation(RequestContext& ctx) {
  auto id = path_id(ctx);
  if (!id.ok()) return id.error();
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto g = parse_geolocation(*body);
  if (!g.ok()) return g.error();
  auto added = store::Geolocations(ctx.services.db).add(ctx.user(), *id, *g);
  if (!added.ok()) return added.error();
  return Reply::json(http::status::created, geolocation_json(*added));
}

}  // namespace

void add_observation_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/observations", list_observations, {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/observations", create_observation, {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/observations/import", import_observations,
             {.roles = kAnyRole, .body_limit = int64_t{1} << 30});
  router.add(http::verb::get, "/api/v1/observations/{id}", get_observation, {.roles = kAnyRole});
  router.add(http::verb::patch, "/api/v1/observations/{id}", patch_observation,
             {.roles = kAnyRole});
  router.add(http::verb::delete_, "/api/v1/observations/{id}", delete_observation,
             {.roles = kAdmins});
  router.add(http::verb::post, "/api/v1/observations/{id}/verification", verify_observation,
             {.roles = kAnalysts});
  router.add(http::verb::get, "/api/v1/submissions/{id}/geolocation", get_geolocation,
             {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/submissions/{id}/geolocation", add_geolocation,
             {.roles = kAnalysts});
}

}  // namespace cw::server
