// Where unfinished uploads resume: <state_dir>/uploads.json, one entry per file, keyed by the
// file's SHA-256, holding the server, the tus upload URL, the length and the idempotency key the
// upload was created with. A restarted client finds the URL there and asks the server for the
// offset (the server's temp file is the truth; nothing about offsets is kept here).
//
// Every change re-reads the file under an exclusive flock() on <state_dir>/uploads.lock and
// replaces it atomically (write, fsync, rename), so two clients on one machine do not lose each
// other's entries and a crash leaves the old or the new file, never half of one. An unreadable
// file is treated as empty (the uploads it named expire on the server).
// Not thread-safe: one ResumeState per thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace cw::client {

struct ResumeEntry {
  std::string server;      // base URL the upload belongs to
  std::string upload_url;  // absolute tus URL
  uint64_t length = 0;
  std::string idempotency_key;  // "" when none
  std::string created_at;       // RFC 3339, for people reading the file
};

class ResumeState {
 public:
  explicit ResumeState(std::string dir) : dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string path() const { return dir_ + "/uploads.json"; }

  // The entry for `sha256` when it belongs to `server`, has `length` and `key`; otherwise
  // nullopt (an entry of another server or another key is left alone).
  std::optional<ResumeEntry> find(const std::string& sha256, const std::string& server,
                                  uint64_t length, const std::string& key) const;
  // Records (replaces) the entry of `sha256`. Creates the folder (mode 700) when needed.
  Status put(const std::string& sha256, const ResumeEntry& entry);
  // Forgets the entry of `sha256` if it is this upload URL (another run may have replaced it).
  Status erase(const std::string& sha256, const std::string& upload_url);

  // Every entry (for tests and for people looking at the file).
  std::map<std::string, ResumeEntry> entries() const;

 private:
  Status update(const std::function<void(std::map<std::string, ResumeEntry>&)>& change);

  std::string dir_;
};

}  // namespace cw::client
