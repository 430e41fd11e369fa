// Submissions, their media rows, the jobs they start and idempotent replies.
//
// Decisions worth knowing:
// - exact_duplicate_of is not stored: it is computed for each reader as the earliest other
//   submission (smaller id) of the same bytes that the reader may see, so an org-private
//   submission never shows through a taskforce one.
// - A submission of bytes already in `media` starts no job (the pipeline works per media): it
//   takes the status of the earliest submission of those bytes, so it is not left "queued" when
//   the media was processed long ago. The pipeline moves every submission of a media together.
// - Requests with the same Idempotency-Key by the same user are serialised by a transaction
//   advisory lock on (user, key): the second waits for the first to commit, then finds the
//   stored reply. The insert of the key is still ON CONFLICT DO NOTHING; if it ever loses a race
//   the transaction is rolled back and the stored reply is returned instead.
#include "store/submissions.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "store/internal/audit_append.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// 'CWID' as a number: the class of the advisory locks taken on (user, idempotency key).
constexpr int kIdempotencyLockClass = 0x43574944;
constexpr size_t kMaxKeyLength = 200;
constexpr int kMaxListLimit = 500;

constexpr const char* kLockKey =
    "SELECT pg_advisory_xact_lock($1::int, hashtext($2::bigint::text || ':' || $3::text))";
constexpr const char* kSelectReply = R"sql(
SELECT status, body, location FROM idempotency_keys WHERE user_id = $1 AND key = $2)sql";
constexpr const char* kInsertReply = R"sql(
INSERT INTO idempotency_keys (user_id, key, status, body, location) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (user_id, key) DO NOTHING RETURNING 1)sql";
constexpr const char* kInsertMedia = R"sql(
INSERT INTO media (sha256, size, container, mime) VALUES ($1, $2, $3, $4)
ON CONFLICT (sha256) DO NOTHING RETURNING sha256)sql";
constexpr const char* kEarliestStatusOfMedia = R"sql(
SELECT status FROM submissions WHERE media_sha256 = $1 ORDER BY id LIMIT 1)sql";
constexpr const char* kInsertSubmission = R"sql(
INSERT INTO submissions (submitted_by, org_id, visibility, status, source_url, platform, posted_at,
                         author, description, claimed_location, claimed_radius_m, claimed_place,
                         tags, media_sha256, original_filename)
VALUES ($1, (SELECT org_id FROM users WHERE id = $1), $2, $3, $4, $5,
        'epoch'::timestamptz + $6::bigint * interval '1 microsecond', $7, $8,
        CASE WHEN $9::float8 IS NULL OR $10::float8 IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint($10::float8, $9::float8), 4326)::geography END,
        $11::float8, $12, ARRAY(SELECT jsonb_array_elements_text($13::jsonb)), $14, $15)
RETURNING id)sql";
constexpr const char* kInsertJob = R"sql(
INSERT INTO jobs (kind, payload) VALUES ($1, $2::jsonb) RETURNING id)sql";

// Every reader query binds $1 to the reader's organisation (visibility and duplicates).
constexpr const char* kSelectSubmissions = R"sql(
SELECT s.id, s.submitted_by, u.name, s.org_id, o.name, s.visibility, s.status, s.source_url,
       s.platform, (extract(epoch FROM s.posted_at) * 1000000)::bigint, s.author, s.description,
       ST_Y(s.claimed_location::geometry), ST_X(s.claimed_location::geometry), s.claimed_radius_m,
       s.claimed_place, array_to_json(s.tags)::text, s.media_sha256, m.size, m.container, m.mime,
       s.original_filename,
       (SELECT min(d.id) FROM submissions d
        WHERE d.media_sha256 = s.media_sha256 AND d.id < s.id
          AND (d.visibility = 'taskforce' OR d.org_id = $1)),
       (extract(epoch FROM s.created_at) * 1000000)::bigint
FROM submissions s
JOIN users u ON u.id = s.submitted_by
JOIN organisations o ON o.id = s.org_id
LEFT JOIN media m ON m.sha256 = s.media_sha256
WHERE (s.visibility = 'taskforce' OR s.org_id = $1))sql";
constexpr const char* kById = " AND s.id = $2";
constexpr const char* kListFilters = R"sql(
  AND s.id > $2
  AND ($3::text IS NULL OR s.status = $3::text)
  AND ($4::text IS NULL OR s.platform = $4::text)
  AND ($5::bigint IS NULL OR s.submitted_by = $5::bigint)
  AND ($6::bigint IS NULL OR s.org_id = $6::bigint)
  AND ($7::bigint IS NULL
       OR s.created_at >= 'epoch'::timestamptz + $7::bigint * interval '1 microsecond')
  AND ($8::bigint IS NULL
       OR s.created_at < 'epoch'::timestamptz + $8::bigint * interval '1 microsecond')
  AND ($10::text IS NULL OR s.tags @> ARRAY[$10::text])
ORDER BY s.id LIMIT $9)sql";
// The rows retag() changes, locked, with what decides who may tag them.
constexpr const char* kLockForTags = R"sql(
SELECT id, submitted_by, org_id, visibility = 'taskforce' OR org_id = $2, array_to_json(tags)::text
FROM submissions WHERE id = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb))::bigint[])
ORDER BY id FOR UPDATE)sql";
constexpr const char* kSetTags = R"sql(
UPDATE submissions SET tags = ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) WHERE id = $1)sql";
constexpr const char* kMediaFor = R"sql(
SELECT m.sha256, m.size, m.container, m.mime, s.original_filename
FROM submissions s JOIN media m ON m.sha256 = s.media_sha256
WHERE s.media_sha256 = $2 AND (s.visibility = 'taskforce' OR s.org_id = $1)
ORDER BY s.id LIMIT 1)sql";

// libpqxx 6 has no std::optional parameters: a null `const char*` is a NULL. The strings are
// kept alive by the caller's std::optional<std::string>.
std::optional<double> opt_double(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}

Submission submission_from_row(const pqxx::row& row) {
  Submission s;
  s.id = row[0].as<int64_t>();
  s.submitted_by = row[1].as<int64_t>();
  s.submitted_by_name = row[2].as<std::string>();
  s.org_id = row[3].as<int64_t>();
  s.org_name = row[4].as<std::string>();
  s.meta.visibility = row[5].as<std::string>() == "org" ? Visibility::kOrg : Visibility::kTaskforce;
  s.status = row[6].as<std::string>();
  s.meta.source_url = opt_string(row[7]);
  s.meta.platform = opt_string(row[8]);
  if (!row[9].is_null()) s.meta.posted_at = from_micros(row[9].as<int64_t>());
  s.meta.author = opt_string(row[10]);
  s.meta.description = opt_string(row[11]);
  ClaimedLocation loc;
  loc.lat = opt_double(row[12]);
  loc.lon = opt_double(row[13]);
  loc.radius_m = opt_double(row[14]);
  loc.place = opt_string(row[15]);
  if (loc.lat || loc.lon || loc.radius_m || loc.place) s.meta.claimed_location = loc;
  for (const auto& tag : nlohmann::json::parse(row[16].as<std::string>())) {
    s.meta.tags.push_back(tag.get<std::string>());
  }
  if (!row[17].is_null()) {
    MediaSummary m;
    m.sha256 = row[17].as<std::string>();
    m.size = static_cast<uint64_t>(row[18].as<int64_t>());
    m.container = row[19].as<std::string>();
    m.mime = row[20].as<std::string>();
    s.media = m;
  }
  s.original_filename = row[21].as<std::string>();
  if (!row[22].is_null()) s.exact_duplicate_of = row[22].as<int64_t>();
  s.created_at = from_micros(row[23].as<int64_t>());
  return s;
}

// libpq passes text parameters as C strings: an embedded NUL would silently cut the value.
Status check_text(const std::string& s, const char* field) {
  if (s.find('\0') != std::string::npos) {
    return Error(Code::kUnprocessable, fmt::format("{} must not contain NUL characters", field),
                 field);
  }
  return Status::Ok();
}

Status check_text(const std::optional<std::string>& s, const char* field) {
  return s ? check_text(*s, field) : Status::Ok();
}

// What the database cannot report as a constraint violation (it would be a 500) or what
// deserves a clearer message than a constraint name.
Status validate(const SubmissionInput& meta, const std::optional<MediaInput>& media,
                const std::string& key) {
  if (key.size() > kMaxKeyLength) {
    return Error(Code::kUnprocessable, "Idempotency-Key must be at most 200 characters",
                 "Idempotency-Key");
  }
  if (!media && !meta.source_url) {
    return Error(Code::kUnprocessable, "a submission needs a video or a source_url", "source_url");
  }
  for (Status s : {check_text(key, "Idempotency-Key"), check_text(meta.source_url, "source_url"),
                   check_text(meta.platform, "platform"), check_text(meta.author, "author"),
                   check_text(meta.description, "description")}) {
    if (!s.ok()) return s;
  }
  for (const std::string& tag : meta.tags) {
    if (Status s = check_text(tag, "tags"); !s.ok()) return s;
  }
  if (media) {
    for (Status s :
         {check_text(media->sha256, "sha256"), check_text(media->container, "container"),
          check_text(media->mime, "mime"), check_text(media->original_filename, "filename")}) {
      if (!s.ok()) return s;
    }
    if (media->size > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Error(Code::kUnprocessable, "the video is too large", "size");
    }
  }
  if (meta.claimed_location) {
    const ClaimedLocation& loc = *meta.claimed_location;
    const char* field = "claimed_location";
    if (loc.lat.has_value() != loc.lon.has_value()) {
      return Error(Code::kUnprocessable, "claimed_location needs both lat and lon", field);
    }
    if (loc.lat && (!std::isfinite(*loc.lat) || *loc.lat < -90 || *loc.lat > 90)) {
      return Error(Code::kUnprocessable, "claimed_location.lat must be between -90 and 90",
                   "claimed_location.lat");
    }
    if (loc.lon && (!std::isfinite(*loc.lon) || *loc.lon < -180 || *loc.lon > 180)) {
      return Error(Code::kUnprocessable, "claimed_location.lon must be between -180 and 180",
                   "claimed_location.lon");
    }
    if (loc.radius_m && (!std::isfinite(*loc.radius_m) || *loc.radius_m < 0)) {
      return Error(Code::kUnprocessable, "claimed_location.radius_m must be a distance >= 0",
                   "claimed_location.radius_m");
    }
    if (Status s = check_text(loc.place, "claimed_location.place"); !s.ok()) return s;
  }
  return Status::Ok();
}

template <typename T>
nlohmann::json or_null(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json audit_diff(const SubmissionInput& meta, const std::optional<MediaInput>& media,
                          bool media_new, const std::string& status,
                          const std::optional<int64_t>& duplicate,
                          const std::optional<int64_t>& job_id, const char* job_kind) {
  nlohmann::json d;
  d["visibility"] = visibility_name(meta.visibility);
  d["status"] = status;
  d["source_url"] = or_null(meta.source_url);
  d["platform"] = or_null(meta.platform);
  d["posted_at"] = meta.posted_at ? nlohmann::json(format_rfc3339(*meta.posted_at)) : nullptr;
  d["author"] = or_null(meta.author);
  d["description"] = or_null(meta.description);
  if (meta.claimed_location) {
    const ClaimedLocation& loc = *meta.claimed_location;
    d["claimed_location"] = {{"lat", or_null(loc.lat)},
                             {"lon", or_null(loc.lon)},
                             {"radius_m", or_null(loc.radius_m)},
                             {"place", or_null(loc.place)}};
  } else {
    d["claimed_location"] = nullptr;
  }
  d["tags"] = meta.tags;
  if (media) {
    d["media"] = {{"sha256", media->sha256},
                  {"size", media->size},
                  {"container", media->container},
                  {"mime", media->mime},
                  {"new", media_new}};
    d["original_filename"] = media->original_filename;
  } else {
    d["media"] = nullptr;
  }
  d["exact_duplicate_of"] = or_null(duplicate);
  d["job"] = job_id ? nlohmann::json{{"id", *job_id}, {"kind", job_kind}} : nlohmann::json(nullptr);
  return d;
}

StoredReply reply_from_row(const pqxx::row& row) {
  return StoredReply{row[0].as<int>(), row[1].as<std::string>(), row[2].as<std::string>()};
}

}  // namespace

const char* visibility_name(Visibility v) {
  switch (v) {
    case Visibility::kTaskforce:
      return "taskforce";
    case Visibility::kOrg:
      return "org";
  }
  return "taskforce";
}

Result<std::pair<StoredReply, bool>> Submissions::create(
    const Principal& who, const SubmissionInput& meta, const std::optional<MediaInput>& media,
    const std::string& idempotency_key,
    const std::function<StoredReply(const Submission&)>& render) {
  if (Status s = validate(meta, media, idempotency_key); !s.ok()) return s.error();
  const bool keyed = !idempotency_key.empty();
  bool lost_race = false;

  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<std::pair<StoredReply, bool>> {
    try {
      if (keyed) {
        tx.exec_params(kLockKey, kIdempotencyLockClass, who.user_id, idempotency_key);
        pqxx::result stored = tx.exec_params(kSelectReply, who.user_id, idempotency_key);
        if (!stored.empty()) return std::make_pair(reply_from_row(stored[0]), true);
      }

      bool media_new = false;
      std::string status = "queued";
      const char* job_kind = nullptr;
      if (media) {
        media_new = !tx.exec_params(kInsertMedia, media->sha256, static_cast<int64_t>(media->size),
                                    media->container, media->mime)
                         .empty();
        pqxx::result earliest;
        if (!media_new) earliest = tx.exec_params(kEarliestStatusOfMedia, media->sha256);
        if (earliest.empty()) {
          // New bytes, or bytes no submission refers to any more: they need processing.
          job_kind = "process_media";
        } else {
          status = earliest[0][0].as<std::string>();
        }
      } else {
        job_kind = "fetch_url";
      }

      std::optional<std::string> posted_at = micros_text(meta.posted_at);
      std::optional<std::string> lat, lon, radius, place;
      if (meta.claimed_location) {
        lat = number_text(meta.claimed_location->lat);
        lon = number_text(meta.claimed_location->lon);
        radius = number_text(meta.claimed_location->radius_m);
        place = meta.claimed_location->place;
      }
      std::optional<std::string> sha256;
      if (media) sha256 = media->sha256;
      int64_t id =
          tx.exec_params1(kInsertSubmission, who.user_id, visibility_name(meta.visibility), status,
                          nullable(meta.source_url), nullable(meta.platform), nullable(posted_at),
                          nullable(meta.author), nullable(meta.description), nullable(lat),
                          nullable(lon), nullable(radius), nullable(place),
                          nlohmann::json(meta.tags).dump(), nullable(sha256),
                          media ? media->original_filename : std::string())[0]
              .as<int64_t>();

      std::optional<int64_t> job_id;
      if (job_kind != nullptr) {
        nlohmann::json payload =
            media ? nlohmann::json{{"sha256", media->sha256}, {"submission_id", id}}
                  : nlohmann::json{{"submission_id", id}, {"url", *meta.source_url}};
        job_id = tx.exec_params1(kInsertJob, job_kind, payload.dump())[0].as<int64_t>();
      }

      // Read back through the reader query so render() sees exactly what get() returns.
      Submission sub = submission_from_row(
          tx.exec_params1(std::string(kSelectSubmissions) + kById, who.org_id, id));
      audit_append(
          tx, Actor{who.user_id, who.user_name}, "submission.create",
          fmt::format("submission/{}", id),
          audit_diff(meta, media, media_new, status, sub.exact_duplicate_of, job_id, job_kind));

      StoredReply reply = render(sub);
      if (keyed) {
        pqxx::result inserted = tx.exec_params(kInsertReply, who.user_id, idempotency_key,
                                               reply.status, reply.body, reply.location);
        if (inserted.empty()) {
          // Another transaction stored a reply for this key first: undo ours, replay theirs.
          lost_race = true;
          return Error(Code::kConflict, "the Idempotency-Key was used concurrently");
        }
      }
      return std::make_pair(std::move(reply), false);
    } catch (const pqxx::data_exception&) {
      // Text that is not valid UTF-8, a time out of PostgreSQL's range, …: the client's input.
      return Error(Code::kUnprocessable, "a value is not valid (bad text or out of range)");
    }
  });
  if (!r.ok() && lost_race) {
    auto stored = find_idempotent(who.user_id, idempotency_key);
    if (!stored.ok()) return stored.error();
    if (*stored) return std::make_pair(std::move(**stored), true);
  }
  return r;
}

Result<std::optional<StoredReply>> Submissions::find_idempotent(int64_t user_id,
                                                                const std::string& key) {
  if (key.empty() || key.size() > kMaxKeyLength || key.find('\0') != std::string::npos) {
    return std::optional<StoredReply>();
  }
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::optional<StoredReply>> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(kSelectReply, user_id, key);
    if (r.empty()) return std::optional<StoredReply>();
    return std::optional<StoredReply>(reply_from_row(r[0]));
  });
}

Result<Submission> Submissions::get(const Principal& who, int64_t id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<Submission> {
    pqxx::read_transaction tx(c);
    pqxx::result r = tx.exec_params(std::string(kSelectSubmissions) + kById, who.org_id, id);
    if (r.empty()) return Error(Code::kNotFound, fmt::format("no submission {}", id));
    return submission_from_row(r[0]);
  });
}

Result<std::vector<Submission>> Submissions::list(const Principal& who,
                                                  const SubmissionFilter& filter) {
  int limit = std::clamp(filter.limit, 0, kMaxListLimit);
  if (limit == 0) return std::vector<Submission>();
  for (Status s : {check_text(filter.status, "status"), check_text(filter.platform, "platform"),
                   check_text(filter.tag, "tag")}) {
    if (!s.ok()) return s.error();
  }
  std::optional<std::string> submitted_by, org;
  if (filter.submitted_by) submitted_by = std::to_string(*filter.submitted_by);
  if (filter.org) org = std::to_string(*filter.org);
  std::optional<std::string> since = micros_text(filter.since);
  std::optional<std::string> until = micros_text(filter.until);
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Submission>> {
    pqxx::read_transaction tx(c);
    pqxx::result rows;
    try {
      rows = tx.exec_params(std::string(kSelectSubmissions) + kListFilters, who.org_id,
                            filter.after_id, nullable(filter.status), nullable(filter.platform),
                            nullable(submitted_by), nullable(org), nullable(since), nullable(until),
                            limit, nullable(filter.tag));
    } catch (const pqxx::data_exception&) {
      // A filter that is not valid UTF-8 or a time outside PostgreSQL's range.
      return Error(Code::kUnprocessable, "a filter value is not valid");
    }
    std::vector<Submission> out;
    for (const auto& row : rows) out.push_back(submission_from_row(row));
    return out;
  });
}

Result<std::vector<Submissions::Tagged>> Submissions::retag(
    const Principal& who, const std::vector<int64_t>& ids, const std::vector<std::string>& add,
    const std::vector<std::string>& remove) {
  for (const auto* tags : {&add, &remove}) {
    for (const std::string& tag : *tags) {
      if (Status s = check_text(tag, tags == &add ? "add" : "remove"); !s.ok()) return s.error();
    }
  }
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<std::vector<Tagged>> {
    struct Row {
      int64_t submitted_by = 0;
      int64_t org_id = 0;
      bool visible = false;
      std::vector<std::string> tags;
    };
    std::map<int64_t, Row> rows;
    for (const auto& r : tx.exec_params(kLockForTags, nlohmann::json(ids).dump(), who.org_id)) {
      Row row{r[1].as<int64_t>(), r[2].as<int64_t>(), r[3].as<bool>(), {}};
      for (const auto& t : nlohmann::json::parse(r[4].as<std::string>())) {
        row.tags.push_back(t.get<std::string>());
      }
      rows.emplace(r[0].as<int64_t>(), std::move(row));
    }
    std::vector<Tagged> out;
    std::set<int64_t> seen;
    for (int64_t id : ids) {
      if (!seen.insert(id).second) continue;
      auto it = rows.find(id);
      if (it == rows.end() || !it->second.visible) {
        return Error(Code::kNotFound, fmt::format("no submission {}", id), "ids");
      }
      Row& row = it->second;
      bool may = who.role == Role::kContributor ? row.submitted_by == who.user_id
                                                : row.org_id == who.org_id;
      if (!may) {
        return Error(Code::kForbidden,
                     fmt::format("you may not tag submission {}: {}", id,
                                 who.role == Role::kContributor
                                     ? "a contributor tags only their own submissions"
                                     : "it belongs to another organisation"),
                     "ids");
      }
      std::vector<std::string> after;
      std::vector<std::string> added, removed;
      for (const std::string& t : row.tags) {
        if (std::find(remove.begin(), remove.end(), t) == remove.end()) {
          after.push_back(t);
        } else {
          removed.push_back(t);
        }
      }
      for (const std::string& t : add) {
        if (std::find(after.begin(), after.end(), t) == after.end()) {
          after.push_back(t);
          added.push_back(t);
        }
      }
      if (after.size() > kMaxTags) {
        return Error(Code::kUnprocessable,
                     fmt::format("submission {} would carry {} tags; at most {}", id, after.size(),
                                 kMaxTags),
                     "add");
      }
      if (!added.empty() || !removed.empty()) {
        tx.exec_params0(kSetTags, id, nlohmann::json(after).dump());
        audit_append(tx, Actor{who.user_id, who.user_name}, "submission.tag",
                     fmt::format("submission/{}", id),
                     {{"added", added}, {"removed", removed}, {"tags", after}});
      }
      out.push_back({id, std::move(after)});
    }
    return out;
  });
}

Result<Submissions::Attached> Submissions::attach_fetched(int64_t submission_id,
                                                          const MediaInput& media,
                                                          const nlohmann::json& details) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Attached> {
    pqxx::result row = tx.exec_params(
        "SELECT media_sha256 IS NOT NULL FROM submissions WHERE id = $1 FOR UPDATE", submission_id);
    if (row.empty()) return Error(Code::kNotFound, "the submission no longer exists");
    if (row[0][0].as<bool>()) return Error(Code::kConflict, "the submission already has media");
    Attached out;
    out.media_new = !tx.exec_params(kInsertMedia, media.sha256, static_cast<int64_t>(media.size),
                                    media.container, media.mime)
                         .empty();
    pqxx::result earliest = tx.exec_params(kEarliestStatusOfMedia, media.sha256);
    out.status = earliest.empty() ? "queued" : earliest[0][0].as<std::string>();
    tx.exec_params0(
        "UPDATE submissions SET media_sha256 = $2, status = $3, original_filename = $4 "
        "WHERE id = $1",
        submission_id, media.sha256, out.status, media.original_filename);
    if (earliest.empty()) {
      nlohmann::json payload{{"sha256", media.sha256}, {"submission_id", submission_id}};
      out.job_id = tx.exec_params1(kInsertJob, "process_media", payload.dump())[0].as<int64_t>();
    }
    nlohmann::json diff = details;
    diff["sha256"] = media.sha256;
    diff["size"] = media.size;
    diff["container"] = media.container;
    diff["media_new"] = out.media_new;
    diff["status"] = out.status;
    if (out.job_id) diff["job_id"] = *out.job_id;
    audit_append(tx, Actor::system("fetch"), "submission.fetch",
                 fmt::format("submission/{}", submission_id), diff);
    return out;
  });
}

Status Submissions::set_status(int64_t submission_id, const std::string& status) {
  auto r = in_transaction(db_, [&](pqxx::work& tx) -> Result<bool> {
    tx.exec_params0("UPDATE submissions SET status = $2 WHERE id = $1", submission_id, status);
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

Result<std::pair<MediaSummary, std::string>> Submissions::media_for(const Principal& who,
                                                                    const std::string& sha256) {
  if (sha256.find('\0') != std::string::npos) {
    return Error(Code::kNotFound, "no such media");
  }
  return with_connection(db_,
                         [&](pqxx::connection& c) -> Result<std::pair<MediaSummary, std::string>> {
                           pqxx::read_transaction tx(c);
                           pqxx::result r = tx.exec_params(kMediaFor, who.org_id, sha256);
                           if (r.empty()) return Error(Code::kNotFound, "no such media");
                           MediaSummary m;
                           m.sha256 = r[0][0].as<std::string>();
                           m.size = static_cast<uint64_t>(r[0][1].as<int64_t>());
                           m.container = r[0][2].as<std::string>();
                           m.mime = r[0][3].as<std::string>();
                           return std::make_pair(m, r[0][4].as<std::string>());
                         });
}

}  // namespace cw::store
