// /api/v1/imagery: reference imagery (upload, list, get, Web-Mercator tiles), before/after
// comparisons and frame-to-imagery matches (jobs), and matches from tie points (inline).
//
// Untrusted files: an upload streams into a temp file of the evidence store and is read by the
// sandboxed probe (`convoywatch imagery-probe`) before anything is kept; a file the probe refuses
// or that makes it fail leaves no row, no stored file and no temp file. Tiles and tie points are
// computed in this process, on files the probe has accepted (ImageryBackend says why).
// Reference imagery and comparisons are readable by every member of the task force; a match only
// by those who may see its video. Analysts and admins upload imagery and start comparisons and
// matches.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "server/context.hpp"
#include "server/json_body.hpp"
#include "server/metadata_file_upload.hpp"
#include "server/multipart.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "store/analysis.hpp"
#include "store/imagery.hpp"
#include "store/submissions.hpp"

namespace cw::server {

namespace {

constexpr size_t kMaxAreaPoints = 10000;

std::string base_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

bool is_multipart(const RequestHeader& h) {
  return base_type(h[http::field::content_type]) == "multipart/form-data";
}

Error unavailable() {
  return Error(Code::kUnavailable, "imagery processing is not available in this process");
}

// The file's type from its first bytes: TIFF (classic or BigTIFF), PNG or JPEG.
std::optional<store::ImageryKind> sniff_imagery(std::string_view b) {
  auto starts = [&](std::string_view magic) { return b.substr(0, magic.size()) == magic; };
  using namespace std::string_view_literals;
  if (starts("II*\0"sv) || starts("MM\0*"sv) || starts("II+\0"sv) || starts("MM\0+"sv)) {
    return store::ImageryKind::kGeoTiff;
  }
  if (starts("\x89PNG\r\n\x1a\n"sv) || starts("\xff\xd8\xff"sv)) return store::ImageryKind::kImage;
  return std::nullopt;
}

Result<std::array<geo::GeoPoint, 4>> parse_corners(const nlohmann::json& j) {
  auto bad = [] {
    return Error(Code::kUnprocessable,
                 "corners must be four [lat, lon] pairs: top-left, top-right, bottom-right, "
                 "bottom-left",
                 "corners");
  };
  if (!j.is_array() || j.size() != 4) return bad();
  std::array<geo::GeoPoint, 4> out{};
  for (size_t i = 0; i < 4; ++i) {
    const auto& p = j[i];
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return bad();
    double lat = p[0].get<double>(), lon = p[1].get<double>();
    if (!std::isfinite(lat) || !std::isfinite(lon) || lat < -90 || lat > 90 || lon < -180 ||
        lon > 180) {
      return Error(Code::kUnprocessable,
                   fmt::format("corners[{}] is outside latitude -90..90, longitude -180..180", i),
                   "corners");
    }
    out[i] = geo::GeoPoint{lat, lon, std::nullopt};
  }
  return out;
}

struct ImageryMeta {
  TimePoint captured_at{};
  std::string source;
  std::optional<double> ground_resolution_m;
  std::optional<std::array<geo::GeoPoint, 4>> corners;
};

Result<ImageryMeta> parse_meta(const nlohmann::json& doc) {
  if (!doc.is_object())
    return Error(Code::kUnprocessable, "metadata must be an object", "metadata");
  FieldReader r(doc);
  ImageryMeta m;
  auto captured = r.required_string("captured_at", 1, 64);
  if (!captured.ok()) return captured.error();
  auto t = parse_rfc3339(*captured, "captured_at");
  if (!t.ok()) return t.error();
  m.captured_at = *t;
  auto source = r.required_string("source", 1, 200);
  if (!source.ok()) return source.error();
  m.source = *source;
  auto gsd = r.optional_number("ground_resolution_m", 1e-6, 1e6);
  if (!gsd.ok()) return gsd.error();
  m.ground_resolution_m = *gsd;
  if (const nlohmann::json* c = r.optional_value("corners"); c != nullptr && !c->is_null()) {
    auto corners = parse_corners(*c);
    if (!corners.ok()) return corners.error();
    m.corners = *corners;
  }
  if (Status s = r.finish(); !s.ok()) return s.error();
  return m;
}

nlohmann::json imagery_json(const store::ImageryRecord& r) {
  const store::ImageryInput& in = r.in;
  nlohmann::json corners;
  if (in.corners) {
    corners = nlohmann::json::array();
    for (const auto& p : *in.corners) corners.push_back({p.lat, p.lon});
  }
  return {{"id", r.id},
          {"sha256", in.sha256},
          {"kind", store::imagery_kind_name(in.kind)},
          {"original_filename", in.original_filename},
          {"bytes", in.bytes},
          {"width", in.width},
          {"height", in.height},
          {"bands", in.bands},
          {"driver", in.driver},
          {"data_type", in.data_type},
          {"crs_wkt", in.crs_wkt},
          {"geotransform", in.geotransform ? nlohmann::json(*in.geotransform) : nlohmann::json()},
          {"captured_at", format_rfc3339(in.captured_at)},
          {"source", in.source},
          {"ground_resolution_m", in.ground_resolution_m},
          {"corners", corners},
          {"footprint", nlohmann::json::parse(r.footprint_geojson, nullptr, false)},
          {"created_by", r.created_by_name},
          {"org", r.org_name},
          {"created_at", format_rfc3339(r.created_at)},
          {"url", fmt::format("/api/v1/imagery/{}", r.id)},
          {"tiles_url", fmt::format("/api/v1/imagery/{}/tiles/{{z}}/{{x}}/{{y}}.png", r.id)}};
}

// The multipart body of POST /imagery (server/metadata_file_upload.hpp): `metadata` (JSON) and
// `file`, the image.
class ImageryUpload : public MetadataFileUpload {
 public:
  ImageryUpload(std::string boundary, const store::MediaStore& media, int64_t max_bytes)
      : MetadataFileUpload(std::move(boundary), media, max_bytes, {"upload", "file"}) {}

  Result<Reply> finish(RequestContext& ctx) override {
    if (Status s = finish_body(); !s.ok()) return s.error();
    if (writer() == nullptr || !file_done() || writer()->size() == 0) {
      return Error(Code::kUnprocessable, "the form needs a part named file with the image", "file");
    }
    if (!have_metadata()) {
      return Error(Code::kUnprocessable,
                   "the form needs a part named metadata with captured_at and source", "metadata");
    }
    auto doc = nlohmann::json::parse(metadata(), nullptr, false);
    if (doc.is_discarded() || nested_deeper_than(doc, kMaxJsonDepth)) {
      return Error(Code::kUnprocessable, "metadata is not valid JSON", "metadata");
    }
    auto meta = parse_meta(doc);
    if (!meta.ok()) return meta.error();
    auto kind = sniff_imagery(writer()->first_bytes());
    if (!kind) {
      return Error(Code::kUnprocessable, "the file is not a GeoTIFF, PNG or JPEG", "file");
    }
    if (*kind == store::ImageryKind::kImage && !meta->corners) {
      return Error(Code::kUnprocessable,
                   "a PNG or JPEG needs corners: [[lat, lon] × 4], top-left, top-right, "
                   "bottom-right, bottom-left",
                   "corners");
    }
    if (*kind == store::ImageryKind::kGeoTiff && meta->corners) {
      return Error(Code::kUnprocessable,
                   "a GeoTIFF is georeferenced by its own tags; corners are for PNG or JPEG",
                   "corners");
    }
    const ImageryBackend& backend = ctx.services.imagery;
    if (!backend.probe) return unavailable();
    auto probe = backend.probe(writer()->path(), meta->corners);
    if (!probe.ok()) return probe.error();

    store::ImageryInput in;
    in.kind = *kind;
    in.original_filename = filename();
    in.width = probe->value("width", 0);
    in.height = probe->value("height", 0);
    in.bands = probe->value("bands", 0);
    in.driver = probe->value("driver", "");
    in.data_type = probe->value("data_type", "");
    in.crs_wkt = probe->value("crs_wkt", "");
    if (*kind == store::ImageryKind::kGeoTiff) {
      std::array<double, 6> gt{};
      const auto& g = (*probe)["geotransform"];
      for (size_t i = 0; i < 6 && g.is_array() && i < g.size(); ++i) gt[i] = g[i].get<double>();
      in.geotransform = gt;
    }
    in.captured_at = meta->captured_at;
    in.source = meta->source;
    in.ground_resolution_m =
        meta->ground_resolution_m.value_or(probe->value("ground_resolution_m", 0.0));
    in.corners = meta->corners;
    for (const auto& p : (*probe)["footprint"]) {
      in.footprint.push_back(geo::GeoPoint{p.at(0).get<double>(), p.at(1).get<double>(), {}});
    }
    auto stored = writer()->commit();
    if (!stored.ok()) return stored.error();
    in.sha256 = stored->sha256;
    in.bytes = stored->size;
    auto created = store::Imagery(ctx.services.db).create(ctx.user(), in);
    if (!created.ok()) return created.error();
    Reply reply = Reply::json(http::status::created, imagery_json(*created));
    reply.headers.set(http::field::location, fmt::format("/api/v1/imagery/{}", created->id));
    return reply;
  }
};

Result<StreamStart> open_upload(RequestContext& ctx) {
  auto boundary = multipart_boundary(ctx.request[http::field::content_type]);
  if (!boundary.ok()) return boundary.error();
  return StreamStart{std::make_unique<ImageryUpload>(*boundary, ctx.services.media,
                                                     ctx.services.config.server.max_upload_bytes),
                     std::nullopt};
}

Result<Reply> upload_not_multipart(RequestContext&) {
  return Error(Code::kUnsupportedMedia,
               "send multipart/form-data with a metadata part (JSON) and a file part",
               "Content-Type");
}

Result<Reply> list_imagery(RequestContext& ctx) {
  store::ImageryFilter f;
  auto page = parse_page(ctx);
  if (!page.ok()) return page.error();
  f.after_id = page->after;
  f.limit = page->limit + 1;  // one more row says whether there is a next page
  if (auto b = ctx.query_param("bbox")) {
    auto box = geo::parse_bbox(*b);
    if (!box.ok()) return box.error();
    f.bbox = *box;
  }
  for (auto [name, out] : {std::pair{"from", &f.from}, std::pair{"to", &f.to}}) {
    if (auto v = ctx.query_param(name)) {
      auto t = parse_rfc3339(*v, name);
      if (!t.ok()) return t.error();
      *out = *t;
    }
  }
  auto rows = store::Imagery(ctx.services.db).list(f);
  if (!rows.ok()) return rows.error();
  bool more = static_cast<int>(rows->size()) > page->limit;
  if (more) rows->pop_back();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *rows) items.push_back(imagery_json(r));
  nlohmann::json next = more ? nlohmann::json(encode_cursor(rows->back().id)) : nlohmann::json();
  return Reply::json(http::status::ok, {{"items", items}, {"next_cursor", next}});
}

Result<store::ImageryRecord> imagery_of(RequestContext& ctx) {
  auto id = positive_id(ctx.params.at("id"), "id", Code::kNotFound);
  if (!id.ok()) return Error(Code::kNotFound, "no such imagery");
  return store::Imagery(ctx.services.db).get(*id);
}

Result<Reply> get_imagery(RequestContext& ctx) {
  auto r = imagery_of(ctx);
  if (!r.ok()) return r.error();
  return Reply::json(http::status::ok, imagery_json(*r));
}

// A tile coordinate: decimal digits only, as a path segment.
std::optional<int64_t> tile_number(const std::string& text) {
  int64_t v = 0;
  if (text.empty() || text.size() > 10) return std::nullopt;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v < 0) return std::nullopt;
  return v;
}

Result<std::string> original_path(RequestContext& ctx, const store::ImageryRecord& r) {
  auto path = ctx.services.media.path_of(r.in.sha256);
  if (!path.ok() || !ctx.services.media.exists(r.in.sha256)) {
    log::error("imagery row without file",
               {{"sha256", r.in.sha256}, {"request_id", ctx.request_id}});
    return Error(Code::kInternal, "the stored original is missing");
  }
  return *path;
}

Result<Reply> imagery_tile(RequestContext& ctx) {
  auto z = tile_number(ctx.params.at("z"));
  auto x = tile_number(ctx.params.at("x"));
  auto y = tile_number(ctx.params.at("y"));
  if (!z || !x || !y) return Error(Code::kNotFound, "no such tile");
  auto tile = geo::make_tile_id(*z, *x, *y);
  if (!tile.ok()) return Error(Code::kNotFound, "no such tile");
  auto r = imagery_of(ctx);
  if (!r.ok()) return r.error();
  // The file and its georeference never change: the tile of (hash, z, x, y) never does either.
  std::string etag = fmt::format("\"{}:{}/{}/{}\"", r->in.sha256, *z, *x, *y);
  Reply reply;
  reply.headers.set(http::field::etag, etag);
  reply.headers.set(http::field::cache_control, "private, max-age=31536000, immutable");
  if (ctx.request[http::field::if_none_match] == etag) {
    reply.status = http::status::not_modified;
    return reply;
  }
  const ImageryBackend& backend = ctx.services.imagery;
  if (!backend.render_tile) return unavailable();
  auto path = original_path(ctx, *r);
  if (!path.ok()) return path.error();
  auto png = backend.render_tile(*path, r->in.corners, *tile);
  if (!png.ok()) {
    log::error(
        "tile rendering failed",
        {{"imagery", r->id}, {"error", png.error().to_string()}, {"request_id", ctx.request_id}});
    return Error(Code::kInternal, "the tile could not be rendered");
  }
  reply.headers.set(http::field::content_type, "image/png");
  reply.body.assign(png->begin(), png->end());
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Tasks.

nlohmann::json task_json(const store::ImageryTask& t) {
  const bool compare = t.kind == store::ImageryTaskKind::kCompare;
  std::string url = fmt::format("/api/v1/imagery/{}/{}", compare ? "comparisons" : "matches", t.id);
  auto opt_time = [](const std::optional<TimePoint>& v) {
    return v ? nlohmann::json(format_rfc3339(*v)) : nlohmann::json();
  };
  const bool done = t.job.state == store::JobState::kDone;
  nlohmann::json out = {
      {"id", t.id},
      {"kind", compare ? "compare" : "match"},
      {"url", url},
      {"state", store::job_state_name(t.job.state)},
      {"progress", t.job.progress},
      {"attempts", t.job.attempts},
      {"last_error", t.job.last_error ? nlohmann::json(*t.job.last_error) : nlohmann::json()},
      {"job_id", t.job_id},
      {"created_by", t.created_by_name},
      {"created_at", format_rfc3339(t.created_at)},
      {"finished_at", opt_time(t.finished_at)},
      {"result", done && t.result ? *t.result : nlohmann::json()}};
  if (compare) {
    out["before"] = t.before_id;
    out["after"] = t.after_id;
    nlohmann::json area;
    if (t.area) {
      nlohmann::json ring = nlohmann::json::array();
      for (const auto& p : *t.area) ring.push_back({p.lon, p.lat});
      area = {{"type", "Polygon"}, {"coordinates", {ring}}};
    }
    out["area"] = area;
    out["overlay_url"] = done ? nlohmann::json(url + "/overlay.png") : nlohmann::json();
    out["mask_url"] = done ? nlohmann::json(url + "/mask.png") : nlohmann::json();
  } else {
    out["imagery_id"] = t.imagery_id;
    out["media_sha256"] = t.media_sha256;
    out["frame"] = t.frame_index;
  }
  return out;
}

Reply accepted(const store::ImageryTask& t) {
  nlohmann::json body = task_json(t);
  Reply reply = Reply::json(http::status::accepted, body);
  reply.headers.set(http::field::location, body["url"].get<std::string>());
  return reply;
}

// A GeoJSON Polygon (outer ring only) as [lat, lon] points.
Result<std::vector<geo::GeoPoint>> parse_area(const nlohmann::json& j) {
  auto bad = [](const std::string& detail) { return Error(Code::kUnprocessable, detail, "area"); };
  if (!j.is_object() || j.value("type", "") != "Polygon" || !j.contains("coordinates") ||
      !j["coordinates"].is_array()) {
    return bad("area must be a GeoJSON Polygon");
  }
  const auto& rings = j["coordinates"];
  if (rings.size() != 1 || !rings[0].is_array()) return bad("area must have one ring, no holes");
  const auto& ring = rings[0];
  if (ring.size() < 4 || ring.size() > kMaxAreaPoints) {
    return bad(fmt::format("area's ring must have 4 to {} positions", kMaxAreaPoints));
  }
  std::vector<geo::GeoPoint> out;
  for (const auto& p : ring) {
    if (!p.is_array() || p.size() < 2 || p.size() > 3 || !p[0].is_number() || !p[1].is_number()) {
      return bad("area's positions must be [lon, lat]");
    }
    double lon = p[0].get<double>(), lat = p[1].get<double>();
    if (!std::isfinite(lat) || !std::isfinite(lon) || lat < -90 || lat > 90 || lon < -180 ||
        lon > 180) {
      return bad("area's positions must be [lon, lat] in degrees");
    }
    out.push_back(geo::GeoPoint{lat, lon, std::nullopt});
  }
  if (out.front() != out.back()) return bad("area's ring must be closed (first = last position)");
  return out;
}

Result<Reply> create_compare(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  FieldReader r(*body);
  auto before = r.optional_int("before", 1, std::numeric_limits<int64_t>::max());
  if (!before.ok()) return before.error();
  auto after = r.optional_int("after", 1, std::numeric_limits<int64_t>::max());
  if (!after.ok()) return after.error();
  std::optional<std::vector<geo::GeoPoint>> area;
  if (const nlohmann::json* a = r.optional_value("area"); a != nullptr && !a->is_null()) {
    auto parsed = parse_area(*a);
    if (!parsed.ok()) return parsed.error();
    area = std::move(*parsed);
  }
  if (Status s = r.finish(); !s.ok()) return s.error();
  if (!*before) return Error(Code::kUnprocessable, "before (an imagery id) is required", "before");
  if (!*after) return Error(Code::kUnprocessable, "after (an imagery id) is required", "after");
  auto task = store::Imagery(ctx.services.db).create_compare(ctx.user(), **before, **after, area);
  if (!task.ok()) return task.error();
  return accepted(*task);
}

Result<store::ImageryTask> task_of(RequestContext& ctx, store::ImageryTaskKind kind) {
  const char* missing =
      kind == store::ImageryTaskKind::kCompare ? "no such comparison" : "no such match";
  auto id = positive_id(ctx.params.at("id"), "id", Code::kNotFound);
  if (!id.ok()) return Error(Code::kNotFound, missing);
  return store::Imagery(ctx.services.db).get_task(*id, kind);
}

Result<Reply> get_comparison(RequestContext& ctx) {
  auto t = task_of(ctx, store::ImageryTaskKind::kCompare);
  if (!t.ok()) return t.error();
  return Reply::json(http::status::ok, task_json(*t));
}

Result<Reply> get_match(RequestContext& ctx) {
  auto t = task_of(ctx, store::ImageryTaskKind::kMatch);
  if (!t.ok()) return t.error();
  // A match says where a video was taken: only for those who may see the video.
  auto visible = store::Submissions(ctx.services.db).media_for(ctx.user(), t->media_sha256);
  if (!visible.ok()) {
    return visible.error().code() == Code::kNotFound ? Error(Code::kNotFound, "no such match")
                                                     : visible.error();
  }
  return Reply::json(http::status::ok, task_json(*t));
}

// overlay.png / mask.png of a finished comparison, from <root>/derived/imagery/task-<id>/.
Result<Reply> comparison_png(RequestContext& ctx, const char* name) {
  auto t = task_of(ctx, store::ImageryTaskKind::kCompare);
  if (!t.ok()) return t.error();
  if (t->job.state != store::JobState::kDone) {
    return Error(Code::kNotFound, "the comparison has no result (see its state)");
  }
  std::string path =
      fmt::format("{}/derived/imagery/task-{}/{}", ctx.services.config.storage.root, t->id, name);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error(Code::kNotFound, "the comparison's image is missing");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Code::kNotFound, "the comparison's image is missing");
  }
  std::string etag = fmt::format("\"task-{}:{}:{}\"", t->id, name, st.st_mtime);
  Reply reply;
  reply.headers.set(http::field::etag, etag);
  reply.headers.set(http::field::cache_control, "private, max-age=3600");
  if (ctx.request[http::field::if_none_match] == etag) {
    ::close(fd);
    reply.status = http::status::not_modified;
    return reply;
  }
  reply.headers.set(http::field::content_type, "image/png");
  reply.file = FileSpan::adopt(fd, 0, static_cast<uint64_t>(st.st_size));
  return reply;
}

Result<Reply> comparison_overlay(RequestContext& ctx) { return comparison_png(ctx, "overlay.png"); }
Result<Reply> comparison_mask(RequestContext& ctx) { return comparison_png(ctx, "mask.png"); }

// POST /media/{sha256}/frames/{n}/match: a job with the matcher, or, with tie_points, the
// footprint from them at once (200; nothing is stored).
Result<Reply> create_match(RequestContext& ctx) {
  const std::string& sha = ctx.params.at("sha256");
  if (!is_sha256_hex(sha)) return Error(Code::kNotFound, "no such media");
  auto visible = store::Submissions(ctx.services.db).media_for(ctx.user(), sha);
  if (!visible.ok()) return visible.error();
  auto analysis = store::Analyses(ctx.services.db).get(sha);
  if (!analysis.ok()) {
    if (analysis.error().code() == Code::kNotFound) {
      return Error(Code::kNotFound, "this media has not been analysed yet");
    }
    return analysis.error();
  }
  const std::string& text = ctx.params.at("n");
  int n = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  const nlohmann::json* frame = nullptr;
  if (ec == std::errc() && p == text.data() + text.size() && n >= 0) {
    for (const auto& f : analysis->first["frames"]["frames"]) {
      if (f.value("index", -1) == n) frame = &f;
    }
  }
  if (frame == nullptr) return Error(Code::kNotFound, "no such frame");

  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  FieldReader r(*body);
  auto imagery_id = r.optional_int("imagery_id", 1, std::numeric_limits<int64_t>::max());
  if (!imagery_id.ok()) return imagery_id.error();
  const nlohmann::json* tie_points = r.optional_value("tie_points");
  if (Status s = r.finish(); !s.ok()) return s.error();
  if (!*imagery_id) {
    return Error(Code::kUnprocessable, "imagery_id is required", "imagery_id");
  }
  if (tie_points == nullptr || tie_points->is_null()) {
    auto task = store::Imagery(ctx.services.db).create_match(ctx.user(), **imagery_id, sha, n);
    if (!task.ok()) return task.error();
    return accepted(*task);
  }
  auto target = store::Imagery(ctx.services.db).get(**imagery_id);
  if (!target.ok()) {
    if (target.error().code() == Code::kNotFound) {
      return Error(Code::kUnprocessable, fmt::format("no imagery {}", **imagery_id), "imagery_id");
    }
    return target.error();
  }
  const ImageryBackend& backend = ctx.services.imagery;
  if (!backend.tie_points) return unavailable();
  auto path = original_path(ctx, *target);
  if (!path.ok()) return path.error();
  auto fp = backend.tie_points(*path, target->in.corners, frame->value("width", 0),
                               frame->value("height", 0), *tie_points);
  if (!fp.ok()) return fp.error();
  nlohmann::json out = *fp;
  out["imagery_id"] = target->id;
  out["media_sha256"] = sha;
  out["frame"] = n;
  out["method"] = "tie_points";
  return Reply::json(http::status::ok, out);
}

}  // namespace

void add_imagery_routes(Router& router) {
  RouteOptions upload{.roles = kAnalysts};
  upload.open_stream = open_upload;
  upload.streams_when = is_multipart;
  router.add(http::verb::post, "/api/v1/imagery", upload_not_multipart, upload);
  router.add(http::verb::get, "/api/v1/imagery", list_imagery, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/imagery/{id}", get_imagery, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/imagery/{id}/tiles/{z}/{x}/{y}.png", imagery_tile,
             {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/imagery/compare", create_compare, {.roles = kAnalysts});
  router.add(http::verb::get, "/api/v1/imagery/comparisons/{id}", get_comparison,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/imagery/comparisons/{id}/overlay.png", comparison_overlay,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/imagery/comparisons/{id}/mask.png", comparison_mask,
             {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/media/{sha256}/frames/{n}/match", create_match,
             {.roles = kAnalysts});
  router.add(http::verb::get, "/api/v1/imagery/matches/{id}", get_match, {.roles = kAnyRole});
}

}  // namespace cw::server
