// The production path as docker/compose.yaml runs it, without Docker (this machine cannot pull
// images): the installed program alone (a copy of the binary in a folder with no source tree,
// the configuration file where the image puts it), an empty PostGIS database, and the exact
// commands and roles of the compose services — `migrate` as the owner (creating the application
// role), then `serve` for api and `worker` for worker as the application role, `user add` as the
// README says to run with `docker compose exec`. An observation written then must carry
// its derived values: the geodata comes with the program. And a database whose geodata is gone
// must refuse observation writes with a 503 naming the fix, and fail /readyz, never answer 201
// with nulls.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const char* kBelgorodColumn = R"({
  "observed_at": "2022-02-20T06:30:00Z", "time_precision": "exact",
  "location": {"lat": 50.61074, "lon": 36.58015}, "location_precision": "vicinity",
  "heading_deg": 200, "equipment": [{"type": "tank", "count": 4}, {"type": "truck", "count": 11}]
})";

// A process that is stopped (SIGTERM, then SIGKILL) when the test ends.
struct Child {
  pid_t pid = -1;
  ~Child() {
    if (pid <= 0) return;
    kill(pid, SIGTERM);
    int status = 0;
    if (!wait_until([&] { return waitpid(pid, &status, WNOHANG) == pid; }, 15s)) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
  }
  bool alive() const { return pid > 0 && kill(pid, 0) == 0 && waitpid(pid, nullptr, WNOHANG) == 0; }
};

// The image's layout: /usr/local/bin/convoywatch, /etc/convoywatch/convoywatch.toml, the media
// volume; the working directory has no data/ nor config/ folder.
class Installed {
 public:
  Installed() : root_(make_temp_dir("cw-installed-")) {
    fs::create_directories(root_ + "/bin");
    fs::create_directories(root_ + "/etc");
    fs::create_directories(root_ + "/media");
    fs::create_directories(root_ + "/work");
    fs::copy_file(CW_BINARY, bin());
    fs::copy_file(std::string(CW_SOURCE_DIR) + "/config/convoywatch.toml",
                  root_ + "/etc/convoywatch.toml");
  }
  ~Installed() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  std::string bin() const { return root_ + "/bin/convoywatch"; }
  const std::string& root() const { return root_; }

  // The environment of the compose services api and worker (the application role), with the
  // database and the listening address.
  std::map<std::string, std::string> env(const std::string& db_url, int port) const {
    return {{"CONVOYWATCH_DATABASE_URL", app_url(db_url)},
            {"CONVOYWATCH_SERVER_LISTEN", "127.0.0.1:" + std::to_string(port)},
            {"CONVOYWATCH_STORAGE_ROOT", root_ + "/media"},
            {"CONVOYWATCH_CONFIG", root_ + "/etc/convoywatch.toml"},
            {"CONVOYWATCH_PIPELINE_WORKERS", "0"}};
  }
  // `convoywatch ARGS...` started in the installed working directory.
  pid_t start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
              const std::string& log) const {
    std::string command = "cd " + root_ + "/work && exec " + bin();
    for (const auto& a : args) command += " '" + a + "'";
    return spawn_command({"/bin/sh", "-c", command}, env, root_ + "/" + log);
  }
  CommandResult run(const std::vector<std::string>& args,
                    const std::map<std::string, std::string>& env) const {
    std::string command = "cd " + root_ + "/work && exec " + bin();
    for (const auto& a : args) command += " '" + a + "'";
    return run_command({"/bin/sh", "-c", command}, env);
  }
  std::string log(const std::string& name) const { return read_file(root_ + "/" + name); }
  // The environment of the compose service migrate: the owner, and the application role's
  // password (the test cluster's, which scripts/test gave the role).
  std::map<std::string, std::string> owner_env(const std::string& db_url, int port) const {
    auto e = env(db_url, port);
    e["CONVOYWATCH_DATABASE_URL"] = db_url;
    const char* password = std::getenv("CW_TEST_APP_PASSWORD");
    e["CONVOYWATCH_DATABASE_APP_PASSWORD"] = password == nullptr ? "" : password;
    return e;
  }

 private:
  std::string root_;
};

std::map<std::string, std::string> json_bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}};
}

TEST(DeploymentTest, ComposeFlowDerivesObservationsOnAnEmptyDatabase) {
  TestDatabase db;  // PostGIS only, as the postgis image starts: no schema, no geodata
  Installed image;
  const int port = free_port();
  const auto env = image.env(db.url(), port);
  const auto owner = image.owner_env(db.url(), port);

  // migrate: applies the migrations, grants the application role its rights and loads the
  // built-in geodata.
  auto migrated = image.run({"migrate"}, owner);
  ASSERT_EQ(migrated.exit_code, 0) << migrated.err;
  EXPECT_NE(migrated.err.find("geodata loaded"), std::string::npos) << migrated.err;

  // api as the owner would be refused, naming the fix.
  auto privileged = image.run({"serve"}, owner);
  EXPECT_EQ(privileged.exit_code, 2) << privileged.err;
  EXPECT_NE(privileged.err.find("convoywatch_app"), std::string::npos) << privileged.err;

  // api: `serve` as the application role.
  Child api{image.start({"serve"}, env, "api.log")};
  ASSERT_TRUE(wait_until(
      [&] {
        if (!api.alive()) return true;
        try {
          return http_request(port, "GET", "/readyz", {}, {}, 2000).status == 200;
        } catch (...) {
          return false;
        }
      },
      180s, 200ms))
      << image.log("api.log");
  ASSERT_TRUE(api.alive()) << image.log("api.log");

  // worker: starts against the migrated database and keeps running.
  Child worker{image.start({"worker"}, env, "worker.log")};
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(worker.alive()) << image.log("worker.log");

  // `docker compose exec api convoywatch org create ...`, then `… user add ...` (README).
  auto org = image.run({"org", "create", "cit"}, env);
  ASSERT_EQ(org.exit_code, 0) << org.err;
  auto add = image.run({"user", "add", "--name", "olga", "--org", "cit", "--role", "analyst"}, env);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  const std::string token = add.out.substr(0, add.out.find('\n'));

  auto created =
      http_request(port, "POST", "/api/v1/observations", json_bearer(token), kBelgorodColumn);
  ASSERT_EQ(created.status, 201) << created.body;
  const auto o = created.json();
  EXPECT_EQ(o["derived"]["country"], "RUS") << created.body;
  EXPECT_EQ(o["derived"]["oblast"], "RU-BEL") << created.body;
  EXPECT_EQ(o["derived"]["movement"], "toward") << created.body;
  EXPECT_NEAR(o["derived"]["km_to_border"].get<double>(), 32.8, 0.5) << created.body;

  auto status = image.run({"geodata", "status"}, env);
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("built-in"), std::string::npos) << status.out;

  // migrate again finds the geodata there and does not load it again.
  auto again = image.run({"migrate"}, owner);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(again.err.find("geodata loaded"), std::string::npos) << again.err;
}

TEST(DeploymentTest, WithoutGeodataWritesAreRefusedAndTheServerIsNotReady) {
  TestDatabase db{"cw_geo_template"};
  // Migrated by an older program or by a DBA from the SQL files: the schema, no geodata.
  db.exec(
      "TRUNCATE geo_country_parts, geo_countries, geo_region_parts, geo_regions, "
      "geo_border_parts, geo_border, geo_places, geo_layers");
  Installed image;
  const int port = free_port();
  const auto env = image.env(db.url(), port);
  auto add = image.run(
      {"user", "add", "--create-org", "--name", "olga", "--org", "cit", "--role", "analyst"}, env);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  const std::string token = add.out.substr(0, add.out.find('\n'));

  Child api{image.start({"serve"}, env, "api.log")};
  ASSERT_TRUE(wait_until(
      [&] {
        if (!api.alive()) return true;
        try {
          return http_request(port, "GET", "/healthz", {}, {}, 2000).status == 200;
        } catch (...) {
          return false;
        }
      },
      60s, 100ms))
      << image.log("api.log");

  auto ready = http_request(port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.json()["detail"].get<std::string>().find("convoywatch geodata load"),
            std::string::npos)
      << ready.body;

  auto refused =
      http_request(port, "POST", "/api/v1/observations", json_bearer(token), kBelgorodColumn);
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(refused.header("content-type"), "application/problem+json");
  EXPECT_NE(refused.json()["detail"].get<std::string>().find("convoywatch geodata load"),
            std::string::npos)
      << refused.body;
  EXPECT_EQ(db.query_value("SELECT count(*) FROM observations"), "0");

  // The fix the error names, run as the owner (the application role may not replace geodata).
  auto load = image.run({"geodata", "load"}, image.owner_env(db.url(), port));
  ASSERT_EQ(load.exit_code, 0) << load.err;
  EXPECT_EQ(http_request(port, "GET", "/readyz").status, 200);
  auto created =
      http_request(port, "POST", "/api/v1/observations", json_bearer(token), kBelgorodColumn);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.json()["derived"]["oblast"], "RU-BEL");
}

}  // namespace
}  // namespace cw::test
