// Resumable (tus 1.0.0) uploads in progress: who started one, how long it will be, its
// metadata, where its bytes are (a `tus-…part` temp file of the MediaStore) and when it expires.
// The bytes received so far are the temp file's size: the file system is the truth for offsets.
// Thread-safe (all state is in the database).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

struct Upload {
  std::string id;  // 32 lowercase hex digits, in the URL
  int64_t user_id = 0;
  uint64_t length = 0;
  std::string metadata;   // the Upload-Metadata header as received
  std::string temp_name;  // MediaStore temp file name
  TimePoint created_at{};
  TimePoint expires_at{};
  std::optional<int64_t> submission_id;  // set once complete
};

class Uploads {
 public:
  explicit Uploads(Database& db) : db_(db) {}

  Status create(const Upload& upload);
  // kNotFound when missing or owned by another user (uploads are private to their creator).
  Result<Upload> get(int64_t user_id, const std::string& id);
  // Marks the upload complete with its submission (kept until expiry so HEAD can answer).
  Status complete(const std::string& id, int64_t submission_id);
  // kNotFound when missing or owned by another user.
  Status remove(int64_t user_id, const std::string& id);
  // Deletes the rows that expired before `now` and returns their temp file names.
  Result<std::vector<std::string>> remove_expired(TimePoint now);

 private:
  Database& db_;
};

}  // namespace cw::store
