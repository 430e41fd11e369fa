// Submissions: what an investigator sent (a video and/or a post URL) with its context, the
// media row of the original, and the job that processes it — all written in one transaction,
// with the audit row and, when the client sent an Idempotency-Key, the stored first answer.
//
// Visibility: `taskforce` rows are readable by every member; `org` rows only by members of the
// submitter's organisation, whatever their role. Invisible rows are reported as not found.
// Thread-safe (all state is in the database).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

enum class Visibility { kTaskforce, kOrg };
const char* visibility_name(Visibility v);

// `claimed_location` is either a point with an uncertainty radius or a place name.
struct ClaimedLocation {
  std::optional<double> lat;
  std::optional<double> lon;
  std::optional<double> radius_m;
  std::optional<std::string> place;
};

// Validated metadata (server/ validates; the database checks again with constraints).
struct SubmissionInput {
  std::optional<std::string> source_url;
  std::optional<std::string>
      platform;  // telegram, tiktok, x, youtube, vk, facebook, instagram, other
  std::optional<TimePoint> posted_at;
  std::optional<std::string> author;
  std::optional<std::string> description;
  std::optional<ClaimedLocation> claimed_location;
  std::vector<std::string> tags;
  Visibility visibility = Visibility::kTaskforce;
};

// The original, already committed to the MediaStore.
struct MediaInput {
  std::string sha256;
  uint64_t size = 0;
  std::string container;  // "mp4", "webm", … (store/video_sniff.hpp)
  std::string mime;
  std::string original_filename;  // as the client sent it (may be empty)
};

struct MediaSummary {
  std::string sha256;
  uint64_t size = 0;
  std::string container;
  std::string mime;
};

struct Submission {
  int64_t id = 0;
  int64_t submitted_by = 0;
  std::string submitted_by_name;
  int64_t org_id = 0;
  std::string org_name;
  SubmissionInput meta;
  std::string status;  // "queued" on creation; the pipeline moves it on
  std::optional<MediaSummary> media;
  std::string original_filename;
  std::optional<int64_t> exact_duplicate_of;  // the earliest other submission of the same bytes
  TimePoint created_at{};
};

// The first answer to a request that carried an Idempotency-Key.
struct StoredReply {
  int status = 0;
  std::string body;
  std::string location;
};

struct SubmissionFilter {
  std::optional<std::string> status;
  std::optional<std::string> platform;
  std::optional<int64_t> submitted_by;  // user id
  std::optional<int64_t> org;           // organisation id
  std::optional<TimePoint> since;       // created_at >= since
  std::optional<TimePoint> until;       // created_at < until
  std::optional<std::string> tag;       // carries this tag (exact, case-sensitive)
  int64_t after_id = 0;                 // cursor: rows with id > after_id
  int limit = 50;
};

class Submissions {
 public:
  explicit Submissions(Database& db) : db_(db) {}

  // One transaction: the media row when new (media may be nullopt for a URL-only submission),
  // the submission, a job (`process_media` with payload {"sha256", "submission_id"} when the
  // media is new; `fetch_url` with {"submission_id", "url"} when there is no media), the audit
  // row `submission.create`, and — when idempotency_key is not empty — the reply made by
  // render(submission), stored under (user, key). When that key was already used by this user,
  // nothing is written and the stored reply comes back instead (second member true).
  Result<std::pair<StoredReply, bool>> create(
      const Principal& who, const SubmissionInput& meta, const std::optional<MediaInput>& media,
      const std::string& idempotency_key,
      const std::function<StoredReply(const Submission&)>& render);

  // The stored reply for (user, key), if any.
  Result<std::optional<StoredReply>> find_idempotent(int64_t user_id, const std::string& key);

  // kNotFound when missing or invisible to `who`.
  Result<Submission> get(const Principal& who, int64_t id);
  // Rows visible to `who`, by id ascending, at most filter.limit.
  Result<std::vector<Submission>> list(const Principal& who, const SubmissionFilter& filter);

  // What a `fetch_url` job found: in one transaction, the media row when new, the submission
  // pointed at it (only while it has none), a `process_media` job when no other submission of
  // the media exists yet (otherwise the submission takes that one's status), and the audit row
  // `submission.fetch` by the system actor with `details` (URL, final URL, bytes, …).
  // kNotFound when the submission is gone; kConflict when it already has media.
  struct Attached {
    bool media_new = false;
    std::optional<int64_t> job_id;
    std::string status;
  };
  Result<Attached> attach_fetched(int64_t submission_id, const MediaInput& media,
                                  const nlohmann::json& details);
  // Sets a submission's status (the fetch job: "fetching", "failed"; media jobs move all the
  // submissions of their media through store/analysis.hpp instead).
  Status set_status(int64_t submission_id, const std::string& status);

  // The tags of one submission after retag().
  struct Tagged {
    int64_t id = 0;
    std::vector<std::string> tags;
  };
  // Adds `add` to and takes `remove` from the tags of every submission in `ids`, in one
  // transaction, with an audit row `submission.tag` (the tags added, removed and after) for
  // each submission whose tags changed. All or nothing: kNotFound naming the first id that is
  // missing or invisible to `who`; kForbidden when `who` may not tag one (a contributor only
  // their own submissions, an analyst or admin those of their organisation); kUnprocessable
  // when a submission would carry more than kMaxTags tags. The caller validates the tag texts.
  // Returns each submission's tags after the change, in the order of `ids` (repeats once).
  static constexpr size_t kMaxTags = 50;
  Result<std::vector<Tagged>> retag(const Principal& who, const std::vector<int64_t>& ids,
                                    const std::vector<std::string>& add,
                                    const std::vector<std::string>& remove);

  // The media if `who` may see at least one submission of it (kNotFound otherwise), with the
  // original file name of the earliest such submission.
  Result<std::pair<MediaSummary, std::string>> media_for(const Principal& who,
                                                         const std::string& sha256);

 private:
  Database& db_;
};

}  // namespace cw::store
