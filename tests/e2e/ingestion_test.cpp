// End to end: uploads into the evidence store over real HTTP — curl's multipart, URL
// submissions, rejections that leave nothing behind, downloads with Range, idempotent retries,
// organisation-private visibility and resumable uploads with the real tus-js-client.
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <nlohmann/json.hpp>

#include "common/time.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

size_t count_files(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  size_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

class IngestionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("cw-ingest-");
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    alice_ = add_user(env_, "alice", "Bellingcat", "contributor");
    bob_ = add_user(env_, "bob", "Bellingcat", "analyst");
    olga_ = add_user(env_, "olga", "The Insider", "contributor");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void start(std::map<std::string, std::string> extra = {}) {
    auto env = env_;
    for (auto& [k, v] : extra) env[k] = v;
    server_ = std::make_unique<ServerProcess>(env);
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::map<std::string, std::string> auth(const std::string& token) const {
    return {{"Authorization", "Bearer " + token}};
  }

  // curl -F metadata=@meta.json -F file=@FILE, as the README shows it.
  HttpResponse curl_upload(const std::string& token, const std::string& file,
                           const std::string& metadata_json, std::vector<std::string> extra = {}) {
    std::string meta = dir_ + "/meta.json";
    write_file(meta, metadata_json);
    std::string headers = dir_ + "/headers.txt";
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-sS",
                                     "-D",
                                     headers,
                                     "-H",
                                     "Authorization: Bearer " + token,
                                     "-F",
                                     "metadata=@" + meta + ";type=application/json",
                                     "-F",
                                     "file=@" + file};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url("/api/v1/submissions"));
    CommandResult r = run_command(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    HttpResponse out;
    std::string head = read_file(headers);
    // The last status line wins (curl may see "100 Continue" first).
    size_t pos = head.rfind("HTTP/1.1 ");
    if (pos != std::string::npos) out.status = std::stoi(head.substr(pos + 9, 3));
    size_t loc = head.find("Location: ", pos == std::string::npos ? 0 : pos);
    if (loc != std::string::npos)
      out.headers["location"] = head.substr(loc + 10, head.find('\r', loc) - loc - 10);
    out.body = r.out;
    return out;
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  std::string dir_;
  std::map<std::string, std::string> env_;
  std::string alice_, bob_, olga_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(IngestionTest, CurlMultipartUploadIsStoredByHashAndDuplicatesAreProvenance) {
  start();
  std::string clip = small_mp4(dir_);
  std::string sha = sha256_of_file(clip);
  std::string meta = R"({"source_url": "https://t.me/some_channel/1234", "platform": "telegram",
    "posted_at": "2022-02-16T06:05:00Z", "author": "@some_channel",
    "description": "Колонна техники в сторону Белгорода", "claimed_location": {"lat": 50.5950, "lon": 36.5872, "radius_m": 2000},
    "tags": ["tanks", "belgorod"]})";
  auto first = curl_upload(alice_, clip, meta);
  ASSERT_EQ(first.status, 201) << first.body << server_->log();
  auto doc = first.json();
  EXPECT_EQ(doc["status"], "queued");
  EXPECT_EQ(doc["media"]["sha256"], sha);
  EXPECT_EQ(doc["media"]["size"], fs::file_size(clip));
  EXPECT_EQ(doc["media"]["container"], "mp4");
  EXPECT_TRUE(doc["exact_duplicate_of"].is_null());
  EXPECT_EQ(doc["description"], "Колонна техники в сторону Белгорода");
  EXPECT_EQ(doc["original_filename"], "clip.mp4");
  EXPECT_EQ(first.header("location"),
            "/api/v1/submissions/" + std::to_string(doc["id"].get<int>()));

  // The original sits at sha256/ab/cd/<hash>, read-only, byte for byte.
  std::string stored =
      server_->media_root() + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  ASSERT_TRUE(fs::exists(stored));
  EXPECT_EQ(read_file(stored), read_file(clip));
  EXPECT_EQ(fs::status(stored).permissions() & fs::perms::owner_write, fs::perms::none);

  auto second = curl_upload(bob_, clip, R"({"platform": "vk"})");
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.json()["exact_duplicate_of"], doc["id"]);
  EXPECT_EQ(second.json()["media"]["sha256"], sha);
  EXPECT_EQ(count_files(server_->media_root() + "/sha256"), 1u);
  EXPECT_EQ(count_files(server_->media_root() + "/tmp"), 0u);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM media"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "2");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM jobs WHERE kind = 'process_media'"), "1");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM audit_log WHERE action = 'submission.create'"),
            "2");
  EXPECT_EQ(run_convoywatch({"audit", "verify"}, env_).exit_code, 0);

  auto got =
      http_request(server_->port(), "GET",
                   "/api/v1/submissions/" + std::to_string(doc["id"].get<int>()), auth(bob_));
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.json()["claimed_location"]["lat"], 50.595);
  auto list = http_request(server_->port(), "GET", "/api/v1/submissions?platform=vk", auth(alice_));
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json()["items"].size(), 1u);
  EXPECT_EQ(list.json()["items"][0]["id"], second.json()["id"]);
}

TEST_F(IngestionTest, OriginalDownloadWithEtagAndRanges) {
  start();
  std::string clip = small_mp4(dir_, "Белгород 16.02.mp4");
  std::string bytes = read_file(clip);
  std::string sha = sha256_of_file(clip);
  ASSERT_EQ(curl_upload(alice_, clip, "{}").status, 201);
  std::string path = "/api/v1/media/" + sha + "/original";
  auto full = http_request(server_->port(), "GET", path, auth(bob_));
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.body, bytes);
  EXPECT_EQ(full.header("etag"), "\"" + sha + "\"");
  EXPECT_EQ(full.header("content-type"), "video/mp4");
  EXPECT_NE(full.header("content-disposition").find("filename*=UTF-8''%D0%91"), std::string::npos)
      << full.header("content-disposition");
  auto h = auth(bob_);
  h["Range"] = "bytes=100-199";
  auto part = http_request(server_->port(), "GET", path, h);
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(100, 100));
  EXPECT_EQ(part.header("content-range"), "bytes 100-199/" + std::to_string(bytes.size()));
  h["Range"] = "bytes=-50";
  auto tail = http_request(server_->port(), "GET", path, h);
  ASSERT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, bytes.substr(bytes.size() - 50));
  h["Range"] = "bytes=99999999-";
  EXPECT_EQ(http_request(server_->port(), "GET", path, h).status, 416);
  h.erase("Range");
  h["If-None-Match"] = "\"" + sha + "\"";
  EXPECT_EQ(http_request(server_->port(), "GET", path, h).status, 304);
  EXPECT_EQ(http_request(server_->port(), "GET",
                         "/api/v1/media/" + std::string(64, 'a') + "/original", auth(bob_))
                .status,
            404);
  EXPECT_EQ(
      http_request(server_->port(), "GET", "/api/v1/media/../../etc/passwd/original", auth(bob_))
          .status,
      404);
  EXPECT_EQ(http_request(server_->port(), "GET", path).status, 401);
}

// A <video> element cannot send a token: a signed link, asked for with one, plays the original
// (with Range) without it, until it expires, its token is revoked or it is tampered with.
TEST_F(IngestionTest, SignedLinkServesTheOriginalWithoutAToken) {
  start();
  std::string clip = small_mp4(dir_);
  std::string bytes = read_file(clip);
  std::string sha = sha256_of_file(clip);
  ASSERT_EQ(curl_upload(alice_, clip, R"({"visibility": "org"})").status, 201);
  const std::string link_path = "/api/v1/media/" + sha + "/original/link";
  // Another organisation may not see the org-private original, so gets no link to it.
  EXPECT_EQ(http_request(server_->port(), "POST", link_path, auth(olga_)).status, 404);
  EXPECT_EQ(http_request(server_->port(), "POST", link_path).status, 401);

  auto made = http_request(server_->port(), "POST", link_path, auth(bob_));
  ASSERT_EQ(made.status, 200) << made.body;
  EXPECT_EQ(made.header("cache-control"), "no-store");
  const std::string link = made.json()["url"].get<std::string>();
  ASSERT_EQ(link.rfind("/api/v1/media/" + sha + "/original/signed?token=", 0), 0u) << link;
  auto expires = parse_rfc3339(made.json()["expires_at"].get<std::string>());
  ASSERT_TRUE(expires.ok());
  EXPECT_GT(*expires, now_utc() + std::chrono::minutes(9));
  EXPECT_LE(*expires, now_utc() + std::chrono::minutes(10));

  auto full = http_request(server_->port(), "GET", link);
  ASSERT_EQ(full.status, 200) << full.body;
  EXPECT_EQ(full.body, bytes);
  EXPECT_EQ(full.header("accept-ranges"), "bytes");
  auto part = http_request(server_->port(), "GET", link, {{"Range", "bytes=10-29"}});
  ASSERT_EQ(part.status, 206);
  EXPECT_EQ(part.body, bytes.substr(10, 20));

  // Tampering with any part breaks the signature; a missing part is a bad request.
  auto tampered = [&](const std::string& from, const std::string& to) {
    std::string t = link;
    size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return t.replace(at, from.size(), to);
  };
  const std::string sig = link.substr(link.find("signature=") + 10);
  std::string flipped = sig;
  flipped[0] = flipped[0] == '0' ? '1' : '0';
  auto forged = http_request(server_->port(), "GET", tampered(sig, flipped));
  EXPECT_EQ(forged.status, 403);
  EXPECT_EQ(forged.json()["field"], "signature");
  const std::string exp = link.substr(link.find("expires=") + 8, 10);
  EXPECT_EQ(
      http_request(server_->port(), "GET",
                   tampered("expires=" + exp, "expires=" + std::to_string(std::stoll(exp) + 60)))
          .status,
      403);
  EXPECT_EQ(http_request(server_->port(), "GET", tampered("signature=", "sig=")).status, 403);
  EXPECT_EQ(http_request(server_->port(), "GET", tampered("token=", "t=")).status, 400);
  EXPECT_EQ(http_request(server_->port(), "GET", tampered(sha, std::string(64, 'a'))).status, 403);

  // Revoking the token that asked for the link ends the link.
  auto revoked = run_convoywatch({"user", "revoke", "bob"}, env_);
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  auto after = http_request(server_->port(), "GET", link);
  EXPECT_EQ(after.status, 403);
  EXPECT_EQ(after.json()["field"], "token");
}

TEST_F(IngestionTest, BulkTaggingAndTheTagFilter) {
  start();
  auto submit = [&](const std::string& token, const std::string& url) {
    auto r =
        http_request(server_->port(), "POST", "/api/v1/submissions",
                     {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}},
                     nlohmann::json{{"source_url", url}}.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.json()["id"].get<int64_t>();
  };
  const int64_t a = submit(alice_, "https://t.me/a/1");
  const int64_t b = submit(alice_, "https://t.me/a/2");
  const int64_t o = submit(olga_, "https://t.me/o/1");
  auto tag = [&](const std::string& token, const nlohmann::json& body) {
    auto h = auth(token);
    h["Content-Type"] = "application/json";
    return http_request(server_->port(), "POST", "/api/v1/submissions/tags", h, body.dump());
  };
  auto listed = [&](const std::string& token, const std::string& query) {
    std::vector<int64_t> out;
    auto r = http_request(server_->port(), "GET", "/api/v1/submissions?" + query, auth(token));
    EXPECT_EQ(r.status, 200) << r.body;
    const nlohmann::json body = r.json();
    for (const auto& s : body["items"]) out.push_back(s["id"].get<int64_t>());
    return out;
  };

  auto done = tag(bob_, {{"ids", {a, b}}, {"add", {"Колонна", "sensitive"}}});
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.json()["submissions"][1],
            (nlohmann::json{{"id", b}, {"tags", {"Колонна", "sensitive"}}}));
  EXPECT_EQ(listed(olga_, "tag=%D0%9A%D0%BE%D0%BB%D0%BE%D0%BD%D0%BD%D0%B0"),
            (std::vector<int64_t>{a, b}));
  ASSERT_EQ(tag(alice_, {{"ids", {b}}, {"remove", {"sensitive"}}}).status, 200);
  EXPECT_EQ(listed(alice_, "tag=sensitive"), (std::vector<int64_t>{a}));
  EXPECT_EQ(listed(alice_, "tag=sensitive&platform=telegram"), (std::vector<int64_t>{}));

  // Problems name the field; nothing is half-done.
  struct Bad {
    nlohmann::json body;
    int status;
    std::string field;
  };
  const std::vector<Bad> bad = {
      {{{"ids", nlohmann::json::array()}, {"add", {"x"}}}, 422, "ids"},
      {{{"ids", {a, -1}}, {"add", {"x"}}}, 422, "ids[1]"},
      {{{"ids", {a}}}, 422, "add"},
      {{{"ids", {a}}, {"add", {"ok", ""}}}, 422, "add[1]"},
      {{{"ids", {a}}, {"add", {"line\nbreak"}}}, 422, "add[0]"},
      {{{"ids", {a}}, {"add", {"x"}}, {"remove", {"x"}}}, 422, "remove[0]"},
      {{{"ids", {a}}, {"add", {"x"}}, {"colour", "red"}}, 422, "colour"},
      {{{"ids", {a, o}}, {"add", {"x"}}}, 403, "ids"},  // a contributor tags only their own
      {{{"ids", {a, 999999}}, {"add", {"x"}}}, 404, "ids"},
  };
  for (const Bad& t : bad) {
    auto r = tag(alice_, t.body);
    EXPECT_EQ(r.status, t.status) << t.body.dump() << " -> " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << t.body.dump();
    EXPECT_EQ(r.json().value("field", ""), t.field) << t.body.dump() << " -> " << r.body;
  }
  EXPECT_EQ(listed(alice_, "tag=x"), (std::vector<int64_t>{}));
  auto bad_filter = http_request(server_->port(), "GET", "/api/v1/submissions?tag=", auth(alice_));
  EXPECT_EQ(bad_filter.status, 422);
  EXPECT_EQ(bad_filter.json()["field"], "tag");
}

TEST_F(IngestionTest, BadUploadsAreRefusedAndLeaveNothingBehind) {
  start({{"CONVOYWATCH_SERVER_MAX_UPLOAD_BYTES", "200000"}});
  std::string clip = small_mp4(dir_);
  std::string png = dir_ + "/not-a-video.mp4";
  write_file(png, std::string("\x89PNG\r\n\x1a\n", 8) + std::string(5000, 'x'));
  auto r = curl_upload(alice_, png, "{}");
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(r.json()["field"], "file");

  r = curl_upload(alice_, clip, R"({"platform": "myspace"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["field"], "metadata.platform");
  r = curl_upload(alice_, clip, R"({"claimed_location": {"lat": 95, "lon": 36}})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["field"], "metadata.claimed_location.lat");
  r = curl_upload(alice_, clip, R"({"colour": "green"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["field"], "metadata.colour");
  r = curl_upload(alice_, clip, R"({"posted_at": "yesterday"})");
  EXPECT_EQ(r.status, 422);
  EXPECT_EQ(r.json()["field"], "metadata.posted_at");

  std::string big = big_mp4(dir_);
  r = curl_upload(alice_, big, "{}");
  EXPECT_EQ(r.status, 413) << r.body;

  // A body cut short: the client disconnects in the middle of the file part.
  {
    namespace net = boost::asio;
    net::io_context ioc;
    net::ip::tcp::socket sock(ioc);
    sock.connect(
        {net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server_->port())});
    std::string head =
        "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
        "\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: 100000\r\n\r\n";
    std::string body =
        "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n" +
        read_file(clip).substr(0, 8000);
    net::write(sock, net::buffer(head + body));
    std::this_thread::sleep_for(300ms);
  }
  // A malformed body: complete, but the closing boundary never comes.
  std::string bad =
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.mp4\"\r\n\r\n" +
      read_file(clip) + "\r\n";
  auto malformed = http_request(server_->port(), "POST", "/api/v1/submissions",
                                {{"Authorization", "Bearer " + alice_},
                                 {"Content-Type", "multipart/form-data; boundary=XyZ"}},
                                bad);
  EXPECT_EQ(malformed.status, 400) << malformed.body;
  // A declared body far over the limit is refused before it is read.
  std::string huge = raw_exchange(
      server_->port(), "POST /api/v1/submissions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                           alice_ +
                           "\r\nContent-Type: multipart/form-data; boundary=XyZ\r\nContent-Length: "
                           "10000000000\r\n\r\n");
  EXPECT_NE(huge.find("HTTP/1.1 413"), std::string::npos) << huge;
  // No-file form.
  auto nofile = http_request(
      server_->port(), "POST", "/api/v1/submissions",
      {{"Authorization", "Bearer " + alice_},
       {"Content-Type", "multipart/form-data; boundary=XyZ"}},
      "--XyZ\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n{}\r\n--XyZ--\r\n");
  EXPECT_EQ(nofile.status, 422);
  EXPECT_EQ(nofile.json()["field"], "file");

  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (count_files(server_->media_root() + "/tmp") > 0 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(count_files(server_->media_root() + "/tmp"), 0u);
  EXPECT_EQ(count_files(server_->media_root() + "/sha256"), 0u);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "0");
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM media"), "0");
  EXPECT_EQ(http_request(server_->port(), "GET", "/healthz").status, 200);
}

TEST_F(IngestionTest, UrlSubmissionQueuesAFetchJob) {
  start();
  auto h = auth(alice_);
  h["Content-Type"] = "application/json";
  auto r = http_request(server_->port(), "POST", "/api/v1/submissions", h,
                        R"({"source_url": "https://x.com/someone/status/1", "platform": "x"})");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_TRUE(r.json()["media"].is_null());
  EXPECT_EQ(r.json()["status"], "queued");
  EXPECT_EQ(db_.query_value("SELECT payload->>'url' FROM jobs WHERE kind = 'fetch_url'"),
            "https://x.com/someone/status/1");
  auto missing =
      http_request(server_->port(), "POST", "/api/v1/submissions", h, R"({"platform": "x"})");
  EXPECT_EQ(missing.status, 422);
  EXPECT_EQ(missing.json()["field"], "source_url");
  auto ftp = http_request(server_->port(), "POST", "/api/v1/submissions", h,
                          R"({"source_url": "ftp://a/b"})");
  EXPECT_EQ(ftp.status, 422);
  h["Content-Type"] = "text/plain";
  EXPECT_EQ(http_request(server_->port(), "POST", "/api/v1/submissions", h, "x").status, 415);
}

TEST_F(IngestionTest, IdempotencyKeyReturnsTheFirstAnswer) {
  start();
  std::string clip = small_mp4(dir_);
  auto a = curl_upload(alice_, clip, "{}", {"-H", "Idempotency-Key: retry-7"});
  ASSERT_EQ(a.status, 201);
  auto b = curl_upload(alice_, clip, "{}", {"-H", "Idempotency-Key: retry-7"});
  ASSERT_EQ(b.status, 201);
  EXPECT_EQ(a.json()["id"], b.json()["id"]);
  EXPECT_EQ(a.body, b.body);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "1");
  auto h = auth(alice_);
  h["Content-Type"] = "application/json";
  h["Idempotency-Key"] = "url-1";
  auto u1 = http_request(server_->port(), "POST", "/api/v1/submissions", h,
                         R"({"source_url": "https://vk.com/wall-1_2"})");
  auto u2 = http_request(server_->port(), "POST", "/api/v1/submissions", h,
                         R"({"source_url": "https://vk.com/wall-1_2"})");
  EXPECT_EQ(u1.body, u2.body);
  // The same key from another user is another request.
  auto o = curl_upload(olga_, clip, "{}", {"-H", "Idempotency-Key: retry-7"});
  EXPECT_EQ(o.status, 201);
  EXPECT_NE(o.json()["id"], a.json()["id"]);
  EXPECT_EQ(db_.query_value("SELECT count(*) FROM submissions"), "3");
}

TEST_F(IngestionTest, OrganisationPrivateItemsAreInvisibleToOthers) {
  start();
  std::string clip = small_mp4(dir_);
  std::string sha = sha256_of_file(clip);
  auto priv = curl_upload(alice_, clip, R"({"visibility": "org"})");
  ASSERT_EQ(priv.status, 201) << priv.body;
  std::string id = std::to_string(priv.json()["id"].get<int>());
  EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/submissions/" + id, auth(bob_)).status,
            200);
  EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/submissions/" + id, auth(olga_)).status,
            404);
  auto list = http_request(server_->port(), "GET", "/api/v1/submissions", auth(olga_));
  EXPECT_EQ(list.json()["items"].size(), 0u);
  EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/media/" + sha + "/original", auth(olga_))
                .status,
            404);
  EXPECT_EQ(
      http_request(server_->port(), "GET", "/api/v1/media/" + sha + "/original", auth(bob_)).status,
      200);
  // Olga uploads the same bytes: she learns nothing about the private original.
  auto hers = curl_upload(olga_, clip, "{}");
  ASSERT_EQ(hers.status, 201);
  EXPECT_TRUE(hers.json()["exact_duplicate_of"].is_null());
  EXPECT_EQ(http_request(server_->port(), "GET", "/api/v1/media/" + sha + "/original", auth(olga_))
                .status,
            200);
}

// The real tus client: the connection is killed mid-upload (by a proxy, as a network would),
// the client resumes from the server's offset, and the stored bytes hash to the file's SHA-256.
TEST_F(IngestionTest, TusJsClientResumesAfterTheConnectionIsKilled) {
  start();
  std::string script = std::string(CW_SOURCE_DIR) + "/tests/e2e/tus_upload.mjs";
  ASSERT_TRUE(fs::exists(std::string(CW_SOURCE_DIR) + "/tests/e2e/node_modules/tus-js-client"))
      << "tus-js-client is not installed: scripts/setup runs npm ci in tests/e2e";
  std::string file = big_mp4(dir_);
  uint64_t size = fs::file_size(file);
  std::string sha = sha256_of_file(file);
  std::string meta = R"({"platform": "tiktok", "author": "@convoy_watcher", "tags": ["resumed"]})";
  auto run = run_command({"/usr/bin/env", "node", script, url("/api/v1/uploads"), alice_, file,
                          meta, "--cut-after", std::to_string(size / 3)});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << server_->log();
  auto r = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_TRUE(r.is_object()) << run.out;
  ASSERT_TRUE(r.value("done", false)) << run.out;
  EXPECT_EQ(r["cuts"], 1);
  // The first PATCH started at 0 and was cut; the resumed one started where the server was.
  ASSERT_GE(r["patch_offsets"].size(), 2u) << run.out;
  EXPECT_EQ(r["patch_offsets"][0], 0);
  uint64_t resumed_at = r["patch_offsets"].back().get<uint64_t>();
  EXPECT_GT(resumed_at, 0u) << run.out;
  EXPECT_LT(resumed_at, size) << run.out;
  EXPECT_NE(server_->log().find("upload interrupted"), std::string::npos);

  std::string upload_url = r["url"];
  std::string upload_path = upload_url.substr(upload_url.find("/api/v1/uploads/"));
  auto done = http_request(server_->port(), "GET", upload_path, auth(alice_));
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_EQ(done.header("upload-offset"), std::to_string(size));
  ASSERT_TRUE(done.json()["submission"].is_string()) << done.body;
  EXPECT_EQ(http_request(server_->port(), "GET", upload_path, auth(olga_)).status, 404);
  auto sub = http_request(server_->port(), "GET", done.json()["submission"].get<std::string>(),
                          auth(alice_));
  ASSERT_EQ(sub.status, 200);
  EXPECT_EQ(sub.json()["media"]["sha256"], sha);
  EXPECT_EQ(sub.json()["media"]["size"], size);
  EXPECT_EQ(sub.json()["platform"], "tiktok");
  EXPECT_EQ(sub.json()["original_filename"], "convoy-clip.mp4");
  std::string stored =
      server_->media_root() + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  EXPECT_EQ(sha256_of_file(stored), sha);
  EXPECT_EQ(count_files(server_->media_root() + "/tmp"), 0u);
}

// tus hashing: 120 small PATCHes hash each byte once (the SHA-256 state is kept between them,
// not rebuilt by re-reading the temp file), counted by the server's own metrics; after a restart
// the first PATCH re-reads the file once, the next ones continue from the kept state again; the
// stored hash is the file's.
TEST_F(IngestionTest, TusSmallPatchesHashEachByteOnce) {
  const std::string root = dir_ + "/media";
  start({{"CONVOYWATCH_STORAGE_ROOT", root}});
  const std::string file = small_mp4(dir_);
  const std::string bytes = read_file(file);
  const std::string sha = sha256_of_file(file);
  ASSERT_GT(bytes.size(), 10000u);  // enough for 120 PATCHes before the restart and more after
  auto metric = [this](const std::string& name) {
    auto m = http_request(server_->port(), "GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind(name + " ", 0) == 0) return std::stoull(line.substr(line.rfind(' ') + 1));
    }
    ADD_FAILURE() << "no " << name << " in /metrics";
    return 0ull;
  };
  auto h = auth(alice_);
  h["Tus-Resumable"] = "1.0.0";
  h["Upload-Length"] = std::to_string(bytes.size());
  auto created = http_request(server_->port(), "POST", "/api/v1/uploads", h);
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string loc = created.header("location");
  size_t offset = 0;
  auto patch = [&](size_t n) {
    auto p = auth(alice_);
    p["Tus-Resumable"] = "1.0.0";
    p["Upload-Offset"] = std::to_string(offset);
    p["Content-Type"] = "application/offset+octet-stream";
    auto r = http_request(server_->port(), "PATCH", loc, p, bytes.substr(offset, n));
    offset = std::min(bytes.size(), offset + n);
    return r;
  };
  const size_t step = bytes.size() / 200 + 1;  // about 200 PATCHes for the whole file
  for (int i = 0; i < 120; ++i) {
    auto r = patch(step);
    ASSERT_EQ(r.status, 204) << r.body;
    ASSERT_EQ(r.header("upload-offset"), std::to_string(offset));
  }
  EXPECT_EQ(metric("convoywatch_tus_bytes_received_total"), offset);
  EXPECT_EQ(metric("convoywatch_tus_bytes_hashed_total"), offset);
  std::cout << "  " << offset << " bytes in 120 PATCHes, hashed "
            << metric("convoywatch_tus_bytes_hashed_total") << "\n";

  // A restart loses the kept state: the next PATCH re-reads the file once, the others do not.
  server_.reset();
  start({{"CONVOYWATCH_STORAGE_ROOT", root}});
  const size_t at_restart = offset;
  for (int i = 0; offset < bytes.size(); ++i) {
    auto r = patch(step);
    ASSERT_LT(i, 200);
    ASSERT_EQ(r.status, 204) << r.body;
  }
  EXPECT_EQ(metric("convoywatch_tus_bytes_received_total"), bytes.size() - at_restart);
  EXPECT_EQ(metric("convoywatch_tus_bytes_hashed_total"), bytes.size());
  EXPECT_EQ(metric("convoywatch_tus_resumes_total{hash_state=\"reread\"}"), 1u);
  auto done = http_request(server_->port(), "GET", loc, auth(alice_));
  ASSERT_EQ(done.status, 200) << done.body;
  ASSERT_TRUE(done.json()["submission"].is_string()) << done.body;
  auto sub = http_request(server_->port(), "GET", done.json()["submission"].get<std::string>(),
                          auth(alice_));
  ASSERT_EQ(sub.status, 200);
  EXPECT_EQ(sub.json()["media"]["sha256"], sha);
  const std::string stored =
      root + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" + sha;
  EXPECT_EQ(sha256_of_file(stored), sha);
}

TEST_F(IngestionTest, TusProtocolDetails) {
  start();
  int port = server_->port();
  auto opts = http_request(port, "OPTIONS", "/api/v1/uploads");
  EXPECT_EQ(opts.status, 204);
  EXPECT_EQ(opts.header("tus-version"), "1.0.0");
  EXPECT_EQ(opts.header("tus-extension"), "creation,termination,expiration");
  auto h = auth(alice_);
  auto no_version = http_request(port, "POST", "/api/v1/uploads", h);
  EXPECT_EQ(no_version.status, 412);
  EXPECT_EQ(no_version.header("tus-version"), "1.0.0");
  h["Tus-Resumable"] = "1.0.0";
  h["Upload-Length"] = "abc";
  EXPECT_EQ(http_request(port, "POST", "/api/v1/uploads", h).status, 400);
  h["Upload-Length"] = "99999999999999";
  EXPECT_EQ(http_request(port, "POST", "/api/v1/uploads", h).status, 413);
  h["Upload-Length"] = "5000";
  h["Upload-Metadata"] = "metadata eyJwbGF0Zm9ybSI6Im15c3BhY2UifQ==";  // {"platform":"myspace"}
  auto bad_meta = http_request(port, "POST", "/api/v1/uploads", h);
  EXPECT_EQ(bad_meta.status, 422);
  EXPECT_EQ(bad_meta.json()["field"], "metadata.platform");
  h.erase("Upload-Metadata");
  auto created = http_request(port, "POST", "/api/v1/uploads", h);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_FALSE(created.header("upload-expires").empty());
  std::string loc = created.header("location");
  auto p = auth(alice_);
  p["Tus-Resumable"] = "1.0.0";
  p["Upload-Offset"] = "10";
  p["Content-Type"] = "application/offset+octet-stream";
  EXPECT_EQ(http_request(port, "PATCH", loc, p, "0123456789").status, 409);
  p["Upload-Offset"] = "0";
  p["Content-Type"] = "text/plain";
  EXPECT_EQ(http_request(port, "PATCH", loc, p, "0123456789").status, 415);
  p["Content-Type"] = "application/offset+octet-stream";
  // Not a video: once the last byte arrives the upload is refused and removed.
  auto last = http_request(port, "PATCH", loc, p, std::string(5000, 'z'));
  EXPECT_EQ(last.status, 415) << last.body;
  EXPECT_EQ(http_request(port, "GET", loc, auth(alice_)).status, 404);
  // Termination.
  auto again = http_request(port, "POST", "/api/v1/uploads", h);
  std::string loc2 = again.header("location");
  auto d = auth(alice_);
  d["Tus-Resumable"] = "1.0.0";
  EXPECT_EQ(http_request(port, "DELETE", loc2, auth(olga_)).status, 412);
  d["Tus-Resumable"] = "1.0.0";
  auto olga = auth(olga_);
  olga["Tus-Resumable"] = "1.0.0";
  EXPECT_EQ(http_request(port, "DELETE", loc2, olga).status, 404);
  EXPECT_EQ(http_request(port, "DELETE", loc2, d).status, 204);
  EXPECT_EQ(http_request(port, "GET", loc2, auth(alice_)).status, 404);
  EXPECT_EQ(count_files(server_->media_root() + "/tmp"), 0u);
}

}  // namespace
}  // namespace cw::test

namespace cw::test {
namespace {

// Temp files of single-request uploads cut off by a crash are removed at start; resumable
// (tus) ones are kept for their client.
TEST(IngestionStartTest, LeftoverUploadTempFilesAreRemovedAtStart) {
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  std::string root = make_temp_dir("cw-leftover-");
  fs::create_directories(root + "/tmp");
  std::string crashed = root + "/tmp/upload-" + std::string(32, 'a') + ".part";
  std::string resumable = root + "/tmp/tus-" + std::string(32, 'b') + ".part";
  write_file(crashed, "half an upload");
  write_file(resumable, "half a resumable upload");
  env["CONVOYWATCH_STORAGE_ROOT"] = root;
  ServerProcess server(env);
  EXPECT_FALSE(fs::exists(crashed));
  EXPECT_TRUE(fs::exists(resumable));
  fs::remove_all(root);
}

}  // namespace
}  // namespace cw::test

namespace cw::test {
namespace {

// Upload a clip, wait for the pipeline, then read what it found and download its frames.
TEST(PipelineE2eTest, UploadedClipIsAnalysedAndItsFramesCanBeDownloaded) {
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()},
                                            {"CONVOYWATCH_PIPELINE_WORKERS", "1"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  auto add = run_convoywatch(
      {"user", "add", "--create-org", "--name", "p", "--org", "o", "--role", "analyst"}, env);
  std::string token = add.out.substr(0, 67);
  ServerProcess server(env);
  std::string dir = make_temp_dir("cw-pipe-e2e-");
  std::string clip = make_video(
      dir, "gps.mp4",
      {"-f", "lavfi", "-i", "testsrc=duration=3:size=320x240:rate=25", "-c:v", "libx264",
       "-pix_fmt", "yuv420p", "-g", "25", "-metadata", "creation_time=2022-02-16T06:05:00Z",
       "-metadata", "location=+50.5950+036.5872/"});
  std::string sha = sha256_of_file(clip);
  std::string form =
      "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"gps.mp4\"\r\n\r\n" +
      read_file(clip) + "\r\n--B--\r\n";
  std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + token}};
  auto h = auth;
  h["Content-Type"] = "multipart/form-data; boundary=B";
  auto created = http_request(server.port(), "POST", "/api/v1/submissions", h, form);
  ASSERT_EQ(created.status, 201) << created.body;
  std::string sub = "/api/v1/submissions/" + std::to_string(created.json()["id"].get<int>());
  HttpResponse s;
  wait_until(
      [&] {
        s = http_request(server.port(), "GET", sub, auth);
        return s.json()["processing"].is_object() && s.json()["processing"]["state"] == "done";
      },
      60s, 100ms);
  ASSERT_EQ(s.json()["processing"]["state"], "done") << s.body << server.log();
  EXPECT_EQ(s.json()["processing"]["progress"], 100);
  EXPECT_EQ(s.json()["status"], "done");

  auto media = http_request(server.port(), "GET", "/api/v1/media/" + sha, auth);
  ASSERT_EQ(media.status, 200) << media.body;
  EXPECT_EQ(media.json()["width"], 320);
  EXPECT_EQ(media.json()["video_codec"], "h264");
  EXPECT_EQ(media.json()["creation_time"], "2022-02-16T06:05:00Z");
  EXPECT_NEAR(media.json()["location"]["lat"].get<double>(), 50.595, 1e-4);
  auto frames = http_request(server.port(), "GET", "/api/v1/media/" + sha + "/frames", auth);
  ASSERT_EQ(frames.status, 200);
  ASSERT_GE(frames.json()["items"].size(), 1u);
  EXPECT_EQ(frames.json()["items"][0]["kind"], "keyframe");
  auto jpg = http_request(server.port(), "GET", frames.json()["items"][0]["url"], auth);
  ASSERT_EQ(jpg.status, 200);
  EXPECT_EQ(jpg.header("content-type"), "image/jpeg");
  ASSERT_GE(jpg.body.size(), 3u);
  EXPECT_EQ(jpg.body.substr(0, 3), "\xFF\xD8\xFF");
  EXPECT_NE(jpg.header("cache-control").find("immutable"), std::string::npos);
  auto h304 = auth;
  h304["If-None-Match"] = jpg.header("etag");
  EXPECT_EQ(http_request(server.port(), "GET", frames.json()["items"][0]["url"], h304).status, 304);
  auto thumb = http_request(server.port(), "GET", frames.json()["items"][0]["thumb_url"], auth);
  EXPECT_EQ(thumb.status, 200);
  // Both decode; the thumbnail is at most 320 px on its long side (this 320×240 clip's own size).
  const auto decode = [](const std::string& body) {
    return cv::imdecode(std::vector<uint8_t>(body.begin(), body.end()), cv::IMREAD_COLOR);
  };
  const cv::Mat full = decode(jpg.body);
  const cv::Mat small = decode(thumb.body);
  EXPECT_EQ(full.size(), cv::Size(320, 240));
  EXPECT_EQ(small.size(), cv::Size(320, 240));
  EXPECT_EQ(http_request(server.port(), "GET", "/api/v1/media/" + sha + "/contact-sheet.jpg", auth)
                .status,
            200);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/v1/media/" + sha + "/frames/999.jpg", auth).status,
      404);
  EXPECT_EQ(
      http_request(server.port(), "GET", "/api/v1/media/" + sha + "/frames/..%2f..%2fx.jpg", auth)
          .status,
      404);
  fs::remove_all(dir);
}

// A post URL instead of a file: the submission answers at once, the fetch_url job downloads the
// media from a (local) web server, and the analysis follows in the same pass.
TEST(PipelineE2eTest, SubmittedUrlIsFetchedAndAnalysed) {
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()},
                                            {"CONVOYWATCH_PIPELINE_WORKERS", "1"},
                                            {"CONVOYWATCH_FETCH_ALLOW_PRIVATE", "true"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  auto add = run_convoywatch(
      {"user", "add", "--create-org", "--name", "u", "--org", "o", "--role", "contributor"}, env);
  std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + add.out.substr(0, 67)}};
  std::string dir = make_temp_dir("cw-fetch-e2e-");
  std::string clip = small_mp4(dir);
  MediaHttpServer web(clip);
  ServerProcess server(env);
  auto h = auth;
  h["Content-Type"] = "application/json";
  auto created = http_request(
      server.port(), "POST", "/api/v1/submissions", h,
      nlohmann::json{{"source_url", web.url("/redirect/2")}, {"platform", "telegram"}}.dump());
  ASSERT_EQ(created.status, 201) << created.body;
  std::string sub = "/api/v1/submissions/" + std::to_string(created.json()["id"].get<int>());
  HttpResponse s;
  wait_until(
      [&] {
        s = http_request(server.port(), "GET", sub, auth);
        return s.json()["status"] == "done" || s.json()["status"] == "failed";
      },
      60s, 100ms);
  ASSERT_EQ(s.json()["status"], "done") << s.body << server.log();
  EXPECT_EQ(s.json()["media"]["sha256"], sha256_of_file(clip));
  EXPECT_EQ(s.json()["processing"]["kind"], "process_media");
  EXPECT_EQ(http_request(server.port(), "GET",
                         "/api/v1/media/" + sha256_of_file(clip) + "/original", auth)
                .body,
            read_file(clip));
  fs::remove_all(dir);
}

// A re-encoded, half-size repost of stored footage: after one processing pass its submission
// lists the link to the original and the first posting, and an analyst can confirm the link.
TEST(PipelineE2eTest, RepostOfStoredFootageIsLinkedWithItsFirstPosting) {
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  std::map<std::string, std::string> env = {{"CONVOYWATCH_DATABASE_URL", db.url()},
                                            {"CONVOYWATCH_PIPELINE_WORKERS", "1"},
                                            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  auto contributor = run_convoywatch({"user", "add", "--create-org", "--name", "c", "--org", "o",
                                      "--role", "contributor"},
                                     env)
                         .out.substr(0, 67);
  auto analyst =
      run_convoywatch(
          {"user", "add", "--create-org", "--name", "a", "--org", "o", "--role", "analyst"}, env)
          .out.substr(0, 67);
  ServerProcess server(env);
  std::string dir = make_temp_dir("cw-dup-e2e-");
  std::string source = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
  ASSERT_TRUE(fs::exists(source)) << "opencv-doc is missing: run scripts/setup";
  std::string original = make_video(dir, "original.mp4",
                                    {"-i", source, "-t", "12", "-vf", "scale=480:-2", "-c:v",
                                     "libx264", "-pix_fmt", "yuv420p", "-an"});
  std::string repost = make_video(dir, "repost.mp4",
                                  {"-i", original, "-vf", "scale=240:-2", "-c:v", "libx264", "-b:v",
                                   "150k", "-pix_fmt", "yuv420p"});
  auto submit = [&](const std::string& file, const std::string& meta) {
    std::string form =
        "--B\r\nContent-Disposition: form-data; name=\"metadata\"\r\n\r\n" + meta +
        "\r\n--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v.mp4\"\r\n\r\n" +
        read_file(file) + "\r\n--B--\r\n";
    auto r = http_request(server.port(), "POST", "/api/v1/submissions",
                          {{"Authorization", "Bearer " + contributor},
                           {"Content-Type", "multipart/form-data; boundary=B"}},
                          form);
    EXPECT_EQ(r.status, 201) << r.body;
    return "/api/v1/submissions/" + std::to_string(r.json()["id"].get<int>());
  };
  std::map<std::string, std::string> auth = {{"Authorization", "Bearer " + contributor}};
  auto wait_done = [&](const std::string& url) {
    HttpResponse s;
    wait_until(
        [&] {
          s = http_request(server.port(), "GET", url, auth);
          return s.json()["status"] == "done" || s.json()["status"] == "failed";
        },
        120s, 100ms);
    return s;
  };
  std::string first = submit(original, R"({"platform":"telegram","author":"@first_channel",)"
                                       R"("posted_at":"2022-02-15T07:10:00Z"})");
  ASSERT_EQ(wait_done(first).json()["status"], "done") << server.log();
  std::string second = submit(repost, R"({"platform":"tiktok","author":"@reposter",)"
                                      R"("posted_at":"2022-02-16T12:00:00Z"})");
  auto s = wait_done(second);
  ASSERT_EQ(s.json()["status"], "done") << s.body << server.log();
  auto dups = s.json()["duplicates"];
  ASSERT_EQ(dups.size(), 1u) << s.body << server.log();
  EXPECT_EQ(dups[0]["sha256"], sha256_of_file(original));
  EXPECT_EQ(dups[0]["status"], "suggested");
  EXPECT_GE(std::max(dups[0]["this_percent"].get<double>(), dups[0]["other_percent"].get<double>()),
            80.0);
  EXPECT_NEAR(dups[0]["offset_ms"].get<double>(), 0, 1000);
  auto prov = s.json()["provenance"];
  EXPECT_EQ(prov["first"]["author"], "@first_channel");
  EXPECT_EQ(prov["first"]["platform"], "telegram");
  EXPECT_EQ(prov["first"]["basis"], "suggested link");
  EXPECT_EQ(prov["reposts"], 1);

  std::string verdict_url = "/api/v1/media/" + sha256_of_file(repost) + "/duplicates/" +
                            sha256_of_file(original) + "/verdict";
  EXPECT_EQ(http_request(
                server.port(), "POST", verdict_url,
                {{"Authorization", "Bearer " + contributor}, {"Content-Type", "application/json"}},
                R"({"verdict":"confirmed"})")
                .status,
            403);
  auto v =
      http_request(server.port(), "POST", verdict_url,
                   {{"Authorization", "Bearer " + analyst}, {"Content-Type", "application/json"}},
                   R"({"verdict":"confirmed","note":"same scene, half size"})");
  ASSERT_EQ(v.status, 200) << v.body;
  EXPECT_EQ(v.json()["status"], "confirmed");
  auto listed = http_request(server.port(), "GET",
                             "/api/v1/media/" + sha256_of_file(original) + "/duplicates", auth);
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(listed.json()["items"][0]["sha256"], sha256_of_file(repost));
  EXPECT_EQ(listed.json()["items"][0]["status"], "confirmed");
  EXPECT_EQ(listed.json()["provenance"]["first"]["basis"], "this media");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cw::test
