// The near-duplicate finder a worker process keeps: an in-memory HashIndex of every stored
// video signature (store/media_links.hpp), loaded at start and kept current by loading the
// signatures written since the last one it saw — by this process or any other — before each
// search. link() compares a freshly analysed media with the candidates the index votes for and
// stores every match as a suggested link. Thread-safe (the worker threads share one).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "pipeline/hash_index.hpp"
#include "pipeline/video_match.hpp"
#include "store/database.hpp"

namespace cw::pipeline {

// [{pts_ms, pdq, quality[, extra]}] as stored → a signature; malformed entries are skipped.
// Signatures stored before extras existed are all samples.
VideoSignature signature_from_json(const nlohmann::json& frames);

class DuplicateFinder {
 public:
  explicit DuplicateFinder(store::Database& db, VideoMatchOptions options = {})
      : db_(db), options_(options) {}

  // Loads the signatures written since the last call into the index.
  Status refresh();
  // Refreshes, then finds the media whose footage matches `sha256`'s and stores the links.
  // Returns how many links were written.
  Result<int> link(const std::string& sha256);

  size_t indexed_frames() const { return index_.size(); }

 private:
  store::Database& db_;
  VideoMatchOptions options_;
  HashIndex index_;
  std::mutex mu_;  // guards the maps and last_id_ (the index has its own lock)
  int64_t last_id_ = 0;
  std::map<std::string, int64_t> id_of_;  // sha256 → current signature id
  std::map<int64_t, std::string> sha_of_;
};

}  // namespace cw::pipeline
