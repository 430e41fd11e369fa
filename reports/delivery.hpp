// Delivering built reports to the webhooks of [reports] webhooks: the `deliver_report` job
// (enqueued by reports/build.cpp for each URL) POSTs the report's JSON, signed as
// reports/webhook.hpp says, and is retried with backoff by the job queue. The handler is
// registered with the pipeline's workers by app/main.cpp (store::JobHandler), so that the
// pipeline knows nothing of reports.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"
#include "store/database.hpp"
#include "store/jobs.hpp"

namespace cw::reports {

inline constexpr const char* kDeliverReportJob = "deliver_report";

// The handler of deliver_report jobs ({"report_id", "url"}): POST within `timeout`; a failed
// POST fails the attempt (retried up to [pipeline] max_attempts with its backoff).
store::JobHandler report_delivery_handler(store::Database& db, const ReportsConfig& reports,
                                          const PipelineConfig& pipeline,
                                          std::chrono::seconds timeout);

// POSTs `body` as application/json with the extra header lines ("Name: value") to an http(s)
// URL an administrator configured (webhooks: no private-address guard, no redirects). ok with
// the HTTP status for a 2xx answer; kUnavailable with the status or the transfer error
// otherwise.
Result<long> post_json(const std::string& url, const std::string& body,
                       const std::vector<std::string>& headers, std::chrono::seconds timeout);

}  // namespace cw::reports
