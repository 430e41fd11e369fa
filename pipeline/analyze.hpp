// The analysis of one media file, run inside the sandboxed child (`convoywatch analyze`): the
// stages in order, each a pure function of the file: probe, then frames, whose single decoding
// pass also computes the video signature (a PDQ hash a second, frames.hpp).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "common/error.hpp"

namespace cw::pipeline {

// {"media": {...probe...}, "frames": {..., "signature": [{pts_ms, pdq, quality}]}} (to_json of
// each stage); errors meaning "bad input" are kUnprocessable.
// REQUIRES: out_dir exists or can be created (frames are written there).
Result<nlohmann::json> analyze_media(const std::string& path, const std::string& out_dir,
                                     int max_frames = 64);

}  // namespace cw::pipeline
