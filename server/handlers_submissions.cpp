// /api/v1/submissions (create by multipart upload, by URL or for stored media, list, get) and
// /api/v1/media/{sha256}/original (the evidence bytes, with Range and ETag, by token or through
// a signed link).
#include <fmt/format.h>
#include <boost/algorithm/string/predicate.hpp>

#include <charconv>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "server/context.hpp"
#include "server/json_body.hpp"
#include "server/metadata_file_upload.hpp"
#include "server/multipart.hpp"
#include "server/pagination.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "server/signed_link.hpp"
#include "server/submission_meta.hpp"
#include "store/jobs.hpp"
#include "store/media_store.hpp"
#include "store/signing_keys.hpp"
#include "store/submissions.hpp"
#include "store/video_sniff.hpp"

namespace cw::server {

namespace {

std::string base_type(std::string_view content_type) {
  std::string t(content_type.substr(0, content_type.find(';')));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

Result<std::string> idempotency_key(const RequestContext& ctx) {
  std::string key(ctx.request["Idempotency-Key"]);
  if (key.size() > 200) {
    return Error(Code::kInvalidArgument, "Idempotency-Key must be at most 200 characters",
                 "Idempotency-Key");
  }
  return key;
}

// `replayed`: the answer stored for an earlier request with the same Idempotency-Key, marked
// with `Idempotent-Replayed: true` so that a client can tell "already done" from "done now".
Reply stored_reply(const store::StoredReply& r, bool replayed) {
  Reply reply;
  reply.status = static_cast<http::status>(r.status);
  reply.headers.set(http::field::content_type, "application/json");
  if (!r.location.empty()) reply.headers.set(http::field::location, r.location);
  if (replayed) reply.headers.set("Idempotent-Replayed", "true");
  reply.body = r.body;
  return reply;
}

// Creates the submission and answers 201 (or the stored answer of an earlier request with the
// same Idempotency-Key).
Result<Reply> create_submission(RequestContext& ctx, const store::SubmissionInput& meta,
                                const std::optional<store::MediaInput>& media) {
  auto key = idempotency_key(ctx);
  if (!key.ok()) return key.error();
  auto created = store::Submissions(ctx.services.db)
                     .create(ctx.user(), meta, media, *key, [](const store::Submission& s) {
                       return store::StoredReply{201, submission_json(s).dump(),
                                                 "/api/v1/submissions/" + std::to_string(s.id)};
                     });
  if (!created.ok()) return created.error();
  return stored_reply(created->first, created->second);
}

// The multipart body of POST /submissions (server/metadata_file_upload.hpp): `metadata` (JSON)
// and `file`, the video, whose container is sniffed from its first bytes as they arrive.
class MultipartSubmission : public MetadataFileUpload {
 public:
  MultipartSubmission(std::string boundary, const store::MediaStore& media, int64_t max_bytes)
      : MetadataFileUpload(std::move(boundary), media, max_bytes, {"submission", "video"}) {}

  Result<Reply> finish(RequestContext& ctx) override {
    if (Status s = finish_body(); !s.ok()) return s.error();
    if (writer() == nullptr || !file_done()) {
      return Error(Code::kUnprocessable, "the form needs a part named file with the video", "file");
    }
    nlohmann::json doc = nlohmann::json::object();
    if (have_metadata()) {
      doc = nlohmann::json::parse(metadata(), nullptr, false);
      if (doc.is_discarded()) {
        return Error(Code::kUnprocessable, "metadata is not valid JSON", "metadata");
      }
    }
    auto meta = parse_submission_metadata(doc, "metadata.");
    if (!meta.ok()) return meta.error();
    auto stored = writer()->commit();
    if (!stored.ok()) return stored.error();
    store::MediaInput media{stored->sha256, stored->size, store::container_name(*container_),
                            store::container_mime(*container_), filename()};
    return create_submission(ctx, *meta, media);
  }

 protected:
  Status on_file_data() override {
    if (!container_ && writer()->first_bytes().size() >= store::kSniffBytes) return sniff();
    return Status::Ok();
  }

  Status on_file_end() override {
    if (!container_) return sniff();
    return Status::Ok();
  }

 private:
  Status sniff() {
    container_ = store::sniff_video(writer()->first_bytes());
    if (!container_) {
      writer()->abort();
      return Error(Code::kUnsupportedMedia,
                   "the file is not a video container ConvoyWatch accepts (MP4/MOV/3GP, "
                   "Matroska/WebM, AVI, MPEG-TS)",
                   "file");
    }
    return Status::Ok();
  }

  std::optional<store::VideoContainer> container_;
};

bool is_multipart(const RequestHeader& h) {
  return base_type(h[http::field::content_type]) == "multipart/form-data";
}

Result<StreamStart> open_multipart(RequestContext& ctx) {
  auto boundary = multipart_boundary(ctx.request[http::field::content_type]);
  if (!boundary.ok()) return boundary.error();
  auto key = idempotency_key(ctx);
  if (!key.ok()) return key.error();
  if (!key->empty()) {
    auto stored = store::Submissions(ctx.services.db).find_idempotent(ctx.user().user_id, *key);
    if (!stored.ok()) return stored.error();
    if (stored->has_value()) return StreamStart{nullptr, stored_reply(**stored, true)};
  }
  return StreamStart{
      std::make_unique<MultipartSubmission>(*boundary, ctx.services.media,
                                            ctx.services.config.server.max_upload_bytes),
      std::nullopt};
}

// `media_sha256` of a JSON submission: bytes already stored that the caller may see (what
// HEAD /api/v1/media/{sha256}/original answers 200 for), so a repost of known footage is
// submitted with its own context without sending the file again. Media the caller may not see
// is refused exactly like media that does not exist: the answer tells nothing about others'
// footage.
Result<store::MediaInput> stored_media(RequestContext& ctx, const nlohmann::json& value) {
  if (!value.is_string() || !is_sha256_hex(value.get<std::string>())) {
    return Error(Code::kUnprocessable, "media_sha256 must be 64 lowercase hex digits",
                 "media_sha256");
  }
  std::string sha = value.get<std::string>();
  auto found = store::Submissions(ctx.services.db).media_for(ctx.user(), sha);
  if (!found.ok()) {
    if (found.error().code() != Code::kNotFound) return found.error();
    return Error(Code::kUnprocessable,
                 "no stored media with this SHA-256 that you may see: upload the file",
                 "media_sha256");
  }
  const auto& [media, filename] = *found;
  return store::MediaInput{sha, media.size, media.container, media.mime, filename};
}

// POST /submissions with application/json: a post URL to fetch, or (media_sha256) new context
// for a video already stored.
Result<Reply> create_from_json(RequestContext& ctx) {
  auto body = parse_json_object(ctx.request);
  if (!body.ok()) {
    if (body.error().code() == Code::kUnsupportedMedia) {
      return Error(Code::kUnsupportedMedia,
                   "send multipart/form-data (metadata + file) or application/json with a "
                   "source_url",
                   "Content-Type");
    }
    return body.error();
  }
  std::optional<store::MediaInput> media;
  if (auto it = body->find("media_sha256"); it != body->end()) {
    auto found = stored_media(ctx, *it);
    if (!found.ok()) return found.error();
    media = std::move(found.value());
    body->erase(it);
  }
  auto meta = parse_submission_metadata(*body, "");
  if (!meta.ok()) return meta.error();
  if (!meta->source_url && !media) {
    return Error(Code::kUnprocessable, "source_url is required when no file is uploaded",
                 "source_url");
  }
  return create_submission(ctx, *meta, media);
}

Result<Reply> get_submission(RequestContext& ctx) {
  auto id = positive_id(ctx.params.at("id"), "id", Code::kNotFound);
  if (!id.ok()) return Error(Code::kNotFound, "no such submission");
  auto s = store::Submissions(ctx.services.db).get(ctx.user(), *id);
  if (!s.ok()) return s.error();
  nlohmann::json out = submission_json(*s);
  // The processing state: the newest job of its media (or, for a URL, of the submission).
  store::Jobs jobs(ctx.services.db);
  auto found = s->media ? jobs.for_payload("sha256", s->media->sha256)
                        : jobs.for_payload("submission_id", std::to_string(s->id));
  if (!found.ok()) return found.error();
  out["processing"] = found->empty() ? nlohmann::json() : job_json(found->back());
  if (s->media) {
    store::MediaLinks links(ctx.services.db);
    auto dups = links.for_media(ctx.user(), s->media->sha256);
    if (!dups.ok()) return dups.error();
    nlohmann::json items = nlohmann::json::array();
    for (const auto& l : *dups) items.push_back(link_json(l));
    out["duplicates"] = items;
    auto prov = links.provenance(ctx.user(), s->media->sha256);
    if (!prov.ok()) return prov.error();
    out["provenance"] = provenance_json(*prov);
  }
  return Reply::json(http::status::ok, out);
}

Result<Reply> list_submissions(RequestContext& ctx) {
  auto filter = parse_submission_filter(ctx.query);
  if (!filter.ok()) return filter.error();
  store::SubmissionFilter f = *filter;
  int limit = f.limit;
  f.limit = limit + 1;  // one more row says whether there is a next page
  auto rows = store::Submissions(ctx.services.db).list(ctx.user(), f);
  if (!rows.ok()) return rows.error();
  bool more = static_cast<int>(rows->size()) > limit;
  if (more) rows->pop_back();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& s : *rows) items.push_back(submission_json(s));
  nlohmann::json next = more ? nlohmann::json(encode_cursor(rows->back().id)) : nlohmann::json();
  return Reply::json(http::status::ok, {{"items", items}, {"next_cursor", next}});
}

// POST /api/v1/submissions/tags: {"ids": [...], "add": [...], "remove": [...]}, all or nothing.
Result<Reply> tag_submissions(RequestContext& ctx) {
  auto doc = parse_json_object(ctx.request);
  if (!doc.ok()) return doc.error();
  FieldReader r(*doc);
  const nlohmann::json* ids_json = r.optional_value("ids");
  if (ids_json == nullptr || !ids_json->is_array() || ids_json->empty() || ids_json->size() > 500) {
    return Error(Code::kUnprocessable, "ids must be a list of 1 to 500 submission ids", "ids");
  }
  std::vector<int64_t> ids;
  for (size_t i = 0; i < ids_json->size(); ++i) {
    const auto& v = (*ids_json)[i];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0) {
      std::string f = fmt::format("ids[{}]", i);
      return Error(Code::kUnprocessable, f + " must be a submission id (a positive integer)", f);
    }
    ids.push_back(v.get<int64_t>());
  }
  std::vector<std::string> add, remove;
  for (auto [name, out] : {std::pair{"add", &add}, std::pair{"remove", &remove}}) {
    if (const nlohmann::json* v = r.optional_value(name)) {
      auto tags = parse_tags(*v, name);
      if (!tags.ok()) return tags.error();
      *out = std::move(*tags);
    }
  }
  if (Status s = r.finish(); !s.ok()) return s.error();
  if (add.empty() && remove.empty()) {
    return Error(Code::kUnprocessable, "give tags to add or to remove", "add");
  }
  for (size_t i = 0; i < remove.size(); ++i) {
    if (std::find(add.begin(), add.end(), remove[i]) != add.end()) {
      std::string f = fmt::format("remove[{}]", i);
      return Error(Code::kUnprocessable, f + " is also in add: a tag is either added or removed",
                   f);
    }
  }
  auto tagged = store::Submissions(ctx.services.db).retag(ctx.user(), ids, add, remove);
  if (!tagged.ok()) return tagged.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& t : *tagged) items.push_back({{"id", t.id}, {"tags", t.tags}});
  return Reply::json(http::status::ok, {{"submissions", items}});
}

// RFC 6266 / 8187: an ASCII fallback and the exact UTF-8 name.
std::string content_disposition(const std::string& name) {
  std::string ascii, encoded;
  for (unsigned char c : name) {
    ascii += (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? static_cast<char>(c) : '_';
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      encoded += static_cast<char>(c);
    } else {
      encoded += fmt::format("%{:02X}", c);
    }
  }
  if (ascii.empty()) return "attachment";
  return "attachment; filename=\"" + ascii + "\"; filename*=UTF-8''" + encoded;
}

// One "bytes=a-b" range; nullopt for no or an unusable Range header (then the whole file).
// kInvalidArgument marks an unsatisfiable range.
Result<std::optional<std::pair<uint64_t, uint64_t>>> parse_range(std::string_view h,
                                                                 uint64_t size) {
  using R = std::optional<std::pair<uint64_t, uint64_t>>;
  if (h.empty() || h.substr(0, 6) != "bytes=" || h.find(',') != std::string_view::npos) return R();
  std::string_view spec = h.substr(6);
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos) return R();
  auto num = [](std::string_view s, uint64_t* out) {
    if (s.empty()) return false;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  uint64_t a = 0, b = 0;
  std::string_view first = spec.substr(0, dash), last = spec.substr(dash + 1);
  if (first.empty()) {  // suffix: the last N bytes
    if (!num(last, &b) || b == 0) return Error(Code::kInvalidArgument, "unsatisfiable range");
    if (size == 0) return Error(Code::kInvalidArgument, "unsatisfiable range");
    b = std::min(b, size);
    return R(std::make_pair(size - b, size - 1));
  }
  if (!num(first, &a)) return R();
  if (last.empty()) {
    b = size == 0 ? 0 : size - 1;
  } else if (!num(last, &b) || b < a) {
    return R();
  }
  if (a >= size) return Error(Code::kInvalidArgument, "unsatisfiable range");
  return R(std::make_pair(a, std::min(b, size - 1)));
}

// The original `sha` to `who`, with Range, If-Range and ETag; 404 unless `who` may see it.
Result<Reply> serve_original(RequestContext& ctx, const store::Principal& who,
                             const std::string& sha) {
  if (!is_sha256_hex(sha)) return Error(Code::kNotFound, "no such media");
  auto found = store::Submissions(ctx.services.db).media_for(who, sha);
  if (!found.ok()) return found.error();
  const auto& [media, filename] = *found;
  std::string etag = "\"" + sha + "\"";
  Reply reply;
  reply.headers.set(http::field::etag, etag);
  reply.headers.set(http::field::cache_control, "private, max-age=31536000, immutable");
  reply.headers.set(http::field::accept_ranges, "bytes");
  if (ctx.request[http::field::if_none_match] == etag) {
    reply.status = http::status::not_modified;
    return reply;
  }
  auto fd = ctx.services.media.open_read_only(sha);
  if (!fd.ok()) {
    log::error("media row without file", {{"sha256", sha}, {"request_id", ctx.request_id}});
    return Error(Code::kInternal, "the stored original is missing");
  }
  reply.headers.set(http::field::content_type,
                    media.mime.empty() ? "application/octet-stream" : media.mime);
  reply.headers.set(http::field::content_disposition, content_disposition(filename));
  uint64_t size = media.size;
  auto range = parse_range(ctx.request[http::field::range], size);
  std::string if_range(ctx.request[http::field::if_range]);
  if (!if_range.empty() && if_range != etag) range = std::optional<std::pair<uint64_t, uint64_t>>();
  if (!range.ok()) {
    FileSpan::adopt(*fd, 0, 0);  // closes it
    Reply r =
        problem(http::status::range_not_satisfiable, "the requested range is outside the file");
    r.headers.set(http::field::content_range, "bytes */" + std::to_string(size));
    return r;
  }
  if (range->has_value()) {
    auto [a, b] = **range;
    reply.status = http::status::partial_content;
    reply.headers.set(http::field::content_range, fmt::format("bytes {}-{}/{}", a, b, size));
    reply.file = FileSpan::adopt(*fd, a, b - a + 1);
  } else {
    reply.file = FileSpan::adopt(*fd, 0, size);
  }
  return reply;
}

Result<Reply> media_original(RequestContext& ctx) {
  return serve_original(ctx, ctx.user(), ctx.params.at("sha256"));
}

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(now_utc().time_since_epoch()).count();
}

// A link to the original that works without a token for kMediaLinkLifetimeSeconds.
Result<Reply> media_original_link(RequestContext& ctx) {
  const std::string& sha = ctx.params.at("sha256");
  if (!is_sha256_hex(sha)) return Error(Code::kNotFound, "no such media");
  auto found = store::Submissions(ctx.services.db).media_for(ctx.user(), sha);
  if (!found.ok()) return found.error();
  auto key = store::signing_key(ctx.services.db, "media_link");
  if (!key.ok()) return key.error();
  const MediaLink link{sha, ctx.user().token_id, unix_now() + kMediaLinkLifetimeSeconds};
  Reply reply =
      Reply::json(http::status::ok,
                  {{"url", media_link_path(*key, link)},
                   {"expires_at", format_rfc3339(TimePoint(std::chrono::seconds(link.expires)))}});
  reply.headers.set(http::field::cache_control, "no-store");
  return reply;
}

// GET through a signed link: no token; the link's signature, expiry and token are checked, then
// the original is served as to that token's user.
Result<Reply> media_original_signed(RequestContext& ctx) {
  MediaLink link;
  link.sha256 = ctx.params.at("sha256");
  for (auto [name, out] :
       {std::pair{"token", &link.token_id}, std::pair{"expires", &link.expires}}) {
    auto v = ctx.query_param(name);
    if (!v) {
      return Error(Code::kInvalidArgument,
                   fmt::format("the link lacks `{}`: ask for a new link", name), name);
    }
    auto n = positive_id(*v, name, Code::kInvalidArgument);
    if (!n.ok()) return n.error();
    *out = *n;
  }
  const std::string signature = ctx.query_param("signature").value_or("");
  auto key = store::signing_key(ctx.services.db, "media_link");
  if (!key.ok()) return key.error();
  if (Status s = check_media_link(*key, link, signature, unix_now()); !s.ok()) return s.error();
  auto who = store::Users(ctx.services.db).principal_of_token(link.token_id);
  if (!who.ok()) {
    if (who.error().code() != Code::kUnauthenticated) return who.error();
    return Error(Code::kForbidden,
                 "the token this link was made with has been revoked: sign in again", "token");
  }
  return serve_original(ctx, *who, link.sha256);
}

}  // namespace

void add_submission_routes(Router& router) {
  RouteOptions create{.roles = kAnyRole};
  create.open_stream = open_multipart;
  create.streams_when = is_multipart;
  router.add(http::verb::post, "/api/v1/submissions", create_from_json, create);
  router.add(http::verb::get, "/api/v1/submissions", list_submissions, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/submissions/{id}", get_submission, {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/submissions/tags", tag_submissions, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/media/{sha256}/original", media_original,
             {.roles = kAnyRole});
  router.add(http::verb::post, "/api/v1/media/{sha256}/original/link", media_original_link,
             {.roles = kAnyRole});
  // No token: the link itself is the credential (server/signed_link.hpp).
  router.add(http::verb::get, "/api/v1/media/{sha256}/original/signed", media_original_signed, {});
}

}  // namespace cw::server
