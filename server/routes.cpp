// Assembles the route table.
#include "server/routes.hpp"

#include <stdexcept>

#include "common/embedded.hpp"

namespace cw::embedded {
extern const std::vector<EmbeddedFile> kOpenApi;
}

namespace cw::server {

Router make_router() {
  Router router;
  add_ops_routes(router);
  add_user_routes(router);
  add_submission_routes(router);
  add_upload_routes(router);
  add_job_routes(router);
  add_media_routes(router);
  add_observation_routes(router);
  add_report_routes(router);
  add_sun_routes(router);
  add_imagery_routes(router);
  add_event_routes(router);
  add_map_routes(router);
  add_dashboard_route(router);
  return router;
}

std::string_view openapi_document() {
  const EmbeddedFile* f = find_embedded(embedded::kOpenApi, "openapi.json");
  if (f == nullptr) throw std::logic_error("openapi.json is not embedded");
  return f->contents;
}

}  // namespace cw::server
