// End to end: what `convoywatch submit` asks of the server, over real HTTP — a submission of
// stored bytes by their SHA-256 (only bytes the caller may see), Idempotent-Replayed on answers
// replayed for an Idempotency-Key, and tus uploads that carry an idempotency key.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

class SubmitApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    alice_ = add_user(env_, "alice", "Bellingcat", "contributor");
    olga_ = add_user(env_, "olga", "The Insider", "contributor");
    server_ = std::make_unique<ServerProcess>(env_);
    port_ = server_->port();
  }

  std::map<std::string, std::string> auth(const std::string& token) const {
    return {{"Authorization", "Bearer " + token}};
  }

  // tus creation with the given Upload-Metadata pairs (values base64-encoded here).
  HttpResponse create_upload(const std::string& token, size_t length,
                             const std::vector<std::pair<std::string, std::string>>& meta) {
    auto h = auth(token);
    h["Tus-Resumable"] = "1.0.0";
    h["Upload-Length"] = std::to_string(length);
    std::string header;
    for (const auto& [k, v] : meta)
      header += (header.empty() ? "" : ",") + k + " " + base64_encode(v);
    h["Upload-Metadata"] = header;
    return http_request(port_, "POST", "/api/v1/uploads", h);
  }
  HttpResponse patch_all(const std::string& token, const std::string& location,
                         const std::string& bytes) {
    auto p = auth(token);
    p["Tus-Resumable"] = "1.0.0";
    p["Upload-Offset"] = "0";
    p["Content-Type"] = "application/offset+octet-stream";
    return http_request(port_, "PATCH", location, p, bytes);
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  TempDir work_;
  std::map<std::string, std::string> env_;
  std::string alice_, olga_;
  std::unique_ptr<ServerProcess> server_;
  int port_ = 0;
};

TEST_F(SubmitApiTest, StoredMediaIsSubmittedAgainByItsHashOnlyWhenVisible) {
  std::string clip = small_mp4(work_.out("clips"));
  std::string bytes = read_file(clip);
  std::string sha = sha256_of_file(clip);
  auto up = create_upload(alice_, bytes.size(),
                          {{"filename", "clip.mp4"}, {"metadata", R"({"visibility": "org"})"}});
  ASSERT_EQ(up.status, 201) << up.body;
  ASSERT_EQ(patch_all(alice_, up.header("location"), bytes).status, 204);

  auto h = auth(alice_);
  h["Content-Type"] = "application/json";
  h["Idempotency-Key"] = "repost-1";
  std::string body = R"({"media_sha256": ")" + sha +
                     R"(", "platform": "vk", "source_url": "https://vk.com/wall-1_2"})";
  auto created = http_request(port_, "POST", "/api/v1/submissions", h, body);
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(created.header("idempotent-replayed"), "");
  EXPECT_EQ(created.header("location"), "/api/v1/submissions/2");
  EXPECT_EQ(created.json()["media"]["sha256"], sha);
  EXPECT_EQ(created.json()["exact_duplicate_of"], 1);
  EXPECT_EQ(created.json()["original_filename"], "clip.mp4");
  EXPECT_EQ(created.json()["platform"], "vk");
  EXPECT_EQ(created.json()["visibility"], "taskforce");
  auto replay = http_request(port_, "POST", "/api/v1/submissions", h, body);
  EXPECT_EQ(replay.status, 201);
  EXPECT_EQ(replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(replay.json()["id"], created.json()["id"]);

  // Olga's organisation cannot see these bytes: the same answer as for bytes nobody has.
  auto o = auth(olga_);
  o["Content-Type"] = "application/json";
  auto hidden = http_request(port_, "POST", "/api/v1/submissions", o,
                             R"({"media_sha256": ")" + sha + R"("})");
  // Alice's second submission is taskforce-wide: through it Olga may see the bytes now.
  EXPECT_EQ(hidden.status, 201) << hidden.body;
  std::string other_file =
      make_video(work_.out("more"), "b.mp4",
                 {"-f", "lavfi", "-i", "smptebars=duration=1:size=160x120:rate=10", "-c:v",
                  "libx264", "-pix_fmt", "yuv420p"});
  std::string other = sha256_of_file(other_file);
  std::string other_bytes = read_file(other_file);
  auto up2 = create_upload(alice_, other_bytes.size(), {{"metadata", R"({"visibility": "org"})"}});
  ASSERT_EQ(patch_all(alice_, up2.header("location"), other_bytes).status, 204);
  auto invisible = http_request(port_, "POST", "/api/v1/submissions", o,
                                R"({"media_sha256": ")" + other + R"("})");
  EXPECT_EQ(invisible.status, 422) << invisible.body;
  EXPECT_EQ(invisible.json()["field"], "media_sha256");
  auto unknown = http_request(port_, "POST", "/api/v1/submissions", o,
                              R"({"media_sha256": ")" + std::string(64, '0') + R"("})");
  EXPECT_EQ(unknown.status, 422);
  EXPECT_EQ(unknown.json()["detail"], invisible.json()["detail"]);
  for (const char* bad :
       {R"({"media_sha256": "ABC"})", R"({"media_sha256": 5})", R"({"media_sha256": null})"}) {
    auto r = http_request(port_, "POST", "/api/v1/submissions", o, bad);
    EXPECT_EQ(r.status, 422) << bad;
    EXPECT_EQ(r.json()["field"], "media_sha256") << bad;
  }
  auto unknown_field = http_request(port_, "POST", "/api/v1/submissions", h,
                                    R"({"media_sha256": ")" + sha + R"(", "colour": "red"})");
  EXPECT_EQ(unknown_field.status, 422);
  EXPECT_EQ(unknown_field.json()["field"], "colour");
  // Without a token: 401 as for every create.
  EXPECT_EQ(http_request(port_, "POST", "/api/v1/submissions",
                         {{"Content-Type", "application/json"}}, body)
                .status,
            401);
}

TEST_F(SubmitApiTest, TusUploadsTakeAnIdempotencyKey) {
  std::string clip = small_mp4(work_.out("clips"));
  std::string bytes = read_file(clip);
  auto create = [&](const std::string& key) {
    return create_upload(alice_, bytes.size(),
                         {{"filename", "clip.mp4"},
                          {"metadata", R"({"platform":"telegram"})"},
                          {"idempotency_key", key}});
  };
  auto created = create("telegram:1:2:abc");
  ASSERT_EQ(created.status, 201) << created.body;
  auto done = patch_all(alice_, created.header("location"), bytes);
  ASSERT_EQ(done.status, 204) << done.body;
  std::string location = done.header("x-submission-location");
  ASSERT_FALSE(location.empty());

  auto again = create("telegram:1:2:abc");
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.header("idempotent-replayed"), "true");
  EXPECT_EQ(again.header("x-submission-location"), location);
  EXPECT_EQ(again.header("location"), "");
  EXPECT_EQ(again.header("tus-resumable"), "1.0.0");
  EXPECT_EQ("/api/v1/submissions/" + std::to_string(again.json()["id"].get<int64_t>()), location);
  EXPECT_EQ(again.json()["platform"], "telegram");
  // The same key on POST /submissions finds the same submission.
  auto h = auth(alice_);
  h["Content-Type"] = "application/json";
  h["Idempotency-Key"] = "telegram:1:2:abc";
  auto json_replay = http_request(port_, "POST", "/api/v1/submissions", h,
                                  R"({"source_url": "https://t.me/x/2"})");
  EXPECT_EQ(json_replay.status, 201);
  EXPECT_EQ(json_replay.header("idempotent-replayed"), "true");
  EXPECT_EQ(json_replay.header("location"), location);
  // Another user's keys are their own.
  EXPECT_EQ(create_upload(olga_, bytes.size(), {{"idempotency_key", "telegram:1:2:abc"}}).status,
            201);
  // A key used first by a submission of stored bytes stops an upload before it starts.
  std::string sha = sha256_of_file(clip);
  h["Idempotency-Key"] = "telegram:1:3:" + sha;
  auto by_hash = http_request(port_, "POST", "/api/v1/submissions", h,
                              R"({"media_sha256": ")" + sha + R"("})");
  ASSERT_EQ(by_hash.status, 201) << by_hash.body;
  auto stopped = create("telegram:1:3:" + sha);
  EXPECT_EQ(stopped.status, 200);
  EXPECT_EQ(stopped.header("x-submission-location"), by_hash.header("location"));

  auto too_long = create(std::string(201, 'k'));
  EXPECT_EQ(too_long.status, 422) << too_long.body;
  EXPECT_EQ(too_long.json()["field"], "Upload-Metadata.idempotency_key");
  EXPECT_EQ(create("a\nb").status, 422);
  EXPECT_EQ(create("").status, 201) << "an empty key is no key";
}

}  // namespace
}  // namespace cw::test
