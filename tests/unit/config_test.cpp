// Configuration precedence and errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

#include "common/config.hpp"
#include "tests/support/process.hpp"

namespace cw {
namespace {

std::string write_temp(const std::string& text) {
  std::string dir = test::make_temp_dir("cw-config-");
  std::string path = dir + "/c.toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsWithoutSources) {
  auto c = load_config({});
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->server.listen, "127.0.0.1:8080");
  EXPECT_EQ(c->storage.root, ".local/media");
  EXPECT_EQ(c->server.max_upload_bytes, int64_t{4} << 30);
  EXPECT_EQ(c->pipeline.workers, 1);
}

TEST(ConfigTest, PrecedenceDefaultsFileEnvFlags) {
  std::string path = write_temp(
      "[server]\nlisten = \"127.0.0.1:9000\"\nio_threads = 3\n[database]\npool_size = 4\n"
      "url = \"postgresql://file/db\"\n");
  ConfigSources src;
  src.file = path;
  src.env = {{"CONVOYWATCH_SERVER_IO_THREADS", "5"},
             {"CONVOYWATCH_DATABASE_URL", "postgresql://env/db"}};
  src.flags = {{"database.url", "postgresql://flag/db"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->server.listen, "127.0.0.1:9000");       // file over default
  EXPECT_EQ(c->server.io_threads, 5);                  // env over file
  EXPECT_EQ(c->database.pool_size, 4);                 // file
  EXPECT_EQ(c->database.url, "postgresql://flag/db");  // flag over env
  EXPECT_EQ(c->server.header_limit_bytes, 16384);      // default
}

TEST(ConfigTest, ListFromFileAndEnvironment) {
  ConfigSources src;
  src.file =
      write_temp("[server]\ncors_origins = [\"https://a.example\", \"https://b.example\"]\n");
  auto c = load_config(src);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.cors_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  src.env = {{"CONVOYWATCH_SERVER_CORS_ORIGINS", "https://c.example, https://d.example"}};
  c = load_config(src);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.cors_origins,
            (std::vector<std::string>{"https://c.example", "https://d.example"}));
}

struct BadCase {
  std::string toml;
  std::string expect_in_detail;
};

TEST(ConfigTest, FileErrorsNameKeyAndLine) {
  const std::vector<BadCase> cases = {
      {"[server]\nlisten = \"x:1\"\nlisen = \"typo\"\n", ":3: unknown key [server] lisen"},
      {"[server]\n\nio_threads = \"two\"\n", ":3: [server] io_threads expects a integer"},
      {"[nosuch]\nkey = 1\n", "unknown key [nosuch] key"},
      {"toplevel = 1\n", "unknown key \"toplevel\""},
      {"[server]\nio_threads = -1\n", ":2: [server] io_threads = -1 is out of range"},
      {"[log]\nlevel = \"loud\"\n", "[log] level must be one of"},
      {"[server]\nlisten = \n", ":2:"},  // TOML syntax error, with its line
      {"[server]\ncors_origins = [1, 2]\n", "cors_origins expects a string list"},
  };
  for (const auto& c : cases) {
    ConfigSources src;
    src.file = write_temp(c.toml);
    auto r = load_config(src);
    ASSERT_FALSE(r.ok()) << c.toml;
    EXPECT_NE(r.error().detail().find(c.expect_in_detail), std::string::npos)
        << "detail: " << r.error().detail() << "\nexpected to contain: " << c.expect_in_detail;
    EXPECT_NE(r.error().detail().find(src.file), std::string::npos) << r.error().detail();
  }
}

TEST(ConfigTest, StorageS3Keys) {
  auto defaults = load_config({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->storage.backend, "fs");
  EXPECT_EQ(defaults->storage.s3_region, "us-east-1");
  EXPECT_EQ(defaults->storage.s3_addressing, "path");
  EXPECT_FALSE(defaults->storage.s3_presign_downloads);

  ConfigSources src;
  src.file = write_temp(
      "[storage]\nbackend = \"s3\"\ns3_endpoint = \"https://s3.eu-central-1.amazonaws.com\"\n"
      "s3_bucket = \"evidence.task-force\"\ns3_region = \"eu-central-1\"\n"
      "s3_prefix = \"convoywatch/\"\ns3_addressing = \"virtual\"\n"
      "s3_credentials_file = \"/etc/convoywatch/s3.cfg\"\n");
  src.env = {{"CONVOYWATCH_STORAGE_S3_PRESIGN_DOWNLOADS", "true"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.ok()) << c.error().to_string();
  EXPECT_EQ(c->storage.backend, "s3");
  EXPECT_EQ(c->storage.s3_endpoint, "https://s3.eu-central-1.amazonaws.com");
  EXPECT_EQ(c->storage.s3_bucket, "evidence.task-force");
  EXPECT_EQ(c->storage.s3_region, "eu-central-1");
  EXPECT_EQ(c->storage.s3_prefix, "convoywatch/");
  EXPECT_EQ(c->storage.s3_addressing, "virtual");
  EXPECT_EQ(c->storage.s3_credentials_file, "/etc/convoywatch/s3.cfg");
  EXPECT_TRUE(c->storage.s3_presign_downloads);
}

TEST(ConfigTest, StorageS3KeysAreChecked) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string field;  // empty: accepted
  };
  const std::string s3 = "CONVOYWATCH_STORAGE_";
  const std::vector<Case> cases = {
      {{{s3 + "BACKEND", "nfs"}}, "storage.backend"},
      {{{s3 + "S3_ADDRESSING", "vhost"}}, "storage.s3_addressing"},
      {{{s3 + "S3_ENDPOINT", "127.0.0.1:7480"}}, "storage.s3_endpoint"},
      {{{s3 + "S3_ENDPOINT", "http://127.0.0.1:7480/bucket"}}, "storage.s3_endpoint"},
      {{{s3 + "S3_ENDPOINT", "http://key:secret@127.0.0.1:7480"}}, "storage.s3_endpoint"},
      {{{s3 + "S3_ENDPOINT", "http://127.0.0.1:7480/"}}, ""},
      {{{s3 + "S3_BUCKET", "Evidence"}}, "storage.s3_bucket"},
      {{{s3 + "S3_BUCKET", "ab"}}, "storage.s3_bucket"},
      {{{s3 + "S3_BUCKET", "-evidence"}}, "storage.s3_bucket"},
      {{{s3 + "S3_REGION", ""}}, "storage.s3_region"},
      {{{s3 + "S3_REGION", "us east"}}, "storage.s3_region"},
      {{{s3 + "S3_PREFIX", "/convoywatch/"}}, "storage.s3_prefix"},
      {{{s3 + "S3_PREFIX", "a//b"}}, "storage.s3_prefix"},
      {{{s3 + "S3_PRESIGN_DOWNLOADS", "maybe"}}, "storage.s3_presign_downloads"},
      // backend "s3" needs an endpoint and a bucket; "fs" does not care.
      {{{s3 + "BACKEND", "s3"}}, "storage.s3_endpoint"},
      {{{s3 + "BACKEND", "s3"}, {s3 + "S3_ENDPOINT", "http://127.0.0.1:7480"}},
       "storage.s3_bucket"},
      {{{s3 + "BACKEND", "s3"}, {s3 + "S3_ENDPOINT", "http://h"}, {s3 + "S3_BUCKET", "cw1"}}, ""},
      {{{s3 + "BACKEND", "fs"}, {s3 + "S3_BUCKET", "cw1"}}, ""},
  };
  for (const Case& c : cases) {
    ConfigSources src;
    src.env = c.env;
    auto r = load_config(src);
    std::string what = c.env.begin()->first + "=" + c.env.begin()->second;
    if (c.field.empty()) {
      EXPECT_TRUE(r.ok()) << what << ": " << r.error().to_string();
      continue;
    }
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << what;
    EXPECT_EQ(r.error().field(), c.field) << what << ": " << r.error().detail();
  }
  // In a file, the error names the file and line as for every key.
  ConfigSources src;
  src.file = write_temp("[storage]\n\ns3_addressing = \"dns\"\n");
  auto r = load_config(src);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find(src.file + ":3: [storage] s3_addressing must be"),
            std::string::npos)
      << r.error().detail();
}

TEST(ConfigTest, EnvironmentAndFlagErrorsNameTheSource) {
  ConfigSources src;
  src.env = {{"CONVOYWATCH_DATABASE_POOL_SIZE", "many"}};
  auto r = load_config(src);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("CONVOYWATCH_DATABASE_POOL_SIZE"), std::string::npos);
  src.env.clear();
  src.flags = {{"server.nope", "1"}};
  r = load_config(src);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("server.nope"), std::string::npos);
}

TEST(ConfigTest, MissingFileIsAnError) {
  ConfigSources src;
  src.file = "/nonexistent/convoywatch.toml";
  auto r = load_config(src);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail().find("does not exist"), std::string::npos);
}

// config/convoywatch.toml must list every key with its default: loading it changes nothing.
TEST(ConfigTest, ShippedFileListsEveryKeyWithItsDefault) {
  std::string path = std::string(CW_SOURCE_DIR) + "/config/convoywatch.toml";
  ConfigSources src;
  src.file = path;
  auto from_file = load_config(src);
  ASSERT_TRUE(from_file.ok()) << from_file.error().to_string();
  auto defaults = load_config({});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(render_config(*from_file, false), render_config(*defaults, false));
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& k : config_keys()) {
    EXPECT_NE(text.find("\n" + k.key + " = "), std::string::npos) << "missing key " << k.key;
    EXPECT_NE(text.find("# " + k.comment), std::string::npos) << "missing comment for " << k.key;
  }
}

TEST(ConfigTest, RenderRedactsTheDatabasePassword) {
  ConfigSources src;
  src.env = {{"CONVOYWATCH_DATABASE_URL", "postgresql://cw:s3cret@127.0.0.1:5432/cw"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.ok());
  std::string shown = render_config(*c);
  EXPECT_EQ(shown.find("s3cret"), std::string::npos);
  EXPECT_NE(shown.find("postgresql://cw:***@127.0.0.1:5432/cw"), std::string::npos);
  EXPECT_EQ(redact_url("host=x password=abc user=y"), "host=x password=*** user=y");
}

}  // namespace
}  // namespace cw
