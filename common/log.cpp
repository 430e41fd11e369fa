// JSON-lines logging through an spdlog stderr sink.
#include "common/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/time.hpp"

namespace cw::log {

namespace {

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    auto lg = std::make_shared<spdlog::logger>("convoywatch", sink);
    lg->set_pattern("%v");
    lg->set_level(spdlog::level::info);
    lg->flush_on(spdlog::level::trace);
    return lg;
  }();
  return l;
}

spdlog::level::level_enum to_spdlog(Level level) {
  switch (level) {
    case Level::kTrace:
      return spdlog::level::trace;
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
    case Level::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::info;
}

const char* name(Level level) {
  switch (level) {
    case Level::kTrace:
      return "trace";
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "info";
}

}  // namespace

void init(std::string_view level) {
  logger()->set_level(spdlog::level::from_str(std::string(level)));
}

bool enabled(Level level) { return logger()->should_log(to_spdlog(level)); }

void write(Level level, std::string_view msg, nlohmann::json fields) {
  if (!enabled(level)) return;
  nlohmann::json line = nlohmann::json::object();
  line["ts"] = format_rfc3339(now_utc());
  line["level"] = name(level);
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  logger()->log(to_spdlog(level), "{}",
                line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace cw::log
