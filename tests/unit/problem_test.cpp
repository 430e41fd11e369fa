// Problem documents: shape, status mapping, Retry-After.
#include <gtest/gtest.h>

#include "server/problem.hpp"

namespace cw::server {
namespace {

TEST(ProblemTest, ShapeFollowsRfc9457) {
  Reply r = problem(
      Error(Code::kUnprocessable, "metadata.platform must be one of ...", "metadata.platform"));
  EXPECT_EQ(r.status, http::status::unprocessable_entity);
  EXPECT_EQ(r.headers[http::field::content_type], "application/problem+json");
  auto doc = nlohmann::json::parse(r.body);
  EXPECT_EQ(doc["type"], "about:blank");
  EXPECT_EQ(doc["title"], "Unprocessable Entity");
  EXPECT_EQ(doc["status"], 422);
  EXPECT_EQ(doc["detail"], "metadata.platform must be one of ...");
  EXPECT_EQ(doc["field"], "metadata.platform");
}

TEST(ProblemTest, NoFieldMemberWithoutField) {
  auto doc = nlohmann::json::parse(problem(Error(Code::kNotFound, "no such submission")).body);
  EXPECT_FALSE(doc.contains("field"));
  EXPECT_EQ(doc["status"], 404);
}

TEST(ProblemTest, EveryCodeMapsToOneStatus) {
  const std::vector<std::pair<Code, int>> table = {
      {Code::kInvalidArgument, 400},    {Code::kUnauthenticated, 401},
      {Code::kForbidden, 403},          {Code::kNotFound, 404},
      {Code::kConflict, 409},           {Code::kGone, 410},
      {Code::kPreconditionFailed, 412}, {Code::kPayloadTooLarge, 413},
      {Code::kUnsupportedMedia, 415},   {Code::kUnprocessable, 422},
      {Code::kTooManyRequests, 429},    {Code::kInternal, 500},
      {Code::kUnavailable, 503},        {Code::kInsufficientStorage, 507},
  };
  for (auto [code, status] : table) {
    EXPECT_EQ(static_cast<int>(http_status(code)), status) << code_name(code);
    auto doc = nlohmann::json::parse(problem(Error(code, "x")).body);
    EXPECT_EQ(doc["status"], status);
  }
}

TEST(ProblemTest, UnavailableCarriesRetryAfter) {
  Reply r = problem(Error(Code::kUnavailable, "the database is unavailable"));
  EXPECT_EQ(r.headers[http::field::retry_after], "5");
}

}  // namespace
}  // namespace cw::server
