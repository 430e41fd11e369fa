#include "reports/demo.hpp"

#include <fmt/format.h>

#include <random>

#include "geo/geodesic.hpp"
#include "reports/build.hpp"
#include "reports/cron.hpp"
#include "store/observations.hpp"
#include "store/users.hpp"

namespace cw::reports {
namespace {

constexpr const char* kOrg = "DEMO (synthetic data)";
constexpr const char* kLabel = "SYNTHETIC DEMO DATA - not a real sighting";

// Where columns form up (real towns) and the way they drive: toward the border.
struct Column {
  const char* town;
  double lat, lon;
  double heading;  // degrees
  std::vector<store::EquipmentCount> mix;
};

const std::vector<Column>& columns() {
  static const std::vector<Column> c = {
      {"Kursk", 51.73, 36.19, 235, {{"tank", 8}, {"ifv", 6}, {"truck", 14}}},
      {"Stary Oskol", 51.30, 37.84, 220, {{"sp_artillery", 6}, {"truck", 10}}},
      {"Alekseyevka", 50.63, 38.69, 240, {{"mlrs", 4}, {"fuel_truck", 3}, {"truck", 6}}},
      {"Voronezh", 51.67, 39.20, 225, {{"tank", 10}, {"apc", 8}, {"truck", 16}}},
      {"Bryansk", 53.24, 34.36, 210, {{"ifv", 7}, {"engineering", 2}, {"truck", 9}}},
      {"Lgov", 51.66, 35.27, 250, {{"air_defense", 3}, {"command", 2}, {"truck", 5}}},
  };
  return c;
}

}  // namespace

Result<DemoSummary> load_demo(store::Database& db, const Config& config) {
  DemoSummary summary;
  store::Users users(db);
  auto actor = store::Actor::system("demo");
  auto principal = [&](const char* name, store::Role role) -> Result<store::Principal> {
    auto existing = users.get_by_name(name);
    if (existing.ok()) {
      auto token = users.create_token(existing->id, "demo", actor);
      if (!token.ok()) return token.error();
      return users.authenticate(token->token);
    }
    auto created = users.add(name, kOrg, role, actor, store::NewOrg::kCreate);
    if (!created.ok()) return created.error();
    return users.authenticate(created->token);
  };
  auto contributor = principal("demo-contributor", store::Role::kContributor);
  if (!contributor.ok()) return contributor.error();
  auto analyst = principal("demo-analyst", store::Role::kAnalyst);
  if (!analyst.ok()) return analyst.error();

  store::Observations observations(db);
  store::ObservationFilter mine;
  mine.status = "any";
  mine.from = parse_rfc3339("2022-02-14T00:00:00Z").value();
  mine.to = parse_rfc3339("2022-02-21T00:00:00Z").value();
  mine.limit = store::kMaxExportRows;
  auto existing = observations.list(mine);
  if (!existing.ok()) return existing.error();
  for (const auto& o : *existing) {
    if (o.input.source_note && *o.input.source_note == kLabel) return summary;
  }

  std::mt19937 rng(20220215);
  std::uniform_real_distribution<double> jitter(-0.04, 0.04), unit(0, 1);
  std::vector<store::ObservationInput> rows;
  const TimePoint first_day = parse_rfc3339("2022-02-14T04:00:00Z").value();
  for (int day = 0; day < 7; ++day) {
    // More columns on the move after the announcement (day 1 = 15 February).
    size_t active = day == 0 ? 3 : std::min<size_t>(columns().size(), 3 + day / 2);
    for (size_t ci = 0; ci < active; ++ci) {
      const Column& c = columns()[ci];
      geo::GeoPoint at{c.lat + jitter(rng), c.lon + jitter(rng), std::nullopt};
      TimePoint t = first_day + std::chrono::hours(24 * day) +
                    std::chrono::minutes(static_cast<int>(unit(rng) * 240));
      double heading = c.heading + jitter(rng) * 200;
      int sightings = 3 + static_cast<int>(unit(rng) * 2);
      for (int k = 0; k < sightings; ++k) {
        store::ObservationInput in;
        in.observed_at = t;
        in.time_precision = "exact";
        in.lat = at.lat;
        in.lon = at.lon;
        in.location_precision = k == 0 ? "locality" : "vicinity";
        in.heading_deg = std::fmod(heading + 360.0, 360.0);
        for (const auto& e : c.mix) {
          int seen = std::max(1, static_cast<int>(e.count * (0.5 + unit(rng) / 2)));
          in.equipment.push_back({e.type, seen});
        }
        in.markings = {unit(rng) < 0.7 ? "Z" : "V"};
        in.notes = fmt::format("{}: column from {} (demo)", kLabel, c.town);
        in.source_note = kLabel;
        rows.push_back(std::move(in));
        // An hour or two on, 8-16 km made good an hour (halts, detours): the columns stay on
        // the Russian side.
        double hours = 1 + unit(rng);
        t += std::chrono::minutes(static_cast<int>(hours * 60));
        at = geo::destination(at, heading, hours * (8 + 8 * unit(rng)) * 1000);
      }
    }
    // A parked group near Belgorod each day.
    store::ObservationInput parked;
    parked.observed_at = first_day + std::chrono::hours(24 * day + 6);
    parked.lat = 50.45 + jitter(rng);
    parked.lon = 36.95 + jitter(rng);
    parked.location_precision = "locality";
    parked.equipment = {{"tank", 5 + day}, {"truck", 12}};
    parked.notes = fmt::format("{}: staging area (demo)", kLabel);
    parked.source_note = kLabel;
    rows.push_back(std::move(parked));
  }
  auto ids = observations.import(*contributor, rows, std::string(64, '0'));
  if (!ids.ok()) return ids.error();
  summary.loaded = true;
  summary.observations = static_cast<int>(rows.size());
  for (int64_t id = ids->first; id <= ids->last; ++id) {
    double u = unit(rng);
    if (u < 0.08) continue;  // left unverified
    const char* verdict = u < 0.13 ? "disputed" : "verified";
    auto v = observations.verify(
        *analyst, id, verdict,
        u < 0.13 ? "demo: the place does not match the claimed road" : "demo: geolocated");
    if (!v.ok()) return v.error();
    if (*verdict == 'v') ++summary.verified;
  }
  const std::string& tz = config.reports.tz;
  for (int day = 14; day <= 20; ++day) {
    auto p = period_from_key(ReportKind::kDaily, fmt::format("2022-02-{}", day), tz);
    if (!p.ok()) return p.error();
    auto r = build_report(db, config, *p, tz, "demo", actor);
    if (!r.ok()) return r.error();
    ++summary.reports;
  }
  auto week = period_from_key(ReportKind::kWeekly, "2022-W07", tz);
  if (!week.ok()) return week.error();
  auto r = build_report(db, config, *week, tz, "demo", actor);
  if (!r.ok()) return r.error();
  ++summary.reports;
  return summary;
}

}  // namespace cw::reports
