// Submissions against the real PostgreSQL: create/get/list, visibility between organisations,
// shared media and exact duplicates, jobs, idempotent replays, the audit row and constraints.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <atomic>
#include <set>
#include <thread>

#include "store/audit.hpp"
#include "store/database.hpp"
#include "store/migrations.hpp"
#include "store/submissions.hpp"
#include "store/users.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

const std::string kShaA(64, 'a');
const std::string kShaB(64, 'b');

class SubmissionsTest : public ::testing::Test {
 protected:
  SubmissionsTest() : db_(config()), subs_(db_) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    alice_ = principal("alice", "Conflict Intelligence Team");
    bob_ = principal("bob", "Conflict Intelligence Team");
    carol_ = principal("carol", "Bellingcat");
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 6;
    return c;
  }
  Principal principal(const std::string& name, const std::string& org,
                      Role role = Role::kContributor) {
    Users users(db_);
    auto added = users.add(name, org, role, Actor::system("test"), NewOrg::kCreate);
    EXPECT_TRUE(added.ok()) << added.error().to_string();
    auto who = users.authenticate(added->token);
    EXPECT_TRUE(who.ok()) << who.error().to_string();
    return *who;
  }

  static StoredReply render(const Submission& s) {
    nlohmann::json body = {{"id", s.id}, {"status", s.status}};
    body["exact_duplicate_of"] =
        s.exact_duplicate_of ? nlohmann::json(*s.exact_duplicate_of) : nlohmann::json(nullptr);
    return StoredReply{201, body.dump(), "/api/v1/submissions/" + std::to_string(s.id)};
  }

  static SubmissionInput url_meta(const std::string& url, Visibility v = Visibility::kTaskforce) {
    SubmissionInput m;
    m.source_url = url;
    m.platform = "telegram";
    m.visibility = v;
    return m;
  }

  static MediaInput media(const std::string& sha, const std::string& filename) {
    return MediaInput{sha, 1234, "mp4", "video/mp4", filename};
  }

  // Creates and returns the submission id; fails the test on error or replay.
  int64_t create(const Principal& who, const SubmissionInput& meta,
                 const std::optional<MediaInput>& m, const std::string& key = "") {
    auto r = subs_.create(who, meta, m, key, render);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    if (!r.ok()) return 0;
    EXPECT_FALSE(r->second);
    return nlohmann::json::parse(r->first.body)["id"].get<int64_t>();
  }

  std::string count(const std::string& from_where) {
    return tdb_.query_value("SELECT count(*) FROM " + from_where);
  }

  test::TestDatabase tdb_;
  Database db_;
  Submissions subs_;
  Principal alice_, bob_, carol_;
};

TEST_F(SubmissionsTest, CreateThenGetReturnsEverything) {
  SubmissionInput meta;
  meta.source_url = "https://t.me/channel/1234";
  meta.platform = "telegram";
  meta.posted_at = TimePoint(std::chrono::microseconds(1645000000123456));
  meta.author = "@convoy_spotter";
  meta.description = "Колонна техники, Белгородская область — \"T-72\", 'BMP'";
  meta.claimed_location = ClaimedLocation{50.5977, 36.5858, 500.0, "Belgorod"};
  meta.tags = {"convoy", "t-72", "with,comma", "{brace}", "\"quoted\""};
  meta.visibility = Visibility::kOrg;
  TimePoint before = now_utc();
  int64_t id = create(alice_, meta, media(kShaA, "VID_0001.mp4"));

  auto got = subs_.get(alice_, id);
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  const Submission& s = *got;
  EXPECT_EQ(s.id, id);
  EXPECT_EQ(s.submitted_by, alice_.user_id);
  EXPECT_EQ(s.submitted_by_name, "alice");
  EXPECT_EQ(s.org_id, alice_.org_id);
  EXPECT_EQ(s.org_name, "Conflict Intelligence Team");
  EXPECT_EQ(s.status, "queued");
  EXPECT_EQ(s.meta.source_url, meta.source_url);
  EXPECT_EQ(s.meta.platform, meta.platform);
  EXPECT_EQ(s.meta.posted_at, meta.posted_at);
  EXPECT_EQ(s.meta.author, meta.author);
  EXPECT_EQ(s.meta.description, meta.description);
  ASSERT_TRUE(s.meta.claimed_location.has_value());
  EXPECT_NEAR(*s.meta.claimed_location->lat, 50.5977, 1e-9);
  EXPECT_NEAR(*s.meta.claimed_location->lon, 36.5858, 1e-9);
  EXPECT_EQ(s.meta.claimed_location->radius_m, 500.0);
  EXPECT_EQ(s.meta.claimed_location->place, "Belgorod");
  EXPECT_EQ(s.meta.tags, meta.tags);
  EXPECT_EQ(s.meta.visibility, Visibility::kOrg);
  ASSERT_TRUE(s.media.has_value());
  EXPECT_EQ(s.media->sha256, kShaA);
  EXPECT_EQ(s.media->size, 1234u);
  EXPECT_EQ(s.media->container, "mp4");
  EXPECT_EQ(s.media->mime, "video/mp4");
  EXPECT_EQ(s.original_filename, "VID_0001.mp4");
  EXPECT_FALSE(s.exact_duplicate_of.has_value());
  EXPECT_GE(s.created_at, before - std::chrono::seconds(5));
  EXPECT_LE(s.created_at, now_utc() + std::chrono::seconds(5));

  // The point is stored as a WGS 84 geography.
  EXPECT_EQ(tdb_.query_value("SELECT ST_AsText(claimed_location) FROM submissions"),
            "POINT(36.5858 50.5977)");

  // One process_media job, its payload naming the bytes and the submission.
  EXPECT_EQ(count("jobs"), "1");
  EXPECT_EQ(tdb_.query_value("SELECT kind || ' ' || state || ' ' || progress FROM jobs"),
            "process_media queued 0");
  auto payload = nlohmann::json::parse(tdb_.query_value("SELECT payload::text FROM jobs"));
  EXPECT_EQ(payload, (nlohmann::json{{"sha256", kShaA}, {"submission_id", id}}));

  // The audit row, in the chain.
  AuditLog audit(db_);
  auto entries = audit.list("submission/" + std::to_string(id), 0, 10);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  const AuditEntry& e = entries->at(0);
  EXPECT_EQ(e.action, "submission.create");
  EXPECT_EQ(e.actor, "alice");
  EXPECT_EQ(e.actor_id, alice_.user_id);
  EXPECT_EQ(e.diff["media"]["sha256"], kShaA);
  EXPECT_EQ(e.diff["media"]["new"], true);
  EXPECT_EQ(e.diff["platform"], "telegram");
  EXPECT_EQ(e.diff["visibility"], "org");
  EXPECT_EQ(e.diff["posted_at"], "2022-02-16T08:26:40.123456Z");
  EXPECT_EQ(e.diff["claimed_location"]["place"], "Belgorod");
  EXPECT_EQ(e.diff["tags"].size(), 5u);
  EXPECT_TRUE(e.diff["exact_duplicate_of"].is_null());
  EXPECT_EQ(e.diff["job"]["kind"], "process_media");
  auto v = audit.verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->reason;

  auto missing = subs_.get(alice_, id + 1000);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST_F(SubmissionsTest, MinimalSubmissionHasNoOptionalValues) {
  SubmissionInput meta;  // taskforce, no metadata at all
  int64_t id = create(alice_, meta, media(kShaA, ""));
  auto s = subs_.get(carol_, id);
  ASSERT_TRUE(s.ok()) << s.error().to_string();
  EXPECT_FALSE(s->meta.source_url);
  EXPECT_FALSE(s->meta.platform);
  EXPECT_FALSE(s->meta.posted_at);
  EXPECT_FALSE(s->meta.author);
  EXPECT_FALSE(s->meta.description);
  EXPECT_FALSE(s->meta.claimed_location);
  EXPECT_TRUE(s->meta.tags.empty());
  EXPECT_EQ(s->original_filename, "");

  // A place name alone is a claimed location too.
  SubmissionInput placed;
  placed.claimed_location = ClaimedLocation{std::nullopt, std::nullopt, std::nullopt, "Shebekino"};
  int64_t id2 = create(alice_, placed, media(kShaB, "b.mp4"));
  auto s2 = subs_.get(alice_, id2);
  ASSERT_TRUE(s2.ok());
  ASSERT_TRUE(s2->meta.claimed_location);
  EXPECT_FALSE(s2->meta.claimed_location->lat);
  EXPECT_EQ(s2->meta.claimed_location->place, "Shebekino");
}

TEST_F(SubmissionsTest, ListFiltersAndCursorPaging) {
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    SubmissionInput m = url_meta("https://x.com/u/status/" + std::to_string(i));
    m.platform = i % 2 == 0 ? "x" : "tiktok";
    ids.push_back(create(i < 3 ? alice_ : carol_, m, std::nullopt));
  }
  tdb_.exec("UPDATE submissions SET status = 'done' WHERE id = " + std::to_string(ids[1]));
  tdb_.exec("UPDATE submissions SET created_at = '2022-02-01T00:00:00Z' WHERE id IN (" +
            std::to_string(ids[0]) + "," + std::to_string(ids[1]) + ")");

  auto ids_of = [&](const SubmissionFilter& f) {
    auto r = subs_.list(bob_, f);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    std::vector<int64_t> out;
    if (r.ok())
      for (const Submission& s : *r) out.push_back(s.id);
    return out;
  };

  SubmissionFilter all;
  EXPECT_EQ(ids_of(all), ids);

  SubmissionFilter f;
  f.platform = "x";
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[0], ids[2], ids[4]}));
  f = {};
  f.status = "done";
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[1]}));
  f = {};
  f.status = "queued";
  f.platform = "tiktok";
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[3]}));
  f = {};
  f.submitted_by = carol_.user_id;
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[3], ids[4]}));
  f = {};
  f.org = alice_.org_id;
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[0], ids[1], ids[2]}));
  f = {};
  f.submitted_by = 0;  // present but matching nobody: not "no filter"
  EXPECT_TRUE(ids_of(f).empty());

  TimePoint feb10 = *parse_rfc3339("2022-02-10T00:00:00Z");
  f = {};
  f.since = feb10;
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[2], ids[3], ids[4]}));
  f = {};
  f.until = feb10;
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[0], ids[1]}));
  f = {};
  f.since = *parse_rfc3339("2022-02-01T00:00:00Z");  // inclusive
  f.until = feb10;                                   // exclusive
  EXPECT_EQ(ids_of(f), (std::vector<int64_t>{ids[0], ids[1]}));
  f.since = *parse_rfc3339("2022-02-01T00:00:00.000001Z");
  EXPECT_TRUE(ids_of(f).empty());

  // Cursor paging, two at a time, visits every row once.
  std::vector<int64_t> paged;
  SubmissionFilter page;
  page.limit = 2;
  for (int guard = 0; guard < 10; ++guard) {
    auto r = subs_.list(bob_, page);
    ASSERT_TRUE(r.ok());
    ASSERT_LE(r->size(), 2u);
    if (r->empty()) break;
    for (const Submission& s : *r) paged.push_back(s.id);
    page.after_id = r->back().id;
  }
  EXPECT_EQ(paged, ids);

  f = {};
  f.limit = 0;
  EXPECT_TRUE(ids_of(f).empty());
  f.limit = -3;
  EXPECT_TRUE(ids_of(f).empty());
}

TEST_F(SubmissionsTest, RetagAddsRemovesAuditsAndFilters) {
  const Principal analyst = principal("dora", "Conflict Intelligence Team", Role::kAnalyst);
  const Principal carol_analyst = principal("erin", "Bellingcat", Role::kAnalyst);
  SubmissionInput tagged = url_meta("https://t.me/a/1");
  tagged.tags = {"checked", "kursk"};
  const int64_t a = create(alice_, tagged, std::nullopt);
  const int64_t b = create(bob_, url_meta("https://t.me/a/2"), std::nullopt);
  const int64_t priv = create(alice_, url_meta("https://t.me/a/3", Visibility::kOrg), std::nullopt);
  const int64_t c = create(carol_, url_meta("https://t.me/a/4"), std::nullopt);

  auto tags_of = [&](int64_t id) { return subs_.get(alice_, id)->meta.tags; };
  auto by_tag = [&](const Principal& who, const std::string& tag) {
    SubmissionFilter f;
    f.tag = tag;
    std::vector<int64_t> out;
    auto rows = subs_.list(who, f);
    EXPECT_TRUE(rows.ok()) << rows.error().to_string();
    if (rows.ok()) {
      for (const Submission& s : *rows) out.push_back(s.id);
    }
    return out;
  };

  // An analyst tags any submission of their organisation, repeats once, in the order given.
  auto r = subs_.retag(analyst, {b, a, b}, {"sensitive", "kursk"}, {"checked"});
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ(r->at(0).id, b);
  EXPECT_EQ(r->at(0).tags, (std::vector<std::string>{"sensitive", "kursk"}));
  EXPECT_EQ(r->at(1).id, a);
  EXPECT_EQ(r->at(1).tags, (std::vector<std::string>{"kursk", "sensitive"}));
  EXPECT_EQ(tags_of(a), (std::vector<std::string>{"kursk", "sensitive"}));
  EXPECT_EQ(by_tag(bob_, "sensitive"), (std::vector<int64_t>{a, b}));
  EXPECT_TRUE(by_tag(bob_, "checked").empty());
  EXPECT_TRUE(by_tag(bob_, "Sensitive").empty());  // exact, case-sensitive
  EXPECT_EQ(count("audit_log WHERE action = 'submission.tag'"), "2");
  EXPECT_EQ(tdb_.query_value("SELECT diff::text FROM audit_log WHERE action = 'submission.tag' "
                             "AND object = 'submission/" +
                             std::to_string(a) + "'"),
            R"({"tags": ["kursk", "sensitive"], "added": ["sensitive"], "removed": ["checked"]})");

  // Nothing changes, nothing is audited.
  ASSERT_TRUE(subs_.retag(analyst, {a}, {"kursk"}, {"absent"}).ok());
  EXPECT_EQ(count("audit_log WHERE action = 'submission.tag'"), "2");

  // A contributor tags only their own submissions; all or nothing.
  auto refused = subs_.retag(alice_, {a, b}, {"mine"}, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code(), Code::kForbidden);
  EXPECT_EQ(tags_of(a), (std::vector<std::string>{"kursk", "sensitive"}));
  EXPECT_TRUE(subs_.retag(alice_, {a, priv}, {"mine"}, {}).ok());
  EXPECT_EQ(by_tag(alice_, "mine"), (std::vector<int64_t>{a, priv}));

  // Another organisation: its org-private rows do not exist for it, its taskforce rows are seen
  // but not tagged; an unknown id is not found either.
  auto hidden = subs_.retag(carol_analyst, {c, priv}, {"x"}, {});
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code(), Code::kNotFound);
  EXPECT_EQ(hidden.error().detail(), "no submission " + std::to_string(priv));
  EXPECT_EQ(subs_.retag(carol_analyst, {c, a}, {"x"}, {}).error().code(), Code::kForbidden);
  EXPECT_EQ(subs_.retag(carol_analyst, {c, 999999}, {"x"}, {}).error().code(), Code::kNotFound);
  EXPECT_TRUE(by_tag(carol_, "x").empty());
  EXPECT_TRUE(by_tag(carol_, "mine").size() == 1u);  // a, not the org-private one

  // At most kMaxTags tags on a submission.
  std::vector<std::string> many;
  for (size_t i = 0; i < Submissions::kMaxTags; ++i) many.push_back("t" + std::to_string(i));
  auto too_many = subs_.retag(carol_analyst, {c}, many, {});
  ASSERT_TRUE(too_many.ok()) << too_many.error().to_string();
  auto over = subs_.retag(carol_analyst, {c}, {"one-more"}, {});
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().code(), Code::kUnprocessable);
  EXPECT_EQ(over.error().field(), "add");
}

TEST_F(SubmissionsTest, OrgPrivateRowsAreInvisibleToOtherOrganisations) {
  int64_t priv =
      create(alice_, url_meta("https://t.me/a/1", Visibility::kOrg), media(kShaA, "private.mp4"));
  int64_t pub = create(alice_, url_meta("https://t.me/a/2"), media(kShaB, "public.mp4"));

  // Same organisation, any user: visible.
  EXPECT_TRUE(subs_.get(bob_, priv).ok());
  // Another organisation: not found, not listed, its media not served.
  auto hidden = subs_.get(carol_, priv);
  ASSERT_FALSE(hidden.ok());
  EXPECT_EQ(hidden.error().code(), Code::kNotFound);
  auto listed = subs_.list(carol_, SubmissionFilter{});
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).id, pub);
  SubmissionFilter by_alice;
  by_alice.submitted_by = alice_.user_id;
  EXPECT_EQ(subs_.list(carol_, by_alice)->size(), 1u);
  auto media_hidden = subs_.media_for(carol_, kShaA);
  ASSERT_FALSE(media_hidden.ok());
  EXPECT_EQ(media_hidden.error().code(), Code::kNotFound);

  auto media_bob = subs_.media_for(bob_, kShaA);
  ASSERT_TRUE(media_bob.ok()) << media_bob.error().to_string();
  EXPECT_EQ(media_bob->first.sha256, kShaA);
  EXPECT_EQ(media_bob->first.size, 1234u);
  EXPECT_EQ(media_bob->second, "private.mp4");
  auto media_pub = subs_.media_for(carol_, kShaB);
  ASSERT_TRUE(media_pub.ok());
  EXPECT_EQ(media_pub->second, "public.mp4");

  auto unknown = subs_.media_for(alice_, std::string(64, 'c'));
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code(), Code::kNotFound);
  EXPECT_EQ(subs_.media_for(alice_, "not-a-hash").error().code(), Code::kNotFound);
}

TEST_F(SubmissionsTest, SharedMediaIsOneRowAndTheLaterIsAnExactDuplicate) {
  int64_t first = create(alice_, url_meta("https://t.me/a/1"), media(kShaA, "first.mp4"));
  int64_t second = create(carol_, url_meta("https://t.me/b/9"), media(kShaA, "second.mp4"));

  EXPECT_EQ(count("media"), "1");
  EXPECT_EQ(count("jobs WHERE kind = 'process_media'"), "1");
  auto s2 = subs_.get(carol_, second);
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->exact_duplicate_of, first);
  EXPECT_EQ(s2->original_filename, "second.mp4");
  EXPECT_EQ(s2->status, "queued");
  auto s1 = subs_.get(carol_, first);
  ASSERT_TRUE(s1.ok());
  EXPECT_FALSE(s1->exact_duplicate_of.has_value());  // the original is nobody's duplicate

  // media_for names the earliest visible submission's file.
  EXPECT_EQ(subs_.media_for(carol_, kShaA)->second, "first.mp4");

  // A later duplicate of bytes already processed is not left waiting for a job that never comes.
  tdb_.exec("UPDATE submissions SET status = 'done' WHERE media_sha256 = '" + kShaA + "'");
  int64_t third = create(bob_, url_meta("https://t.me/c/3"), media(kShaA, "third.mp4"));
  auto s3 = subs_.get(bob_, third);
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->status, "done");
  EXPECT_EQ(s3->exact_duplicate_of, first);
  EXPECT_EQ(count("jobs"), "1");

  AuditLog audit(db_);
  auto e = audit.list("submission/" + std::to_string(second), 0, 10);
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->size(), 1u);
  EXPECT_EQ(e->at(0).diff["exact_duplicate_of"], first);
  EXPECT_EQ(e->at(0).diff["media"]["new"], false);
  EXPECT_TRUE(e->at(0).diff["job"].is_null());
}

TEST_F(SubmissionsTest, ExactDuplicateNeverPointsAtAnInvisibleSubmission) {
  int64_t priv =
      create(alice_, url_meta("https://t.me/a/1", Visibility::kOrg), media(kShaA, "private.mp4"));
  // carol (another org) sends the same bytes: she must not learn that alice's org has them.
  auto r = subs_.create(carol_, url_meta("https://t.me/b/1"), media(kShaA, "mine.mp4"), "", render);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto body = nlohmann::json::parse(r->first.body);
  EXPECT_TRUE(body["exact_duplicate_of"].is_null()) << body;
  int64_t mine = body["id"].get<int64_t>();
  auto as_carol = subs_.get(carol_, mine);
  ASSERT_TRUE(as_carol.ok());
  EXPECT_FALSE(as_carol->exact_duplicate_of.has_value());
  EXPECT_EQ(subs_.media_for(carol_, kShaA)->second, "mine.mp4");
  AuditLog audit(db_);
  EXPECT_TRUE(audit.list("submission/" + std::to_string(mine), 0, 10)
                  ->at(0)
                  .diff["exact_duplicate_of"]
                  .is_null());
  // alice's organisation sees both and the link.
  auto as_bob = subs_.get(bob_, mine);
  ASSERT_TRUE(as_bob.ok());
  EXPECT_EQ(as_bob->exact_duplicate_of, priv);
  EXPECT_EQ(subs_.media_for(bob_, kShaA)->second, "private.mp4");
}

TEST_F(SubmissionsTest, UrlOnlySubmissionQueuesAFetch) {
  int64_t id = create(alice_, url_meta("https://www.tiktok.com/@u/video/7"), std::nullopt);
  auto s = subs_.get(alice_, id);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->status, "queued");
  EXPECT_FALSE(s->media.has_value());
  EXPECT_FALSE(s->exact_duplicate_of.has_value());
  EXPECT_EQ(count("media"), "0");
  EXPECT_EQ(tdb_.query_value("SELECT kind FROM jobs"), "fetch_url");
  auto payload = nlohmann::json::parse(tdb_.query_value("SELECT payload::text FROM jobs"));
  EXPECT_EQ(payload,
            (nlohmann::json{{"submission_id", id}, {"url", "https://www.tiktok.com/@u/video/7"}}));

  // Neither a video nor a URL: nothing to work with.
  SubmissionInput empty;
  auto r = subs_.create(alice_, empty, std::nullopt, "", render);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnprocessable);
}

TEST_F(SubmissionsTest, NewJobsAreAnnouncedOnCwJobs) {
  struct Receiver : pqxx::notification_receiver {
    using pqxx::notification_receiver::notification_receiver;
    std::vector<std::string> payloads;
    void operator()(const std::string& payload, int) override { payloads.push_back(payload); }
  };
  pqxx::connection listener(tdb_.url());
  Receiver receiver(listener, "cw_jobs");
  listener.get_notifs();
  create(alice_, url_meta("https://t.me/a/1"), std::nullopt);
  for (int i = 0; i < 50 && receiver.payloads.empty(); ++i) listener.await_notification(0, 100000);
  ASSERT_EQ(receiver.payloads.size(), 1u);
  EXPECT_EQ(receiver.payloads[0], "fetch_url");
}

TEST_F(SubmissionsTest, IdempotencyKeyReplaysTheFirstReply) {
  int rendered = 0;
  auto counting = [&](const Submission& s) {
    ++rendered;
    return render(s);
  };
  auto first =
      subs_.create(alice_, url_meta("https://t.me/a/1"), media(kShaA, "a.mp4"), "key-1", counting);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_FALSE(first->second);
  // A retry — even with different content — gets the stored first answer and writes nothing.
  auto again = subs_.create(alice_, url_meta("https://t.me/other"), media(kShaB, "b.mp4"), "key-1",
                            counting);
  ASSERT_TRUE(again.ok()) << again.error().to_string();
  EXPECT_TRUE(again->second);
  EXPECT_EQ(again->first.status, first->first.status);
  EXPECT_EQ(again->first.body, first->first.body);
  EXPECT_EQ(again->first.location, first->first.location);
  EXPECT_EQ(rendered, 1);
  EXPECT_EQ(count("submissions"), "1");
  EXPECT_EQ(count("media"), "1");
  EXPECT_EQ(count("jobs"), "1");
  EXPECT_EQ(count("audit_log WHERE action = 'submission.create'"), "1");

  auto stored = subs_.find_idempotent(alice_.user_id, "key-1");
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->has_value());
  EXPECT_EQ((*stored)->body, first->first.body);
  EXPECT_EQ((*stored)->status, 201);
  EXPECT_FALSE(subs_.find_idempotent(alice_.user_id, "key-2")->has_value());
  EXPECT_FALSE(subs_.find_idempotent(bob_.user_id, "key-1")->has_value());
  EXPECT_FALSE(subs_.find_idempotent(alice_.user_id, "")->has_value());

  // The same key from another user is another request.
  auto other = subs_.create(bob_, url_meta("https://t.me/a/1"), std::nullopt, "key-1", render);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->second);
  EXPECT_NE(other->first.body, first->first.body);
  EXPECT_EQ(count("submissions"), "2");

  // Without a key nothing is stored.
  create(alice_, url_meta("https://t.me/a/1"), std::nullopt);
  EXPECT_EQ(count("idempotency_keys"), "2");

  std::string long_key(201, 'k');
  auto too_long =
      subs_.create(alice_, url_meta("https://t.me/a/1"), std::nullopt, long_key, render);
  ASSERT_FALSE(too_long.ok());
  EXPECT_EQ(too_long.error().code(), Code::kUnprocessable);
}

TEST_F(SubmissionsTest, ConcurrentRequestsWithOneKeyMakeOneSubmission) {
  constexpr int kThreads = 5;
  std::vector<std::thread> threads;
  std::vector<Result<std::pair<StoredReply, bool>>> results(kThreads,
                                                            Error(Code::kInternal, "not run"));
  std::atomic<bool> go{false};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      results[i] = subs_.create(alice_, url_meta("https://t.me/a/1"), media(kShaA, "a.mp4"),
                                "same-key", render);
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  int fresh = 0;
  std::set<std::string> bodies;
  for (auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    if (!r->second) ++fresh;
    bodies.insert(r->first.body);
  }
  EXPECT_EQ(fresh, 1);
  EXPECT_EQ(bodies.size(), 1u);
  EXPECT_EQ(count("submissions"), "1");
  EXPECT_EQ(count("jobs"), "1");
  auto v = AuditLog(db_).verify();
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->ok) << v->reason;
}

TEST_F(SubmissionsTest, ConcurrentSubmissionsOfNewBytesStartOneJob) {
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  std::atomic<bool> go{false};
  std::atomic<int> ok{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      while (!go) std::this_thread::yield();
      auto r = subs_.create(i % 2 ? alice_ : carol_, url_meta("https://t.me/a/1"),
                            media(kShaB, "f" + std::to_string(i) + ".mp4"), "", render);
      if (r.ok()) ++ok;
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok, kThreads);
  EXPECT_EQ(count("media"), "1");
  EXPECT_EQ(count("submissions"), std::to_string(kThreads));
  EXPECT_EQ(count("jobs"), "1");
}

TEST_F(SubmissionsTest, BadValuesAreRejectedAndNothingIsWritten) {
  auto expect_unprocessable = [&](const SubmissionInput& meta, const std::optional<MediaInput>& m) {
    auto r = subs_.create(alice_, meta, m, "k", render);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code(), Code::kUnprocessable) << r.error().to_string();
  };
  // The platform CHECK constraint, through the store's error mapping.
  SubmissionInput bad_platform = url_meta("https://t.me/a/1");
  bad_platform.platform = "myspace";
  expect_unprocessable(bad_platform, media(kShaA, "a.mp4"));
  // The media hash CHECK.
  expect_unprocessable(url_meta("https://t.me/a/1"), media("ABC", "a.mp4"));
  // A point off the globe, half a point, a negative radius.
  SubmissionInput off = url_meta("https://t.me/a/1");
  off.claimed_location = ClaimedLocation{91.0, 10.0, std::nullopt, std::nullopt};
  expect_unprocessable(off, std::nullopt);
  off.claimed_location = ClaimedLocation{50.0, std::nullopt, std::nullopt, std::nullopt};
  expect_unprocessable(off, std::nullopt);
  off.claimed_location = ClaimedLocation{50.0, 30.0, -1.0, std::nullopt};
  expect_unprocessable(off, std::nullopt);
  // Text PostgreSQL cannot store: not UTF-8, or a NUL that libpq would cut the value at.
  SubmissionInput latin1 = url_meta("https://t.me/a/1");
  latin1.description = std::string("caf\xe9");
  expect_unprocessable(latin1, std::nullopt);
  SubmissionInput nul = url_meta("https://t.me/a/1");
  nul.author = std::string("a\0b", 3);
  expect_unprocessable(nul, std::nullopt);
  // A time before PostgreSQL's range (4713 BC).
  SubmissionInput far = url_meta("https://t.me/a/1");
  far.posted_at = TimePoint(std::chrono::microseconds(std::numeric_limits<int64_t>::min() / 2));
  expect_unprocessable(far, std::nullopt);

  for (const char* table : {"submissions", "media", "jobs", "idempotency_keys", "audit_log"}) {
    EXPECT_EQ(
        count(std::string(table) +
              (std::string(table) == "audit_log" ? " WHERE action = 'submission.create'" : "")),
        "0")
        << table;
  }
  // The key was not used up by the failed attempts.
  EXPECT_TRUE(create(alice_, url_meta("https://t.me/a/1"), std::nullopt, "k") > 0);

  // The status CHECK holds for the pipeline's updates too.
  EXPECT_THROW(tdb_.exec("UPDATE submissions SET status = 'lost'"), pqxx::check_violation);
  EXPECT_THROW(tdb_.exec("UPDATE jobs SET progress = 101"), pqxx::check_violation);
  EXPECT_THROW(tdb_.exec("UPDATE submissions SET source_url = NULL"), pqxx::check_violation);
}

}  // namespace
}  // namespace cw::store
