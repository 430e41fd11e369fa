// /api/v1/aggregates/observations (counts per time bucket and group, for the dashboard),
// /api/v1/convoys (tracks linked from the observations, analysts' splits and merges) and
// /api/v1/reports (built daily and weekly reports in JSON, HTML and CSV; build one now).
#include <fmt/format.h>

#include "reports/build.hpp"
#include "reports/convoys.hpp"
#include "reports/cron.hpp"
#include "server/json_body.hpp"
#include "server/observation_io.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "store/aggregates.hpp"
#include "store/convoys.hpp"

namespace cw::server {
namespace {

// group_by=oblast,movement or group_by=oblast&group_by=movement (or both).
std::vector<std::string> group_keys(const RequestContext& ctx) {
  std::vector<std::string> out;
  auto [first, last] = ctx.query.equal_range("group_by");
  for (auto it = first; it != last; ++it) {
    const std::string& v = it->second;
    size_t from = 0;
    while (from <= v.size()) {
      size_t comma = v.find(',', from);
      if (comma == std::string::npos) comma = v.size();
      if (comma > from) out.push_back(v.substr(from, comma - from));
      from = comma + 1;
    }
  }
  return out;
}

nlohmann::json optional_number(const std::optional<double>& d) {
  return d ? nlohmann::json(*d) : nlohmann::json();
}

Result<Reply> get_aggregates(RequestContext& ctx) {
  auto filter = parse_observation_filter(ctx.query, 1, 1);
  if (!filter.ok()) return filter.error();
  if (ctx.query_param("cursor") || ctx.query_param("limit")) {
    return Error(Code::kUnprocessable, "aggregates are not paged", "cursor");
  }
  store::AggregateQuery q;
  q.filter = *filter;
  if (auto b = ctx.query_param("bucket")) q.bucket = *b;
  if (auto tz = ctx.query_param("tz")) {
    // IANA names only: PostgreSQL would also take POSIX zone strings ("1", "UTC+3").
    if (Status s = reports::check_time_zone(*tz, "tz"); !s.ok()) {
      return Error(Code::kUnprocessable, s.error().detail(), "tz");
    }
    q.tz = *tz;
  }
  q.group_by = group_keys(ctx);
  if (q.filter.from && q.filter.to && *q.filter.from >= *q.filter.to) {
    return Error(Code::kUnprocessable, "from must be before to", "from");
  }
  auto result = store::Aggregates(ctx.services.db).query(q);
  if (!result.ok()) return result.error();
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : result->rows) {
    nlohmann::json row{{"bucket_start", format_rfc3339(r.bucket_start)},
                       {"bucket_label", r.bucket_label}};
    for (const auto& [k, v] : r.groups) row[k] = v ? nlohmann::json(*v) : nlohmann::json();
    row["observations"] = r.observations;
    row["vehicles"] = r.vehicles;
    row["toward"] = r.toward;
    row["away"] = r.away;
    row["parallel"] = r.parallel;
    row["stationary"] = r.stationary;
    row["unknown"] = r.unknown;
    row["mean_km_to_border"] = optional_number(r.mean_km_to_border);
    rows.push_back(std::move(row));
  }
  nlohmann::json body{
      {"bucket", q.bucket},
      {"tz", q.tz},
      {"group_by", q.group_by},
      {"status", q.filter.status.value_or("verified")},
      {"from", q.filter.from ? nlohmann::json(format_rfc3339(*q.filter.from)) : nlohmann::json()},
      {"to", q.filter.to ? nlohmann::json(format_rfc3339(*q.filter.to)) : nlohmann::json()},
      {"source", result->from_rollup ? "rollup" : "scan"},
      {"rows", std::move(rows)}};
  return Reply::json(http::status::ok, body);
}

// ---- Convoys ----

constexpr auto kDefaultConvoyWindow = std::chrono::hours(24 * 7);
constexpr auto kMaxConvoyWindow = std::chrono::hours(24 * 92);

nlohmann::json convoy_properties(const reports::Convoy& c) {
  nlohmann::json sightings = nlohmann::json::array();
  for (const auto& s : c.sightings) {
    sightings.push_back(
        {{"observation_id", s.id},
         {"observed_at", format_rfc3339(s.observed_at)},
         {"lat", s.lat},
         {"lon", s.lon},
         {"heading_deg", s.heading_deg ? nlohmann::json(*s.heading_deg) : nlohmann::json()},
         {"vehicles", s.vehicles},
         {"km_to_border", optional_number(s.km_to_border)}});
  }
  const char* direction = c.net_km_toward_border > 0.5    ? "toward"
                          : c.net_km_toward_border < -0.5 ? "away"
                                                          : "parallel";
  return {{"id", c.id},
          {"start", format_rfc3339(c.start)},
          {"end", format_rfc3339(c.end)},
          {"vehicles", c.vehicles},
          {"equipment", c.equipment},
          {"path_km", c.path_km},
          {"mean_speed_kmh", c.mean_speed_kmh},
          {"net_km_toward_border", c.net_km_toward_border},
          {"direction", direction},
          {"hand_edited", c.hand_edited},
          {"sightings", std::move(sightings)}};
}

Result<Reply> list_convoys(RequestContext& ctx) {
  auto filter = parse_observation_filter(ctx.query, 1, 1);
  if (!filter.ok()) return filter.error();
  for (const char* unsupported :
       {"cursor", "limit", "oblast", "country", "equipment_type", "movement", "submission_id"}) {
    if (ctx.query_param(unsupported)) {
      return Error(
          Code::kUnprocessable,
          fmt::format("{} is not a convoy filter (from, to, bbox, status, format)", unsupported),
          unsupported);
    }
  }
  reports::ConvoyQuery q;
  q.to = filter->to.value_or(now_utc());
  q.from = filter->from.value_or(q.to - kDefaultConvoyWindow);
  if (q.from >= q.to) return Error(Code::kUnprocessable, "from must be before to", "from");
  if (q.to - q.from > kMaxConvoyWindow) {
    return Error(Code::kUnprocessable, "from/to may span at most 92 days", "from");
  }
  q.status = filter->status;
  q.bbox = filter->bbox;
  std::string format = ctx.query_param("format").value_or("");
  if (format.empty()) {
    format = std::string(ctx.request[http::field::accept]).find("application/geo+json") !=
                     std::string::npos
                 ? "geojson"
                 : "json";
  }
  if (format != "json" && format != "geojson") {
    return Error(Code::kUnprocessable, "format must be json or geojson", "format");
  }
  auto convoys = reports::find_convoys(ctx.services.db, ctx.services.config.tracks, q);
  if (!convoys.ok()) return convoys.error();
  if (format == "geojson") {
    nlohmann::json features = nlohmann::json::array();
    for (const auto& c : *convoys) features.push_back(convoy_feature(c));
    return Reply::text(
        http::status::ok,
        nlohmann::json{{"type", "FeatureCollection"}, {"features", std::move(features)}}.dump(),
        "application/geo+json");
  }
  nlohmann::json items = nlohmann::json::array();
  for (const auto& c : *convoys) {
    nlohmann::json item = convoy_properties(c);
    item["geometry"] = convoy_feature(c)["geometry"];
    items.push_back(std::move(item));
  }
  return Reply::json(http::status::ok, {{"from", format_rfc3339(q.from)},
                                        {"to", format_rfc3339(q.to)},
                                        {"items", std::move(items)}});
}

Result<int64_t> convoy_id(RequestContext& ctx) {
  return positive_id(ctx.params.at("id"), "id", Code::kNotFound);
}

Result<Reply> get_convoy(RequestContext& ctx) {
  auto id = convoy_id(ctx);
  if (!id.ok()) return id.error();
  auto c = reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, *id);
  if (!c.ok()) return c.error();
  return Reply::json(http::status::ok, convoy_feature(*c));
}

// POST /convoys/{id}/split {"before": observation_id, "note"}: the track is cut before that
// sighting (which must be in it and not its first); both parts are answered.
Result<Reply> split_convoy(RequestContext& ctx) {
  auto id = convoy_id(ctx);
  if (!id.ok()) return id.error();
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  FieldReader reader(*body);
  auto before = reader.optional_int("before", 1, INT64_MAX);
  if (!before.ok()) return before.error();
  auto note = reader.optional_string("note", 2000);
  if (!note.ok()) return note.error();
  if (Status s = reader.finish(); !s.ok()) return s.error();
  if (!*before) return Error(Code::kUnprocessable, "before is required", "before");
  auto c = reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, *id);
  if (!c.ok()) return c.error();
  std::vector<int64_t> ids;
  for (const auto& s : c->sightings) ids.push_back(s.id);
  auto at = std::find(ids.begin(), ids.end(), **before);
  if (at == ids.end() || at == ids.begin()) {
    return Error(Code::kUnprocessable,
                 fmt::format("before must be a sighting of track {} other than its first", *id),
                 "before");
  }
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const auto& e : reports::split_edits(ids, static_cast<size_t>(at - ids.begin()))) {
    pairs.emplace_back(e.a, e.b);
  }
  if (Status s = store::ConvoyEdits(ctx.services.db)
                     .add(ctx.user(), "split", *id, pairs, note->value_or(""));
      !s.ok()) {
    return s.error();
  }
  nlohmann::json parts = nlohmann::json::array();
  for (int64_t part : {*id, **before}) {
    auto p = reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, part);
    if (p.ok()) parts.push_back(convoy_feature(*p));
  }
  return Reply::json(http::status::ok, {{"tracks", std::move(parts)}});
}

// POST /convoys/{id}/merge {"with": other track id, "note"}: one track from both.
Result<Reply> merge_convoy(RequestContext& ctx) {
  auto id = convoy_id(ctx);
  if (!id.ok()) return id.error();
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  FieldReader reader(*body);
  auto with = reader.optional_int("with", 1, INT64_MAX);
  if (!with.ok()) return with.error();
  auto note = reader.optional_string("note", 2000);
  if (!note.ok()) return note.error();
  if (Status s = reader.finish(); !s.ok()) return s.error();
  if (!*with || **with == *id) {
    return Error(Code::kUnprocessable, "with must name another track", "with");
  }
  auto a = reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, *id);
  if (!a.ok()) return a.error();
  auto b = reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, **with);
  if (!b.ok()) {
    if (b.error().code() == Code::kNotFound) {
      return Error(Code::kUnprocessable, b.error().detail(), "with");
    }
    return b.error();
  }
  std::vector<int64_t> ids;
  for (const auto& s : a->sightings) ids.push_back(s.id);
  for (const auto& s : b->sightings) ids.push_back(s.id);
  std::vector<std::pair<int64_t, int64_t>> pairs;
  for (const auto& e : reports::merge_edits(ids)) pairs.emplace_back(e.a, e.b);
  if (Status s = store::ConvoyEdits(ctx.services.db)
                     .add(ctx.user(), "merge", *id, pairs, note->value_or(""));
      !s.ok()) {
    return s.error();
  }
  // The merged track starts with the earlier first sighting.
  bool b_first = b->start < a->start || (b->start == a->start && b->id < a->id);
  auto merged =
      reports::convoy_by_id(ctx.services.db, ctx.services.config.tracks, b_first ? b->id : a->id);
  if (!merged.ok()) return merged.error();
  return Reply::json(http::status::ok, convoy_feature(*merged));
}

// ---- Reports ----

Result<Reply> list_reports(RequestContext& ctx) {
  auto page = parse_page(ctx);
  if (!page.ok()) return page.error();
  std::optional<std::string> kind;
  if (Status s = query_enum(ctx, "kind", {"daily", "weekly"}, &kind); !s.ok()) return s.error();
  auto rows = store::Reports(ctx.services.db).list(kind, page->after, page->limit + 1);
  if (!rows.ok()) return rows.error();
  bool more = static_cast<int>(rows->size()) > page->limit;
  if (more) rows->pop_back();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *rows) items.push_back(report_summary_json(r));
  return Reply::json(
      http::status::ok,
      {{"items", std::move(items)},
       {"next_cursor", more ? nlohmann::json(encode_cursor(rows->back().id)) : nlohmann::json()}});
}

Result<store::StoredReport> stored_report(RequestContext& ctx) {
  auto id = positive_id(ctx.params.at("id"), "id", Code::kNotFound);
  if (!id.ok()) return id.error();
  return store::Reports(ctx.services.db).get(*id);
}

Result<Reply> get_report(RequestContext& ctx) {
  auto r = stored_report(ctx);
  if (!r.ok()) return r.error();
  nlohmann::json body = r->body;
  body["built_by"] = r->built_by;
  body["built_at"] = format_rfc3339(r->built_at);
  return Reply::json(http::status::ok, body);
}

Result<Reply> get_report_html(RequestContext& ctx) {
  auto r = stored_report(ctx);
  if (!r.ok()) return r.error();
  Reply reply = Reply::text(http::status::ok, std::move(r->html), "text/html; charset=utf-8");
  // The page is self-contained: nothing external may load, no script may run.
  reply.headers.set("Content-Security-Policy",
                    "default-src 'none'; img-src data:; style-src 'unsafe-inline'");
  return reply;
}

Result<Reply> get_report_csv(RequestContext& ctx) {
  auto r = stored_report(ctx);
  if (!r.ok()) return r.error();
  Reply reply = Reply::text(http::status::ok, std::move(r->csv), "text/csv; charset=utf-8");
  reply.headers.set(
      http::field::content_disposition,
      fmt::format("attachment; filename=\"convoywatch-{}-{}.csv\"", r->kind, r->period_key));
  return reply;
}

// POST /reports {"kind": "daily"|"weekly", "period": "2022-02-16"|"2022-W07"}: built now
// (again, when it exists: same id, new content).
Result<Reply> create_report(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  FieldReader reader(*body);
  auto kind_text = reader.optional_enum("kind", {"daily", "weekly"});
  if (!kind_text.ok()) return kind_text.error();
  auto period_text = reader.optional_string("period", 16);
  if (!period_text.ok()) return period_text.error();
  if (Status s = reader.finish(); !s.ok()) return s.error();
  if (!*kind_text) return Error(Code::kUnprocessable, "kind is required", "kind");
  if (!*period_text) return Error(Code::kUnprocessable, "period is required", "period");
  auto kind = reports::parse_report_kind(**kind_text);
  if (!kind.ok()) return kind.error();
  const std::string& tz = ctx.services.config.reports.tz;
  auto period = reports::period_from_key(*kind, **period_text, tz, "period");
  if (!period.ok()) return Error(Code::kUnprocessable, period.error().detail(), "period");
  auto built = reports::build_report(ctx.services.db, ctx.services.config, *period, tz,
                                     ctx.user().user_name, ctx.actor());
  if (!built.ok()) return built.error();
  Reply r = Reply::json(http::status::created, built->body);
  r.headers.set(http::field::location, fmt::format("/api/v1/reports/{}", built->id));
  return r;
}

}  // namespace

// A GeoJSON Feature: the LineString of the sightings in time order (a Point for one sighting).
nlohmann::json convoy_feature(const reports::Convoy& c) {
  nlohmann::json coords = nlohmann::json::array();
  for (const auto& s : c.sightings) coords.push_back({s.lon, s.lat});
  nlohmann::json geometry =
      c.sightings.size() == 1
          ? nlohmann::json{{"type", "Point"}, {"coordinates", coords[0]}}
          : nlohmann::json{{"type", "LineString"}, {"coordinates", std::move(coords)}};
  return {{"type", "Feature"},
          {"id", c.id},
          {"geometry", std::move(geometry)},
          {"properties", convoy_properties(c)}};
}

nlohmann::json report_summary_json(const store::ReportSummary& r) {
  std::string base = fmt::format("/api/v1/reports/{}", r.id);
  return {{"id", r.id},
          {"kind", r.kind},
          {"period",
           {{"key", r.period_key},
            {"tz", r.tz},
            {"start", format_rfc3339(r.period_start)},
            {"end", format_rfc3339(r.period_end)}}},
          {"built_by", r.built_by},
          {"built_at", format_rfc3339(r.built_at)},
          {"links", {{"json", base}, {"html", base + ".html"}, {"csv", base + ".csv"}}}};
}

void add_report_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/aggregates/observations", get_aggregates,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/convoys", list_convoys, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/convoys/{id}", get_convoy, {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/convoys/{id}/split", split_convoy, {.roles = kAnalysts});
  router.add(http::verb::post, "/api/v1/convoys/{id}/merge", merge_convoy, {.roles = kAnalysts});
  router.add(http::verb::get, "/api/v1/reports", list_reports, {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/reports", create_report, {.roles = kAnalysts});
  // The suffixed routes first: "{id}" would match "7.html" as well.
  router.add(http::verb::get, "/api/v1/reports/{id}.html", get_report_html, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/reports/{id}.csv", get_report_csv, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/reports/{id}", get_report, {.roles = kAnyRole});
}

}  // namespace cw::server
