// Building a report: reads the period's numbers (the aggregates), its verified observations,
// convoy tracks, open disputes and the map outlines, renders the JSON, HTML and CSV
// (reports/report.hpp) and stores them (store/reports.hpp), one report per kind and period.
//
// What a report counts: verified observations only, like the aggregates' default; the change is
// against the period of the same kind just before. Thumbnails are embedded only for media that
// some submission shares with the whole task force (a report is read by every member).
// Thread-safe; blocking (database and files).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "reports/cron.hpp"
#include "reports/report.hpp"
#include "store/database.hpp"
#include "store/reports.hpp"
#include "store/users.hpp"

namespace cw::reports {

// Milliseconds spent in each step of a build, in order ("aggregates", "observations", …).
using StepTimes = std::vector<std::pair<std::string, double>>;

// The report's data for `period`, not yet stored (id 0). When `times` is given, the time of
// each step is appended to it.
Result<ReportData> gather_report(store::Database& db, const Config& config,
                                 const ReportPeriod& period, const std::string& tz,
                                 StepTimes* times = nullptr);

// Gathers, renders and stores the report of `period` (replacing an earlier build of it);
// `built_by` is 'scheduler', 'cli' or a user's name, `actor` goes to the audit log. Logs the
// build at info level with the milliseconds of every step.
Result<store::StoredReport> build_report(store::Database& db, const Config& config,
                                         const ReportPeriod& period, const std::string& tz,
                                         const std::string& built_by, const store::Actor& actor);

}  // namespace cw::reports
