// Near-duplicate footage in the database: each analysed media's video signature (written by
// Analyses::save with the rest of the analysis) and the links the matcher suggests between
// media, which analysts confirm or reject. Links are suggestions, never merges. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

struct SignatureRow {
  int64_t id = 0;  // grows whenever a media's signature is (re)written
  std::string sha256;
  nlohmann::json frames;  // [{pts_ms, pdq, quality}]
};

// What the matcher found for a pair, seen from `sha256` (the media just analysed).
struct LinkFinding {
  std::string sha256;
  std::string other;
  std::string kind;                  // same_footage | clip_of
  std::optional<std::string> clip;   // clip_of: which one is the clip (a sha256)
  double percent = 0;                // share of sha256's frames found in other
  double other_percent = 0;          // share of other's frames found in sha256
  std::optional<int64_t> offset_ms;  // median (pts in other - pts in sha256)
  bool mirrored = false;
};

struct Link {
  std::string other;
  std::string kind;
  bool other_is_clip = false;  // clip_of: the other media is the clip of this one
  bool this_is_clip = false;
  double percent = 0;                // this media's frames found in the other
  double other_percent = 0;          // the other's frames found in this one
  std::optional<int64_t> offset_ms;  // pts in other - pts in this
  bool mirrored = false;
  std::string status;  // suggested | confirmed | rejected
  std::optional<std::string> verdict_by;
  std::optional<std::string> verdict_note;
  TimePoint updated_at{};
};

struct FirstPosting {
  int64_t submission_id = 0;
  std::string media_sha256;
  std::optional<std::string> platform;
  std::optional<std::string> author;
  std::optional<std::string> source_url;
  std::optional<TimePoint> posted_at;
  TimePoint submitted_at{};
  std::string basis;  // "this media", "confirmed link", "suggested link"
};

struct Provenance {
  std::optional<FirstPosting> first;
  int submissions = 0;  // in the cluster, visible to the reader
  int media = 0;        // distinct media in the cluster
  bool includes_suggested = false;
};

class MediaLinks {
 public:
  explicit MediaLinks(Database& db) : db_(db) {}

  // Signatures written after `after_id`, oldest first, at most `limit`.
  Result<std::vector<SignatureRow>> signatures_after(int64_t after_id, int limit = 10000);
  Result<std::optional<SignatureRow>> signature_by_id(int64_t id);

  // Upserts the suggestion; a pair with a verdict keeps its status (the numbers are refreshed).
  Status suggest(const LinkFinding& finding);

  // Links of a media whose other side `who` may see, rejected ones included (status says so).
  Result<std::vector<Link>> for_media(const Principal& who, const std::string& sha256);
  // confirmed | rejected by an analyst; audited `media_link.verdict`. kNotFound when there is
  // no such link or either media is invisible to `who`.
  Result<Link> verdict(const Principal& who, const std::string& sha256, const std::string& other,
                       const std::string& status, const std::string& note);
  // The earliest posting among the submissions of this media and the media linked to it
  // (confirmed links, and suggested ones marked as such; rejected never), that `who` may see.
  Result<Provenance> provenance(const Principal& who, const std::string& sha256);

 private:
  Database& db_;
};

}  // namespace cw::store
