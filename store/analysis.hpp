// What the pipeline learnt about a media file, written in one transaction: the media row's
// analysis columns and JSONB, its frames (replacing any earlier ones, never duplicating), and
// the status of every submission of that media. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

class Analyses {
 public:
  explicit Analyses(Database& db) : db_(db) {}

  // `result` is the JSON `convoywatch analyze` printed: {"media": {...}, "frames": {...}}. The
  // submissions' status is left to the caller (set_status "done" once everything that belongs to
  // the processing pass, the near-duplicate links included, is written).
  Status save(const std::string& sha256, const nlohmann::json& result);
  // Marks every submission of the media (`processing`, `failed`, …).
  Status set_status(const std::string& sha256, const std::string& status);
  // The stored analysis JSON and frame count (kNotFound when not analysed).
  Result<std::pair<nlohmann::json, int>> get(const std::string& sha256);

 private:
  Database& db_;
};

}  // namespace cw::store
