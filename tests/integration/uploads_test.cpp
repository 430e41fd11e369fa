// tus upload rows against the real PostgreSQL: create, get, complete, remove, expiry, and that
// an upload is private to the user who started it.
#include <gtest/gtest.h>

#include <algorithm>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/submissions.hpp"
#include "store/uploads.hpp"
#include "store/users.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

class UploadsTest : public ::testing::Test {
 protected:
  UploadsTest() : db_(config()), uploads_(db_) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    alice_ = principal("alice", "The Insider");
    bob_ = principal("bob", "The Insider");
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 2;
    return c;
  }
  Principal principal(const std::string& name, const std::string& org) {
    Users users(db_);
    auto added = users.add(name, org, Role::kContributor, Actor::system("test"), NewOrg::kCreate);
    EXPECT_TRUE(added.ok()) << added.error().to_string();
    return *users.authenticate(added->token);
  }
  Upload upload(const std::string& id, int64_t user_id, TimePoint expires) {
    Upload u;
    u.id = id;
    u.user_id = user_id;
    u.length = 5'000'000'000ull;  // beyond 32 bits
    u.metadata = "filename dmlkZW8ubXA0,filetype dmlkZW8vbXA0";
    u.temp_name = "tus-" + id + ".part";
    u.created_at = now_utc();
    u.expires_at = expires;
    return u;
  }
  int64_t submission_id() {
    SubmissionInput meta;
    meta.source_url = "https://t.me/a/1";
    auto r = Submissions(db_).create(alice_, meta, std::nullopt, "", [](const Submission& s) {
      return StoredReply{201, std::to_string(s.id), ""};
    });
    EXPECT_TRUE(r.ok());
    return std::stoll(r->first.body);
  }

  test::TestDatabase tdb_;
  Database db_;
  Uploads uploads_;
  Principal alice_, bob_;
};

const std::string kId1 = "0123456789abcdef0123456789abcdef";
const std::string kId2 = "fedcba9876543210fedcba9876543210";

TEST_F(UploadsTest, CreateGetCompleteRemove) {
  TimePoint expires = now_utc() + std::chrono::hours(24);
  Upload u = upload(kId1, alice_.user_id, expires);
  ASSERT_TRUE(uploads_.create(u).ok());

  auto got = uploads_.get(alice_.user_id, kId1);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->id, kId1);
  EXPECT_EQ(got->user_id, alice_.user_id);
  EXPECT_EQ(got->length, 5'000'000'000ull);
  EXPECT_EQ(got->metadata, u.metadata);
  EXPECT_EQ(got->temp_name, "tus-" + kId1 + ".part");
  EXPECT_EQ(got->created_at, u.created_at);  // microseconds survive the round trip
  EXPECT_EQ(got->expires_at, expires);
  EXPECT_FALSE(got->submission_id.has_value());

  int64_t sid = submission_id();
  ASSERT_TRUE(uploads_.complete(kId1, sid).ok());
  EXPECT_EQ(uploads_.get(alice_.user_id, kId1)->submission_id, sid);
  // Completing again with the same submission is harmless; with another it is a conflict.
  EXPECT_TRUE(uploads_.complete(kId1, sid).ok());
  Status other = uploads_.complete(kId1, submission_id());
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code(), Code::kConflict);
  Status missing = uploads_.complete(kId2, sid);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  Status no_submission = uploads_.complete(kId1, sid + 1000);
  ASSERT_FALSE(no_submission.ok());

  ASSERT_TRUE(uploads_.remove(alice_.user_id, kId1).ok());
  auto gone = uploads_.get(alice_.user_id, kId1);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  Status again = uploads_.remove(alice_.user_id, kId1);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kNotFound);
}

TEST_F(UploadsTest, UploadsArePrivateToTheirCreator) {
  ASSERT_TRUE(
      uploads_.create(upload(kId1, alice_.user_id, now_utc() + std::chrono::hours(1))).ok());
  auto peek = uploads_.get(bob_.user_id, kId1);
  ASSERT_FALSE(peek.ok());
  EXPECT_EQ(peek.error().code(), Code::kNotFound);
  Status steal = uploads_.remove(bob_.user_id, kId1);
  ASSERT_FALSE(steal.ok());
  EXPECT_EQ(steal.error().code(), Code::kNotFound);
  EXPECT_TRUE(uploads_.get(alice_.user_id, kId1).ok());
}

TEST_F(UploadsTest, BadRowsAreRejected) {
  TimePoint later = now_utc() + std::chrono::hours(1);
  ASSERT_TRUE(uploads_.create(upload(kId1, alice_.user_id, later)).ok());
  Status dup = uploads_.create(upload(kId1, bob_.user_id, later));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code(), Code::kConflict);
  Status bad_id = uploads_.create(upload("XYZ", alice_.user_id, later));
  ASSERT_FALSE(bad_id.ok());
  EXPECT_EQ(bad_id.error().code(), Code::kUnprocessable);
  Status no_user = uploads_.create(upload(kId2, 999999, later));
  ASSERT_FALSE(no_user.ok());
  EXPECT_EQ(no_user.error().code(), Code::kUnprocessable);
  Upload huge = upload(kId2, alice_.user_id, later);
  huge.length = ~0ull;
  Status too_long = uploads_.create(huge);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Code::kUnprocessable);

  // Without a creation time the database's clock is used.
  Upload untimed = upload(kId2, alice_.user_id, later);
  untimed.created_at = TimePoint{};
  ASSERT_TRUE(uploads_.create(untimed).ok());
  auto got = uploads_.get(alice_.user_id, kId2);
  ASSERT_TRUE(got.ok());
  EXPECT_GT(got->created_at, now_utc() - std::chrono::minutes(5));
}

TEST_F(UploadsTest, RemoveExpiredReturnsTheTempFiles) {
  TimePoint now = now_utc();
  ASSERT_TRUE(uploads_.create(upload(kId1, alice_.user_id, now - std::chrono::minutes(1))).ok());
  ASSERT_TRUE(uploads_.create(upload(kId2, bob_.user_id, now + std::chrono::minutes(1))).ok());
  const std::string kId3 = "00000000000000000000000000000003";
  ASSERT_TRUE(uploads_.create(upload(kId3, bob_.user_id, now - std::chrono::hours(2))).ok());
  // A completed upload expires like any other.
  ASSERT_TRUE(uploads_.complete(kId3, submission_id()).ok());

  auto removed = uploads_.remove_expired(now);
  ASSERT_TRUE(removed.ok()) << removed.error().to_string();
  std::vector<std::string> names = *removed;
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"tus-" + kId3 + ".part", "tus-" + kId1 + ".part"}));
  EXPECT_FALSE(uploads_.get(alice_.user_id, kId1).ok());
  EXPECT_TRUE(uploads_.get(bob_.user_id, kId2).ok());
  // Nothing more to do until time passes.
  EXPECT_TRUE(uploads_.remove_expired(now)->empty());
  auto later = uploads_.remove_expired(now + std::chrono::minutes(2));
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, std::vector<std::string>{"tus-" + kId2 + ".part"});
  // The submission the upload completed into stays.
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM submissions"), "1");
}

}  // namespace
}  // namespace cw::store
