// Runs the analysis stages on one file.
#include "pipeline/analyze.hpp"

#include <filesystem>

#include "pipeline/frames.hpp"
#include "pipeline/probe.hpp"

namespace cw::pipeline {

Result<nlohmann::json> analyze_media(const std::string& path, const std::string& out_dir,
                                     int max_frames) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Error(Code::kInternal, "cannot create the output folder: " + ec.message());
  auto probe = probe_media(path);
  if (!probe.ok()) return probe.error();
  FramesOptions frames_options;
  frames_options.max_frames = max_frames;
  auto frames = extract_frames(path, out_dir, frames_options);
  if (!frames.ok()) return frames.error();
  return nlohmann::json{{"media", to_json(*probe)}, {"frames", to_json(*frames)}};
}

}  // namespace cw::pipeline
