// Logging: one JSON object per line on stderr (spdlog sink), so that log shippers need no
// parsing rules. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace cw::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError, kOff };

// REQUIRES: level is one of trace, debug, info, warn, error, off (validated by the config).
void init(std::string_view level);
bool enabled(Level level);

// {"ts": "...", "level": "info", "msg": msg, ...fields}
void write(Level level, std::string_view msg, nlohmann::json fields = nlohmann::json::object());

inline void debug(std::string_view msg, nlohmann::json f = nlohmann::json::object()) {
  write(Level::kDebug, msg, std::move(f));
}
inline void info(std::string_view msg, nlohmann::json f = nlohmann::json::object()) {
  write(Level::kInfo, msg, std::move(f));
}
inline void warn(std::string_view msg, nlohmann::json f = nlohmann::json::object()) {
  write(Level::kWarn, msg, std::move(f));
}
inline void error(std::string_view msg, nlohmann::json f = nlohmann::json::object()) {
  write(Level::kError, msg, std::move(f));
}

}  // namespace cw::log
