// The client's configuration file (flat TOML, toml++), its environment and flag overrides.
#include "client/client_config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <filesystem>

namespace cw::client {

namespace {

std::string env_value(const std::map<std::string, std::string>& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// "~/x" -> "$HOME/x", so that state_dir may be written the way people write paths.
std::string expand_home(const std::string& path, const std::map<std::string, std::string>& env) {
  if (path == "~" || path.rfind("~/", 0) == 0) return env_value(env, "HOME") + path.substr(1);
  return path;
}

Status check_server(std::string& url, const std::string& where) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Error(
        Code::kInvalidArgument,
        fmt::format("{}: server must be an http:// or https:// URL, got \"{}\"", where, url),
        "server");
  }
  if (url.find_first_of(" \t\r\n?#") != std::string::npos) {
    return Error(
        Code::kInvalidArgument,
        fmt::format("{}: server must be a base URL without spaces, query or fragment", where),
        "server");
  }
  return Status::Ok();
}

Status read_int(const toml::node& node, const std::string& key, const std::string& where, int min,
                int max, int* out) {
  auto v = node.value<int64_t>();
  if (!node.is_integer() || !v || *v < min || *v > max) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}: {} must be an integer from {} to {}", where, key, min, max), key);
  }
  *out = static_cast<int>(*v);
  return Status::Ok();
}

Status load_file(const std::string& path, const std::map<std::string, std::string>& env,
                 ClientConfig& c) {
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()),
                 "client-config");
  }
  for (auto&& [key_node, node] : root) {
    std::string key(key_node.str());
    std::string where = fmt::format("{}:{}", path, node.source().begin.line);
    auto string_value = [&](std::string* out) -> Status {
      if (!node.is_string()) {
        return Error(Code::kInvalidArgument, fmt::format("{}: {} must be a string", where, key),
                     key);
      }
      *out = *node.value<std::string>();
      return Status::Ok();
    };
    Status s;
    if (key == "server") {
      s = string_value(&c.server);
      if (s.ok()) s = check_server(c.server, where);
    } else if (key == "token") {
      s = string_value(&c.token);
    } else if (key == "state_dir") {
      s = string_value(&c.state_dir);
      c.state_dir = expand_home(c.state_dir, env);
    } else if (key == "retries") {
      s = read_int(node, key, where, 0, 1000, &c.retries);
    } else if (key == "connect_timeout_s") {
      s = read_int(node, key, where, 1, 600, &c.connect_timeout_s);
    } else if (key == "stall_timeout_s") {
      s = read_int(node, key, where, 1, 3600, &c.stall_timeout_s);
    } else if (key == "retry_max_delay_ms") {
      s = read_int(node, key, where, 0, 600000, &c.retry_max_delay_ms);
    } else {
      s = Error(Code::kInvalidArgument,
                fmt::format("{}: unknown key {} (server, token, state_dir, retries, "
                            "connect_timeout_s, stall_timeout_s, retry_max_delay_ms)",
                            where, key),
                key);
    }
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

}  // namespace

std::string default_config_path(const std::map<std::string, std::string>& env) {
  std::string base = env_value(env, "XDG_CONFIG_HOME");
  if (base.empty()) base = env_value(env, "HOME") + "/.config";
  return base + "/convoywatch/client.toml";
}

std::string default_state_dir(const std::map<std::string, std::string>& env) {
  std::string base = env_value(env, "XDG_STATE_HOME");
  if (base.empty()) base = env_value(env, "HOME") + "/.local/state";
  return base + "/convoywatch";
}

Result<ClientConfig> load_client_config(const ClientConfigSources& sources) {
  ClientConfig c;
  c.state_dir = default_state_dir(sources.env);
  std::string file = sources.file;
  if (!file.empty()) {
    if (!std::filesystem::exists(file)) {
      return Error(Code::kInvalidArgument, "client config " + file + " does not exist",
                   "client-config");
    }
  } else if (std::string def = default_config_path(sources.env); std::filesystem::exists(def)) {
    file = def;
  }
  if (!file.empty()) {
    if (Status s = load_file(file, sources.env, c); !s.ok()) return s.error();
  }
  if (std::string url = env_value(sources.env, "CONVOYWATCH_URL"); !url.empty()) {
    c.server = url;
    if (Status s = check_server(c.server, "environment CONVOYWATCH_URL"); !s.ok()) {
      return s.error();
    }
  }
  if (std::string token = env_value(sources.env, "CONVOYWATCH_TOKEN"); !token.empty()) {
    c.token = token;
  }
  if (sources.server) {
    c.server = *sources.server;
    if (Status s = check_server(c.server, "--server"); !s.ok()) return s.error();
  }
  if (sources.token) c.token = *sources.token;
  if (c.server.empty()) {
    return Error(Code::kInvalidArgument,
                 "no server: give --server URL, set CONVOYWATCH_URL or server in " +
                     default_config_path(sources.env),
                 "server");
  }
  if (c.token.empty()) {
    return Error(Code::kInvalidArgument,
                 "no token: give --token, set CONVOYWATCH_TOKEN or token in " +
                     default_config_path(sources.env),
                 "token");
  }
  if (c.token.find_first_of("\r\n") != std::string::npos) {
    return Error(Code::kInvalidArgument, "the token must be one line", "token");
  }
  return c;
}

}  // namespace cw::client
