// Observations against the real database with the real geodata (the cw_geo_template database
// that scripts/test makes with `convoywatch geodata load`): derived values checked against an
// independent geodesic computation (pyproj + shapely, tests/support/border_distance.py), the
// movement rule, the two-person verification rule and its history, updates only while
// unverified, all-or-nothing import, filters and the gazetteer hints.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "common/time.hpp"
#include "store/audit.hpp"
#include "store/geodata.hpp"
#include "store/geolocations.hpp"
#include "store/observations.hpp"
#include "store/submissions.hpp"
#include "store/users.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

class ObservationsTest : public ::testing::Test {
 protected:
  ObservationsTest() : tdb_("cw_geo_template"), db_(config()) {
    auto add = [&](const char* name, Role role) {
      auto u = Users(db_).add(name, "CIT", role, Actor::system("test"), NewOrg::kCreate);
      EXPECT_TRUE(u.ok());
      return Users(db_).authenticate(u->token).value();
    };
    alice_ = add("alice", Role::kContributor);
    bob_ = add("bob", Role::kAnalyst);
    carol_ = add("carol", Role::kAnalyst);
  }

  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 4;
    return c;
  }

  static ObservationInput at(double lat, double lon, std::optional<double> heading) {
    ObservationInput in;
    in.observed_at = parse_rfc3339("2022-02-20T06:30:00Z").value();
    in.lat = lat;
    in.lon = lon;
    in.location_precision = "vicinity";
    in.heading_deg = heading;
    in.equipment = {{"tank", 4}, {"truck", 10}};
    return in;
  }

  test::TestDatabase tdb_;
  Database db_;
  Principal alice_, bob_, carol_;
};

TEST_F(ObservationsTest, GeodataIsLoadedWithItsSources) {
  auto layers = geodata_layers(db_);
  ASSERT_TRUE(layers.ok());
  ASSERT_EQ(layers->size(), 4u) << "run scripts/test: it loads data/geodata into the template";
  for (const auto& l : *layers) {
    EXPECT_FALSE(l.version.empty()) << l.layer;
    EXPECT_FALSE(l.license.empty()) << l.layer;
    EXPECT_GT(l.features, 0) << l.layer;
  }
  // The land border as published: about 1,974 km with Russia and 1,084 km with Belarus; the
  // OSM-based line is a little longer.
  double ru = std::stod(tdb_.query_value(
      "SELECT ST_Length(geom::geography) / 1000 FROM geo_border WHERE neighbour = 'RUS'"));
  double by = std::stod(tdb_.query_value(
      "SELECT ST_Length(geom::geography) / 1000 FROM geo_border WHERE neighbour = 'BLR'"));
  EXPECT_NEAR(ru, 1995, 40);
  EXPECT_NEAR(by, 1090, 30);
}

// Towns on both sides of the border, coordinates pinned from GeoNames (cities500).
struct Town {
  const char* name;
  double lat, lon;
  const char* country;
  const char* oblast;
};
const Town kTowns[] = {
    {"Belgorod", 50.61074, 36.58015, "RUS", "RU-BEL"},
    {"Kursk", 51.73733, 36.18735, "RUS", "RU-KRS"},
    {"Bryansk", 53.25209, 34.37167, "RUS", "RU-BRY"},
    {"Voronezh", 51.67204, 39.1843, "RUS", "RU-VOR"},
    {"Valuyki", 50.2035, 38.1067, "RUS", "RU-BEL"},
    {"Shebekino", 50.40967, 36.9136, "RUS", "RU-BEL"},
    {"Sudzha", 51.1976, 35.2726, "RUS", "RU-KRS"},
    {"Klintsy", 52.76019, 32.23935, "RUS", "RU-BRY"},
    {"Novozybkov", 52.5396, 31.9275, "RUS", "RU-BRY"},
    {"Kharkiv", 49.98081, 36.25272, "UKR", "UA-63"},
    {"Sumy", 50.9216, 34.80029, "UKR", "UA-59"},
    {"Chernihiv", 51.50551, 31.28487, "UKR", "UA-74"},
    {"Vovchansk", 50.29078, 36.94108, "UKR", "UA-63"},
    {"Kupiansk", 49.71003, 37.61581, "UKR", "UA-63"},
    {"Shostka", 51.86296, 33.4698, "UKR", "UA-59"},
    {"Okhtyrka", 50.31036, 34.89879, "UKR", "UA-59"},
    {"Mazyr", 52.0495, 29.2456, "BLR", "BY-HO"},
    {"Pinsk", 52.1229, 26.0951, "BLR", "BY-BR"},
    {"Brest", 52.09755, 23.68775, "BLR", "BY-BR"},
};

TEST_F(ObservationsTest, BorderDistancesAgreeWithAnIndependentGeodesicComputation) {
  std::vector<std::string> argv = {"/usr/bin/python3",
                                   std::string(CW_SOURCE_DIR) + "/tests/support/border_distance.py",
                                   std::string(CW_SOURCE_DIR) + "/data/geodata/border.geojson"};
  for (const Town& t : kTowns) argv.push_back(fmt::format("{},{}", t.lat, t.lon));
  auto ref = test::run_command(argv);
  ASSERT_EQ(ref.exit_code, 0) << ref.err;
  std::istringstream lines(ref.out);
  for (const Town& t : kTowns) {
    SCOPED_TRACE(t.name);
    double expected = 0;
    ASSERT_TRUE(lines >> expected);
    auto o = Observations(db_).create(alice_, at(t.lat, t.lon, std::nullopt));
    ASSERT_TRUE(o.ok()) << o.error().to_string();
    ASSERT_TRUE(o->derived.km_to_border.has_value());
    EXPECT_NEAR(*o->derived.km_to_border, expected, 0.5);
    EXPECT_EQ(o->derived.country.value_or(""), t.country);
    EXPECT_EQ(o->derived.oblast.value_or(""), t.oblast);
    EXPECT_EQ(o->derived.movement, "stationary");
    ASSERT_TRUE(o->derived.nearest_place.has_value());
    EXPECT_LT(o->derived.nearest_place_km.value_or(99), 5.0) << *o->derived.nearest_place;
  }
}

TEST_F(ObservationsTest, MovementIsRelativeToTheNearestBorderPoint) {
  // Belgorod: the border is to the south-west (bearing about 190°).
  Observations obs(db_);
  auto south = obs.create(alice_, at(50.61074, 36.58015, 200));
  ASSERT_TRUE(south.ok());
  ASSERT_TRUE(south->derived.bearing_to_border_deg.has_value());
  EXPECT_NEAR(*south->derived.bearing_to_border_deg, 190, 25);
  EXPECT_EQ(south->derived.movement, "toward");
  EXPECT_EQ(obs.create(alice_, at(50.61074, 36.58015, 20))->derived.movement, "away");
  EXPECT_EQ(obs.create(alice_, at(50.61074, 36.58015, 290))->derived.movement, "parallel");
  // Kharkiv: the border is to the north; a column heading north moves toward it.
  EXPECT_EQ(obs.create(alice_, at(49.98081, 36.25272, 5))->derived.movement, "toward");
  // Crimea is Ukraine in our data (the internationally recognised border).
  auto crimea = obs.create(alice_, at(44.9521, 34.1024, 0));  // Simferopol
  EXPECT_EQ(crimea->derived.country.value_or(""), "UKR");
  EXPECT_EQ(crimea->derived.oblast.value_or(""), "UA-43");
  // Far from any data of ours: no border distance, movement unknown.
  auto far = obs.create(alice_, at(-33.9, 18.4, 90));
  EXPECT_FALSE(far->derived.country.has_value());
  ASSERT_TRUE(far->derived.km_to_border.has_value());  // the border is still the border
  EXPECT_GT(*far->derived.km_to_border, 5000);
}

TEST_F(ObservationsTest, VerificationFollowsTheTwoPersonRuleAndKeepsHistory) {
  Observations obs(db_);
  auto o = obs.create(bob_, at(50.61074, 36.58015, 200));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->status, "unverified");
  auto self = obs.verify(bob_, o->id, "verified", "I saw it");
  ASSERT_FALSE(self.ok());
  EXPECT_EQ(self.error().code(), Code::kForbidden);
  auto disputed = obs.verify(carol_, o->id, "disputed", "shadows disagree with 06:30");
  ASSERT_TRUE(disputed.ok());
  EXPECT_EQ(disputed->status, "disputed");
  auto verified = obs.verify(carol_, o->id, "verified", "matched the satellite image");
  EXPECT_EQ(verified->status, "verified");
  auto history = obs.verdicts(o->id);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].verdict, "disputed");
  EXPECT_EQ((*history)[1].analyst, "carol");
  // Verified rows are no longer editable.
  auto edit = obs.update(bob_, o->id, at(50.0, 36.0, 0));
  ASSERT_FALSE(edit.ok());
  EXPECT_EQ(edit.error().code(), Code::kConflict);
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM audit_log WHERE action = 'observation.verify'"),
            "2");
  auto chain = AuditLog(db_).verify();
  ASSERT_TRUE(chain.ok());
  EXPECT_TRUE(chain->ok);
}

TEST_F(ObservationsTest, UpdatesReDeriveAndOnlyTheCreatorOrAnAnalystMayEdit) {
  Observations obs(db_);
  auto o = obs.create(alice_, at(50.61074, 36.58015, 200));
  ASSERT_TRUE(o.ok());
  auto other =
      Users(db_).add("dave", "CIT", Role::kContributor, Actor::system("test"), NewOrg::kCreate);
  Principal dave = Users(db_).authenticate(other->token).value();
  EXPECT_EQ(obs.update(dave, o->id, at(49.98081, 36.25272, 5)).error().code(), Code::kForbidden);
  auto moved = obs.update(alice_, o->id, at(49.98081, 36.25272, 5));
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->derived.country.value_or(""), "UKR");
  EXPECT_EQ(moved->derived.oblast.value_or(""), "UA-63");
  EXPECT_EQ(moved->derived.movement, "toward");
  ASSERT_TRUE(obs.remove(bob_, o->id).ok());
  EXPECT_EQ(obs.get(o->id).error().code(), Code::kNotFound);
  // The audit trail keeps what was deleted.
  EXPECT_NE(tdb_.query_value("SELECT diff::text FROM audit_log WHERE action = 'observation.delete'")
                .find("UA-63"),
            std::string::npos);
}

TEST_F(ObservationsTest, ImportIsAllOrNothingAndFiltersWork) {
  Observations obs(db_);
  std::vector<ObservationInput> rows;
  for (int i = 0; i < 200; ++i) {
    auto in =
        at(50.0 + i * 0.01, 36.0 + i * 0.01, i % 2 ? std::optional<double>(200) : std::nullopt);
    in.observed_at += std::chrono::hours(i);
    if (i % 3 == 0) in.equipment = {{"mlrs", 2}};
    rows.push_back(in);
  }
  rows[150].submission_id = 999999;  // no such submission: the whole import fails
  auto bad = obs.import(alice_, rows, "x");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().detail().find("row 151"), std::string::npos) << bad.error().detail();
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM observations"), "0");
  rows[150].submission_id.reset();
  auto ids = obs.import(alice_, rows, "x");
  ASSERT_TRUE(ids.ok()) << ids.error().to_string();
  EXPECT_EQ(ids->last - ids->first, 199);
  // Derived like single writes.
  auto first = obs.get(ids->first);
  auto single = obs.create(alice_, rows[0]);
  EXPECT_EQ(first->derived.oblast, single->derived.oblast);
  EXPECT_NEAR(*first->derived.km_to_border, *single->derived.km_to_border, 1e-9);
  EXPECT_EQ(tdb_.query_value("SELECT count(*) FROM audit_log WHERE action = 'observation.import'"),
            "1");

  ObservationFilter f;
  f.limit = 1000;
  f.equipment_type = "mlrs";
  EXPECT_EQ(obs.list(f)->size(), 67u + 1u);  // 67 imported + the single copy of row 0
  f = {};
  f.limit = 1000;
  f.bbox = std::array<double, 4>{36.0, 50.0, 36.5, 50.5};
  auto boxed = obs.list(f);
  for (const auto& o : *boxed) {
    EXPECT_LE(o.input.lon, 36.5);
    EXPECT_LE(o.input.lat, 50.5);
  }
  EXPECT_EQ(obs.list(f)->size(), 52u);  // rows 0..50, plus the single copy of row 0
  f = {};
  f.limit = 1000;
  f.from = rows[10].observed_at;
  f.to = rows[20].observed_at;
  EXPECT_EQ(obs.list(f)->size(), 10u);
  f = {};
  f.limit = 1000;
  f.movement = "toward";
  auto toward = obs.list(f);
  EXPECT_GT(toward->size(), 0u);
  for (const auto& o : *toward) EXPECT_TRUE(o.input.heading_deg.has_value());
  // Rejected rows are hidden unless asked for.
  ASSERT_TRUE(obs.verify(bob_, single->id, "rejected", "duplicate").ok());
  f = {};
  f.limit = 1000;
  EXPECT_EQ(obs.list(f)->size(), 200u);
  f.status = "any";
  EXPECT_EQ(obs.list(f)->size(), 201u);
  f.status = "rejected";
  EXPECT_EQ(obs.list(f)->size(), 1u);
}

TEST_F(ObservationsTest, PlaceHintsMatchLatinAndCyrillicInflectedNames) {
  Geolocations geo(db_);
  auto words = text_words("Колонна техники в сторону Белгорода, видео из Шебекино; near Valuyki");
  auto hints = geo.places_in(words, std::make_pair(50.6, 36.6));
  ASSERT_TRUE(hints.ok()) << hints.error().to_string();
  std::vector<std::string> names;
  for (const auto& h : *hints) names.push_back(h.name);
  auto has = [&](const char* n) { return std::find(names.begin(), names.end(), n) != names.end(); };
  EXPECT_TRUE(has("Belgorod")) << testing::PrintToString(names);
  EXPECT_TRUE(has("Shebekino")) << testing::PrintToString(names);
  EXPECT_TRUE(has("Valuyki")) << testing::PrintToString(names);
  EXPECT_EQ(names.front(), "Belgorod");  // the biggest and nearest to the claim
}

}  // namespace
}  // namespace cw::store
