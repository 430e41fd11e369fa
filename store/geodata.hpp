// Loading the reference geodata (data/geodata/, made by tools/geodata/derive.py) into PostGIS:
// countries, oblasts, the Ukrainian land border and GeoNames places, plus the source record of
// each layer (package, version, licence, attribution, file hash). What observations derive their
// country, oblast, nearest place and border distance from (schema 0005_observations.sql).
//
// load_geodata() replaces every layer in one transaction, so a reader sees the old data or the
// new, never a mix; loading the same files again changes nothing but loaded_at. Thread-safe.
#pragma once

#include <map>
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
  bool builtin = true;  // loaded from the files built into the program
};

// The files of data/geodata are also built into the program (cmake: cw_embed), so that an
// installed server (the Docker image) has them without the source tree.

// Reads countries.geojson, regions.geojson, border.geojson, places.csv and sources.json from
// `dir`, checks each file's SHA-256 against sources.json, and loads them. kNotFound when a file
// is missing; kUnprocessable naming the file (and line) when one is malformed or its hash does
// not match. The layers are recorded as not built-in: ensure_builtin_geodata() keeps them.
Result<std::vector<GeoLayerInfo>> load_geodata(Database& db, const std::string& dir);

// load_geodata() of the files built into this program.
Result<std::vector<GeoLayerInfo>> load_builtin_geodata(Database& db);

// The SHA-256 of each built-in layer's file, by layer name.
std::map<std::string, std::string> builtin_geodata_hashes();

struct GeodataSync {
  bool loaded = false;               // false: the database's geodata was kept
  std::vector<GeoLayerInfo> layers;  // what the database holds now
};
// Loads the built-in geodata when the database has none, or when it has an earlier built-in
// set (another version of this program); geodata loaded from a folder (load_geodata) is kept.
// What `migrate` and `serve --migrate` do after the migrations.
Result<GeodataSync> ensure_builtin_geodata(Database& db);

// True when what observations derive their place from (countries, oblasts, the border) is
// loaded. Writes of observations refuse without it (kUnavailable), and /readyz fails.
Result<bool> geodata_ready(Database& db);

// The loaded layers (empty when none).
Result<std::vector<GeoLayerInfo>> geodata_layers(Database& db);

}  // namespace cw::store
