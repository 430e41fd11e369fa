// store::Imagery on a real PostgreSQL + PostGIS: rows round-trip (footprint, geotransform,
// corners), the bbox and time filters use the footprint, the same bytes twice conflict,
// comparisons and matches are written with their job and audit row or not at all, and results
// are stored and audited.
#include "store/imagery.hpp"

#include <gtest/gtest.h>

#include "store/database.hpp"
#include "store/migrations.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

class ImageryStoreTest : public ::testing::Test {
 protected:
  ImageryStoreTest() : db_(config()), imagery_(db_) {
    auto r = migrate(db_, builtin_migrations());
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    auto u = Users(db_).add("ana", "CIT", Role::kAnalyst, Actor::system("test"), NewOrg::kCreate);
    EXPECT_TRUE(u.ok());
    ana_ = Users(db_).authenticate(u->token).value();
  }
  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 4;
    return c;
  }
  // A square image of `side` degrees with its south-west corner at (lat, lon).
  static ImageryInput square(char hex, double lat, double lon, double side, const char* at) {
    ImageryInput in;
    in.sha256 = std::string(64, hex);
    in.kind = ImageryKind::kImage;
    in.original_filename = "a.png";
    in.bytes = 1000;
    in.width = 100;
    in.height = 100;
    in.bands = 3;
    in.driver = "PNG";
    in.data_type = "Byte";
    in.crs_wkt = "GEOGCS[\"WGS 84\"]";
    in.captured_at = parse_rfc3339(at).value();
    in.source = "Planet";
    in.ground_resolution_m = 3;
    in.corners = std::array<geo::GeoPoint, 4>{
        geo::GeoPoint{lat + side, lon, {}}, geo::GeoPoint{lat + side, lon + side, {}},
        geo::GeoPoint{lat, lon + side, {}}, geo::GeoPoint{lat, lon, {}}};
    in.footprint = {in.corners->begin(), in.corners->end()};
    return in;
  }

  test::TestDatabase tdb_;
  Database db_;
  Imagery imagery_;
  Principal ana_;
};

TEST_F(ImageryStoreTest, RowsRoundTripAndListsFilterByFootprintAndTime) {
  ImageryInput tif = square('a', 50.6, 36.5, 0.1, "2022-02-14T08:00:00Z");
  tif.kind = ImageryKind::kGeoTiff;
  tif.corners.reset();
  tif.geotransform = std::array<double, 6>{330000.25, 0.5, 0, 5607000.125, 0, -0.5};
  auto a = imagery_.create(ana_, tif);
  ASSERT_TRUE(a.ok()) << a.error().to_string();
  EXPECT_EQ(a->in.geotransform, tif.geotransform);
  EXPECT_FALSE(a->in.corners.has_value());
  EXPECT_EQ(a->in.footprint, tif.footprint);
  EXPECT_EQ(a->in.captured_at, tif.captured_at);
  EXPECT_EQ(a->created_by_name, "ana");
  EXPECT_EQ(a->org_name, "CIT");
  auto b = imagery_.create(ana_, square('b', 48.0, 30.0, 0.1, "2022-02-20T08:00:00Z"));
  ASSERT_TRUE(b.ok()) << b.error().to_string();
  EXPECT_EQ(b->in.corners, square('b', 48.0, 30.0, 0.1, "2022-02-20T08:00:00Z").corners);

  auto ids = [&](const ImageryFilter& f) {
    std::vector<int64_t> out;
    auto rows = imagery_.list(f);
    EXPECT_TRUE(rows.ok()) << rows.error().to_string();
    if (rows.ok()) {
      for (const auto& r : *rows) out.push_back(r.id);
    }
    return out;
  };
  struct Case {
    std::string what;
    ImageryFilter filter;
    std::vector<int64_t> expected;
  };
  auto at = [](const char* t) { return parse_rfc3339(t).value(); };
  const std::vector<Case> cases = {
      {"all", {}, {a->id, b->id}},
      {"bbox over a's corner", {geo::BBox{36.55, 50.65, 37.0, 51.0}, {}, {}, 0, 50}, {a->id}},
      {"bbox touching nothing", {geo::BBox{36.61, 50.71, 37.0, 51.0}, {}, {}, 0, 50}, {}},
      {"from", {std::nullopt, at("2022-02-15T00:00:00Z"), {}, 0, 50}, {b->id}},
      {"to (exclusive)", {std::nullopt, {}, at("2022-02-20T08:00:00Z"), 0, 50}, {a->id}},
      {"after a", {std::nullopt, {}, {}, a->id, 50}, {b->id}},
      {"limit 1", {std::nullopt, {}, {}, 0, 1}, {a->id}},
  };
  for (const auto& c : cases) EXPECT_EQ(ids(c.filter), c.expected) << c.what;

  auto again = imagery_.create(ana_, square('b', 10, 10, 1, "2022-02-20T08:00:00Z"));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kConflict);
  auto found = imagery_.find_by_sha256(std::string(64, 'b'));
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(*found, b->id);
  EXPECT_EQ(imagery_.get(999).error().code(), Code::kNotFound);
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM audit_log WHERE action = 'imagery.create'"),
            "2");
}

TEST_F(ImageryStoreTest, TasksAreWrittenWithTheirJobOrNotAtAll) {
  auto a = imagery_.create(ana_, square('a', 50.6, 36.5, 0.1, "2022-02-14T08:00:00Z")).value();
  auto b = imagery_.create(ana_, square('b', 50.6, 36.5, 0.1, "2022-02-20T08:00:00Z")).value();
  const std::vector<geo::GeoPoint> area = {
      {50.6, 36.5, {}}, {50.6, 36.55, {}}, {50.65, 36.55, {}}, {50.65, 36.5, {}}};
  const std::vector<geo::GeoPoint> bow_tie = {
      {50.6, 36.5, {}}, {50.65, 36.55, {}}, {50.6, 36.55, {}}, {50.65, 36.5, {}}};
  struct Case {
    std::string what;
    int64_t before, after;
    std::optional<std::vector<geo::GeoPoint>> area;
    std::string field;
  };
  const std::vector<Case> refused = {
      {"missing before", 999, b.id, std::nullopt, "before"},
      {"missing after", a.id, 999, std::nullopt, "after"},
      {"same image", a.id, a.id, std::nullopt, "after"},
      {"two points", a.id, b.id, std::vector<geo::GeoPoint>(area.begin(), area.begin() + 2),
       "area"},
      {"self-intersecting", a.id, b.id, bow_tie, "area"},
  };
  for (const auto& c : refused) {
    auto r = imagery_.create_compare(ana_, c.before, c.after, c.area);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_EQ(r.error().code(), Code::kUnprocessable) << c.what;
    EXPECT_EQ(r.error().field(), c.field) << c.what << ": " << r.error().detail();
  }
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM jobs"), "0");
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM imagery_tasks"), "0");

  auto t = imagery_.create_compare(ana_, a.id, b.id, area);
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  EXPECT_EQ(t->job.kind, Imagery::kCompareJob);
  EXPECT_EQ(t->job.payload, nlohmann::json({{"task_id", t->id}}));
  EXPECT_EQ(t->job.state, JobState::kQueued);
  ASSERT_TRUE(t->area.has_value());
  EXPECT_EQ(t->area->size(), 5u);  // closed
  EXPECT_FALSE(t->result.has_value());
  EXPECT_EQ(imagery_.task_for_job(t->job_id).value().id, t->id);
  // A comparison is not a match, and the other way round.
  EXPECT_EQ(imagery_.get_task(t->id, ImageryTaskKind::kMatch).error().code(), Code::kNotFound);

  ASSERT_TRUE(
      imagery_.save_result(t->id, {{"inliers", 120}, {"blob_count", 3}, {"blobs", {}}}).ok());
  auto done = imagery_.get_task(t->id, ImageryTaskKind::kCompare);
  ASSERT_TRUE(done.ok());
  ASSERT_TRUE(done->result.has_value());
  EXPECT_EQ((*done->result)["inliers"], 120);
  EXPECT_TRUE(done->finished_at.has_value());
  EXPECT_EQ(tdb_.query_value("SELECT diff::text FROM audit_log WHERE action = 'imagery.result'"),
            R"({"kind": "compare", "inliers": 120, "blob_count": 3})");

  // A match needs imagery that exists (and media: the foreign key).
  auto no_imagery = imagery_.create_match(ana_, 999, std::string(64, 'c'), 0);
  ASSERT_FALSE(no_imagery.ok());
  EXPECT_EQ(no_imagery.error().field(), "imagery_id");
  auto no_media = imagery_.create_match(ana_, a.id, std::string(64, 'c'), 0);
  ASSERT_FALSE(no_media.ok());
  EXPECT_EQ(no_media.error().code(), Code::kUnprocessable);
  tdb_.exec("INSERT INTO media (sha256, size) VALUES ('" + std::string(64, 'c') + "', 10)");
  auto m = imagery_.create_match(ana_, a.id, std::string(64, 'c'), 3);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->job.kind, Imagery::kMatchJob);
  EXPECT_EQ(m->frame_index, 3);
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM jobs"), "2");
  EXPECT_EQ(tdb_.query_value("SELECT string_agg(action, ',' ORDER BY id) FROM audit_log "
                             "WHERE action LIKE 'imagery.%' AND action <> 'imagery.create'"),
            "imagery.compare,imagery.result,imagery.match");
}

}  // namespace
}  // namespace cw::store
