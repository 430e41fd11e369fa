// The map over HTTP against a real server and the real geodata: vector tiles decoded with a real
// MVT decoder (npm @mapbox/vector-tile + pbf, tests/e2e/mvt_decode.mjs) — base layers with their
// names and the population threshold by zoom, observations with the list's filters, cells at
// low zoom, what another organisation may not see, ETag and 304, the cache following changes
// made through the API and straight in the database — and the style, TileJSON, glyphs, regions
// and places, and bad input naming the field.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "geo/tiles.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"
#include "tests/support/wait.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;

std::string observation(double lat, double lon, const std::string& type, int count,
                        const std::string& submission = "",
                        const std::string& at = "2022-02-20T06:30:00Z") {
  return fmt::format(
      R"({{"observed_at": "{}", "location": {{"lat": {}, "lon": {}}},
          "location_precision": "vicinity", "heading_deg": 200,
          "equipment": [{{"type": "{}", "count": {}}}]{}}})",
      at, lat, lon, type, count, submission.empty() ? "" : ", \"submission_id\": " + submission);
}

// Belgorod: the observations, the oblast and the city the tests look at.
constexpr double kLat = 50.61074, kLon = 36.58015;

geo::TileId tile_at(int z) {
  geo::GeoPoint p;
  p.lat = kLat;
  p.lon = kLon;
  auto t = geo::tile_for(p, z);
  EXPECT_TRUE(t.ok());
  return *t;
}

std::string tile_path(const std::string& layer, const geo::TileId& t,
                      const std::string& query = "") {
  return fmt::format("/api/v1/tiles/{}/{}/{}/{}.mvt{}", layer, t.z, t.x, t.y, query);
}

class MapE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()},
            {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"}};
    alice_ = add_user(env_, "alice", "Bellingcat", "analyst");
    bob_ = add_user(env_, "bob", "CIT", "analyst");
    server_ = std::make_unique<ServerProcess>(env_);
  }

  HttpResponse get(const std::string& token, const std::string& target,
                   std::map<std::string, std::string> headers = {}) {
    headers["Authorization"] = "Bearer " + token;
    return http_request(server_->port(), "GET", target, headers);
  }
  std::string post(const std::string& token, const std::string& target, const std::string& body) {
    auto r = http_request(
        server_->port(), "POST", target,
        {{"Authorization", "Bearer " + token}, {"Content-Type", "application/json"}}, body);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::to_string(r.json()["id"].get<int64_t>());
  }

  // The tile decoded by @mapbox/vector-tile: {"layers": {name: {"features": [...]}}}.
  nlohmann::json decode(const std::string& bytes, const geo::TileId& t) {
    const std::string file = (dir_.path() / fmt::format("t{}.mvt", ++files_)).string();
    std::ofstream(file, std::ios::binary) << bytes;
    auto r = run_command({"/usr/bin/env", "node",
                          std::string(CW_SOURCE_DIR) + "/tests/e2e/mvt_decode.mjs", file,
                          std::to_string(t.z), std::to_string(t.x), std::to_string(t.y)});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  nlohmann::json tile(const std::string& token, const std::string& layer, const geo::TileId& t,
                      const std::string& query = "") {
    auto r = get(token, tile_path(layer, t, query));
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"), "application/vnd.mapbox-vector-tile");
    return decode(r.body, t);
  }
  double tile_cache_lookups(const std::string& result) {
    auto m = http_request(server_->port(), "GET", "/metrics");
    std::istringstream lines(m.body);
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("convoywatch_read_cache_lookups_total{", 0) == 0 &&
          line.find("cache=\"tiles\"") != std::string::npos &&
          line.find("result=\"" + result + "\"") != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    ADD_FAILURE() << "no tiles/" << result << " counter in /metrics";
    return -1.0;
  }
  static const nlohmann::json& features(const nlohmann::json& decoded, const std::string& layer) {
    static const nlohmann::json none = nlohmann::json::array();
    if (!decoded.contains("layers") || !decoded["layers"].contains(layer)) return none;
    return decoded["layers"][layer]["features"];
  }
  static const nlohmann::json* find_id(const nlohmann::json& fs, int64_t id) {
    for (const auto& f : fs) {
      if (f["id"] == id) return &f;
    }
    return nullptr;
  }
  static const nlohmann::json* find(const nlohmann::json& fs, const std::string& key,
                                    const nlohmann::json& value) {
    for (const auto& f : fs) {
      if (f["properties"].contains(key) && f["properties"][key] == value) return &f;
    }
    return nullptr;
  }

  TestDatabase db_{"cw_geo_template"};
  std::map<std::string, std::string> env_;
  std::string alice_, bob_;
  std::unique_ptr<ServerProcess> server_;
  TempDir dir_;
  int files_ = 0;
};

TEST_F(MapE2eTest, BaseLayersCarryNamesAndPlacesByZoom) {
  const geo::TileId t6 = tile_at(6);
  auto r = get(alice_, tile_path("base", t6));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto d = decode(r.body, t6);
  for (const char* layer : {"countries", "oblasts", "border", "places"}) {
    EXPECT_FALSE(features(d, layer).empty()) << layer;
    EXPECT_EQ(d["layers"][layer]["extent"], 4096) << layer;
  }
  EXPECT_NE(find(features(d, "countries"), "iso_a3", "UKR"), nullptr);
  EXPECT_NE(find(features(d, "countries"), "iso_a3", "RUS"), nullptr);
  const auto* bel = find(features(d, "oblasts"), "iso_3166_2", "RU-BEL");
  ASSERT_NE(bel, nullptr);
  EXPECT_EQ((*bel)["properties"]["name"], "Belgorod");
  EXPECT_EQ((*bel)["properties"]["name_local"], "Белгородская область");
  EXPECT_EQ((*bel)["type"], "Polygon");
  const auto* kharkiv = find(features(d, "oblasts"), "iso_3166_2", "UA-63");
  ASSERT_NE(kharkiv, nullptr);
  EXPECT_EQ((*kharkiv)["properties"]["name_local"], "Харківська область");
  const auto* border = find(features(d, "border"), "neighbour", "RUS");
  ASSERT_NE(border, nullptr);
  EXPECT_EQ((*border)["properties"]["neighbour_name"], "Russia");
  EXPECT_EQ((*border)["type"], "LineString");
  const auto* city = find(features(d, "places"), "name", "Belgorod");
  ASSERT_NE(city, nullptr);
  EXPECT_GT((*city)["properties"]["population"].get<int64_t>(), 300000);
  EXPECT_EQ((*city)["id"], 578072);  // the GeoNames id
  EXPECT_NEAR((*city)["geometry"]["coordinates"][0].get<double>(), 36.58, 0.05);
  EXPECT_NEAR((*city)["geometry"]["coordinates"][1].get<double>(), 50.6, 0.05);
  for (const auto& p : features(d, "places")) {
    EXPECT_GE(p["properties"]["population"].get<int64_t>(), 100000) << p.dump();
  }
  // A single layer on its own, and fewer, larger places further out.
  const auto only = tile(alice_, "places", t6);
  EXPECT_EQ(only["layers"].size(), 1u);
  EXPECT_EQ(features(only, "places").size(), features(d, "places").size());
  const geo::TileId t3 = tile_at(3);
  const auto far = tile(alice_, "places", t3);
  ASSERT_FALSE(features(far, "places").empty());
  for (const auto& p : features(far, "places")) {
    EXPECT_GE(p["properties"]["population"].get<int64_t>(), 1000000) << p.dump();
  }
  EXPECT_EQ(find(features(far, "places"), "name", "Belgorod"), nullptr);

  // ETag and 304; a base tile may be kept by the client.
  const std::string etag = r.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_NE(r.header("cache-control").find("max-age"), std::string::npos);
  auto again = get(alice_, tile_path("base", t6), {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.header("etag"), etag);
  // The same tile for another organisation is the same bytes.
  auto other = get(bob_, tile_path("base", t6), {{"If-None-Match", "\"x\", " + etag}});
  EXPECT_EQ(other.status, 304);

  // Nothing at sea off Africa: an empty 200.
  auto empty = get(alice_, "/api/v1/tiles/base/8/128/140.mvt");
  EXPECT_EQ(empty.status, 200);
  EXPECT_TRUE(empty.body.empty());
}

TEST_F(MapE2eTest, ObservationTilesFollowFiltersVisibilityAndChanges) {
  const std::string private_sub =
      post(alice_, "/api/v1/submissions",
           R"({"source_url":"https://t.me/secret_source/77","platform":"telegram",)"
           R"("visibility":"org","description":"private lead"})");
  const std::string shared_sub =
      post(alice_, "/api/v1/submissions",
           R"({"source_url":"https://t.me/open_channel/5","platform":"telegram"})");
  const std::string tanks =
      post(alice_, "/api/v1/observations", observation(kLat, kLon, "tank", 4, private_sub));
  const std::string trucks = post(alice_, "/api/v1/observations",
                                  observation(kLat + 0.01, kLon + 0.01, "truck", 11, shared_sub));
  const geo::TileId t10 = tile_at(10);

  // Alice sees both, with the submissions they cite.
  const auto a = tile(alice_, "observations", t10, "?status=any");
  ASSERT_EQ(features(a, "observations").size(), 2u) << a.dump();
  const auto* a_tanks = find_id(features(a, "observations"), std::stoll(tanks));
  ASSERT_NE(a_tanks, nullptr);
  EXPECT_EQ((*a_tanks)["id"], std::stoll(tanks));
  EXPECT_EQ((*a_tanks)["properties"]["vehicles"], 4);
  EXPECT_EQ((*a_tanks)["properties"]["equipment_types"], "tank");
  EXPECT_EQ((*a_tanks)["properties"]["status"], "unverified");
  EXPECT_EQ((*a_tanks)["properties"]["movement"], "toward");
  EXPECT_EQ((*a_tanks)["properties"]["oblast"], "RU-BEL");
  EXPECT_EQ((*a_tanks)["properties"]["observed_at"], 1645338600);
  EXPECT_EQ((*a_tanks)["properties"]["submission_id"], std::stoll(private_sub));
  EXPECT_NEAR((*a_tanks)["geometry"]["coordinates"][0].get<double>(), kLon, 0.01);
  EXPECT_NEAR((*a_tanks)["geometry"]["coordinates"][1].get<double>(), kLat, 0.01);

  // Bob (another organisation) sees the observations, which are the task force's, but never
  // the organisation-private submission one of them cites.
  auto b_raw = get(bob_, tile_path("observations", t10, "?status=any"));
  ASSERT_EQ(b_raw.status, 200);
  const auto b = decode(b_raw.body, t10);
  ASSERT_EQ(features(b, "observations").size(), 2u);
  for (const auto& f : features(b, "observations")) {
    EXPECT_NE(f["properties"].value("submission_id", int64_t{0}), std::stoll(private_sub))
        << f.dump();
  }
  const auto* b_trucks = find_id(features(b, "observations"), std::stoll(trucks));
  ASSERT_NE(b_trucks, nullptr);
  EXPECT_EQ((*b_trucks)["properties"]["submission_id"], std::stoll(shared_sub));
  const auto* b_tanks = find_id(features(b, "observations"), std::stoll(tanks));
  ASSERT_NE(b_tanks, nullptr);
  EXPECT_FALSE((*b_tanks)["properties"].contains("submission_id")) << b_tanks->dump();
  // Alice's tile, cached first, is not what Bob got.
  EXPECT_NE(b_raw.header("etag"),
            get(alice_, tile_path("observations", t10, "?status=any")).header("etag"));

  // The list's filters.
  const auto only_tanks = tile(bob_, "observations", t10, "?equipment_type=tank");
  ASSERT_EQ(features(only_tanks, "observations").size(), 1u);
  EXPECT_EQ(features(only_tanks, "observations")[0]["id"], std::stoll(tanks));
  auto none = get(bob_, tile_path("observations", t10, "?status=verified"));
  EXPECT_EQ(none.status, 200);
  EXPECT_TRUE(none.body.empty());
  EXPECT_EQ(features(tile(bob_, "observations", t10, "?oblast=RU-BEL"), "observations").size(), 2u);
  EXPECT_TRUE(features(tile(bob_, "observations", t10, "?oblast=UA-63"), "observations").empty());
  EXPECT_TRUE(
      features(tile(bob_, "observations", t10, "?from=2023-01-01T00:00:00Z"), "observations")
          .empty());
  // Another tile holds none of them.
  EXPECT_TRUE(features(tile(bob_, "observations", {10, t10.x + 3, t10.y}), "observations").empty());

  // Below zoom 9: one point per cell with the count and the vehicles.
  const geo::TileId t5 = tile_at(5);
  const auto cells = tile(bob_, "observations", t5);
  ASSERT_EQ(features(cells, "observations").size(), 1u) << cells.dump();
  const auto& cell = features(cells, "observations")[0];
  EXPECT_EQ(cell["properties"]["count"], 2);
  EXPECT_EQ(cell["properties"]["vehicles"], 15);
  EXPECT_FALSE(cell["properties"].contains("submission_id"));
  EXPECT_NEAR(cell["geometry"]["coordinates"][0].get<double>(), kLon + 0.005, 0.05);

  // 304 while nothing changed, answered from the tile cache; a new observation (through the
  // API) shows at once.
  auto first = get(bob_, tile_path("observations", t10));
  const double hits = tile_cache_lookups("hit");
  const std::string etag = first.header("etag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first.header("cache-control"), "private, no-cache");
  EXPECT_EQ(get(bob_, tile_path("observations", t10), {{"If-None-Match", etag}}).status, 304);
  EXPECT_EQ(tile_cache_lookups("hit"), hits + 1);
  const std::string third =
      post(bob_, "/api/v1/observations", observation(kLat - 0.01, kLon, "apc", 2));
  auto changed = get(bob_, tile_path("observations", t10), {{"If-None-Match", etag}});
  ASSERT_EQ(changed.status, 200);
  EXPECT_NE(changed.header("etag"), etag);
  EXPECT_EQ(features(decode(changed.body, t10), "observations").size(), 3u);

  // A change made straight in the database (another process) reaches the cache through the
  // change feed within its notification time.
  const std::string etag2 = changed.header("etag");
  db_.exec("UPDATE observations SET status = 'rejected' WHERE id = " + third);
  HttpResponse after;
  wait_until(
      [&] {
        after = get(bob_, tile_path("observations", t10), {{"If-None-Match", etag2}});
        return after.status == 200;
      },
      2s, 50ms);
  ASSERT_EQ(after.status, 200) << "the tile did not change within 2 s";
  EXPECT_EQ(features(decode(after.body, t10), "observations").size(), 2u);

  // Convoy tracks: two sightings of one column near Kursk an hour apart make one line.
  post(alice_, "/api/v1/observations",
       observation(51.73, 36.19, "truck", 5, "", "2022-02-20T07:00:00Z"));
  post(alice_, "/api/v1/observations",
       observation(51.63, 36.14, "truck", 5, "", "2022-02-20T08:00:00Z"));
  geo::GeoPoint kursk;
  kursk.lat = 51.68;
  kursk.lon = 36.16;
  const geo::TileId t8 = *geo::tile_for(kursk, 8);
  const auto convoys =
      tile(bob_, "convoys", t8, "?from=2022-02-20T00:00:00Z&to=2022-02-21T00:00:00Z");
  ASSERT_EQ(features(convoys, "convoys").size(), 1u) << convoys.dump();
  const auto& track = features(convoys, "convoys")[0];
  EXPECT_EQ(track["type"], "LineString");
  EXPECT_EQ(track["properties"]["sightings"], 2);
  EXPECT_EQ(track["properties"]["vehicles"].get<int64_t>() > 0, true);
  EXPECT_TRUE(track["properties"].contains("net_km_toward_border"));
  EXPECT_TRUE(track["properties"]["direction"] == "toward" ||
              track["properties"]["direction"] == "away" ||
              track["properties"]["direction"] == "parallel");
  // The window is the convoy list's.
  EXPECT_TRUE(
      features(tile(bob_, "convoys", t8, "?from=2022-03-01T00:00:00Z&to=2022-03-02T00:00:00Z"),
               "convoys")
          .empty());
}

// Imagery footprints; a footprint added by another process reaches a cached tile through the
// change feed (migration 0013's trigger on imagery).
TEST_F(MapE2eTest, ImageryFootprintsFollowTheDatabase) {
  const geo::TileId t10 = tile_at(10);
  auto before = get(alice_, tile_path("imagery", t10));
  ASSERT_EQ(before.status, 200);
  EXPECT_TRUE(before.body.empty());
  db_.exec(R"sql(
INSERT INTO imagery (sha256, kind, bytes, width, height, bands, driver, data_type, crs_wkt,
                     geotransform, captured_at, source, ground_resolution_m, footprint,
                     created_by, org_id)
SELECT repeat('a', 64), 'geotiff', 1000, 100, 100, 3, 'GTiff', 'Byte', 'EPSG:4326',
       '{36.5, 0.002, 0, 50.7, 0, -0.002}', '2022-02-21T10:00:00Z', 'test satellite', 0.5,
       ST_MakeEnvelope(36.5, 50.5, 36.7, 50.7, 4326), u.id, u.org_id
FROM users u WHERE u.name = 'alice')sql");
  HttpResponse after;
  wait_until(
      [&] {
        after = get(bob_, tile_path("imagery", t10), {{"If-None-Match", before.header("etag")}});
        return after.status == 200 && !after.body.empty();
      },
      2s, 50ms);
  ASSERT_EQ(after.status, 200) << "the tile did not change within 2 s";
  const auto d = decode(after.body, t10);
  ASSERT_EQ(features(d, "imagery").size(), 1u) << d.dump();
  const auto& f = features(d, "imagery")[0];
  EXPECT_EQ(f["type"], "Polygon");
  EXPECT_EQ(f["properties"]["source"], "test satellite");
  EXPECT_EQ(f["properties"]["kind"], "geotiff");
  EXPECT_EQ(f["properties"]["captured_at"], 1645437600);
  EXPECT_DOUBLE_EQ(f["properties"]["ground_resolution_m"].get<double>(), 0.5);
}

TEST_F(MapE2eTest, BadTileAddressesAndFiltersNameTheField) {
  struct Case {
    std::string target;
    int status;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"/api/v1/tiles/roads/1/0/0.mvt", 404, "layer"},
      {"/api/v1/tiles/base/x/0/0.mvt", 422, "z"},
      {"/api/v1/tiles/base/23/0/0.mvt", 422, "z"},
      {"/api/v1/tiles/base/1/2/0.mvt", 422, "x"},
      {"/api/v1/tiles/base/1/0/-1.mvt", 422, "y"},
      {"/api/v1/tiles/base/1/0/99999999999.mvt", 422, "y"},
      {"/api/v1/tiles/observations/1/0/0.mvt?movement=sideways", 422, "movement"},
      {"/api/v1/tiles/observations/1/0/0.mvt?bbox=1,2,3,4", 422, "bbox"},
      {"/api/v1/tiles/observations/1/0/0.mvt?from=yesterday", 422, "from"},
      {"/api/v1/tiles/convoys/1/0/0.mvt?oblast=UA-63", 422, "oblast"},
      {"/api/v1/map/fonts/Noto%20Sans%20Regular/0-10.pbf", 422, "range"},
      {"/api/v1/map/fonts/Comic%20Sans/0-255.pbf", 404, "fontstack"},
      {"/api/v1/places", 422, "q"},
      {"/api/v1/places?q=Kharkiv&limit=0", 422, "limit"},
  };
  for (const auto& c : cases) {
    auto r = get(alice_, c.target);
    EXPECT_EQ(r.status, c.status) << c.target << " " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/problem+json") << c.target;
    EXPECT_EQ(r.json().value("field", ""), c.field) << c.target << " " << r.body;
  }
  // Every map route needs a token.
  for (const char* target :
       {"/api/v1/tiles/base/0/0/0.mvt", "/api/v1/tiles.json", "/api/v1/map/style.json",
        "/api/v1/map/fonts/Noto%20Sans%20Regular/0-255.pbf", "/api/v1/regions",
        "/api/v1/places?q=Kharkiv"}) {
    EXPECT_EQ(http_request(server_->port(), "GET", target).status, 401) << target;
  }
}

TEST_F(MapE2eTest, StyleTileJsonGlyphsRegionsAndPlaces) {
  const std::string origin = fmt::format("http://127.0.0.1:{}", server_->port());
  auto style = get(alice_, "/api/v1/map/style.json",
                   {{"Host", fmt::format("127.0.0.1:{}", server_->port())}});
  ASSERT_EQ(style.status, 200) << style.body;
  const auto s = style.json();
  EXPECT_EQ(s["version"], 8);
  EXPECT_EQ(s["glyphs"], origin + "/api/v1/map/fonts/{fontstack}/{range}.pbf");
  EXPECT_FALSE(s["sources"].contains("raster"));  // off by default: nothing leaves the machine
  std::set<std::string> fonts;
  for (const auto& l : s["layers"]) {
    if (l.contains("source")) {
      EXPECT_TRUE(s["sources"].contains(l["source"])) << l.dump();
    }
    if (l.contains("layout") && l["layout"].contains("text-font")) {
      for (const auto& f : l["layout"]["text-font"]) fonts.insert(f.get<std::string>());
    }
  }
  std::set<std::string> ids;
  for (const auto& l : s["layers"]) ids.insert(l["id"].get<std::string>());
  for (const char* id : {"background", "countries-fill", "oblasts-outline", "border", "places",
                         "oblast-labels", "observation-cells", "observation-points"}) {
    EXPECT_TRUE(ids.count(id)) << id;
  }
  // Every font the style names is served, and the tiles it points at answer.
  ASSERT_FALSE(fonts.empty());
  for (const auto& f : fonts) {
    std::string path = "/api/v1/map/fonts/";
    for (char c : f) path += c == ' ' ? std::string("%20") : std::string(1, c);
    for (const char* range : {"/0-255.pbf", "/1024-1279.pbf"}) {  // Latin, Cyrillic
      auto g = get(alice_, path + range);
      EXPECT_EQ(g.status, 200) << path << range;
      EXPECT_EQ(g.header("content-type"), "application/x-protobuf");
      EXPECT_GT(g.body.size(), 1000u) << path << range;
    }
  }
  for (const auto& [name, src] : s["sources"].items()) {
    std::string url = src["tiles"][0];
    ASSERT_EQ(url.rfind(origin, 0), 0u) << url;
    url = url.substr(origin.size());
    for (const char* k : {"{z}", "{x}", "{y}"}) url.replace(url.find(k), 3, "0");
    EXPECT_EQ(get(alice_, url).status, 200) << name;
  }

  // TileJSON 3.0.0.
  auto tj = get(alice_, "/api/v1/tiles.json",
                {{"Host", "maps.example.org"}, {"X-Forwarded-Proto", "https"}});
  ASSERT_EQ(tj.status, 200);
  const auto j = tj.json();
  EXPECT_EQ(j["tilejson"], "3.0.0");
  EXPECT_EQ(j["tiles"][0], "https://maps.example.org/api/v1/tiles/base/{z}/{x}/{y}.mvt");
  std::set<std::string> vl;
  for (const auto& l : j["vector_layers"]) {
    vl.insert(l["id"].get<std::string>());
    EXPECT_TRUE(l["fields"].is_object());
  }
  EXPECT_EQ(vl, (std::set<std::string>{"countries", "oblasts", "border", "places"}));
  EXPECT_EQ(j["x-layers"]["observations"],
            "https://maps.example.org/api/v1/tiles/observations/{z}/{x}/{y}.mvt");
  EXPECT_TRUE(j["x-data-layers"][0]["fields"].contains("vehicles"));

  // Regions: countries and oblasts with names and boxes.
  auto regions = get(alice_, "/api/v1/regions");
  ASSERT_EQ(regions.status, 200);
  bool ukraine = false, kharkiv = false;
  const auto region_list = regions.json();
  for (const auto& r : region_list["items"]) {
    if (r["code"] == "UKR") {
      ukraine = true;
      EXPECT_EQ(r["kind"], "country");
      EXPECT_NEAR(r["bbox"][0].get<double>(), 22.1, 0.3);
    }
    if (r["code"] == "UA-63") {
      kharkiv = true;
      EXPECT_EQ(r["kind"], "oblast");
      EXPECT_EQ(r["country"], "UKR");
      EXPECT_EQ(r["name"], "Kharkiv");
      EXPECT_EQ(r["name_local"], "Харківська область");
      const auto& b = r["bbox"];
      EXPECT_LT(b[0].get<double>(), 36.23);
      EXPECT_GT(b[2].get<double>(), 36.23);
      EXPECT_LT(b[1].get<double>(), 49.99);
      EXPECT_GT(b[3].get<double>(), 49.99);
    }
  }
  EXPECT_TRUE(ukraine);
  EXPECT_TRUE(kharkiv);

  // Places, in Latin and Cyrillic, inflected forms too.
  for (const char* q : {"Kharkiv", "%D0%A5%D0%B0%D1%80%D0%BA%D0%BE%D0%B2", "Kharkov",
                        "%D0%A5%D0%B0%D1%80%D0%BA%D0%BE%D0%B2%D0%B0"}) {  // Харков, Харкова
    auto p = get(alice_, std::string("/api/v1/places?q=") + q);
    ASSERT_EQ(p.status, 200) << q;
    const auto items = p.json()["items"];
    ASSERT_FALSE(items.empty()) << q;
    EXPECT_EQ(items[0]["name"], "Kharkiv") << q;
    EXPECT_NEAR(items[0]["lat"].get<double>(), 49.98, 0.05);
    EXPECT_GT(items[0]["population"].get<int64_t>(), 1000000);
  }
  auto short_words = get(alice_, "/api/v1/places?q=ab");
  ASSERT_EQ(short_words.status, 200);
  EXPECT_TRUE(short_words.json()["items"].empty());
  auto limited = get(alice_, "/api/v1/places?q=Kharkiv%20Belgorod%20Kursk&limit=2");
  ASSERT_EQ(limited.status, 200);
  EXPECT_EQ(limited.json()["items"].size(), 2u);

  // A deployment with internet may put a raster under the map.
  auto env = env_;
  env["CONVOYWATCH_MAP_RASTER_URL"] = "https://tiles.example.org/{z}/{x}/{y}.png";
  ServerProcess online(env);
  auto with_raster = http_request(online.port(), "GET", "/api/v1/map/style.json",
                                  {{"Authorization", "Bearer " + alice_}});
  ASSERT_EQ(with_raster.status, 200);
  EXPECT_EQ(with_raster.json()["sources"]["raster"]["tiles"][0],
            "https://tiles.example.org/{z}/{x}/{y}.png");
}

}  // namespace
}  // namespace cw::test
