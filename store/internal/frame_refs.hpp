// Frame references (FrameRef: a media file's SHA-256 and a frame index) as the jsonb the
// observations and submission_geolocations tables store. Internal to store/.
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "store/observations.hpp"

namespace cw::store {

inline nlohmann::json frames_json(const std::vector<FrameRef>& f) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& x : f) out.push_back({{"sha256", x.sha256}, {"frame", x.frame}});
  return out;
}

}  // namespace cw::store
