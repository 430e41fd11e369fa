// What the map draws, read from PostGIS: Mapbox Vector Tiles of the reference geodata (countries,
// oblasts, the Ukrainian land border, places), of imagery footprints and of lines linked in C++
// (convoy tracks), each built with ST_AsMVT/ST_AsMVTGeom over ST_TileEnvelope; and the regions a
// map client offers as filters. (Observation tiles are Observations::tile: they share the
// list's filters.) Tiles are Web-Mercator z/x/y, extent 4096, buffer 64; an empty string is a
// tile with no features. Thread-safe (all state is in the database).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

struct TileAddress {
  int z = 0;
  int x = 0;
  int y = 0;
};

enum class BaseLayer { kCountries, kOblasts, kBorder, kPlaces };

// The smallest population of the places shown at zoom z (every place from zoom 12 on).
int64_t min_place_population(int z);

// countries: iso_a3, name. oblasts: iso_3166_2, country, name (English), name_local (Ukrainian
// for Ukraine, else Russian), name_uk, name_ru. border: neighbour, neighbour_name, length_km.
// places: name, population, country, feature_code (feature id: the GeoNames id), largest first,
// at most 1000.
Result<std::string> base_tile(Database& db, BaseLayer layer, TileAddress t);

// imagery: footprints (feature id: the imagery id; kind, source, captured_at in epoch seconds,
// ground_resolution_m). Every member of the task force reads every footprint.
Result<std::string> imagery_tile(Database& db, TileAddress t);

// One line feature of a lines_tile: [[lon, lat], …] and its properties.
struct TileLine {
  int64_t id = 0;
  std::vector<std::array<double, 2>> coordinates;
  std::string direction;
  int64_t vehicles = 0;
  double net_km_toward_border = 0;
  double path_km = 0;
  int64_t start = 0;  // epoch seconds
  int64_t end = 0;
  int sightings = 0;
};
// A layer named `layer` of the lines (id, direction, vehicles, net_km_toward_border, path_km,
// start, end, sightings).
Result<std::string> lines_tile(Database& db, const std::string& layer,
                               const std::vector<TileLine>& lines, TileAddress t);

// A fingerprint of the loaded geodata (the SHA-256 of every layer's file and when it was
// loaded): base tiles are immutable while it holds.
Result<std::string> geodata_version(Database& db);

struct Region {
  std::string kind;  // "country" or "oblast"
  std::string code;  // ISO 3166-1 alpha-3 or ISO 3166-2
  std::string country;
  std::string name;        // English
  std::string name_local;  // oblasts: Ukrainian for Ukraine, else Russian; countries: = name
  std::optional<std::string> name_uk;
  std::optional<std::string> name_ru;
  std::array<double, 4> bbox{};  // west, south, east, north
};
// Countries, then oblasts, each by code.
Result<std::vector<Region>> regions(Database& db);

}  // namespace cw::store
