// Map tiles of the reference geodata and imagery, and the regions list (store/map.hpp).
#include "store/map.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "common/sha256.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// $1..$3: z, x, y. `bounds` is the tile with its buffer in WGS 84, for the GiST indexes; big
// polygons are cut to it before they are projected, so a tile of Russia costs its own corner.
constexpr const char* kBounds =
    "ST_Transform(ST_TileEnvelope($1, $2, $3, margin => 64.0 / 4096), 4326)";

std::string countries_sql() {
  return fmt::format(R"sql(
WITH b AS (SELECT {} AS bounds),
f AS (SELECT ST_AsMVTGeom(ST_Transform(ST_ClipByBox2D(c.geom, b.bounds), 3857),
                          ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
             c.iso_a3, c.name
      FROM geo_countries c CROSS JOIN b WHERE c.geom && b.bounds)
SELECT ST_AsMVT(f, 'countries', 4096, 'geom') FROM f WHERE geom IS NOT NULL)sql",
                     kBounds);
}

std::string oblasts_sql() {
  return fmt::format(R"sql(
WITH b AS (SELECT {} AS bounds),
f AS (SELECT ST_AsMVTGeom(ST_Transform(ST_ClipByBox2D(r.geom, b.bounds), 3857),
                          ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
             r.iso_3166_2, r.country, r.name_en AS name,
             COALESCE(CASE WHEN r.country = 'UKR' THEN r.name_uk ELSE r.name_ru END, r.name_uk,
                      r.name_ru, r.name_en) AS name_local,
             r.name_uk, r.name_ru
      FROM geo_regions r CROSS JOIN b WHERE r.geom && b.bounds)
SELECT ST_AsMVT(f, 'oblasts', 4096, 'geom') FROM f WHERE geom IS NOT NULL)sql",
                     kBounds);
}

std::string border_sql() {
  return fmt::format(R"sql(
WITH b AS (SELECT {} AS bounds),
f AS (SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64,
                          true) AS geom,
             p.neighbour, COALESCE(c.name, p.neighbour) AS neighbour_name, g.length_km
      FROM geo_border_parts p CROSS JOIN b
      JOIN geo_border g ON g.neighbour = p.neighbour
      LEFT JOIN geo_countries c ON c.iso_a3 = p.neighbour
      WHERE p.geom && b.bounds)
SELECT ST_AsMVT(f, 'border', 4096, 'geom') FROM f WHERE geom IS NOT NULL)sql",
                     kBounds);
}

// $4: the smallest population shown.
std::string places_sql() {
  return fmt::format(R"sql(
WITH b AS (SELECT {} AS bounds),
f AS (SELECT ST_AsMVTGeom(ST_Transform(p.geom, 3857), ST_TileEnvelope($1, $2, $3), 4096, 64,
                          true) AS geom,
             p.geonameid, p.name, p.population, p.country, p.feature_code
      FROM geo_places p CROSS JOIN b
      WHERE p.geom && b.bounds AND p.population >= $4::bigint
      ORDER BY p.population DESC, p.geonameid LIMIT 1000)
SELECT ST_AsMVT(f, 'places', 4096, 'geom', 'geonameid') FROM f WHERE geom IS NOT NULL)sql",
                     kBounds);
}

std::string imagery_sql() {
  return fmt::format(R"sql(
WITH b AS (SELECT {} AS bounds),
f AS (SELECT ST_AsMVTGeom(ST_Transform(i.footprint, 3857), ST_TileEnvelope($1, $2, $3), 4096,
                          64, true) AS geom,
             i.id, i.kind, i.source, extract(epoch FROM i.captured_at)::bigint AS captured_at,
             i.ground_resolution_m
      FROM imagery i CROSS JOIN b WHERE i.footprint && b.bounds)
SELECT ST_AsMVT(f, 'imagery', 4096, 'geom', 'id') FROM f WHERE geom IS NOT NULL)sql",
                     kBounds);
}

// $4: the lines as a JSON array; $5: the layer's name.
constexpr const char* kLinesSql = R"sql(
WITH j AS (SELECT x FROM json_array_elements($4::json) x),
f AS (SELECT ST_AsMVTGeom(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(x->>'geometry'), 4326),
                                       3857),
                          ST_TileEnvelope($1, $2, $3), 4096, 64, true) AS geom,
             (x->>'id')::bigint AS id, x->>'direction' AS direction,
             (x->>'vehicles')::bigint AS vehicles,
             (x->>'net_km_toward_border')::float8 AS net_km_toward_border,
             (x->>'path_km')::float8 AS path_km, (x->>'start')::bigint AS start,
             (x->>'end')::bigint AS "end", (x->>'sightings')::int AS sightings
      FROM j)
SELECT ST_AsMVT(f, $5::text, 4096, 'geom', 'id') FROM f WHERE geom IS NOT NULL)sql";

std::string tile_bytes(const pqxx::result& r) {
  if (r.empty() || r[0][0].is_null()) return {};
  return pqxx::binarystring(r[0][0]).str();
}

}  // namespace

int64_t min_place_population(int z) {
  static constexpr int64_t kByZoom[] = {1'000'000, 1'000'000, 1'000'000, 1'000'000,
                                        500'000,   200'000,   100'000,   50'000,
                                        20'000,    10'000,    5'000,     1'000};
  if (z < 0) return kByZoom[0];
  if (z >= static_cast<int>(std::size(kByZoom))) return 0;
  return kByZoom[z];
}

Result<std::string> base_tile(Database& db, BaseLayer layer, TileAddress t) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::string> {
    pqxx::nontransaction tx(c);
    switch (layer) {
      case BaseLayer::kCountries:
        return tile_bytes(tx.exec_params(countries_sql(), t.z, t.x, t.y));
      case BaseLayer::kOblasts:
        return tile_bytes(tx.exec_params(oblasts_sql(), t.z, t.x, t.y));
      case BaseLayer::kBorder:
        return tile_bytes(tx.exec_params(border_sql(), t.z, t.x, t.y));
      case BaseLayer::kPlaces:
        return tile_bytes(tx.exec_params(places_sql(), t.z, t.x, t.y, min_place_population(t.z)));
    }
    return Error(Code::kInternal, "unknown base layer");
  });
}

Result<std::string> imagery_tile(Database& db, TileAddress t) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::string> {
    pqxx::nontransaction tx(c);
    return tile_bytes(tx.exec_params(imagery_sql(), t.z, t.x, t.y));
  });
}

Result<std::string> lines_tile(Database& db, const std::string& layer,
                               const std::vector<TileLine>& lines, TileAddress t) {
  if (lines.empty()) return std::string();
  nlohmann::json features = nlohmann::json::array();
  for (const auto& l : lines) {
    nlohmann::json coords = nlohmann::json::array();
    for (const auto& p : l.coordinates) coords.push_back({p[0], p[1]});
    features.push_back({{"id", l.id},
                        {"geometry", {{"type", "LineString"}, {"coordinates", std::move(coords)}}},
                        {"direction", l.direction},
                        {"vehicles", l.vehicles},
                        {"net_km_toward_border", l.net_km_toward_border},
                        {"path_km", l.path_km},
                        {"start", l.start},
                        {"end", l.end},
                        {"sightings", l.sightings}});
  }
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::string> {
    pqxx::nontransaction tx(c);
    return tile_bytes(tx.exec_params(kLinesSql, t.z, t.x, t.y, features.dump(), layer));
  });
}

Result<std::string> geodata_version(Database& db) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::string> {
    pqxx::nontransaction tx(c);
    std::string all;
    for (const auto& row : tx.exec("SELECT layer, sha256, loaded_at::text FROM geo_layers "
                                   "ORDER BY layer")) {
      all += fmt::format("{}:{}:{};", row[0].c_str(), row[1].c_str(), row[2].c_str());
    }
    return Sha256::hex_digest(all).substr(0, 16);
  });
}

Result<std::vector<Region>> regions(Database& db) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::vector<Region>> {
    pqxx::nontransaction tx(c);
    std::vector<Region> out;
    for (const auto& row : tx.exec(R"sql(
SELECT 'country', iso_a3, iso_a3, name, name, NULL, NULL, ST_XMin(geom), ST_YMin(geom),
       ST_XMax(geom), ST_YMax(geom)
FROM geo_countries
UNION ALL
SELECT 'oblast', iso_3166_2, country, name_en,
       COALESCE(CASE WHEN country = 'UKR' THEN name_uk ELSE name_ru END, name_uk, name_ru,
                name_en),
       name_uk, name_ru, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)
FROM geo_regions
ORDER BY 1, 2)sql")) {
      Region r;
      r.kind = row[0].as<std::string>();
      r.code = row[1].as<std::string>();
      r.country = row[2].as<std::string>();
      r.name = row[3].as<std::string>();
      r.name_local = row[4].as<std::string>();
      if (!row[5].is_null()) r.name_uk = row[5].as<std::string>();
      if (!row[6].is_null()) r.name_ru = row[6].as<std::string>();
      for (int i = 0; i < 4; ++i) r.bbox[static_cast<size_t>(i)] = row[7 + i].as<double>();
      out.push_back(std::move(r));
    }
    return out;
  });
}

}  // namespace cw::store
