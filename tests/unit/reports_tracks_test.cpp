// Tests for reports/tracks: a table of linking scenarios (each sighting set and edit list with
// the partition it must give), track statistics, validation, and independence from input order.
//
// Positions are laid out with geo::destination along one geodesic, so the leg lengths are known
// exactly: a convoy leaving Belgorod on bearing 200 at 40 km/h is 40 km further every hour.
#include "reports/tracks.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "geo/geodesic.hpp"

namespace cw::reports {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

const geo::GeoPoint kBelgorod{50.5997, 36.5983, std::nullopt};
const TimePoint kT0 = TimePoint{} + std::chrono::seconds(1645000000);  // 2022-02-16T08:26:40Z

using Equipment = std::map<std::string, int>;
const Equipment kArmour{{"tank", 10}, {"truck", 5}};

// A sighting `km` along the geodesic from Belgorod on bearing 200, `offset` after kT0.
Sighting along(int64_t id, std::chrono::minutes offset, double km, std::optional<double> heading,
               Equipment equipment = kArmour, int vehicles = 15,
               std::optional<double> km_to_border = std::nullopt) {
  const geo::GeoPoint p = geo::destination(kBelgorod, 200.0, km * 1000.0);
  Sighting s;
  s.id = id;
  s.observed_at = kT0 + offset;
  s.lat = p.lat;
  s.lon = p.lon;
  s.heading_deg = heading;
  s.equipment = std::move(equipment);
  s.vehicles = vehicles;
  s.km_to_border = km_to_border;
  return s;
}

// A second convoy 60 km east of the first, going the other way (bearing 20).
Sighting east(int64_t id, std::chrono::minutes offset, double km) {
  const geo::GeoPoint start = geo::destination(kBelgorod, 90.0, 60000.0);
  const geo::GeoPoint p = geo::destination(start, 20.0, km * 1000.0);
  Sighting s;
  s.id = id;
  s.observed_at = kT0 + offset;
  s.lat = p.lat;
  s.lon = p.lon;
  s.heading_deg = 20.0;
  s.equipment = {{"truck", 12}, {"fuel_truck", 2}};
  s.vehicles = 14;
  return s;
}

std::vector<Sighting> convoy_of_four() {
  return {along(1, hours(0), 0, 200), along(2, hours(1), 40, 195), along(3, hours(2), 80, 205),
          along(4, hours(3), 120, 200)};
}

using Partition = std::vector<std::vector<int64_t>>;

Partition partition_of(const TrackSet& set) {
  Partition p;
  for (const Track& t : set.tracks) p.push_back(t.sighting_ids);
  return p;
}

struct Scenario {
  const char* name;
  std::vector<Sighting> sightings;
  std::vector<TrackEdit> edits;
  Partition expected;
};

TrackEdit split(int64_t a, int64_t b) { return {TrackEdit::Kind::kSplit, a, b}; }
TrackEdit merge(int64_t a, int64_t b) { return {TrackEdit::Kind::kMerge, a, b}; }

TEST(TracksTest, ScenarioTable) {
  const Scenario kScenarios[] = {
      {"a convoy of four sightings links", convoy_of_four(), {}, {{1, 2, 3, 4}}},
      {"too fast: 100 km in an hour",
       {along(1, hours(0), 0, 200), along(2, hours(1), 100, 200)},
       {},
       {{1}, {2}}},
      {"fast but allowed: 69 km in an hour",
       {along(1, hours(0), 0, 200), along(2, hours(1), 69, 200)},
       {},
       {{1, 2}}},
      {"gap too long: 13 hours",
       {along(1, hours(0), 0, 200), along(2, hours(13), 100, 200)},
       {},
       {{1}, {2}}},
      {"gap within 12 hours",
       {along(1, hours(0), 0, 200), along(2, hours(11), 100, 200)},
       {},
       {{1, 2}}},
      {"opposite heading",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 20)},
       {},
       {{1}, {2}}},
      {"heading just inside tolerance",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 240)},
       {},
       {{1, 2}}},
      {"heading just outside tolerance",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 250)},
       {},
       {{1}, {2}}},
      // Both point south-west, but the second was seen 40 km north-east of the first: the convoy
      // would have driven backwards.
      {"moved against its heading",
       {along(1, hours(0), 40, 200), along(2, hours(1), 0, 200)},
       {},
       {{1}, {2}}},
      {"incompatible equipment",
       {along(1, hours(0), 0, 200),
        along(2, hours(1), 40, 200, {{"fuel_truck", 3}, {"ambulance", 2}})},
       {},
       {{1}, {2}}},
      {"a stray type stays compatible",
       {along(1, hours(0), 0, 200),
        along(2, hours(1), 40, 200, {{"tank", 9}, {"truck", 5}, {"unknown", 1}})},
       {},
       {{1, 2}}},
      {"equipment not listed is compatible",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 200, {})},
       {},
       {{1, 2}}},
      {"parked sighting does not link",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, std::nullopt),
        along(3, hours(2), 80, 200)},
       {},
       {{1, 3}, {2}}},
      {"same instant, 200 m apart",
       {along(1, hours(0), 0, 200), along(2, hours(0), 0.2, 200)},
       {},
       {{1, 2}}},
      {"same instant, 5 km apart",
       {along(1, hours(0), 0, 200), along(2, hours(0), 5, 200)},
       {},
       {{1}, {2}}},
      {"two convoys at once stay apart",
       {along(1, hours(0), 0, 200), east(11, hours(0), 0), along(2, hours(1), 40, 200),
        east(12, hours(1), 35), along(3, hours(2), 80, 200), east(13, hours(2), 70)},
       {},
       {{1, 2, 3}, {11, 12, 13}}},
      // 1 and 2 are seen at the same instant 20 km apart, so they start two tracks; 3 could follow
      // either and joins the nearer.
      {"nearest track wins",
       {along(1, hours(0), 0, 200), along(2, hours(0), 20, 200), along(3, hours(1), 25, 200)},
       {},
       {{1}, {2, 3}}},
      {"hand split across the cut",
       convoy_of_four(),
       split_edits({1, 2, 3, 4}, 2),
       {{1, 2}, {3, 4}}},
      // 3 may not follow 2; 4 could follow 2 (80 km in 2 h) or 3 and takes the nearer.
      {"hand split of one pair", convoy_of_four(), {split(2, 3)}, {{1, 2}, {3, 4}}},
      {"hand merge of a parked sighting",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, std::nullopt)},
       {merge(1, 2)},
       {{1, 2}}},
      {"hand merge across an impossible speed",
       {along(1, hours(0), 0, 200), along(2, hours(1), 300, 20)},
       {merge(2, 1)},
       {{1, 2}}},
      {"hand merge pulls the rest of the convoy along",
       {along(1, hours(0), 0, 200), along(2, hours(1), 300, 20), along(3, hours(2), 260, 20)},
       {merge(1, 2)},
       {{1, 2, 3}}},
      {"newer split beats older merge",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 200)},
       {merge(1, 2), split(1, 2)},
       {{1}, {2}}},
      {"newer merge beats older split",
       {along(1, hours(0), 0, 200), along(2, hours(1), 40, 200)},
       {split(1, 2), merge(1, 2)},
       {{1, 2}}},
      {"edit naming an unknown sighting is ignored",
       convoy_of_four(),
       {split(2, 99)},
       {{1, 2, 3, 4}}},
      {"no sightings", {}, {}, {}},
  };
  for (const Scenario& sc : kScenarios) {
    SCOPED_TRACE(sc.name);
    auto set = link_tracks(sc.sightings, TrackOptions{}, sc.edits);
    ASSERT_TRUE(set.ok()) << set.error().to_string();
    EXPECT_EQ(partition_of(*set), sc.expected);
  }
}

TEST(TracksTest, IgnoredEditsAreReported) {
  const std::vector<TrackEdit> edits = {merge(1, 2), split(1, 2), split(3, 99), merge(3, 3)};
  auto set = link_tracks(convoy_of_four(), TrackOptions{}, edits);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->ignored_edits, (std::vector<TrackEdit>{merge(1, 2), split(3, 99)}));
  // 1 and 2 were split by hand and 3 merged with itself: tracks {1} and {2, 3, 4} both hold a
  // sighting a kept edit names.
  EXPECT_EQ(partition_of(*set), (Partition{{1}, {2, 3, 4}}));
  for (const Track& t : set->tracks) {
    SCOPED_TRACE(t.sighting_ids.front());
    EXPECT_TRUE(t.hand_edited);
  }
}

TEST(TracksTest, TrackStatistics) {
  std::vector<Sighting> s = {
      along(1, hours(0), 0, 200, {{"tank", 10}, {"truck", 5}}, 15, 30.0),
      along(2, hours(1), 40, 195, {{"tank", 12}, {"truck", 3}}, 15, 20.0),
      along(3, hours(2), 80, 205, {{"tank", 8}, {"truck", 9}}, 17, 12.0),
      along(4, hours(3), 120, 200, {{"tank", 10}}, 10, 5.0),
  };
  auto set = link_tracks(s, TrackOptions{});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->tracks.size(), 1u);
  const Track& t = set->tracks[0];
  EXPECT_EQ(t.start, kT0);
  EXPECT_EQ(t.end, kT0 + hours(3));
  EXPECT_EQ(t.vehicles, 17);
  EXPECT_EQ(t.equipment, (Equipment{{"tank", 12}, {"truck", 9}}));
  EXPECT_NEAR(t.path_km, 120.0, 1e-6);
  ASSERT_TRUE(t.mean_speed_kmh.has_value());
  EXPECT_NEAR(*t.mean_speed_kmh, 40.0, 1e-6);
  ASSERT_TRUE(t.net_km_toward_border.has_value());
  EXPECT_DOUBLE_EQ(*t.net_km_toward_border, 25.0);
  ASSERT_EQ(t.path.size(), 4u);
  EXPECT_DOUBLE_EQ(t.path[2].lat, s[2].lat);
  EXPECT_FALSE(t.hand_edited);

  // Moving away: the border gets further.
  auto away = link_tracks({along(1, hours(0), 0, 200, kArmour, 15, 5.0),
                           along(2, hours(1), 40, 200, kArmour, 15, 45.0)},
                          TrackOptions{});
  ASSERT_TRUE(away.ok());
  EXPECT_DOUBLE_EQ(*away->tracks.at(0).net_km_toward_border, -40.0);

  // A single sighting: no duration, so no speed; no border distance, so no displacement.
  auto single = link_tracks({along(7, hours(0), 0, std::nullopt)}, TrackOptions{});
  ASSERT_TRUE(single.ok());
  ASSERT_EQ(single->tracks.size(), 1u);
  EXPECT_FALSE(single->tracks[0].mean_speed_kmh.has_value());
  EXPECT_FALSE(single->tracks[0].net_km_toward_border.has_value());
  EXPECT_EQ(single->tracks[0].path_km, 0.0);
}

// Two sightings an hour apart, the second 70.4 km on along its heading, are just within reach
// (70 km/h plus 0.5 km tolerance) anywhere on the globe and in any direction; 70.6 km is not.
TEST(TracksTest, ReachIsExactEverywhere) {
  for (double lat : {0.0, 30.0, 50.6, 70.0, 85.0, -45.0}) {
    for (double bearing : {0.0, 45.0, 90.0, 135.0, 180.0, 225.0, 270.0, 315.0}) {
      for (double km : {70.4, 70.6}) {
        SCOPED_TRACE(testing::Message() << "lat " << lat << " bearing " << bearing << " " << km);
        const geo::GeoPoint a{lat, 179.9, std::nullopt};  // near the antimeridian too
        const geo::GeoPoint b = geo::destination(a, bearing, km * 1000.0);
        Sighting first;
        first.id = 1;
        first.observed_at = kT0;
        first.lat = a.lat;
        first.lon = a.lon;
        first.heading_deg = bearing;
        Sighting second = first;
        second.id = 2;
        second.observed_at = kT0 + hours(1);
        second.lat = b.lat;
        second.lon = b.lon;
        second.heading_deg = geo::initial_bearing_deg(a, b);
        auto set = link_tracks({first, second}, TrackOptions{});
        ASSERT_TRUE(set.ok());
        EXPECT_EQ(set->tracks.size(), km < 70.5 ? 1u : 2u);
      }
    }
  }
}

TEST(TracksTest, OptionsChangeTheRule) {
  const std::vector<Sighting> s = {along(1, hours(0), 0, 200), along(2, hours(1), 100, 200)};
  TrackOptions fast;
  fast.max_speed_kmh = 110;
  auto set = link_tracks(s, fast);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(partition_of(*set), (Partition{{1, 2}}));

  TrackOptions short_gap;
  short_gap.max_gap_hours = 0.5;
  auto set2 = link_tracks(convoy_of_four(), short_gap);
  ASSERT_TRUE(set2.ok());
  EXPECT_EQ(set2->tracks.size(), 4u);
}

TEST(TracksTest, DeterministicUnderReordering) {
  std::vector<Sighting> s = {along(1, hours(0), 0, 200),         east(11, hours(0), 0),
                             along(2, hours(1), 40, 200),        east(12, hours(1), 35),
                             along(3, hours(2), 80, 200),        east(13, hours(2), 70),
                             along(4, hours(3), 120, 200),       along(5, hours(3), 120.1, 200),
                             along(6, hours(3), 0, std::nullopt)};
  const std::vector<TrackEdit> edits = {split(3, 4)};
  auto reference = link_tracks(s, TrackOptions{}, edits);
  ASSERT_TRUE(reference.ok());
  const Partition expected = partition_of(*reference);
  std::mt19937 rng(20220216);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(s.begin(), s.end(), rng);
    auto again = link_tracks(s, TrackOptions{}, edits);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(partition_of(*again), expected) << "round " << round;
  }
  // 4 may not follow 3, so it starts a track; 5, a second video 100 m from 4 at the same
  // instant, is nearer 4 than 3 and joins it. The parked 6 and the eastern convoy are apart.
  EXPECT_EQ(expected, (Partition{{1, 2, 3}, {11, 12, 13}, {4, 5}, {6}}));
}

TEST(TracksTest, EquipmentSimilarity) {
  EXPECT_NEAR(equipment_similarity(kArmour, {{"tank", 10}, {"truck", 5}, {"unknown", 1}}),
              std::sqrt(125.0 / 126.0), 1e-12);
  EXPECT_DOUBLE_EQ(equipment_similarity(kArmour, {{"fuel_truck", 3}}), 0.0);
  EXPECT_DOUBLE_EQ(equipment_similarity(kArmour, kArmour), 1.0);
  EXPECT_DOUBLE_EQ(equipment_similarity(kArmour, {}), 1.0);
  EXPECT_DOUBLE_EQ(equipment_similarity({{"tank", 0}}, kArmour), 1.0);
  // Scale does not matter: a third of the same mix is the same mix.
  EXPECT_NEAR(equipment_similarity({{"tank", 30}, {"truck", 15}}, kArmour), 1.0, 1e-12);
}

TEST(TracksTest, EditHelpers) {
  EXPECT_EQ(split_edits({1, 2, 3}, 1), (std::vector<TrackEdit>{split(1, 2), split(1, 3)}));
  EXPECT_EQ(split_edits({1, 2, 3}, 2), (std::vector<TrackEdit>{split(1, 3), split(2, 3)}));
  EXPECT_EQ(merge_edits({5, 6, 7}), (std::vector<TrackEdit>{merge(5, 6), merge(5, 7)}));
  EXPECT_TRUE(merge_edits({5}).empty());
}

TEST(TracksTest, BadInputIsAnError) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  struct Bad {
    const char* name;
    std::vector<Sighting> sightings;
    TrackOptions options;
    const char* field;
  };
  auto with = [](auto change) {
    Sighting s = along(1, hours(0), 0, 200);
    change(s);
    return std::vector<Sighting>{s};
  };
  auto opts = [](auto change) {
    TrackOptions o;
    change(o);
    return o;
  };
  const Bad kCases[] = {
      {"duplicate id", {along(1, hours(0), 0, 200), along(1, hours(1), 40, 200)}, {}, "sightings"},
      {"latitude 91", with([](Sighting& s) { s.lat = 91; }), {}, "sightings[0].lat"},
      {"longitude NaN", with([&](Sighting& s) { s.lon = nan; }), {}, "sightings[0].lon"},
      {"heading NaN",
       with([&](Sighting& s) { s.heading_deg = nan; }),
       {},
       "sightings[0].heading_deg"},
      {"heading 400",
       with([](Sighting& s) { s.heading_deg = 400; }),
       {},
       "sightings[0].heading_deg"},
      {"negative count",
       with([](Sighting& s) { s.equipment["tank"] = -1; }),
       {},
       "sightings[0].equipment"},
      {"negative vehicles",
       with([](Sighting& s) { s.vehicles = -3; }),
       {},
       "sightings[0].vehicles"},
      {"border distance inf",
       with([](Sighting& s) { s.km_to_border = std::numeric_limits<double>::infinity(); }),
       {},
       "sightings[0].km_to_border"},
      {"speed 0", convoy_of_four(), opts([](TrackOptions& o) { o.max_speed_kmh = 0; }),
       "tracks.max_speed_kmh"},
      {"negative gap", convoy_of_four(), opts([](TrackOptions& o) { o.max_gap_hours = -1; }),
       "tracks.max_gap_hours"},
      {"tolerance 200", convoy_of_four(),
       opts([](TrackOptions& o) { o.heading_tolerance_deg = 200; }),
       "tracks.heading_tolerance_deg"},
      {"similarity 2", convoy_of_four(),
       opts([](TrackOptions& o) { o.min_equipment_similarity = 2; }),
       "tracks.min_equipment_similarity"},
  };
  for (const Bad& c : kCases) {
    SCOPED_TRACE(c.name);
    auto set = link_tracks(c.sightings, c.options);
    ASSERT_FALSE(set.ok());
    EXPECT_EQ(set.error().code(), Code::kInvalidArgument);
    EXPECT_EQ(set.error().field(), c.field);
  }
}

}  // namespace
}  // namespace cw::reports

namespace cw::reports {
namespace {

// The rule of tracks.hpp applied the plain way: each sighting in (observed_at, id) order looks
// at the last sighting of every track so far. No edits.
Partition brute_force(std::vector<Sighting> s, const TrackOptions& o) {
  std::sort(s.begin(), s.end(), [](const Sighting& a, const Sighting& b) {
    return std::tie(a.observed_at, a.id) < std::tie(b.observed_at, b.id);
  });
  std::vector<std::vector<size_t>> tracks;
  for (size_t i = 0; i < s.size(); ++i) {
    size_t chosen = tracks.size();
    double best_d = 0, best_v = 0;
    int64_t best_first = 0;
    for (size_t t = 0; t < tracks.size() && s[i].heading_deg; ++t) {
      const Sighting& l = s[tracks[t].back()];
      const double gap_h =
          std::chrono::duration<double, std::ratio<3600>>(s[i].observed_at - l.observed_at).count();
      if (!l.heading_deg || gap_h < 0 || gap_h > o.max_gap_hours) continue;
      if (geo::angle_diff_deg(*l.heading_deg, *s[i].heading_deg) > o.heading_tolerance_deg) {
        continue;
      }
      if (equipment_similarity(l.equipment, s[i].equipment) < o.min_equipment_similarity) {
        continue;
      }
      const geo::GeoPoint a{l.lat, l.lon, std::nullopt}, b{s[i].lat, s[i].lon, std::nullopt};
      const double d = geo::distance_m(a, b) / 1000.0;
      if (d > o.max_speed_kmh * gap_h + o.position_tolerance_km) continue;
      if (d >= o.min_move_km) {
        const double bearing = geo::initial_bearing_deg(a, b);
        if (geo::angle_diff_deg(bearing, *l.heading_deg) > o.bearing_tolerance_deg ||
            geo::angle_diff_deg(bearing, *s[i].heading_deg) > o.bearing_tolerance_deg) {
          continue;
        }
      }
      const double v = gap_h > 0 ? d / gap_h : 0.0;
      const int64_t first = s[tracks[t].front()].id;
      if (chosen == tracks.size() || std::tie(d, v, first) < std::tie(best_d, best_v, best_first)) {
        chosen = t;
        best_d = d;
        best_v = v;
        best_first = first;
      }
    }
    if (chosen == tracks.size()) tracks.emplace_back();
    tracks[chosen].push_back(i);
  }
  std::vector<std::pair<std::pair<TimePoint, int64_t>, std::vector<int64_t>>> keyed;
  for (const auto& t : tracks) {
    std::vector<int64_t> ids;
    for (size_t k : t) ids.push_back(s[k].id);
    keyed.push_back({{s[t.front()].observed_at, ids.front()}, ids});
  }
  std::sort(keyed.begin(), keyed.end());
  Partition p;
  for (auto& [key, ids] : keyed) p.push_back(std::move(ids));
  return p;
}

// Dense random sightings (many open tracks in every cell and sector, links and near misses of
// every kind): the grid search must give exactly what looking at every track gives.
TEST(TracksTest, GridSearchEqualsLookingAtEveryTrack) {
  std::mt19937 rng(4242);
  std::uniform_real_distribution<double> lat(49.5, 52.0), lon(34.5, 39.0), heading(0, 360),
      unit(0, 1);
  std::uniform_int_distribution<int> minutes(0, 36 * 60), count(1, 12), type(0, 4);
  const char* types[] = {"tank", "truck", "ifv", "mlrs", "fuel_truck"};
  std::vector<Sighting> s;
  for (int i = 0; i < 2500; ++i) {
    Sighting x;
    x.id = i + 1;
    x.observed_at = kT0 + std::chrono::minutes(minutes(rng));
    if (i > 0 && unit(rng) < 0.5) {
      // A later sighting of an earlier one's convoy (so that links are common), or a near miss.
      const Sighting& prev = s[std::uniform_int_distribution<size_t>(0, s.size() - 1)(rng)];
      const double h = prev.heading_deg.value_or(heading(rng));
      const double gap_h = unit(rng) * 6;
      const geo::GeoPoint p =
          geo::destination({prev.lat, prev.lon, std::nullopt}, h + (unit(rng) - 0.5) * 60,
                           (unit(rng) * 80) * gap_h * 1000.0);
      x.observed_at = prev.observed_at + std::chrono::seconds(static_cast<int>(gap_h * 3600));
      x.lat = p.lat;
      x.lon = p.lon;
      x.heading_deg = std::fmod(h + (unit(rng) - 0.5) * 100 + 360, 360);
      x.equipment = prev.equipment;
    } else {
      x.lat = lat(rng);
      x.lon = lon(rng);
      if (unit(rng) < 0.8) x.heading_deg = heading(rng);
    }
    if (x.equipment.empty() || unit(rng) < 0.3) x.equipment[types[type(rng)]] += count(rng);
    for (const auto& [t, c] : x.equipment) x.vehicles += c;
    s.push_back(x);
  }
  for (double tolerance : {45.0, 10.0, 100.0, 180.0}) {
    TrackOptions o;
    o.heading_tolerance_deg = tolerance;
    auto set = link_tracks(s, o);
    ASSERT_TRUE(set.ok());
    const Partition expected = brute_force(s, o);
    size_t linked = 0;
    for (const auto& t : expected) linked += t.size() > 1 ? t.size() : 0;
    EXPECT_GT(linked, s.size() / 4) << "tolerance " << tolerance << ": too few links to test";
    EXPECT_EQ(partition_of(*set), expected) << "tolerance " << tolerance;
  }
}

}  // namespace
}  // namespace cw::reports
