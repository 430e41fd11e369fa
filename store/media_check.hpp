// Re-hashing the evidence: every stored original (or a random sample) read again from the
// MediaStore and compared with its name, its content address, and with the size its media row
// recorded. What `convoywatch media verify` runs. Thread-safe (the database and the files).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"

namespace cw::store {

struct MediaProblem {
  std::string sha256;  // the media row's content address
  std::string what;    // "missing", "changed: the file now hashes to …", "size …"
};

struct MediaCheck {
  uint64_t checked = 0;  // media rows looked at
  uint64_t bytes = 0;    // bytes re-hashed
  std::vector<MediaProblem> problems;
};

// Checks the originals of the media rows: all of them in hash order, or `sample` of them drawn
// at random. `on_checked` (optional) is called after each with the running count, for progress.
// Problems are results, not errors; kUnavailable when the database cannot be read.
Result<MediaCheck> check_media(Database& db, const MediaStore& store,
                               std::optional<uint64_t> sample,
                               const std::function<void(uint64_t checked)>& on_checked = {});

}  // namespace cw::store
