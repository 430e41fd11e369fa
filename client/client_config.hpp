// The client's own configuration (`convoywatch submit`): which server, which token, where the
// resume state lives and how hard to retry. Not the server's configuration (common/config.hpp):
// the client runs on an investigator's machine and reads its own small file,
// ~/.config/convoywatch/client.toml (config/client.toml in the repository lists every key).
//
// Precedence: defaults < file < environment (CONVOYWATCH_URL, CONVOYWATCH_TOKEN) < flags.
// Pure functions of their inputs; a loaded ClientConfig is a plain value.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "common/error.hpp"

namespace cw::client {

struct ClientConfig {
  std::string server;              // base URL, "http://127.0.0.1:8080"; no trailing slash
  std::string token;               // API token (Authorization: Bearer)
  std::string state_dir;           // folder of uploads.json, the resume state
  int retries = 8;                 // attempts in a row without progress before a file fails
  int connect_timeout_s = 10;      // TCP + TLS connection set-up
  int stall_timeout_s = 60;        // a transfer with no byte moving for this long is retried
  int retry_max_delay_ms = 15000;  // the longest pause between two attempts
};

struct ClientConfigSources {
  std::string file;                        // explicit file; must exist when set
  std::map<std::string, std::string> env;  // the process environment
  std::optional<std::string> server;       // --server
  std::optional<std::string> token;        // --token
};

// $XDG_CONFIG_HOME/convoywatch/client.toml, else $HOME/.config/convoywatch/client.toml.
std::string default_config_path(const std::map<std::string, std::string>& env);
// $XDG_STATE_HOME/convoywatch, else $HOME/.local/state/convoywatch.
std::string default_state_dir(const std::map<std::string, std::string>& env);

// Reads sources.file (or the default path, when it exists) and applies the overrides. Errors
// are kInvalidArgument naming the key (and the file line): an unknown key, a wrong type, a
// server that is not an http(s) URL, no server or no token at all.
Result<ClientConfig> load_client_config(const ClientConfigSources& sources);

}  // namespace cw::client
