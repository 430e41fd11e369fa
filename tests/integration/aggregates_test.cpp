// Aggregates against the real database with the real geodata: observations seeded by the test
// (random places along the border, headings, equipment, times and verdicts), the expected numbers
// computed here from the stored rows, and compared with what the rollup tables answer and with
// the scan over the observations. Verdicts, edits, deletes and imports must move the rollups.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <random>
#include <tuple>

#include "common/time.hpp"
#include "store/aggregates.hpp"
#include "store/observations.hpp"
#include "store/users.hpp"
#include "tests/support/test_db.hpp"

namespace cw::store {
namespace {

// What one group of one bucket should hold.
struct Expected {
  int64_t observations = 0, vehicles = 0, toward = 0, away = 0, parallel = 0, stationary = 0,
          unknown = 0;
  double km_sum = 0;
  int64_t km_n = 0;
};

class AggregatesTest : public ::testing::Test {
 protected:
  AggregatesTest() : tdb_("cw_geo_template"), db_(config()) {
    auto add = [&](const char* name, Role role) {
      auto u = Users(db_).add(name, "CIT", role, Actor::system("test"), NewOrg::kCreate);
      EXPECT_TRUE(u.ok());
      return Users(db_).authenticate(u->token).value();
    };
    alice_ = add("alice", Role::kContributor);
    bob_ = add("bob", Role::kAnalyst);
  }

  DatabaseConfig config() {
    DatabaseConfig c;
    c.url = tdb_.url();
    c.pool_size = 4;
    return c;
  }

  // n observations between 2022-02-14 and 2022-02-17 (UTC), around Belgorod, Kursk, Bryansk,
  // Voronezh and over the border in Kharkiv and Sumy oblasts; a third verified, some rejected.
  void seed(int n, unsigned seed) {
    std::mt19937 rng(seed);
    std::uniform_real_distribution<double> lat(50.0, 52.6), lon(33.0, 39.5), heading(0, 360);
    std::uniform_int_distribution<int> minutes(0, 3 * 24 * 60 - 1), count(1, 12), pick(0, 5);
    const TimePoint start = parse_rfc3339("2022-02-14T00:00:00Z").value();
    const char* types[] = {"tank", "truck", "ifv", "mlrs", "fuel_truck", "apc"};
    for (int i = 0; i < n; ++i) {
      ObservationInput in;
      in.observed_at = start + std::chrono::minutes(minutes(rng));
      in.lat = lat(rng);
      in.lon = lon(rng);
      if (pick(rng) != 0) in.heading_deg = std::floor(heading(rng));
      in.equipment = {{types[pick(rng)], count(rng)}};
      if (pick(rng) < 3) in.equipment.push_back({types[pick(rng)], count(rng)});
      auto o = Observations(db_).create(alice_, in);
      ASSERT_TRUE(o.ok()) << o.error().detail();
      int fate = pick(rng);
      if (fate <= 1) {
        ASSERT_TRUE(Observations(db_).verify(bob_, o->id, "verified", "").ok());
      }
      if (fate == 2) {
        ASSERT_TRUE(Observations(db_).verify(bob_, o->id, "rejected", "").ok());
      }
    }
  }

  std::vector<Observation> all() {
    ObservationFilter f;
    f.status = "any";
    f.limit = kMaxExportRows;
    return Observations(db_).list(f).value();
  }

  // Expected rows keyed by (local day in Kyiv, oblast, movement) for `status` ("any" or one),
  // days in February 2022 (UTC+2 all month). With `type`, only that equipment type's vehicles.
  using Key = std::tuple<std::string, std::string, std::string>;
  std::map<Key, Expected> expect_by_day_oblast_movement(const std::string& status,
                                                        std::optional<std::string> type = {}) {
    std::map<Key, Expected> out;
    for (const auto& o : all()) {
      if (status != "any" && o.status != status) continue;
      int64_t vehicles = 0;
      bool has_type = !type;
      for (const auto& e : o.input.equipment) {
        if (!type || e.type == *type) {
          vehicles += e.count;
          if (type) has_type = true;
        }
      }
      if (!has_type) continue;
      std::string local = format_rfc3339(o.input.observed_at + std::chrono::hours(2)).substr(0, 10);
      Expected& e = out[{local, o.derived.oblast.value_or(""), o.derived.movement}];
      e.observations += 1;
      e.vehicles += vehicles;
      const std::string& m = o.derived.movement;
      (m == "toward"       ? e.toward
       : m == "away"       ? e.away
       : m == "parallel"   ? e.parallel
       : m == "stationary" ? e.stationary
                           : e.unknown) += vehicles;
      if (o.derived.km_to_border) {
        e.km_sum += *o.derived.km_to_border;
        e.km_n += 1;
      }
    }
    return out;
  }

  void expect_matches(const std::map<Key, Expected>& expected, const AggregateResult& got,
                      const std::string& what) {
    std::map<Key, AggregateRow> rows;
    for (const auto& r : got.rows) {
      Key k{r.bucket_label, r.groups.at("oblast").value_or(""), r.groups.at("movement").value()};
      EXPECT_TRUE(rows.emplace(k, r).second) << what << ": a group appears twice";
    }
    EXPECT_EQ(rows.size(), expected.size()) << what;
    for (const auto& [k, e] : expected) {
      auto it = rows.find(k);
      ASSERT_NE(it, rows.end()) << what << ": missing " << std::get<0>(k) << " " << std::get<1>(k)
                                << " " << std::get<2>(k);
      const AggregateRow& r = it->second;
      EXPECT_EQ(r.observations, e.observations) << what;
      EXPECT_EQ(r.vehicles, e.vehicles) << what;
      EXPECT_EQ(r.toward, e.toward) << what;
      EXPECT_EQ(r.away, e.away) << what;
      EXPECT_EQ(r.parallel, e.parallel) << what;
      EXPECT_EQ(r.stationary, e.stationary) << what;
      EXPECT_EQ(r.unknown, e.unknown) << what;
      if (e.km_n > 0) {
        ASSERT_TRUE(r.mean_km_to_border) << what;
        EXPECT_NEAR(*r.mean_km_to_border, e.km_sum / e.km_n, 1e-6) << what;
      } else {
        EXPECT_FALSE(r.mean_km_to_border) << what;
      }
      // The bucket starts at local midnight: 22:00 UTC the day before.
      EXPECT_EQ(format_rfc3339(r.bucket_start + std::chrono::hours(2)).substr(11, 8), "00:00:00")
          << what;
    }
  }

  // The same numbers per day and oblast only (the totals tables answer these): `expected`
  // folded over movement, compared with `got` grouped by oblast.
  void expect_totals_match(const std::map<Key, Expected>& expected, const AggregateResult& got,
                           const std::string& what) {
    std::map<Key, Expected> folded;
    for (const auto& [k, e] : expected) {
      Expected& f = folded[{std::get<0>(k), std::get<1>(k), ""}];
      f.observations += e.observations;
      f.vehicles += e.vehicles;
      f.toward += e.toward;
      f.away += e.away;
      f.parallel += e.parallel;
      f.stationary += e.stationary;
      f.unknown += e.unknown;
      f.km_sum += e.km_sum;
      f.km_n += e.km_n;
    }
    AggregateResult with_movement = got;
    for (auto& r : with_movement.rows) {
      EXPECT_EQ(r.groups.count("movement"), 0u) << what;
      r.groups["movement"] = "";
    }
    expect_matches(folded, with_movement, what + " (totals)");
  }

  AggregateResult query(const std::string& status, bool force_scan,
                        std::optional<std::string> type = {}, bool by_movement = true) {
    AggregateQuery q;
    q.bucket = "day";
    q.tz = "Europe/Kyiv";
    q.group_by = {"oblast"};
    if (by_movement) q.group_by.push_back("movement");
    if (status != "verified") q.filter.status = status;
    q.filter.equipment_type = type;
    // A bbox around everything changes nothing but is something the rollups cannot answer.
    if (force_scan) q.filter.bbox = std::array<double, 4>{-180, -90, 180, 90};
    auto r = Aggregates(db_).query(q);
    EXPECT_TRUE(r.ok()) << r.error().detail();
    EXPECT_EQ(r->from_rollup, !force_scan);
    return *r;
  }

  test::TestDatabase tdb_;
  Database db_;
  Principal alice_, bob_;
};

TEST_F(AggregatesTest, RollupAndScanAgreeWithNumbersComputedFromTheRows) {
  seed(150, 7);
  for (const std::string status : {"verified", "any", "rejected"}) {
    auto expected = expect_by_day_oblast_movement(status);
    ASSERT_FALSE(expected.empty());
    expect_matches(expected, query(status, false), "rollup " + status);
    expect_matches(expected, query(status, true), "scan " + status);
    expect_totals_match(expected, query(status, false, {}, false), "rollup " + status);
    expect_totals_match(expected, query(status, true, {}, false), "scan " + status);
  }
  auto trucks = expect_by_day_oblast_movement("any", "truck");
  ASSERT_FALSE(trucks.empty());
  expect_matches(trucks, query("any", false, "truck"), "rollup trucks");
  expect_matches(trucks, query("any", true, "truck"), "scan trucks");
  expect_totals_match(trucks, query("any", false, "truck", false), "rollup trucks");
  expect_totals_match(trucks, query("any", true, "truck", false), "scan trucks");
}

TEST_F(AggregatesTest, RollupFollowsVerdictsEditsDeletesAndImports) {
  seed(40, 11);
  auto rows = all();
  // A verdict: unverified -> verified moves it into the default (verified) aggregate.
  const Observation* target = nullptr;
  for (const auto& o : rows) {
    if (o.status == "unverified") target = &o;
  }
  ASSERT_NE(target, nullptr);
  auto before = expect_by_day_oblast_movement("verified");
  ASSERT_TRUE(Observations(db_).verify(bob_, target->id, "verified", "seen twice").ok());
  auto after = expect_by_day_oblast_movement("verified");
  EXPECT_FALSE(before.empty());
  int64_t total_before = 0, total_after = 0;
  for (const auto& [k, e] : before) total_before += e.observations;
  for (const auto& [k, e] : after) total_after += e.observations;
  EXPECT_EQ(total_after, total_before + 1);
  expect_matches(after, query("verified", false), "after verdict");

  // And a later rejection takes it out again.
  ASSERT_TRUE(Observations(db_).verify(bob_, target->id, "rejected", "it was 2021").ok());
  expect_matches(before, query("verified", false), "after rejection");

  // An edit of an unverified observation (place, equipment) moves its numbers.
  for (const auto& o : all()) {
    if (o.status != "unverified") continue;
    ObservationInput in = o.input;
    in.lat = 50.6;
    in.lon = 36.6;  // Belgorod
    in.equipment = {{"tank", 30}};
    ASSERT_TRUE(Observations(db_).update(alice_, o.id, in).ok());
    break;
  }
  expect_matches(expect_by_day_oblast_movement("any"), query("any", false), "after edit");
  expect_totals_match(expect_by_day_oblast_movement("any"), query("any", false, {}, false),
                      "after edit");

  // A new heading alone: same hour, place, status and vehicles, another movement.
  bool turned = false;
  for (const auto& o : all()) {
    if (o.status != "unverified" || o.derived.movement != "toward" || !o.input.heading_deg)
      continue;
    ObservationInput in = o.input;
    in.heading_deg = std::fmod(*in.heading_deg + 180.0, 360.0);
    ASSERT_TRUE(Observations(db_).update(alice_, o.id, in).ok());
    EXPECT_EQ(Observations(db_).get(o.id)->derived.movement, "away");
    turned = true;
    break;
  }
  ASSERT_TRUE(turned) << "no unverified observation heading toward the border to turn";
  expect_matches(expect_by_day_oblast_movement("any"), query("any", false), "after heading");
  expect_totals_match(expect_by_day_oblast_movement("any"), query("any", false, {}, false),
                      "after heading");

  // A delete.
  ASSERT_TRUE(Observations(db_).remove(bob_, rows.front().id).ok());
  expect_matches(expect_by_day_oblast_movement("any"), query("any", false), "after delete");
  expect_totals_match(expect_by_day_oblast_movement("any"), query("any", false, {}, false),
                      "after delete");

  // A bulk import: one statement, one rollup update.
  std::vector<ObservationInput> batch;
  for (int i = 0; i < 25; ++i) {
    ObservationInput in;
    in.observed_at = parse_rfc3339("2022-02-15T10:00:00Z").value() + std::chrono::minutes(7 * i);
    in.lat = 51.7 + 0.01 * i;
    in.lon = 36.2;
    in.heading_deg = 200;
    in.equipment = {{"mlrs", 2}, {"truck", 3}};
    batch.push_back(in);
  }
  ASSERT_TRUE(Observations(db_).import(alice_, batch, std::string(64, 'a')).ok());
  expect_matches(expect_by_day_oblast_movement("any"), query("any", false), "after import");
  expect_matches(expect_by_day_oblast_movement("any", "mlrs"), query("any", false, "mlrs"),
                 "mlrs after import");
  expect_totals_match(expect_by_day_oblast_movement("any", "mlrs"),
                      query("any", false, "mlrs", false), "mlrs after import");

  // The rollup holds exactly what a fresh computation from the table gives.
  EXPECT_EQ(tdb_.query_value(R"sql(
    SELECT count(*) FROM (
      SELECT date_trunc('hour', observed_at, 'UTC') AS b, coalesce(country, '') AS c,
             coalesce(oblast, '') AS o, movement, status, count(*) AS n, sum(vehicles) AS v
        FROM observations GROUP BY 1, 2, 3, 4, 5) AS fresh
    FULL JOIN (SELECT * FROM observation_rollup WHERE observations <> 0) AS r
      ON r.bucket = fresh.b AND r.country = fresh.c AND r.oblast = fresh.o
     AND r.movement = fresh.movement AND r.status = fresh.status
   WHERE fresh.n IS DISTINCT FROM r.observations OR fresh.v IS DISTINCT FROM r.vehicles)sql"),
            "0");

  // And the totals hold the movement tables' sums (both kept by the trigger independently).
  for (const char* kind : {"", "_equipment"}) {
    const std::string type = *kind ? ", equipment_type" : "";
    EXPECT_EQ(tdb_.query_value(fmt::format(R"sql(
      SELECT count(*) FROM (
        SELECT status, bucket, country, oblast{0}, sum(observations) AS n, sum(vehicles) AS v,
               sum(vehicles) FILTER (WHERE movement = 'toward') AS vt,
               sum(vehicles) FILTER (WHERE movement = 'away') AS va, sum(km_n) AS kn
          FROM observation_rollup{1} GROUP BY status, bucket, country, oblast{0}
        HAVING sum(observations) <> 0) AS m
      FULL JOIN (SELECT * FROM observation_rollup{1}_totals WHERE observations <> 0) AS t
        USING (status, bucket, country, oblast{0})
     WHERE m.n IS DISTINCT FROM t.observations OR m.v IS DISTINCT FROM t.vehicles
        OR coalesce(m.vt, 0) IS DISTINCT FROM t.toward OR coalesce(m.va, 0) IS DISTINCT FROM t.away
        OR m.kn IS DISTINCT FROM t.km_n)sql",
                                           type, kind)),
              "0")
        << "totals" << kind;
  }

  // TRUNCATE fires no delete triggers; the rollups are emptied with the table all the same.
  ASSERT_NE(tdb_.query_value("SELECT count(*) FROM observation_rollup_equipment"), "0");
  tdb_.exec("TRUNCATE observations CASCADE");
  for (const char* table : {"observation_rollup", "observation_rollup_equipment",
                            "observation_rollup_totals", "observation_rollup_equipment_totals"}) {
    EXPECT_EQ(tdb_.query_value(fmt::format("SELECT count(*) FROM {}", table)), "0") << table;
  }
  EXPECT_TRUE(query("any", false).rows.empty());
}

TEST_F(AggregatesTest, ParametersAreChecked) {
  AggregateQuery q;
  q.bucket = "month";
  EXPECT_EQ(Aggregates(db_).query(q).error().field(), "bucket");
  q.bucket = "week";
  q.group_by = {"oblast", "colour"};
  EXPECT_EQ(Aggregates(db_).query(q).error().field(), "group_by");
  q.group_by = {"oblast", "oblast"};
  EXPECT_EQ(Aggregates(db_).query(q).error().field(), "group_by");
  q.group_by = {};
  q.tz = "Mars/Olympus_Mons";
  EXPECT_EQ(Aggregates(db_).query(q).error().field(), "tz");
  // A zone half an hour off UTC is answered by the scan.
  q.tz = "Asia/Kolkata";
  auto r = Aggregates(db_).query(q);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->from_rollup);
  q.tz = "Europe/Kyiv";
  q.filter.from = parse_rfc3339("2022-02-14T00:30:00Z").value();
  r = Aggregates(db_).query(q);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->from_rollup) << "a from that is not on the hour needs the scan";
}

}  // namespace
}  // namespace cw::store
