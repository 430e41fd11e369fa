// /api/v1/media/{sha256}: what the pipeline learnt about a video, its frames, thumbnails and
// contact sheet. Same visibility as the original: 404 unless the caller may see a submission of
// it. Frame files are served from <storage.root>/derived/<sha256>/ by the names the analysis
// recorded, never by a name from the request.
#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>

#include "common/sha256.hpp"
#include "server/context.hpp"
#include "server/json_body.hpp"
#include "server/problem.hpp"
#include "server/request_bodies.hpp"
#include "server/routes.hpp"
#include "store/analysis.hpp"
#include "store/submissions.hpp"

namespace cw::server {

nlohmann::json link_json(const store::Link& l) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  std::string clip = l.this_is_clip ? "this" : (l.other_is_clip ? "other" : "");
  return {{"sha256", l.other},
          {"url", "/api/v1/media/" + l.other},
          {"kind", l.kind},
          {"clip", clip.empty() ? nlohmann::json() : nlohmann::json(clip)},
          {"this_percent", l.percent},
          {"other_percent", l.other_percent},
          {"offset_ms", opt(l.offset_ms)},
          {"mirrored", l.mirrored},
          {"status", l.status},
          {"verdict_by", opt(l.verdict_by)},
          {"verdict_note", opt(l.verdict_note)},
          {"updated_at", format_rfc3339(l.updated_at)}};
}

nlohmann::json provenance_json(const store::Provenance& p) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json first;
  if (p.first) {
    const auto& f = *p.first;
    first = {{"submission_id", f.submission_id},
             {"media_sha256", f.media_sha256},
             {"platform", opt(f.platform)},
             {"author", opt(f.author)},
             {"source_url", opt(f.source_url)},
             {"posted_at",
              f.posted_at ? nlohmann::json(format_rfc3339(*f.posted_at)) : nlohmann::json()},
             {"submitted_at", format_rfc3339(f.submitted_at)},
             {"basis", f.basis}};
  }
  return {{"first", first},
          {"submissions", p.submissions},
          {"reposts", p.submissions > 0 ? p.submissions - 1 : 0},
          {"media", p.media},
          {"includes_suggested", p.includes_suggested}};
}

namespace {

struct Analysed {
  store::MediaSummary media;
  nlohmann::json analysis;
  int frames = 0;
};

Result<Analysed> analysed(RequestContext& ctx) {
  const std::string& sha = ctx.params.at("sha256");
  if (!is_sha256_hex(sha)) return Error(Code::kNotFound, "no such media");
  auto found = store::Submissions(ctx.services.db).media_for(ctx.user(), sha);
  if (!found.ok()) return found.error();
  auto a = store::Analyses(ctx.services.db).get(sha);
  if (!a.ok()) {
    if (a.error().code() == Code::kNotFound) {
      return Error(Code::kNotFound,
                   "this media has not been analysed yet; see its submission's processing state");
    }
    return a.error();
  }
  return Analysed{found->first, std::move(a->first), a->second};
}

Result<Reply> serve_derived(RequestContext& ctx, const std::string& name) {
  // Names come from the analysis; still refuse anything that could leave the folder.
  if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
    return Error(Code::kNotFound, "no such frame");
  }
  const std::string& sha = ctx.params.at("sha256");
  std::string path = ctx.services.config.storage.root + "/derived/" + sha + "/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error(Code::kNotFound, "no such frame");
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Error(Code::kNotFound, "no such frame");
  }
  std::string etag = "\"" + sha + ":" + name + "\"";
  Reply r;
  r.headers.set(http::field::etag, etag);
  r.headers.set(http::field::cache_control, "private, max-age=31536000, immutable");
  if (ctx.request[http::field::if_none_match] == etag) {
    ::close(fd);
    r.status = http::status::not_modified;
    return r;
  }
  r.headers.set(http::field::content_type, "image/jpeg");
  r.file = FileSpan::adopt(fd, 0, static_cast<uint64_t>(st.st_size));
  return r;
}

const nlohmann::json* frame(const Analysed& a, const std::string& text) {
  int n = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n < 0) return nullptr;
  const auto& frames = a.analysis["frames"]["frames"];
  for (const auto& f : frames) {
    if (f.value("index", -1) == n) return &f;
  }
  return nullptr;
}

std::string media_url(const std::string& sha) { return "/api/v1/media/" + sha; }

Result<Reply> get_media(RequestContext& ctx) {
  auto a = analysed(ctx);
  if (!a.ok()) return a.error();
  nlohmann::json out = a->analysis["media"];
  out["sha256"] = a->media.sha256;
  out["size"] = a->media.size;
  out["container_sniffed"] = a->media.container;
  out["mime"] = a->media.mime;
  out["frame_count"] = a->frames;
  out["frames_url"] = media_url(a->media.sha256) + "/frames";
  out["contact_sheet_url"] = media_url(a->media.sha256) + "/contact-sheet.jpg";
  out["original_url"] = media_url(a->media.sha256) + "/original";
  return Reply::json(http::status::ok, out);
}

Result<Reply> list_frames(RequestContext& ctx) {
  auto a = analysed(ctx);
  if (!a.ok()) return a.error();
  nlohmann::json items = nlohmann::json::array();
  std::string base = media_url(a->media.sha256) + "/frames/";
  for (const auto& f : a->analysis["frames"]["frames"]) {
    int n = f.value("index", 0);
    items.push_back({{"index", n},
                     {"pts_ms", f.value("pts_ms", 0)},
                     {"kind", f.value("kind", "")},
                     {"width", f.value("width", 0)},
                     {"height", f.value("height", 0)},
                     {"sharpness", f.value("sharpness", 0.0)},
                     {"url", base + std::to_string(n) + ".jpg"},
                     {"thumb_url", base + std::to_string(n) + "/thumb.jpg"}});
  }
  return Reply::json(http::status::ok, {{"items", items}});
}

Result<Reply> frame_jpg(RequestContext& ctx) {
  auto a = analysed(ctx);
  if (!a.ok()) return a.error();
  const nlohmann::json* f = frame(*a, ctx.params.at("n"));
  if (f == nullptr) return Error(Code::kNotFound, "no such frame");
  return serve_derived(ctx, f->value("file", ""));
}

Result<Reply> frame_thumb(RequestContext& ctx) {
  auto a = analysed(ctx);
  if (!a.ok()) return a.error();
  const nlohmann::json* f = frame(*a, ctx.params.at("n"));
  if (f == nullptr) return Error(Code::kNotFound, "no such frame");
  return serve_derived(ctx, f->value("thumb", ""));
}

Result<Reply> contact_sheet(RequestContext& ctx) {
  auto a = analysed(ctx);
  if (!a.ok()) return a.error();
  return serve_derived(ctx, a->analysis["frames"].value("contact_sheet", ""));
}

Result<std::string> visible_media(RequestContext& ctx, const std::string& sha) {
  if (!is_sha256_hex(sha)) return Error(Code::kNotFound, "no such media");
  auto found = store::Submissions(ctx.services.db).media_for(ctx.user(), sha);
  if (!found.ok()) return found.error();
  return sha;
}

Result<Reply> list_duplicates(RequestContext& ctx) {
  auto sha = visible_media(ctx, ctx.params.at("sha256"));
  if (!sha.ok()) return sha.error();
  store::MediaLinks links(ctx.services.db);
  auto found = links.for_media(ctx.user(), *sha);
  if (!found.ok()) return found.error();
  auto prov = links.provenance(ctx.user(), *sha);
  if (!prov.ok()) return prov.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& l : *found) items.push_back(link_json(l));
  return Reply::json(http::status::ok, {{"items", items}, {"provenance", provenance_json(*prov)}});
}

Result<Reply> duplicate_verdict(RequestContext& ctx) {
  auto sha = visible_media(ctx, ctx.params.at("sha256"));
  if (!sha.ok()) return sha.error();
  auto other = visible_media(ctx, ctx.params.at("other"));
  if (!other.ok()) return other.error();
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) return body.error();
  auto v = parse_duplicate_verdict(*body);
  if (!v.ok()) return v.error();
  auto link =
      store::MediaLinks(ctx.services.db).verdict(ctx.user(), *sha, *other, v->verdict, v->note);
  if (!link.ok()) return link.error();
  return Reply::json(http::status::ok, link_json(*link));
}

}  // namespace

void add_media_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/media/{sha256}", get_media, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/media/{sha256}/duplicates", list_duplicates,
             {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/media/{sha256}/duplicates/{other}/verdict",
             duplicate_verdict, {.roles = kAnalysts});
  router.add(http::verb::get, "/api/v1/media/{sha256}/frames", list_frames, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/media/{sha256}/frames/{n}.jpg", frame_jpg,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/media/{sha256}/frames/{n}/thumb.jpg", frame_thumb,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/media/{sha256}/contact-sheet.jpg", contact_sheet,
             {.roles = kAnyRole});
}

}  // namespace cw::server
