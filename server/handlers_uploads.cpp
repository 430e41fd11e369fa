// Resumable uploads with the tus 1.0.0 protocol (core, creation, termination, expiration) at
// /api/v1/uploads. The bytes go to a `tus-…part` temp file of the evidence store, which is the
// truth for the offset; when the last byte arrives the file is committed to the store and the
// submission is created exactly as for a multipart upload. An upload belongs to the user who
// created it; others get 404.
//
// An `idempotency_key` in Upload-Metadata plays the part of the Idempotency-Key header of
// POST /submissions: the submission the upload makes is recorded under it, and a creation with a
// key already used answers 200 with the stored submission instead of starting an upload. It
// travels in the metadata because the metadata is what the upload keeps until its last byte.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <set>

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/utf8.hpp"
#include "server/context.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "server/submission_meta.hpp"
#include "server/tus.hpp"
#include "store/media_store.hpp"
#include "store/submissions.hpp"
#include "store/uploads.hpp"
#include "store/video_sniff.hpp"

namespace cw::server {

namespace {

// Uploads with a PATCH in progress in this process: a second writer gets 423 and retries.
class BusyUploads {
 public:
  bool try_lock(const std::string& id) {
    std::lock_guard lock(mu_);
    return busy_.insert(id).second;
  }
  void unlock(const std::string& id) {
    std::lock_guard lock(mu_);
    busy_.erase(id);
  }

 private:
  std::mutex mu_;
  std::set<std::string> busy_;
};

BusyUploads& busy_uploads() {
  static BusyUploads b;
  return b;
}

struct UploadLock {
  std::string id;
  explicit UploadLock(std::string i) : id(std::move(i)) {}
  ~UploadLock() { busy_uploads().unlock(id); }
};

void tus_headers(Reply& r) { r.headers.set("Tus-Resumable", kTusVersion); }

Reply tus_problem(const Error& e) {
  Reply r = problem(e);
  tus_headers(r);
  if (e.code() == Code::kPreconditionFailed) r.headers.set("Tus-Version", kTusVersion);
  return r;
}

std::string upload_location(const RequestContext& ctx, const std::string& id) {
  return ctx.services.config.server.public_url + "/api/v1/uploads/" + id;
}

std::string expires_header(TimePoint t) {
  return format_http_date(std::chrono::time_point_cast<std::chrono::system_clock::duration>(t));
}

Status check_version(const RequestContext& ctx) {
  return check_tus_resumable(ctx.request["Tus-Resumable"]);
}

Result<store::Upload> live_upload(RequestContext& ctx) {
  auto upload = store::Uploads(ctx.services.db).get(ctx.user().user_id, ctx.params.at("id"));
  if (!upload.ok()) return upload.error();
  if (upload->expires_at < now_utc()) {
    return Error(Code::kGone, "this upload expired; start a new one");
  }
  return upload;
}

Result<Reply> tus_options(RequestContext& ctx) {
  Reply r = Reply::empty(http::status::no_content);
  tus_headers(r);
  r.headers.set("Tus-Version", kTusVersion);
  r.headers.set("Tus-Extension", kTusExtensions);
  r.headers.set("Tus-Max-Size", std::to_string(ctx.services.config.server.max_upload_bytes));
  r.headers.set(http::field::allow, "POST, OPTIONS");
  return r;
}

// The `idempotency_key` of Upload-Metadata ("" when absent): at most 200 bytes of text, the
// rules of the Idempotency-Key header.
Result<std::string> upload_idempotency_key(const std::string& header) {
  auto pairs = parse_upload_metadata(header);
  if (!pairs.ok()) return pairs.error();
  auto it = pairs->find("idempotency_key");
  if (it == pairs->end()) return std::string();
  const std::string& key = it->second;
  if (key.size() > 200 || !is_storable_text(key) || std::any_of(key.begin(), key.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
      })) {
    return Error(Code::kUnprocessable,
                 "idempotency_key must be text of at most 200 bytes without control characters",
                 "Upload-Metadata.idempotency_key");
  }
  return key;
}

// "/api/v1/submissions/17" -> 17 (0 when the location is not one).
int64_t submission_id_of(const std::string& location) {
  constexpr std::string_view kPrefix = "/api/v1/submissions/";
  if (location.compare(0, kPrefix.size(), kPrefix) != 0) return 0;
  int64_t id = 0;
  const char* first = location.data() + kPrefix.size();
  const char* last = location.data() + location.size();
  auto [p, ec] = std::from_chars(first, last, id);
  return ec == std::errc() && p == last ? id : 0;
}

Result<Reply> tus_create(RequestContext& ctx) {
  if (Status s = check_version(ctx); !s.ok()) return tus_problem(s.error());
  if (ctx.request.count("Upload-Defer-Length") > 0) {
    return tus_problem(Error(Code::kInvalidArgument,
                             "Upload-Defer-Length is not supported: send Upload-Length",
                             "Upload-Defer-Length"));
  }
  if (!ctx.request.body().empty()) {
    return tus_problem(Error(Code::kInvalidArgument,
                             "creation-with-upload is not supported: send the bytes with PATCH",
                             "body"));
  }
  auto length = parse_upload_length(ctx.request["Upload-Length"]);
  if (!length.ok()) return tus_problem(length.error());
  uint64_t max = static_cast<uint64_t>(ctx.services.config.server.max_upload_bytes);
  if (*length > max) {
    return tus_problem(
        Error(Code::kPayloadTooLarge,
              fmt::format("Upload-Length is larger than the server accepts ({} bytes)", max),
              "Upload-Length"));
  }
  if (*length == 0) {
    return tus_problem(
        Error(Code::kUnsupportedMedia, "an empty file is not a video", "Upload-Length"));
  }
  std::string metadata_header(ctx.request["Upload-Metadata"]);
  // Checked now so that the client hears about bad metadata before it sends gigabytes.
  auto meta = submission_from_upload_metadata(metadata_header);
  if (!meta.ok()) return tus_problem(meta.error());
  auto key = upload_idempotency_key(metadata_header);
  if (!key.ok()) return tus_problem(key.error());
  if (!key->empty()) {
    auto stored = store::Submissions(ctx.services.db).find_idempotent(ctx.user().user_id, *key);
    if (!stored.ok()) return tus_problem(stored.error());
    if (stored->has_value()) {
      // Submitted already: nothing to upload. 200 (not 201): no upload was created.
      Reply r = Reply::empty(http::status::ok);
      tus_headers(r);
      r.headers.set(http::field::content_type, "application/json");
      r.headers.set("Idempotent-Replayed", "true");
      if (!(*stored)->location.empty()) {
        r.headers.set("X-Submission-Location", (*stored)->location);
      }
      r.body = (*stored)->body;
      return r;
    }
  }
  auto writer = ctx.services.media.begin_write(store::TempKind::kTus);
  if (!writer.ok()) return tus_problem(writer.error());
  std::string temp_name = (*writer)->temp_name();
  if (Status s = (*writer)->suspend(); !s.ok()) return tus_problem(s.error());
  store::Upload up;
  up.id = random_hex(16);
  up.user_id = ctx.user().user_id;
  up.length = *length;
  up.metadata = metadata_header;
  up.temp_name = temp_name;
  up.created_at = now_utc();
  up.expires_at = up.created_at + std::chrono::hours(ctx.services.config.uploads.expiry_hours);
  if (Status s = store::Uploads(ctx.services.db).create(up); !s.ok()) {
    (void)ctx.services.media.remove_temp(temp_name);
    return tus_problem(s.error());
  }
  Reply r = Reply::empty(http::status::created);
  tus_headers(r);
  r.headers.set(http::field::location, upload_location(ctx, up.id));
  r.headers.set("Upload-Expires", expires_header(up.expires_at));
  return r;
}

// GET (and HEAD, which tus clients use) of an upload: its offset.
Result<Reply> tus_status(RequestContext& ctx) {
  auto up = live_upload(ctx);
  if (!up.ok()) return tus_problem(up.error());
  uint64_t offset = up->length;
  if (!up->submission_id) {
    auto size = ctx.services.media.temp_size(up->temp_name);
    if (!size.ok()) return tus_problem(Error(Code::kGone, "the bytes of this upload are gone"));
    offset = *size;
  }
  nlohmann::json body = {
      {"id", up->id},
      {"offset", offset},
      {"length", up->length},
      {"expires_at", format_rfc3339(up->expires_at)},
      {"submission", up->submission_id ? nlohmann::json("/api/v1/submissions/" +
                                                        std::to_string(*up->submission_id))
                                       : nlohmann::json()}};
  Reply r = Reply::json(http::status::ok, body);
  tus_headers(r);
  r.headers.set("Upload-Offset", std::to_string(offset));
  r.headers.set("Upload-Length", std::to_string(up->length));
  r.headers.set("Upload-Expires", expires_header(up->expires_at));
  r.headers.set(http::field::cache_control, "no-store");
  if (up->submission_id) {
    r.headers.set("X-Submission-Location",
                  "/api/v1/submissions/" + std::to_string(*up->submission_id));
  }
  return r;
}

// The body of one PATCH, appended to the temp file. If the connection drops, what arrived is
// kept (suspend) so the client can resume from the new offset.
class TusSink : public BodySink {
 public:
  TusSink(store::Upload upload, std::unique_ptr<store::MediaWriter> writer,
          std::unique_ptr<UploadLock> lock)
      : upload_(std::move(upload)), writer_(std::move(writer)), lock_(std::move(lock)) {}

  ~TusSink() override {
    if (writer_) (void)writer_->suspend();
  }

  Status write(std::string_view chunk) override {
    uint64_t room = upload_.length - writer_->size();
    if (chunk.size() > room) {
      if (room > 0) (void)writer_->write(chunk.substr(0, room));
      (void)writer_->suspend();
      writer_.reset();
      return Error(Code::kInvalidArgument, "the body goes past Upload-Length", "Upload-Offset");
    }
    Status s = writer_->write(chunk);
    if (!s.ok()) {
      (void)writer_->suspend();
      writer_.reset();
    }
    return s;
  }

  void add_error_headers(Reply& reply) const override { tus_headers(reply); }

  Result<Reply> finish(RequestContext& ctx) override {
    uint64_t offset = writer_->size();
    if (offset < upload_.length) {
      Status s = writer_->suspend();
      writer_.reset();
      if (!s.ok()) return tus_problem(s.error());
      return done(offset, std::nullopt);
    }
    auto meta = submission_from_upload_metadata(upload_.metadata);
    auto key = upload_idempotency_key(upload_.metadata);
    auto container = store::sniff_video(writer_->first_bytes());
    if (!container || !meta.ok() || !key.ok()) {
      writer_->abort();
      writer_.reset();
      (void)store::Uploads(ctx.services.db).remove(upload_.user_id, upload_.id);
      if (!meta.ok()) return tus_problem(meta.error());
      if (!key.ok()) return tus_problem(key.error());
      return tus_problem(Error(Code::kUnsupportedMedia,
                               "the file is not a video container ConvoyWatch accepts", "file"));
    }
    auto stored = writer_->commit();
    writer_.reset();
    if (!stored.ok()) return tus_problem(stored.error());
    store::MediaInput media{stored->sha256, stored->size, store::container_name(*container),
                            store::container_mime(*container), meta->second};
    auto created =
        store::Submissions(ctx.services.db)
            .create(ctx.user(), meta->first, media, *key, [](const store::Submission& s) {
              return store::StoredReply{201, submission_json(s).dump(),
                                        "/api/v1/submissions/" + std::to_string(s.id)};
            });
    if (!created.ok()) return tus_problem(created.error());
    // A replay when another request used the key while these bytes arrived: the upload then
    // points at that request's submission.
    int64_t submission_id = submission_id_of(created->first.location);
    if (submission_id == 0) {
      return tus_problem(Error(Code::kInternal, "the submission's location is not readable"));
    }
    if (Status s = store::Uploads(ctx.services.db).complete(upload_.id, submission_id); !s.ok()) {
      return tus_problem(s.error());
    }
    log::info(
        "resumable upload complete",
        {{"upload", upload_.id}, {"sha256", stored->sha256}, {"submission_id", submission_id}});
    return done(offset, submission_id);
  }

 private:
  Reply done(uint64_t offset, std::optional<int64_t> submission_id) {
    Reply r = Reply::empty(http::status::no_content);
    tus_headers(r);
    r.headers.set("Upload-Offset", std::to_string(offset));
    r.headers.set("Upload-Expires", expires_header(upload_.expires_at));
    if (submission_id) {
      r.headers.set("X-Submission-Location",
                    "/api/v1/submissions/" + std::to_string(*submission_id));
    }
    return r;
  }

  store::Upload upload_;
  std::unique_ptr<store::MediaWriter> writer_;
  std::unique_ptr<UploadLock> lock_;
};

Result<StreamStart> tus_patch(RequestContext& ctx) {
  auto early = [](const Error& e) { return StreamStart{nullptr, tus_problem(e)}; };
  if (Status s = check_version(ctx); !s.ok()) return early(s.error());
  std::string_view type = ctx.request[http::field::content_type];
  if (type != "application/offset+octet-stream") {
    return early(Error(Code::kUnsupportedMedia,
                       "PATCH bodies must be application/offset+octet-stream", "Content-Type"));
  }
  auto offset = parse_upload_offset(ctx.request["Upload-Offset"]);
  if (!offset.ok()) return early(offset.error());
  auto up = live_upload(ctx);
  if (!up.ok()) return early(up.error());
  if (up->submission_id) {
    return early(Error(Code::kConflict, "this upload is already complete", "Upload-Offset"));
  }
  if (!busy_uploads().try_lock(up->id)) {
    Reply r = problem(http::status::locked, "another request is writing this upload; retry");
    tus_headers(r);
    return StreamStart{nullptr, std::move(r)};
  }
  auto lock = std::make_unique<UploadLock>(up->id);
  auto writer = ctx.services.media.reopen_for_append(up->temp_name);
  if (!writer.ok()) {
    if (writer.error().code() == Code::kNotFound) {
      return early(Error(Code::kGone, "the bytes of this upload are gone"));
    }
    return early(writer.error());
  }
  if ((*writer)->size() != *offset) {
    uint64_t have = (*writer)->size();
    (void)(*writer)->suspend();
    return early(
        Error(Code::kConflict,
              fmt::format("Upload-Offset {} does not match the {} bytes received", *offset, have),
              "Upload-Offset"));
  }
  return StreamStart{
      std::make_unique<TusSink>(std::move(up.value()), std::move(writer.value()), std::move(lock)),
      std::nullopt};
}

// Only reached for a PATCH whose body is not streamed (never: every PATCH streams).
Result<Reply> tus_patch_unreachable(RequestContext&) {
  return Error(Code::kUnsupportedMedia, "PATCH bodies must be application/offset+octet-stream");
}

Result<Reply> tus_delete(RequestContext& ctx) {
  if (Status s = check_version(ctx); !s.ok()) return tus_problem(s.error());
  auto up = store::Uploads(ctx.services.db).get(ctx.user().user_id, ctx.params.at("id"));
  if (!up.ok()) return tus_problem(up.error());
  if (!busy_uploads().try_lock(up->id)) {
    Reply r = problem(http::status::locked, "another request is writing this upload; retry");
    tus_headers(r);
    return r;
  }
  UploadLock lock(up->id);
  if (Status s = store::Uploads(ctx.services.db).remove(ctx.user().user_id, up->id); !s.ok()) {
    return tus_problem(s.error());
  }
  if (!up->submission_id) (void)ctx.services.media.remove_temp(up->temp_name);
  Reply r = Reply::empty(http::status::no_content);
  tus_headers(r);
  return r;
}

}  // namespace

void expire_uploads(store::Database& db, const store::MediaStore& media) {
  auto expired = store::Uploads(db).remove_expired(now_utc());
  if (!expired.ok()) {
    log::warn("could not expire uploads", {{"error", expired.error().to_string()}});
    return;
  }
  for (const auto& name : *expired) (void)media.remove_temp(name);
  if (!expired->empty()) log::info("expired resumable uploads", {{"count", expired->size()}});
}

void add_upload_routes(Router& router) {
  router.add(http::verb::options, "/api/v1/uploads", tus_options,
             {.roles = {}, .body_limit = 0, .blocking = false});
  router.add(http::verb::post, "/api/v1/uploads", tus_create, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/uploads/{id}", tus_status, {.roles = kAnyRole});
  RouteOptions patch{.roles = kAnyRole};
  patch.open_stream = tus_patch;
  patch.streams_when = [](const RequestHeader&) { return true; };
  router.add(http::verb::patch, "/api/v1/uploads/{id}", tus_patch_unreachable, patch);
  router.add(http::verb::delete_, "/api/v1/uploads/{id}", tus_delete, {.roles = kAnyRole});
}

}  // namespace cw::server
