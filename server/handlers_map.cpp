// The map: Mapbox Vector Tiles (/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt) of the reference geodata
// and of the task force's data, their TileJSON, a MapLibre style over them, the label glyphs it
// names, and the look-ups a map client needs (regions for filters, places to jump to).
//
// Tiles are built in PostGIS (store/map.hpp, Observations::tile). A tile's ETag is the SHA-256
// of its bytes; tiles are kept in the tile cache (server/tile_cache.hpp) while the change feed
// vouches for what they were read from, so a warm tile, and a 304 to a client that has it, costs
// no query. A tile with no features is a 200 with an empty body (a valid MVT with no layers).
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <iterator>

#include "common/sha256.hpp"
#include "geo/tiles.hpp"
#include "reports/convoys.hpp"
#include "server/context.hpp"
#include "server/glyphs.hpp"
#include "server/metrics.hpp"
#include "server/observation_io.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"
#include "server/tile_cache.hpp"
#include "store/geolocations.hpp"
#include "store/map.hpp"
#include "store/observations.hpp"

namespace cw::server {
namespace {

constexpr const char* kMvt = "application/vnd.mapbox-vector-tile";
constexpr auto kDefaultConvoyWindow = std::chrono::hours(24 * 7);
constexpr auto kMaxConvoyWindow = std::chrono::hours(24 * 92);

enum class Layer {
  kBase,
  kCountries,
  kOblasts,
  kBorder,
  kPlaces,
  kObservations,
  kConvoys,
  kImagery
};

struct LayerInfo {
  const char* name;
  Layer layer;
  bool data;  // depends on the task force's data (and so on the caller)
  store::ChangeFeed::Topic topic;
};

constexpr LayerInfo kLayers[] = {
    {"base", Layer::kBase, false, store::ChangeFeed::Topic::kGeodata},
    {"countries", Layer::kCountries, false, store::ChangeFeed::Topic::kGeodata},
    {"oblasts", Layer::kOblasts, false, store::ChangeFeed::Topic::kGeodata},
    {"border", Layer::kBorder, false, store::ChangeFeed::Topic::kGeodata},
    {"places", Layer::kPlaces, false, store::ChangeFeed::Topic::kGeodata},
    {"observations", Layer::kObservations, true, store::ChangeFeed::Topic::kObservations},
    {"convoys", Layer::kConvoys, true, store::ChangeFeed::Topic::kObservations},
    {"imagery", Layer::kImagery, true, store::ChangeFeed::Topic::kImagery},
};

const LayerInfo* find_layer(const std::string& name) {
  for (const auto& l : kLayers) {
    if (name == l.name) return &l;
  }
  return nullptr;
}

// A whole non-negative decimal number of at most 9 digits, or nullopt.
std::optional<int64_t> small_number(const std::string& s) {
  if (s.empty() || s.size() > 9) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

Result<geo::TileId> tile_address(const RequestContext& ctx) {
  int64_t v[3] = {0, 0, 0};
  const char* names[3] = {"z", "x", "y"};
  for (int i = 0; i < 3; ++i) {
    auto n = small_number(ctx.params.at(names[i]));
    if (!n) {
      return Error(Code::kUnprocessable,
                   fmt::format("{} must be a whole number (the tile address is z/x/y)", names[i]),
                   names[i]);
    }
    v[i] = *n;
  }
  return geo::make_tile_id(v[0], v[1], v[2]);
}

// The tile's area with the 64/4096 buffer the features are drawn with, in degrees.
std::array<double, 4> buffered_bounds(const geo::TileId& t) {
  const geo::TileBounds b = geo::tile_bounds(t);
  const double mx = (b.east - b.west) * 64.0 / 4096.0;
  const double my = (b.north - b.south) * 64.0 / 4096.0;
  return {std::max(-180.0, b.west - mx), std::max(-90.0, b.south - my),
          std::min(180.0, b.east + mx), std::min(90.0, b.north + my)};
}

// The filters of the observation list that a tile accepts; the rest of the list's parameters
// are answered 422 naming them.
Result<store::ObservationFilter> tile_filter(const RequestContext& ctx, const geo::TileId& t) {
  for (const char* unsupported : {"cursor", "limit", "bbox", "format"}) {
    if (ctx.query_param(unsupported)) {
      return Error(Code::kUnprocessable,
                   fmt::format("{} is not a tile filter (from, to, status, equipment_type, "
                               "movement, oblast, country, submission_id)",
                               unsupported),
                   unsupported);
    }
  }
  auto filter = parse_observation_filter(ctx.query, 1, 1);
  if (!filter.ok()) return filter.error();
  filter->bbox = buffered_bounds(t);
  return filter;
}

Result<std::string> convoys_tile(RequestContext& ctx, const geo::TileId& t) {
  for (const char* unsupported : {"cursor", "limit", "bbox", "format", "oblast", "country",
                                  "equipment_type", "movement", "submission_id"}) {
    if (ctx.query_param(unsupported)) {
      return Error(Code::kUnprocessable,
                   fmt::format("{} is not a convoy filter (from, to, status)", unsupported),
                   unsupported);
    }
  }
  auto filter = parse_observation_filter(ctx.query, 1, 1);
  if (!filter.ok()) return filter.error();
  reports::ConvoyQuery q;
  q.to = filter->to.value_or(now_utc());
  q.from = filter->from.value_or(q.to - kDefaultConvoyWindow);
  if (q.from >= q.to) return Error(Code::kUnprocessable, "from must be before to", "from");
  if (q.to - q.from > kMaxConvoyWindow) {
    return Error(Code::kUnprocessable, "from/to may span at most 92 days", "from");
  }
  q.status = filter->status;
  q.bbox = buffered_bounds(t);
  auto convoys = reports::find_convoys(ctx.services.db, ctx.services.config.tracks, q);
  if (!convoys.ok()) return convoys.error();
  std::vector<store::TileLine> lines;
  for (const auto& c : *convoys) {
    if (c.sightings.size() < 2) continue;
    store::TileLine l;
    l.id = c.id;
    for (const auto& s : c.sightings) l.coordinates.push_back({s.lon, s.lat});
    l.direction = c.net_km_toward_border > 0.5    ? "toward"
                  : c.net_km_toward_border < -0.5 ? "away"
                                                  : "parallel";
    l.vehicles = c.vehicles;
    l.net_km_toward_border = c.net_km_toward_border;
    l.path_km = c.path_km;
    l.start = std::chrono::duration_cast<std::chrono::seconds>(c.start.time_since_epoch()).count();
    l.end = std::chrono::duration_cast<std::chrono::seconds>(c.end.time_since_epoch()).count();
    l.sightings = static_cast<int>(c.sightings.size());
    lines.push_back(std::move(l));
  }
  return store::lines_tile(ctx.services.db, "convoys", lines, {t.z, t.x, t.y});
}

Result<std::string> build_tile(RequestContext& ctx, const LayerInfo& layer, const geo::TileId& t) {
  store::Database& db = ctx.services.db;
  const store::TileAddress a{t.z, t.x, t.y};
  switch (layer.layer) {
    case Layer::kBase: {
      // MVT layers concatenate: the four base tiles' bytes are one tile with four layers.
      std::string out;
      for (auto l : {store::BaseLayer::kCountries, store::BaseLayer::kOblasts,
                     store::BaseLayer::kBorder, store::BaseLayer::kPlaces}) {
        auto part = store::base_tile(db, l, a);
        if (!part.ok()) return part.error();
        out += *part;
      }
      return out;
    }
    case Layer::kCountries:
      return store::base_tile(db, store::BaseLayer::kCountries, a);
    case Layer::kOblasts:
      return store::base_tile(db, store::BaseLayer::kOblasts, a);
    case Layer::kBorder:
      return store::base_tile(db, store::BaseLayer::kBorder, a);
    case Layer::kPlaces:
      return store::base_tile(db, store::BaseLayer::kPlaces, a);
    case Layer::kObservations: {
      auto filter = tile_filter(ctx, t);
      if (!filter.ok()) return filter.error();
      return store::Observations(db).tile(*filter, ctx.user().org_id, t.z, t.x, t.y);
    }
    case Layer::kConvoys:
      return convoys_tile(ctx, t);
    case Layer::kImagery:
      return store::imagery_tile(db, a);
  }
  return Error(Code::kInternal, "unknown layer");
}

// Everything a tile depends on: the layer, the address, the query and, for the data layers,
// the caller's organisation. Each part length-prefixed (decoded values may hold anything).
std::string tile_key(const RequestContext& ctx, const LayerInfo& layer, const geo::TileId& t) {
  std::string key = fmt::format("{}/{}/{}/{}", layer.name, t.z, t.x, t.y);
  if (!layer.data) return key;
  fmt::format_to(std::back_inserter(key), "#{}", ctx.user().org_id);
  for (const auto& [k, v] : ctx.query) {
    fmt::format_to(std::back_inserter(key), "&{}:{}{}:{}", k.size(), k, v.size(), v);
  }
  return key;
}

std::string etag_of(const std::string& body) {
  return "\"" + Sha256::hex_digest(body).substr(0, 32) + "\"";
}

// True when If-None-Match names `etag` (or is *).
bool client_has(const RequestContext& ctx, const std::string& etag) {
  std::string_view inm = ctx.request[http::field::if_none_match];
  if (inm.empty()) return false;
  if (inm == "*") return true;
  size_t pos = 0;
  while (pos < inm.size()) {
    size_t comma = inm.find(',', pos);
    std::string_view one =
        inm.substr(pos, comma == std::string_view::npos ? inm.npos : comma - pos);
    while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
    while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
    if (one.starts_with("W/")) one.remove_prefix(2);
    if (one == etag) return true;
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return false;
}

Result<Reply> get_tile(RequestContext& ctx) {
  const LayerInfo* layer = find_layer(ctx.params.at("layer"));
  if (layer == nullptr) {
    return Error(Code::kNotFound,
                 "no such tile layer (base, countries, oblasts, border, places, observations, "
                 "convoys, imagery)",
                 "layer");
  }
  auto t = tile_address(ctx);
  if (!t.ok()) return t.error();

  CachedTile tile;
  bool have = false;
  TileCache* cache = ctx.services.tiles;
  const uint64_t version = cache != nullptr ? cache->feed().version(layer->topic) : 0;
  std::string key;
  if (version != 0) {
    key = tile_key(ctx, *layer, *t);
    if (auto hit = cache->tiles().get(key, version)) {
      tile = std::move(*hit);
      have = true;
    }
    ctx.services.metrics.cache_lookup("tiles", have);
  }
  if (!have) {
    auto build = [&]() -> Result<CachedTile> {
      auto body = build_tile(ctx, *layer, *t);
      if (!body.ok()) return body.error();
      CachedTile built{std::move(*body), ""};
      built.etag = etag_of(built.body);
      if (version != 0) {
        cache->tiles().put(key, built, version, built.body.size() + built.etag.size());
      }
      return built;
    };
    // Requests for a tile that is being built wait for that build (server/single_flight.hpp).
    auto built = version != 0 ? cache->flights().run(key + '\n' + std::to_string(version), build)
                              : build();
    if (!built.ok()) return built.error();
    tile = std::move(*built);
  }
  Reply r = Reply::text(http::status::ok, "", kMvt);
  r.headers.set(http::field::etag, tile.etag);
  r.headers.set(http::field::cache_control,
                layer->data ? "private, no-cache" : "private, max-age=3600");
  if (client_has(ctx, tile.etag)) {
    r.status = http::status::not_modified;
    return r;
  }
  r.body = std::move(tile.body);
  return r;
}

// ---- TileJSON and the style -------------------------------------------------------------------

// The scheme://host the client reached us at ([server] public_url when set), for the absolute
// URLs TileJSON and styles need (MapLibre fetches tiles from a worker, where a path alone does
// not resolve).
std::string origin_of(const RequestContext& ctx) {
  std::string pub = ctx.services.config.server.public_url;
  while (!pub.empty() && pub.back() == '/') pub.pop_back();
  if (!pub.empty()) return pub;
  std::string host(ctx.request[http::field::host]);
  if (host.empty() || host.find_first_of("/\\ \"<>@") != std::string::npos) return "";
  std::string proto(ctx.request["X-Forwarded-Proto"]);
  if (proto != "https") proto = "http";
  return proto + "://" + host;
}

nlohmann::json vector_layer(const char* id, const char* description,
                            std::initializer_list<std::pair<const char*, const char*>> fields,
                            int minzoom, int maxzoom) {
  nlohmann::json f = nlohmann::json::object();
  for (const auto& [k, v] : fields) f[k] = v;
  return {{"id", id},
          {"description", description},
          {"fields", f},
          {"minzoom", minzoom},
          {"maxzoom", maxzoom}};
}

nlohmann::json base_vector_layers() {
  return nlohmann::json::array({
      vector_layer("countries", "Countries (Natural Earth)",
                   {{"iso_a3", "ISO 3166-1 alpha-3"}, {"name", "English name"}}, 0, 22),
      vector_layer("oblasts", "First-level regions (oblasts)",
                   {{"iso_3166_2", "ISO 3166-2 code"},
                    {"country", "ISO 3166-1 alpha-3"},
                    {"name", "English name"},
                    {"name_local", "Name in the local script (Ukrainian in Ukraine, else Russian)"},
                    {"name_uk", "Ukrainian name"},
                    {"name_ru", "Russian name"}},
                   0, 22),
      vector_layer("border", "The Ukrainian land border, per neighbour",
                   {{"neighbour", "ISO 3166-1 alpha-3 of the neighbour"},
                    {"neighbour_name", "English name of the neighbour"},
                    {"length_km", "Length of this border in km"}},
                   0, 22),
      vector_layer("places", "Populated places (GeoNames); smaller ones appear at higher zooms",
                   {{"name", "Name"},
                    {"population", "Population"},
                    {"country", "ISO 3166-1 alpha-2"},
                    {"feature_code", "GeoNames feature code"}},
                   0, 22),
  });
}

nlohmann::json data_vector_layers() {
  return nlohmann::json::array({
      vector_layer(
          "observations",
          "Observations (the list's filters apply: from, to, status, equipment_type, movement, "
          "oblast). Below zoom 9 one point per grid cell with count and vehicles.",
          {{"id", "Observation id (feature id too)"},
           {"observed_at", "Epoch seconds"},
           {"status", "unverified, verified, disputed or rejected"},
           {"vehicles", "Vehicles seen"},
           {"equipment_types", "Comma-separated equipment types"},
           {"movement", "toward, away, parallel, stationary or unknown (relative to the border)"},
           {"heading_deg", "Heading in degrees"},
           {"location_precision", "exact, vicinity, locality or region"},
           {"oblast", "ISO 3166-2 of the oblast"},
           {"submission_id", "Cited submission, when the caller may see it"},
           {"count", "Cells (zoom < 9): observations in the cell"}},
          0, 22),
      vector_layer("convoys", "Convoy tracks of the window from..to (default: the last 7 days)",
                   {{"id", "First sighting's observation id"},
                    {"direction", "toward, away or parallel (to the border)"},
                    {"vehicles", "Vehicles"},
                    {"net_km_toward_border", "Net km toward the border (negative: away)"},
                    {"path_km", "Length of the track in km"},
                    {"start", "Epoch seconds"},
                    {"end", "Epoch seconds"},
                    {"sightings", "Observations in the track"}},
                   0, 22),
      vector_layer("imagery", "Reference imagery footprints",
                   {{"id", "Imagery id"},
                    {"kind", "geotiff or image"},
                    {"source", "Source"},
                    {"captured_at", "Epoch seconds"},
                    {"ground_resolution_m", "Metres per pixel"}},
                   0, 22),
  });
}

std::string tile_url(const std::string& origin, const std::string& layer) {
  return origin + "/api/v1/tiles/" + layer + "/{z}/{x}/{y}.mvt";
}

Result<Reply> get_tilejson(RequestContext& ctx) {
  const std::string origin = origin_of(ctx);
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& l : kLayers) layers[l.name] = tile_url(origin, l.name);
  nlohmann::json data = data_vector_layers();
  for (auto& d : data) d["tiles"] = {tile_url(origin, d["id"].get<std::string>())};
  return Reply::json(
      http::status::ok,
      {{"tilejson", "3.0.0"},
       {"name", "ConvoyWatch base map"},
       {"description",
        "The reference geodata in one tileset (layers countries, oblasts, border, places). "
        "Every layer, and the data layers, also has its own URL (x-layers)."},
       {"version", "1.0.0"},
       {"attribution", "Natural Earth; GeoNames (CC BY 4.0)"},
       {"scheme", "xyz"},
       {"tiles", {tile_url(origin, "base")}},
       {"minzoom", 0},
       {"maxzoom", 14},
       {"bounds", {-180, -85.0511, 180, 85.0511}},
       {"vector_layers", base_vector_layers()},
       {"x-layers", layers},
       {"x-data-layers", data}});
}

Result<Reply> get_style(RequestContext& ctx) {
  const std::string origin = origin_of(ctx);
  const std::string& raster = ctx.services.config.map.raster_url;
  nlohmann::json sources = {
      {"base",
       {{"type", "vector"},
        {"tiles", {tile_url(origin, "base")}},
        {"minzoom", 0},
        {"maxzoom", 12},
        {"attribution", "Natural Earth, GeoNames"}}},
      // Not "observations": a client adding its own source of that name keeps working.
      {"observation-tiles",
       {{"type", "vector"}, {"tiles", {tile_url(origin, "observations")}}, {"maxzoom", 16}}},
  };
  nlohmann::json layers = nlohmann::json::array();
  layers.push_back(
      {{"id", "background"}, {"type", "background"}, {"paint", {{"background-color", "#efece4"}}}});
  if (!raster.empty()) {
    sources["raster"] = {{"type", "raster"},
                         {"tiles", {raster}},
                         {"tileSize", 256},
                         {"attribution", ctx.services.config.map.raster_attribution}};
    layers.push_back({{"id", "raster"}, {"type", "raster"}, {"source", "raster"}});
  }
  const double fill_opacity = raster.empty() ? 1.0 : 0.25;
  layers.push_back({{"id", "countries-fill"},
                    {"type", "fill"},
                    {"source", "base"},
                    {"source-layer", "countries"},
                    {"paint",
                     {{"fill-color", {"match", {"get", "iso_a3"}, "UKR", "#faf8f2", "#e9e5dc"}},
                      {"fill-opacity", fill_opacity}}}});
  layers.push_back({{"id", "oblasts-outline"},
                    {"type", "line"},
                    {"source", "base"},
                    {"source-layer", "oblasts"},
                    {"minzoom", 4},
                    {"paint",
                     {{"line-color", "#b5afa3"},
                      {"line-width", {"interpolate", {"linear"}, {"zoom"}, 4, 0.5, 10, 1.5}},
                      {"line-dasharray", {3, 2}}}}});
  layers.push_back({{"id", "countries-outline"},
                    {"type", "line"},
                    {"source", "base"},
                    {"source-layer", "countries"},
                    {"paint",
                     {{"line-color", "#8a8478"},
                      {"line-width", {"interpolate", {"linear"}, {"zoom"}, 2, 0.6, 10, 2}}}}});
  layers.push_back({{"id", "border"},
                    {"type", "line"},
                    {"source", "base"},
                    {"source-layer", "border"},
                    {"layout", {{"line-join", "round"}, {"line-cap", "round"}}},
                    {"paint",
                     {{"line-color", "#b3261e"},
                      {"line-width", {"interpolate", {"linear"}, {"zoom"}, 2, 1.5, 10, 4}}}}});
  layers.push_back(
      {{"id", "oblast-labels"},
       {"type", "symbol"},
       {"source", "base"},
       {"source-layer", "oblasts"},
       {"minzoom", 5},
       {"layout",
        {{"text-field",
          {"format",
           {"get", "name"},
           nlohmann::json::object(),
           "\n",
           nlohmann::json::object(),
           {"get", "name_local"},
           {{"font-scale", 0.8}}}},
         {"text-font", {"Noto Sans Italic"}},
         {"text-size", 11},
         {"text-max-width", 8}}},
       {"paint",
        {{"text-color", "#6b655a"}, {"text-halo-color", "#ffffff"}, {"text-halo-width", 1}}}});
  layers.push_back(
      {{"id", "places"},
       {"type", "symbol"},
       {"source", "base"},
       {"source-layer", "places"},
       {"layout",
        {{"text-field", {"get", "name"}},
         {"text-font", {"Noto Sans Regular"}},
         {"text-size",
          {"interpolate", {"linear"}, {"get", "population"}, 0, 10, 100000, 12, 1000000, 15}},
         {"symbol-sort-key", {"-", 0, {"get", "population"}}}}},
       {"paint",
        {{"text-color", "#2f2b26"}, {"text-halo-color", "#ffffff"}, {"text-halo-width", 1.2}}}});
  layers.push_back(
      {{"id", "country-labels"},
       {"type", "symbol"},
       {"source", "base"},
       {"source-layer", "countries"},
       {"maxzoom", 7},
       {"layout",
        {{"text-field", {"get", "name"}},
         {"text-font", {"Noto Sans Bold"}},
         {"text-size", 13},
         {"text-transform", "uppercase"},
         {"text-letter-spacing", 0.1}}},
       {"paint",
        {{"text-color", "#5c574d"}, {"text-halo-color", "#ffffff"}, {"text-halo-width", 1.5}}}});
  layers.push_back({{"id", "observation-cells"},
                    {"type", "circle"},
                    {"source", "observation-tiles"},
                    {"source-layer", "observations"},
                    {"filter", {"has", "count"}},
                    {"paint",
                     {{"circle-color", "#1f5f8b"},
                      {"circle-opacity", 0.75},
                      {"circle-stroke-color", "#ffffff"},
                      {"circle-stroke-width", 1},
                      {"circle-radius",
                       {"interpolate", {"linear"}, {"get", "count"}, 1, 6, 100, 14, 10000, 24}}}}});
  layers.push_back({{"id", "observation-cell-counts"},
                    {"type", "symbol"},
                    {"source", "observation-tiles"},
                    {"source-layer", "observations"},
                    {"filter", {"has", "count"}},
                    {"layout",
                     {{"text-field", {"to-string", {"get", "count"}}},
                      {"text-font", {"Noto Sans Bold"}},
                      {"text-size", 10},
                      {"text-allow-overlap", true}}},
                    {"paint", {{"text-color", "#ffffff"}}}});
  layers.push_back({{"id", "observation-points"},
                    {"type", "circle"},
                    {"source", "observation-tiles"},
                    {"source-layer", "observations"},
                    {"filter", {"!", {"has", "count"}}},
                    {"paint",
                     {{"circle-color",
                       {"match",
                        {"get", "status"},
                        "verified",
                        "#1b7f3b",
                        "disputed",
                        "#c77700",
                        "rejected",
                        "#7a7a7a",
                        "#1f5f8b"}},
                      {"circle-radius", {"interpolate", {"linear"}, {"zoom"}, 9, 4, 16, 8}},
                      {"circle-stroke-color", "#ffffff"},
                      {"circle-stroke-width", 1}}}});
  return Reply::json(http::status::ok,
                     {{"version", 8},
                      {"name", "ConvoyWatch"},
                      {"center", {36.0, 49.0}},
                      {"zoom", 5},
                      {"glyphs", origin + "/api/v1/map/fonts/{fontstack}/{range}.pbf"},
                      {"sources", sources},
                      {"layers", layers}});
}

// ---- Glyphs, regions, places -----------------------------------------------------------------

Result<Reply> get_glyphs(RequestContext& ctx) {
  const std::string& stack = ctx.params.at("fontstack");
  const std::string& range = ctx.params.at("range");
  const size_t dash = range.find('-');
  std::optional<int64_t> start, end;
  if (dash != std::string::npos) {
    start = small_number(range.substr(0, dash));
    end = small_number(range.substr(dash + 1));
  }
  if (!start || !end || *start % 256 != 0 || *end != *start + 255 || *end > 65535) {
    return Error(Code::kUnprocessable,
                 "range must be START-END with START a multiple of 256 and END = START + 255, "
                 "up to 65535",
                 "range");
  }
  auto pbf = glyph_range(stack, static_cast<int>(*start), static_cast<int>(*end));
  if (!pbf) {
    std::string known;
    for (const auto& s : glyph_fontstacks()) known += (known.empty() ? "" : ", ") + s;
    return Error(Code::kNotFound, "no such fontstack (built in: " + known + ")", "fontstack");
  }
  Reply r = Reply::text(http::status::ok, std::string(*pbf), "application/x-protobuf");
  const std::string etag = etag_of(r.body);
  r.headers.set(http::field::etag, etag);
  r.headers.set(http::field::cache_control, "public, max-age=86400");
  if (client_has(ctx, etag)) {
    r.status = http::status::not_modified;
    r.body.clear();
  }
  return r;
}

Result<Reply> get_regions(RequestContext& ctx) {
  auto regions = store::regions(ctx.services.db);
  if (!regions.ok()) return regions.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& r : *regions) {
    items.push_back({{"kind", r.kind},
                     {"code", r.code},
                     {"country", r.country},
                     {"name", r.name},
                     {"name_local", r.name_local},
                     {"name_uk", r.name_uk ? nlohmann::json(*r.name_uk) : nlohmann::json()},
                     {"name_ru", r.name_ru ? nlohmann::json(*r.name_ru) : nlohmann::json()},
                     {"bbox", r.bbox}});
  }
  return Reply::json(http::status::ok, {{"items", items}});
}

Result<Reply> get_places(RequestContext& ctx) {
  int limit = 10;
  if (auto l = ctx.query_param("limit")) {
    auto n = small_number(*l);
    if (!n || *n < 1 || *n > 50) {
      return Error(Code::kUnprocessable, "limit must be 1 to 50", "limit");
    }
    limit = static_cast<int>(*n);
  }
  auto q = ctx.query_param("q");
  if (!q || q->empty()) return Error(Code::kUnprocessable, "q is required", "q");
  if (q->size() > 200) return Error(Code::kUnprocessable, "q is at most 200 bytes", "q");
  // Words of fewer than three letters name no place: such a query finds nothing.
  const std::vector<std::string> words = store::text_words(*q);
  if (words.empty()) return Reply::json(http::status::ok, {{"items", nlohmann::json::array()}});
  auto places = store::Geolocations(ctx.services.db).places_in(words, std::nullopt, limit);
  if (!places.ok()) return places.error();
  nlohmann::json items = nlohmann::json::array();
  for (const auto& p : *places) {
    items.push_back({{"geonameid", p.geonameid},
                     {"name", p.name},
                     {"matched", p.matched},
                     {"country", p.country},
                     {"admin1", p.admin1},
                     {"population", p.population},
                     {"lat", p.lat},
                     {"lon", p.lon}});
  }
  return Reply::json(http::status::ok, {{"items", items}});
}

}  // namespace

void add_map_routes(Router& router) {
  router.add(http::verb::get, "/api/v1/tiles/{layer}/{z}/{x}/{y}.mvt", get_tile,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/tiles.json", get_tilejson, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/map/style.json", get_style, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/map/fonts/{fontstack}/{range}.pbf", get_glyphs,
             {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/regions", get_regions, {.roles = kAnyRole});
  router.add(http::verb::get, "/api/v1/places", get_places, {.roles = kAnyRole});
}

}  // namespace cw::server
