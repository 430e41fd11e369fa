// Runs the analysis stages on one file.
#include "pipeline/analyze.hpp"

#include <filesystem>

#include "pipeline/probe.hpp"

namespace cw::pipeline {

Result<nlohmann::json> analyze_media(const std::string& path, const std::string& out_dir) {
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec) return Error(Code::kInternal, "cannot create the output folder: " + ec.message());
  auto probe = probe_media(path);
  if (!probe.ok()) return probe.error();
  return nlohmann::json{{"media", to_json(*probe)}};
}

}  // namespace cw::pipeline
