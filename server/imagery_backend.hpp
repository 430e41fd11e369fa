// What the imagery routes need from the image code. That code lives in pipeline/, which the
// server does not link (DESIGN.md: server/ uses common, geo and store); app/ passes these
// functions in (pipeline/imagery_tasks.hpp has the implementations and their contracts).
// An unset function makes its routes answer 503. The functions are called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "geo/point.hpp"
#include "geo/tiles.hpp"

namespace cw::server {

using Corners = std::optional<std::array<geo::GeoPoint, 4>>;

struct ImageryBackend {
  // Reads an uploaded file in the sandboxed child (`convoywatch imagery-probe`): {"driver",
  // "width", "height", "bands", "data_type", "geotransform", "crs_wkt", "footprint",
  // "ground_resolution_m"}, or kUnprocessable naming the field ("file", "corners").
  std::function<Result<nlohmann::json>(const std::string& path, const Corners& corners)> probe;
  // A 256×256 RGBA PNG of an accepted file (in this process).
  std::function<Result<std::vector<std::uint8_t>>(const std::string& path, const Corners& corners,
                                                  const geo::TileId& tile)>
      render_tile;
  // A frame's footprint on an accepted file from tie points (in this process).
  std::function<Result<nlohmann::json>(const std::string& path, const Corners& corners,
                                       int frame_width, int frame_height,
                                       const nlohmann::json& tie_points)>
      tie_points;
};

}  // namespace cw::server
