// load_geodata: GeoJSON features go in through ST_GeomFromGeoJSON (one statement per feature:
// a few hundred), places through COPY into a staging table. The subdivided copies the lookups
// use are made by PostGIS (ST_Subdivide, 255 vertices at most per piece).
#include "store/geodata.hpp"

#include <fmt/format.h>

#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/csv.hpp"
#include "common/embedded.hpp"
#include "common/sha256.hpp"
#include "store/internal/copy_row.hpp"
#include "store/internal/geodata_check.hpp"
#include "store/internal/pool.hpp"

namespace cw::embedded {
extern const std::vector<EmbeddedFile> kGeodata;
}

namespace cw::store {
namespace {

// The four layers and the file each is loaded from.
constexpr std::pair<const char*, const char*> kLayerFiles[] = {{"countries", "countries.geojson"},
                                                               {"regions", "regions.geojson"},
                                                               {"border", "border.geojson"},
                                                               {"places", "places.csv"}};

Result<std::string> read_whole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Code::kNotFound, "cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Result<nlohmann::json> read_json(const std::string& path, const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) return Error(Code::kUnprocessable, path + ": not valid JSON");
  return doc;
}

// The string value of props[key], or an error naming the file and feature.
Result<std::string> prop(const nlohmann::json& feature, const char* key, const std::string& file,
                         size_t n, bool required = true) {
  const auto& props = feature.value("properties", nlohmann::json::object());
  auto it = props.find(key);
  if (it == props.end() || it->is_null()) {
    if (!required) return std::string();
    return Error(Code::kUnprocessable,
                 fmt::format("{}: feature {} has no property {}", file, n, key));
  }
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

}  // namespace

namespace {

// The geodata files by name; what load_files() reads them through.
using ReadFile = std::function<Result<std::string_view>(const std::string& name)>;

Result<std::vector<GeoLayerInfo>> load_files(Database& db, const ReadFile& read, bool builtin) {
  auto sources_text = read("sources.json");
  if (!sources_text.ok()) return sources_text.error();
  auto sources = read_json("sources.json", std::string(*sources_text));
  if (!sources.ok()) return sources.error();
  const nlohmann::json& files = (*sources)["files"];
  std::map<std::string, nlohmann::json> packages;
  for (const auto& p : (*sources).value("packages", nlohmann::json::array())) {
    packages[p.value("name", "")] = p;
  }

  struct File {
    std::string layer;
    std::string name;
    std::string_view text;
    GeoLayerInfo info;
  };
  std::vector<File> inputs;
  for (auto [layer, name] : kLayerFiles) {
    auto text = read(name);
    if (!text.ok()) return text.error();
    if (!files.contains(name)) {
      return Error(Code::kUnprocessable, fmt::format("sources.json does not list {}", name));
    }
    const nlohmann::json& f = files[name];
    std::string sha = Sha256::hex_digest(*text);
    if (sha != f.value("sha256", "")) {
      return Error(Code::kUnprocessable,
                   fmt::format("{}: SHA-256 {} does not match sources.json; regenerate with "
                               "tools/geodata/derive.sh",
                               name, sha));
    }
    GeoLayerInfo info;
    info.builtin = builtin;
    info.layer = layer;
    info.sha256 = sha;
    std::string pkg = f.value("source", "");
    info.source = pkg;
    if (auto it = packages.find(pkg); it != packages.end()) {
      info.version = it->second.value("version", "");
      info.license = it->second.value("data_licence", "");
      info.source = pkg + " (" + it->second.value("data_source", "") + ")";
    } else {
      // Derived layers (the border) name what they come from in prose.
      info.version = (*sources).value("script_version", "");
      info.license = "ODbL-1.0";
    }
    inputs.push_back(File{layer, name, *text, std::move(info)});
  }
  std::string attribution = (*sources).value("attribution", "");

  return in_transaction(db, [&](pqxx::work& tx) -> Result<std::vector<GeoLayerInfo>> {
    // Loading and splitting the layers takes tens of seconds; [database] statement_timeout_ms
    // is meant for requests and would make `migrate` (and `serve --migrate`) fail on a server
    // with a short one. The pool's watchdog still cuts the work off if the server is gone.
    tx.exec0("SET LOCAL statement_timeout = 0");
    tx.exec0(
        "TRUNCATE geo_country_parts, geo_countries, geo_region_parts, geo_regions, "
        "geo_border_parts, geo_border, geo_places, geo_layers");
    std::vector<GeoLayerInfo> out;
    for (File& f : inputs) {
      int n = 0;
      if (f.layer != "places") {
        auto doc = read_json(f.name, std::string(f.text));
        if (!doc.ok()) return doc.error();
        if (!doc->is_object() || !(*doc)["features"].is_array()) {
          return Error(Code::kUnprocessable, f.name + ": not a GeoJSON FeatureCollection");
        }
        for (const auto& feature : (*doc)["features"]) {
          ++n;
          std::string geom = feature.value("geometry", nlohmann::json()).dump();
          if (f.layer == "countries") {
            auto a3 = prop(feature, "iso_a3", f.name, n);
            auto name = prop(feature, "name", f.name, n);
            if (!a3.ok()) return a3.error();
            if (!name.ok()) return name.error();
            tx.exec_params0(
                "INSERT INTO geo_countries (iso_a3, name, geom) "
                "VALUES ($1, $2, ST_Multi(ST_CollectionExtract(ST_MakeValid("
                "ST_SetSRID(ST_GeomFromGeoJSON($3), 4326)), 3)))",
                *a3, *name, geom);
          } else if (f.layer == "regions") {
            auto code = prop(feature, "iso_3166_2", f.name, n);
            auto country = prop(feature, "country", f.name, n);
            auto en = prop(feature, "name_en", f.name, n);
            auto ru = prop(feature, "name_ru", f.name, n, false);
            auto uk = prop(feature, "name_uk", f.name, n, false);
            for (auto* r : {&code, &country, &en}) {
              if (!r->ok()) return r->error();
            }
            tx.exec_params0(
                "INSERT INTO geo_regions (iso_3166_2, country, name_en, name_ru, name_uk, geom) "
                "VALUES ($1, $2, $3, NULLIF($4, ''), NULLIF($5, ''), "
                "ST_Multi(ST_CollectionExtract(ST_MakeValid("
                "ST_SetSRID(ST_GeomFromGeoJSON($6), 4326)), 3)))",
                *code, *country, *en, *ru, *uk, geom);
          } else {
            auto neighbour = prop(feature, "neighbour", f.name, n);
            auto km = prop(feature, "length_km", f.name, n);
            if (!neighbour.ok()) return neighbour.error();
            if (!km.ok()) return km.error();
            tx.exec_params0(
                "INSERT INTO geo_border (neighbour, length_km, geom) "
                "VALUES ($1, $2::float8, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($3), 4326)))",
                *neighbour, *km, geom);
          }
        }
      } else {
        tx.exec0(
            "CREATE TEMP TABLE geo_places_in (geonameid text, name text, ascii_name text, "
            "alt text, lat text, lon text, feature_code text, country text, admin1 text, "
            "iso_3166_2 text, population text) ON COMMIT DROP");
        pqxx::stream_to copy(tx, "geo_places_in");
        std::istringstream lines{std::string(f.text)};
        std::string line;
        int lineno = 0;
        while (std::getline(lines, line)) {
          ++lineno;
          if (lineno == 1) continue;  // header
          if (line.empty()) continue;
          std::vector<std::string> fields = csv_split(line);
          if (fields.size() != 11) {
            copy.complete();
            return Error(Code::kUnprocessable, fmt::format("{}:{}: {} fields, expected 11", f.name,
                                                           lineno, fields.size()));
          }
          copy << as_tuple<11>(fields);
          ++n;
        }
        copy.complete();
        tx.exec0(R"sql(
INSERT INTO geo_places (geonameid, name, ascii_name, names, country, admin1, feature_code,
                        population, geom)
SELECT geonameid::bigint, name, ascii_name,
       ARRAY(SELECT DISTINCT lower(x) FROM unnest(ARRAY[name, ascii_name] ||
                                                  string_to_array(NULLIF(alt, ''), '|')) x),
       country, COALESCE(NULLIF(iso_3166_2, ''), admin1), feature_code,
       COALESCE(NULLIF(population, ''), '0')::bigint,
       ST_SetSRID(ST_MakePoint(lon::float8, lat::float8), 4326)
FROM geo_places_in)sql");
      }
      f.info.features = n;
      tx.exec_params0(
          "INSERT INTO geo_layers (layer, source, version, license, attribution, features, sha256, "
          "builtin) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
          f.layer, f.info.source, f.info.version, f.info.license, attribution, n, f.info.sha256,
          f.info.builtin);
      out.push_back(f.info);
    }
    tx.exec0(R"sql(
INSERT INTO geo_country_parts (iso_a3, geom)
SELECT c.iso_a3, d.geom FROM geo_countries c, ST_Subdivide(c.geom, 255) s, ST_Dump(s) d
WHERE GeometryType(d.geom) = 'POLYGON')sql");
    tx.exec0(R"sql(
INSERT INTO geo_region_parts (iso_3166_2, country, geom)
SELECT r.iso_3166_2, r.country, d.geom FROM geo_regions r, ST_Subdivide(r.geom, 255) s, ST_Dump(s) d
WHERE GeometryType(d.geom) = 'POLYGON')sql");
    tx.exec0(R"sql(
INSERT INTO geo_border_parts (neighbour, geom)
SELECT b.neighbour, d.geom FROM geo_border b, ST_Subdivide(b.geom, 16) s, ST_Dump(s) d
WHERE GeometryType(d.geom) = 'LINESTRING')sql");
    tx.exec0("ANALYZE geo_country_parts");
    tx.exec0("ANALYZE geo_region_parts");
    tx.exec0("ANALYZE geo_border_parts");
    tx.exec0("ANALYZE geo_places");
    return out;
  });
}

}  // namespace

Result<std::vector<GeoLayerInfo>> load_geodata(Database& db, const std::string& dir) {
  std::map<std::string, std::string> texts;
  return load_files(
      db,
      [&](const std::string& name) -> Result<std::string_view> {
        auto text = read_whole(dir + "/" + name);
        if (!text.ok()) return text.error();
        return std::string_view(texts[name] = std::move(*text));
      },
      false);
}

Result<std::vector<GeoLayerInfo>> load_builtin_geodata(Database& db) {
  return load_files(
      db,
      [](const std::string& name) -> Result<std::string_view> {
        const EmbeddedFile* f = find_embedded(embedded::kGeodata, name);
        if (f == nullptr) return Error(Code::kInternal, name + " is not built into this program");
        return f->contents;
      },
      true);
}

std::map<std::string, std::string> builtin_geodata_hashes() {
  std::map<std::string, std::string> out;
  const EmbeddedFile* sources = find_embedded(embedded::kGeodata, "sources.json");
  if (sources == nullptr) return out;
  auto doc = nlohmann::json::parse(sources->contents, nullptr, false);
  if (!doc.is_object()) return out;
  for (auto [layer, name] : kLayerFiles) {
    out[layer] = doc["files"].value(name, nlohmann::json::object()).value("sha256", "");
  }
  return out;
}

Result<GeodataSync> ensure_builtin_geodata(Database& db) {
  auto loaded = geodata_layers(db);
  if (!loaded.ok()) return loaded.error();
  std::map<std::string, std::string> have;
  bool custom = false;
  for (const auto& l : *loaded) {
    have[l.layer] = l.sha256;
    custom = custom || !l.builtin;
  }
  if (custom) return GeodataSync{false, *loaded};
  if (have == builtin_geodata_hashes()) {
    // The record says so; the tables must agree (a half-emptied database gets them again).
    auto ready = geodata_ready(db);
    if (!ready.ok()) return ready.error();
    if (*ready) return GeodataSync{false, *loaded};
  }
  auto fresh = load_builtin_geodata(db);
  if (!fresh.ok()) return fresh.error();
  return GeodataSync{true, std::move(*fresh)};
}

Result<bool> geodata_ready(Database& db) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<bool> {
    pqxx::read_transaction tx(c);
    return tx.exec1(kGeodataReady)[0].as<bool>();
  });
}

Result<std::vector<GeoLayerInfo>> geodata_layers(Database& db) {
  return with_connection(db, [&](pqxx::connection& c) -> Result<std::vector<GeoLayerInfo>> {
    pqxx::read_transaction tx(c);
    std::vector<GeoLayerInfo> out;
    for (const auto& row :
         tx.exec("SELECT layer, source, version, license, features, sha256, builtin "
                 "FROM geo_layers ORDER BY layer")) {
      out.push_back(GeoLayerInfo{row[0].as<std::string>(), row[1].as<std::string>(),
                                 row[2].as<std::string>(), row[3].as<std::string>(),
                                 row[4].as<int>(), row[5].as<std::string>(), row[6].as<bool>()});
    }
    return out;
  });
}

}  // namespace cw::store
