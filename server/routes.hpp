// The complete route table of the API. Each resource file adds its routes; the OpenAPI
// document (server/openapi.json) describes exactly these (a test checks both ways).
#pragma once

#include "reports/convoys.hpp"
#include "server/router.hpp"
#include "store/database.hpp"
#include "store/jobs.hpp"
#include "store/media_links.hpp"
#include "store/media_store.hpp"
#include "store/observations.hpp"
#include "store/reports.hpp"

namespace cw::server {

Router make_router();

void add_ops_routes(Router& router);   // handlers_ops.cpp: health, readiness, metrics, OpenAPI
void add_user_routes(Router& router);  // handlers_users.cpp: me, users, tokens, audit
void add_submission_routes(Router& router);   // handlers_submissions.cpp: submissions, media
void add_upload_routes(Router& router);       // handlers_uploads.cpp: tus resumable uploads
void add_job_routes(Router& router);          // handlers_jobs.cpp: pipeline jobs
void add_media_routes(Router& router);        // handlers_media.cpp: analysis, frames
void add_observation_routes(Router& router);  // handlers_observations.cpp: observations
void add_report_routes(Router& router);       // handlers_reports.cpp: aggregates, convoys, reports
void add_sun_routes(Router& router);          // handlers_sun.cpp: sun position and shadows
void add_imagery_routes(Router& router);      // handlers_imagery.cpp: imagery, comparisons, matches
void add_event_routes(Router& router);        // handlers_events.cpp: live events (SSE)
void add_dashboard_route(Router& router);     // handlers_dashboard.cpp: the dashboard at /
void add_map_routes(Router& router);  // handlers_map.cpp: vector tiles, style, glyphs, regions

// A near-duplicate link and a first-posting provenance as the API shows them.
nlohmann::json link_json(const store::Link& link);
nlohmann::json provenance_json(const store::Provenance& p);

// A job as the API shows it.
nlohmann::json job_json(const store::Job& job);

// A convoy track as a GeoJSON Feature, and a built report's summary, as the API shows them.
nlohmann::json convoy_feature(const reports::Convoy& convoy);
nlohmann::json report_summary_json(const store::ReportSummary& report);

// Removes resumable uploads past their expiry and their bytes (run at start and periodically).
void expire_uploads(store::Database& db, const store::MediaStore& media);

// The OpenAPI 3.1 document served at /api/v1/openapi.json.
std::string_view openapi_document();

}  // namespace cw::server
