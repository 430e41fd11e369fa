// The sun over HTTP: NOAA's published figures through /api/v1/sun, and a submission's sun from
// its claimed point and posting time, then from an analyst's geolocation.
#include <gtest/gtest.h>

#include <cmath>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

class SunE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
    auto r = run_convoywatch(
        {"user", "add", "--create-org", "--name", "ana", "--org", "CIT", "--role", "analyst"},
        env_);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    token_ = r.out.substr(0, 67);
    server_ = std::make_unique<ServerProcess>(env_);
  }
  HttpResponse call(const std::string& method, const std::string& target,
                    const std::string& body = "") {
    return http_request(
        server_->port(), method, target,
        {{"Authorization", "Bearer " + token_}, {"Content-Type", "application/json"}}, body);
  }

  TestDatabase db_{"cw_geo_template"};
  std::map<std::string, std::string> env_;
  std::string token_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(SunE2eTest, NoaaFiguresAndASubmissionsSun) {
  // NOAA's solar calculator spreadsheet, lat 40, lon -105 (Boulder), 2010-06-21.
  auto noon = call("GET", "/api/v1/sun?lat=40&lon=-105&time=2010-06-21T19:00:00Z");
  ASSERT_EQ(noon.status, 200) << noon.body;
  auto n = noon.json();
  EXPECT_NEAR(n["elevation_deg"].get<double>(), 73.4336789718745, 1e-6);
  EXPECT_NEAR(n["elevation_refracted_deg"].get<double>(), 73.4384793439627, 1e-6);
  EXPECT_NEAR(n["azimuth_deg"].get<double>(), 178.533230037881, 1e-6);
  EXPECT_TRUE(n["sun_up"].get<bool>());
  EXPECT_NEAR(n["shadow_azimuth_deg"].get<double>(), 358.533230037881, 1e-6);
  EXPECT_NEAR(n["shadow_length_ratio"].get<double>(), 1 / std::tan(73.4384793439627 * M_PI / 180),
              1e-9);
  auto night = call("GET", "/api/v1/sun?lat=40&lon=-105&time=2010-06-21T06:06:00Z");
  ASSERT_EQ(night.status, 200);
  EXPECT_NEAR(night.json()["elevation_deg"].get<double>(), -25.245718494866, 1e-6);
  EXPECT_NEAR(night.json()["azimuth_deg"].get<double>(), 345.86910228316, 1e-6);
  EXPECT_TRUE(night.json()["shadow_length_ratio"].is_null());
  // Bad input names the parameter.
  EXPECT_EQ(call("GET", "/api/v1/sun?lat=95&lon=0&time=2010-06-21T06:06:00Z").json()["field"],
            "lat");
  EXPECT_EQ(call("GET", "/api/v1/sun?lat=40&lon=-105").json()["field"], "time");
  EXPECT_EQ(call("GET", "/api/v1/sun?lat=40&lon=abc&time=2010-06-21T06:06:00Z").status, 422);

  // A submission by URL with a claimed point and a posting time.
  auto made = call("POST", "/api/v1/submissions",
                   R"({"source_url":"https://t.me/c/1","posted_at":"2022-02-16T09:30:00Z",)"
                   R"("claimed_location":{"lat":50.595,"lon":36.5872}})");
  ASSERT_EQ(made.status, 201) << made.body;
  std::string base = "/api/v1/submissions/" + std::to_string(made.json()["id"].get<int>());
  auto sun = call("GET", base + "/sun");
  ASSERT_EQ(sun.status, 200) << sun.body;
  EXPECT_EQ(sun.json()["location_from"], "claimed_location");
  EXPECT_EQ(sun.json()["time_from"], "posted_at");
  auto direct = call("GET", "/api/v1/sun?lat=50.595&lon=36.5872&time=2022-02-16T09:30:00Z");
  EXPECT_EQ(sun.json()["azimuth_deg"], direct.json()["azimuth_deg"]);
  // An analyst's geolocation wins over the claim; time= over posted_at.
  ASSERT_EQ(
      call("POST", base + "/geolocation",
           R"({"lat":50.40967,"lon":36.9136,"precision":"vicinity","method":"landmark_match"})")
          .status,
      201);
  sun = call("GET", base + "/sun?time=2022-02-16T12:00:00Z");
  ASSERT_EQ(sun.status, 200) << sun.body;
  EXPECT_EQ(sun.json()["location_from"], "geolocation");
  EXPECT_EQ(sun.json()["time_from"], "query");
  EXPECT_DOUBLE_EQ(sun.json()["lat"].get<double>(), 50.40967);
  EXPECT_EQ(call("GET", "/api/v1/submissions/999999/sun").status, 404);
}

}  // namespace
}  // namespace cw::test
