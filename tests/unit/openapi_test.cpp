// The OpenAPI document and the router describe the same routes, both ways.
#include <gtest/gtest.h>

#include <set>

#include "server/routes.hpp"

namespace cw::server {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

TEST(OpenApiTest, DocumentIsOpenApi31) {
  auto doc = nlohmann::json::parse(openapi_document());
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_TRUE(doc["paths"].is_object());
}

TEST(OpenApiTest, EveryRouteIsDocumentedAndEveryDocumentedOperationIsRouted) {
  auto doc = nlohmann::json::parse(openapi_document());
  std::set<std::string> documented;
  static const std::set<std::string> kMethods = {"get",   "put",  "post",   "delete",
                                                 "patch", "head", "options"};
  for (auto& [path, item] : doc["paths"].items()) {
    for (auto& [method, op] : item.items()) {
      if (kMethods.count(method)) documented.insert(method + " " + path);
    }
  }
  std::set<std::string> routed;
  Router router = make_router();
  for (const Route& r : router.routes()) {
    routed.insert(lower(std::string(http::to_string(r.method))) + " " + r.pattern);
  }
  ASSERT_NE(router.fallback(), nullptr);  // the dashboard
  routed.insert("get " + router.fallback()->pattern);
  for (const auto& r : routed)
    EXPECT_TRUE(documented.count(r)) << "route not in openapi.json: " << r;
  for (const auto& d : documented)
    EXPECT_TRUE(routed.count(d)) << "documented but not routed: " << d;
}

TEST(OpenApiTest, AuthenticatedRoutesDeclareErrors) {
  auto doc = nlohmann::json::parse(openapi_document());
  Router router = make_router();
  for (const Route& r : router.routes()) {
    auto& op = doc["paths"][r.pattern][lower(std::string(http::to_string(r.method)))];
    if (!r.options.roles.empty()) {
      EXPECT_TRUE(op["responses"].contains("401")) << r.pattern << " should document 401";
    } else {
      EXPECT_TRUE(op.contains("security") && op["security"].empty())
          << r.pattern << " is open and should say security: []";
    }
  }
}

}  // namespace
}  // namespace cw::server
