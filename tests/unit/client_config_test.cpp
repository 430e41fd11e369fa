// The client's configuration (client/client_config.hpp) and its resume state file
// (client/resume_state.hpp).
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "client/client_config.hpp"
#include "client/resume_state.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace cw::client {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(ClientConfigTest, FileEnvironmentAndFlagsInThatOrder) {
  test::TempDir dir;
  std::map<std::string, std::string> env = {{"HOME", dir.path().string()}};
  // Nothing anywhere: the error says where to put it.
  auto none = load_client_config({"", env, std::nullopt, std::nullopt});
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().field(), "server");
  EXPECT_NE(none.error().detail().find(dir.path().string() + "/.config/convoywatch/client.toml"),
            std::string::npos);

  write(dir / ".config/convoywatch/client.toml",
        "server = \"http://127.0.0.1:8080/\"\ntoken = \"from-file\"\nretries = 3\n"
        "state_dir = \"~/state\"\n");
  auto from_file = load_client_config({"", env, std::nullopt, std::nullopt});
  ASSERT_TRUE(from_file.ok()) << from_file.error().detail();
  EXPECT_EQ(from_file->server, "http://127.0.0.1:8080");
  EXPECT_EQ(from_file->token, "from-file");
  EXPECT_EQ(from_file->retries, 3);
  EXPECT_EQ(from_file->state_dir, dir.path().string() + "/state");

  env["CONVOYWATCH_TOKEN"] = "from-env";
  env["CONVOYWATCH_URL"] = "https://cw.example.org";
  auto from_env = load_client_config({"", env, std::nullopt, std::nullopt});
  ASSERT_TRUE(from_env.ok());
  EXPECT_EQ(from_env->token, "from-env");
  EXPECT_EQ(from_env->server, "https://cw.example.org");

  auto from_flags =
      load_client_config({"", env, std::string("http://10.0.0.1:9"), std::string("flag")});
  ASSERT_TRUE(from_flags.ok());
  EXPECT_EQ(from_flags->token, "flag");
  EXPECT_EQ(from_flags->server, "http://10.0.0.1:9");

  env["XDG_STATE_HOME"] = "/xdg/state";
  EXPECT_EQ(default_state_dir(env), "/xdg/state/convoywatch");
  env["XDG_CONFIG_HOME"] = "/xdg/config";
  EXPECT_EQ(default_config_path(env), "/xdg/config/convoywatch/client.toml");

  struct Bad {
    const char* toml;
    const char* field;
  };
  const Bad kBad[] = {{"server = \"ftp://x\"\n", "server"},
                      {"sever = \"http://x\"\n", "sever"},
                      {"retries = \"3\"\n", "retries"},
                      {"retries = -1\n", "retries"},
                      {"token = 5\n", "token"},
                      {"server = \n", "client-config"}};
  for (const Bad& b : kBad) {
    write(dir / "bad.toml", b.toml);
    auto r = load_client_config({(dir / "bad.toml").string(), {}, std::nullopt, std::nullopt});
    ASSERT_FALSE(r.ok()) << b.toml;
    EXPECT_EQ(r.error().field(), b.field) << b.toml << r.error().detail();
  }
  auto missing = load_client_config({(dir / "nope.toml").string(), {}, std::nullopt, std::nullopt});
  EXPECT_FALSE(missing.ok());
}

// config/client.toml, the example people copy, is a valid file with every key.
TEST(ClientConfigTest, TheExampleFileLoadsWithEveryKey) {
  std::string path = std::string(CW_SOURCE_DIR) + "/config/client.toml";
  auto c = load_client_config({path, {{"HOME", "/home/olga"}}, std::nullopt, std::nullopt});
  ASSERT_TRUE(c.ok()) << c.error().detail();
  EXPECT_EQ(c->server, "https://convoywatch.example.org");
  EXPECT_EQ(c->state_dir, "/home/olga/.local/state/convoywatch");
  ClientConfig defaults;
  EXPECT_EQ(c->retries, defaults.retries);
  EXPECT_EQ(c->connect_timeout_s, defaults.connect_timeout_s);
  EXPECT_EQ(c->stall_timeout_s, defaults.stall_timeout_s);
  EXPECT_EQ(c->retry_max_delay_ms, defaults.retry_max_delay_ms);
  std::string text = test::read_file(path);
  for (const char* key : {"server =", "token =", "state_dir =", "retries =", "connect_timeout_s =",
                          "stall_timeout_s =", "retry_max_delay_ms ="}) {
    EXPECT_NE(text.find(std::string("\n") + key), std::string::npos) << key;
  }
}

TEST(ClientResumeStateTest, EntriesAreKeyedByHashAndMatchedByServerLengthAndKey) {
  test::TempDir dir;
  ResumeState state((dir / "state").string());
  std::string sha(64, 'a');
  EXPECT_FALSE(state.find(sha, "http://s", 10, "").has_value());
  ASSERT_TRUE(state.put(sha, {"http://s", "http://s/api/v1/uploads/1", 10, "k", "t"}).ok());
  ASSERT_TRUE(state.put(std::string(64, 'b'), {"http://s", "http://s/u/2", 5, "", "t"}).ok());
  auto found = state.find(sha, "http://s", 10, "k");
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->upload_url, "http://s/api/v1/uploads/1");
  EXPECT_FALSE(state.find(sha, "http://other", 10, "k").has_value());
  EXPECT_FALSE(state.find(sha, "http://s", 11, "k").has_value());
  EXPECT_FALSE(state.find(sha, "http://s", 10, "").has_value());
  EXPECT_EQ(fs::status(dir / "state").permissions() & fs::perms::all, fs::perms::owner_all);
  // Another URL for the same hash (a newer upload) is not erased by the older one's end.
  ASSERT_TRUE(state.erase(sha, "http://s/api/v1/uploads/other").ok());
  EXPECT_TRUE(state.find(sha, "http://s", 10, "k").has_value());
  ASSERT_TRUE(state.erase(sha, "http://s/api/v1/uploads/1").ok());
  EXPECT_FALSE(state.find(sha, "http://s", 10, "k").has_value());
  EXPECT_EQ(state.entries().size(), 1u);
  // A damaged file reads as empty and is replaced by the next change.
  write(state.path(), "{not json");
  EXPECT_TRUE(state.entries().empty());
  ASSERT_TRUE(state.put(sha, {"http://s", "http://s/u/3", 1, "", "t"}).ok());
  EXPECT_EQ(state.entries().size(), 1u);

  // Two writers at once lose nothing (flock around read-modify-write).
  ResumeState a((dir / "state").string()), b((dir / "state").string());
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) (void)a.put("a" + std::to_string(i), {"s", "u", 1, "", ""});
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) (void)b.put("b" + std::to_string(i), {"s", "u", 1, "", ""});
  });
  ta.join();
  tb.join();
  EXPECT_EQ(state.entries().size(), 41u);
}

}  // namespace
}  // namespace cw::client
