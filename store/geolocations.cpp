// Analysts' geolocations of submissions and the gazetteer search for places named in a text
// (store/geolocations.hpp). Coordinates go to PostGIS as text parameters ($n::float8).
#include "store/geolocations.hpp"

#include <fmt/format.h>

#include <cctype>

#include "store/internal/audit_append.hpp"
#include "store/internal/frame_refs.hpp"
#include "store/internal/params.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

const std::vector<std::string>& geolocation_methods() {
  static const std::vector<std::string> v = {"metadata_gps", "landmark_match", "satellite_match",
                                             "shadow", "other"};
  return v;
}

Result<Geolocation> Geolocations::add(const Principal& who, int64_t submission_id,
                                      const Geolocation& g) {
  return in_transaction(db_, [&](pqxx::work& tx) -> Result<Geolocation> {
    if (tx.exec_params("SELECT 1 FROM submissions WHERE id = $1 AND (visibility = 'taskforce' "
                       "OR org_id = $2)",
                       submission_id, who.org_id)
            .empty()) {
      return Error(Code::kNotFound, fmt::format("no submission {}", submission_id));
    }
    int64_t id =
        tx.exec_params1(
              "INSERT INTO submission_geolocations (submission_id, location, precision, "
              "method, evidence, frame_refs, analyst_id) VALUES ($1, "
              "ST_SetSRID(ST_MakePoint($3::float8, $2::float8), 4326), $4, $5, $6, "
              "$7::jsonb, $8) RETURNING id",
              submission_id, fmt::format("{}", g.lat), fmt::format("{}", g.lon), g.precision,
              g.method, g.evidence, frames_json(g.frame_refs).dump(), who.user_id)[0]
            .as<int64_t>();
    Geolocation out = g;
    out.id = id;
    out.analyst = who.user_name;
    out.at = now_utc();
    audit_append(tx, Actor{who.user_id, who.user_name}, "submission.geolocate",
                 fmt::format("submission/{}", submission_id),
                 nlohmann::json{{"geolocation_id", id},
                                {"lat", g.lat},
                                {"lon", g.lon},
                                {"precision", g.precision},
                                {"method", g.method},
                                {"evidence", g.evidence},
                                {"frame_refs", frames_json(g.frame_refs)}});
    return out;
  });
}

Result<std::vector<Geolocation>> Geolocations::history(int64_t submission_id) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<Geolocation>> {
    pqxx::read_transaction tx(c);
    std::vector<Geolocation> out;
    for (const auto& r : tx.exec_params(
             "SELECT g.id, ST_Y(g.location), ST_X(g.location), g.precision, g.method, g.evidence, "
             "g.frame_refs::text, u.name, (extract(epoch FROM g.created_at) * 1000000)::bigint "
             "FROM submission_geolocations g JOIN users u ON u.id = g.analyst_id "
             "WHERE g.submission_id = $1 ORDER BY g.id DESC",
             submission_id)) {
      Geolocation g;
      g.id = r[0].as<int64_t>();
      g.lat = r[1].as<double>();
      g.lon = r[2].as<double>();
      g.precision = r[3].as<std::string>();
      g.method = r[4].as<std::string>();
      g.evidence = r[5].as<std::string>();
      for (const auto& f : nlohmann::json::parse(r[6].as<std::string>())) {
        g.frame_refs.push_back({f.value("sha256", ""), f.value("frame", 0)});
      }
      g.analyst = r[7].as<std::string>();
      g.at = from_micros(r[8].as<int64_t>());
      out.push_back(std::move(g));
    }
    return out;
  });
}

Result<std::vector<PlaceHint>> Geolocations::places_in(
    const std::vector<std::string>& words, std::optional<std::pair<double, double>> claim,
    int limit) {
  return with_connection(db_, [&](pqxx::connection& c) -> Result<std::vector<PlaceHint>> {
    pqxx::read_transaction tx(c);
    std::optional<std::string> lat, lon;
    if (claim) {
      lat = fmt::format("{}", claim->first);
      lon = fmt::format("{}", claim->second);
    }
    // A word and the word without one or two final letters (Russian and Ukrainian case
    // endings: Белгорода → белгород, Харкові → харков… is not caught, Харкова → харков is).
    pqxx::result r =
        tx.exec_params(R"sql(
WITH w AS (SELECT DISTINCT lower(x) AS word FROM jsonb_array_elements_text($1::jsonb) x),
     c AS (SELECT word, word AS stem FROM w WHERE char_length(word) >= 3
           UNION SELECT word, left(word, -1) FROM w WHERE char_length(word) >= 5
           UNION SELECT word, left(word, -2) FROM w WHERE char_length(word) >= 7),
     hit AS (SELECT DISTINCT ON (p.geonameid) p.geonameid, c.word
             FROM c JOIN geo_places p ON p.names @> ARRAY[c.stem]
             ORDER BY p.geonameid, char_length(c.stem) DESC)
SELECT p.geonameid, p.name, hit.word, p.country, p.admin1, p.population, ST_Y(p.geom),
       ST_X(p.geom),
       CASE WHEN $2::float8 IS NULL THEN NULL
            ELSE ST_Distance(p.geom::geography,
                             ST_SetSRID(ST_MakePoint($3::float8, $2::float8), 4326)::geography)
                 / 1000 END AS km
FROM hit JOIN geo_places p ON p.geonameid = hit.geonameid
ORDER BY ln(p.population + 10) - COALESCE(
           (CASE WHEN $2::float8 IS NULL THEN NULL
                 ELSE ST_Distance(p.geom::geography,
                                  ST_SetSRID(ST_MakePoint($3::float8, $2::float8), 4326)::geography)
                      / 1000 END) / 25, 0) DESC,
         p.geonameid
LIMIT $4)sql",
                       nlohmann::json(words).dump(), nullable(lat), nullable(lon), limit);
    std::vector<PlaceHint> out;
    for (const auto& row : r) {
      PlaceHint h;
      h.geonameid = row[0].as<int64_t>();
      h.name = row[1].as<std::string>();
      h.matched = row[2].as<std::string>();
      h.country = row[3].as<std::string>();
      h.admin1 = row[4].as<std::string>();
      h.population = row[5].as<int64_t>();
      h.lat = row[6].as<double>();
      h.lon = row[7].as<double>();
      h.km_from_claim = opt_double(row[8]);
      out.push_back(std::move(h));
    }
    return out;
  });
}

std::vector<std::string> text_words(std::string_view text) {
  std::vector<std::string> out;
  std::string cur;
  auto flush = [&] {
    while (!cur.empty() && (cur.back() == '-' || cur.back() == '\'')) cur.pop_back();
    if (cur.size() >= 3 && out.size() < 500) out.push_back(cur);
    cur.clear();
  };
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    bool letter = c >= 0x80 || std::isalpha(c) || ((ch == '-' || ch == '\'') && !cur.empty());
    if (letter) {
      cur += ch;
    } else {
      flush();
    }
  }
  flush();
  return out;
}

}  // namespace cw::store
