// The complete route table of the API. Each resource file adds its routes; the OpenAPI
// document (server/openapi.json) describes exactly these (a test checks both ways).
#pragma once

#include "server/router.hpp"

namespace cw::server {

Router make_router();

void add_ops_routes(Router& router);   // handlers_ops.cpp: health, readiness, metrics, OpenAPI
void add_user_routes(Router& router);  // handlers_users.cpp: me, users, tokens, audit

// The OpenAPI 3.1 document served at /api/v1/openapi.json.
const std::string& openapi_document();

}  // namespace cw::server
