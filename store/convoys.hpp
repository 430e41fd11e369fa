// Analysts' hand edits of convoy tracks. Tracks themselves are not stored: they are linked from
// the observations whenever they are asked for (reports/convoys.hpp), and these edits are
// constraints every linking respects — `split` (the two observations never share a track) and
// `merge` (they always do). Newer edits win over older ones they contradict. Audited
// `convoy.split` / `convoy.merge`. Thread-safe (all state is in the database).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

struct ConvoyEdit {
  int64_t id = 0;
  std::string kind;  // split, merge
  int64_t a = 0;     // observation ids, a < b
  int64_t b = 0;
};

class ConvoyEdits {
 public:
  explicit ConvoyEdits(Database& db) : db_(db) {}

  // Records the pairs (each stored with the smaller id first) in one transaction with one audit
  // row naming the track. kUnprocessable when a pair names one observation twice or a missing
  // one.
  Status add(const Principal& who, const std::string& kind, int64_t track_id,
             const std::vector<std::pair<int64_t, int64_t>>& pairs, const std::string& note);
  // Every edit naming one of `ids`, oldest first.
  Result<std::vector<ConvoyEdit>> among(const std::vector<int64_t>& ids);

 private:
  Database& db_;
};

}  // namespace cw::store
