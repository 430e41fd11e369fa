// Built reports (daily and weekly summaries of the observations) and what building one reads
// that the other repositories do not offer: the map outlines from the geodata.
//
// A report is stored once per kind and period; building a period again replaces its content and
// keeps its id (audited `report.build`). Thread-safe (all state is in the database).
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/time.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::store {

struct StoredReport {
  int64_t id = 0;
  std::string kind;        // daily, weekly
  std::string period_key;  // 2022-02-16, 2022-W07
  std::string tz;
  TimePoint period_start{};
  TimePoint period_end{};
  nlohmann::json body;  // the report's JSON document
  std::string html;
  std::string csv;
  std::string built_by;
  TimePoint built_at{};
};

struct ReportSummary {
  int64_t id = 0;
  std::string kind, period_key, tz, built_by;
  TimePoint period_start{}, period_end{}, built_at{};
};

// A geodata outline for maps, simplified to `tolerance_deg`: GeoJSON geometry text.
struct MapOutline {
  std::string kind;  // country, oblast, border
  std::string name;
  std::string code;  // ISO 3166-1 alpha-3, ISO 3166-2, or the border's neighbour
  std::string geometry_json;
};

class Reports {
 public:
  explicit Reports(Database& db) : db_(db) {}

  // An id for a report not stored yet (its documents link to themselves).
  Result<int64_t> reserve_id();
  // Inserts the report of (kind, period_key) with r.id (a reserved one; 0 = a new one), or
  // replaces the content of the stored one, which keeps its id; returns the id. Audited.
  Result<int64_t> save(const Actor& actor, const StoredReport& r);
  Result<StoredReport> get(int64_t id);
  Result<std::optional<int64_t>> find(const std::string& kind, const std::string& period_key);
  // Newest period first; after_id is the cursor (the id of the last row of the previous page).
  Result<std::vector<ReportSummary>> list(std::optional<std::string> kind, int64_t after_id,
                                          int limit);
  // The newest period_end of the kind (for catching up missed runs), nullopt when none.
  Result<std::optional<TimePoint>> latest_period_end(const std::string& kind);

  // Runs fn while holding a transaction-scoped advisory lock on (kind, period_key), or returns
  // false without running it when another process holds it. fn's errors come back.
  Result<bool> with_period_lock(const std::string& kind, const std::string& period_key,
                                const std::function<Status()>& fn);

  // Whether some submission of the media is shared with the whole task force (what a report,
  // which every member reads, may show a picture of).
  Result<bool> media_shared(const std::string& sha256);

  // Countries and oblasts intersecting the box (west, south, east, north) and the border,
  // simplified; at most a few hundred KB for the task force's area.
  Result<std::vector<MapOutline>> outlines(const std::array<double, 4>& bbox, double tolerance_deg);

 private:
  Database& db_;
};

}  // namespace cw::store
