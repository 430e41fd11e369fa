// Routing table: matches, parameters, 404 and 405.
#include <gtest/gtest.h>

#include "server/router.hpp"

namespace cw::server {
namespace {

Result<Reply> noop(RequestContext&) { return Reply::empty(http::status::ok); }

std::vector<std::string> segs(std::initializer_list<const char*> s) { return {s.begin(), s.end()}; }

TEST(RouterTest, MatchesLiteralAndParameters) {
  Router r;
  r.add(http::verb::get, "/api/v1/users", noop);
  r.add(http::verb::get, "/api/v1/users/{id}", noop);
  r.add(http::verb::post, "/api/v1/users/{id}/tokens", noop);
  auto m = r.match(http::verb::get, segs({"api", "v1", "users", "42"}));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/users/{id}");
  EXPECT_EQ(m.params.at("id"), "42");
  m = r.match(http::verb::post, segs({"api", "v1", "users", "7", "tokens"}));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("id"), "7");
}

TEST(RouterTest, UnknownPathIs404) {
  Router r;
  r.add(http::verb::get, "/api/v1/users", noop);
  for (auto path : {segs({"api", "v1", "nope"}), segs({"api", "v1", "users", ""}), segs({}),
                    segs({"api", "v1", "users", "1", "2"})}) {
    auto m = r.match(http::verb::get, path);
    EXPECT_EQ(m.route, nullptr);
    EXPECT_FALSE(m.path_known);
  }
}

TEST(RouterTest, WrongMethodIs405WithAllowedMethods) {
  Router r;
  r.add(http::verb::get, "/api/v1/users", noop);
  r.add(http::verb::post, "/api/v1/users", noop);
  auto m = r.match(http::verb::delete_, segs({"api", "v1", "users"}));
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.allowed, (std::vector<http::verb>{http::verb::get, http::verb::post}));
}

TEST(RouterTest, LiteralSegmentsWinOverParameters) {
  Router r;
  r.add(http::verb::get, "/api/v1/users/{id}", noop);
  r.add(http::verb::get, "/api/v1/users/me", noop);
  auto m = r.match(http::verb::get, segs({"api", "v1", "users", "me"}));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/api/v1/users/me");
}

TEST(RouterTest, ParameterWithSuffix) {
  Router r;
  r.add(http::verb::get, "/media/{sha}/frames/{n}.jpg", noop);
  r.add(http::verb::get, "/media/{sha}/frames/{n}/thumb.jpg", noop);
  auto m = r.match(http::verb::get, segs({"media", "ab", "frames", "12.jpg"}));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("n"), "12");
  EXPECT_EQ(r.match(http::verb::get, segs({"media", "ab", "frames", ".jpg"})).route, nullptr);
  EXPECT_EQ(r.match(http::verb::get, segs({"media", "ab", "frames", "12.png"})).route, nullptr);
  m = r.match(http::verb::get, segs({"media", "ab", "frames", "3", "thumb.jpg"}));
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params.at("n"), "3");
}

TEST(RouterTest, EmptyParameterDoesNotMatch) {
  Router r;
  r.add(http::verb::get, "/api/v1/users/{id}", noop);
  EXPECT_EQ(r.match(http::verb::get, segs({"api", "v1", "users", ""})).route, nullptr);
}

}  // namespace
}  // namespace cw::server
