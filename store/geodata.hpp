// Loading the reference geodata (data/geodata/, made by tools/geodata/derive.py) into PostGIS:
// countries, oblasts, the Ukrainian land border and GeoNames places, plus the source record of
// each layer (package, version, licence, attribution, file hash). What observations derive their
// country, oblast, nearest place and border distance from (schema 0005_observations.sql).
//
// load_geodata() replaces every layer in one transaction, so a reader sees the old data or the
// new, never a mix; loading the same files again changes nothing but loaded_at. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "store/database.hpp"

namespace cw::store {

struct GeoLayerInfo {
  std::string layer;  // "countries", "regions", "border", "places"
  std::string source;
  std::string version;
  std::string license;
  int features = 0;
  std::string sha256;
};

// Reads countries.geojson, regions.geojson, border.geojson, places.csv and sources.json from
// `dir`, checks each file's SHA-256 against sources.json, and loads them. kNotFound when a file
// is missing; kUnprocessable naming the file (and line) when one is malformed or its hash does
// not match.
Result<std::vector<GeoLayerInfo>> load_geodata(Database& db, const std::string& dir);

// The loaded layers (empty when none).
Result<std::vector<GeoLayerInfo>> geodata_layers(Database& db);

}  // namespace cw::store
