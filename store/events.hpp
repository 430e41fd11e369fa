// The events outbox (migration 0012): what changed, in the order it was written, for the live
// event stream (server/events.hpp). Triggers write the rows in the transaction of each change;
// this repository reads them after an id and prunes old ones. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"

namespace cw::store {

struct EventRow {
  int64_t id = 0;
  std::string type;       // "submission.created", "observation.verified", ...
  std::string object_id;  // a row id as text, or a media's SHA-256
  nlohmann::json detail;  // {} or what the object does not say (a bulk import's id range)
  TimePoint created_at{};
};

class EventLog {
 public:
  explicit EventLog(Database& db) : db_(db) {}

  // Rows with id > after, by id, at most `limit` (1..10000).
  Result<std::vector<EventRow>> after(int64_t after, int limit);
  // The rows with these ids that exist now (ids of transactions still open are absent).
  Result<std::vector<EventRow>> with_ids(const std::vector<int64_t>& ids);
  // The largest id (0 when empty) and the smallest (0 when empty).
  Result<std::pair<int64_t, int64_t>> bounds();
  // Deletes rows older than `keep`; how many.
  Result<int64_t> prune(std::chrono::seconds keep);

 private:
  Database& db_;
};

}  // namespace cw::store
