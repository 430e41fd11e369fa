// Configuration: every key, its type, default and one-line meaning in one table (config.cpp),
// loaded with precedence defaults < TOML file < environment < command-line flags.
//
// The environment name of `[section] key` is CONVOYWATCH_<SECTION>_<KEY> in upper case, e.g.
// CONVOYWATCH_DATABASE_URL. An unknown key or a wrong type in the file is an error naming the
// key and the file line; in the environment or a flag it names the variable or the flag.
// A loaded Config is a plain value: copy it, read it from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cw {

struct ServerConfig {
  std::string listen = "127.0.0.1:8080";
  int io_threads = 0;  // 0: half the cores, at least one (io_threads_for)
  int64_t max_upload_bytes = int64_t{4} << 30;
  int64_t max_json_bytes = int64_t{1} << 20;
  int header_limit_bytes = 16 * 1024;
  int header_timeout_s = 10;
  int body_timeout_s = 60;
  int write_timeout_s = 60;
  int shutdown_timeout_s = 30;
  std::vector<std::string> cors_origins;
  int rate_limit_per_minute = 600;
  int rate_limit_burst = 120;
  int read_cache_mb = 64;
  std::string public_url;
  // The built dashboard served at / ("" = <source>/dashboard/dist when it exists, "off" = none).
  std::string dashboard_dir;
  int max_event_streams_per_token = 4;
  int event_retention_hours = 24;  // how far back Last-Event-ID can resume
  int event_queue_kb = 256;        // per stream; a client that falls further behind is cut off
  int event_heartbeat_s = 15;
  int tile_cache_mb = 64;  // vector tiles kept in memory (server/tile_cache.hpp); 0 = off
};

// The I/O threads `serve` runs: io_threads, or when it is 0 half the machine's cores (at least
// one), leaving the rest to PostgreSQL and the pool that does the blocking work.
int io_threads_for(const ServerConfig& server);

struct DatabaseConfig {
  std::string url = "postgresql:///convoywatch";
  int pool_size = 8;
  int connect_timeout_s = 3;
  int acquire_timeout_ms = 5000;
  int statement_timeout_ms = 30000;
  // serve and worker refuse a superuser, the schema's owner or a member of
  // pg_execute_server_program unless this is set (store/roles.hpp).
  bool allow_privileged = false;
};

// Where evidence lives: the local content-addressed folder (`fs`, under `root`) or a bucket of
// an S3-compatible object store (`s3`). The s3_* keys are read and checked whatever the backend;
// with backend "s3", s3_endpoint and s3_bucket are required. The S3 keys themselves come from
// CONVOYWATCH_STORAGE_S3_ACCESS_KEY / _SECRET_KEY or s3_credentials_file (store/s3_client.hpp).
struct StorageConfig {
  std::string root = ".local/media";
  std::string backend = "fs";
  std::string s3_endpoint;  // http(s)://host[:port]
  std::string s3_bucket;
  std::string s3_region = "us-east-1";
  std::string s3_prefix;               // prepended to every key, e.g. "convoywatch/"
  std::string s3_addressing = "path";  // "path" or "virtual"
  std::string s3_credentials_file;
  bool s3_presign_downloads = false;
};

struct UploadsConfig {
  int expiry_hours = 24;
};

struct PipelineConfig {
  int workers = 1;
  int max_attempts = 5;
  int retry_backoff_s = 10;
  int lease_s = 60;
  int poll_interval_ms = 5000;
  int job_timeout_s = 300;
  int cpu_seconds = 300;
  int memory_mb = 4096;
  int max_frames = 64;
  // How children that parse untrusted bytes are confined (pipeline/sandbox.hpp): "namespaces"
  // (bubblewrap + seccomp) or "limits-only" (resource limits, for hosts without namespaces).
  std::string sandbox = "namespaces";
};

struct FetchConfig {
  bool allow_private = false;
  int64_t max_bytes = int64_t{4} << 30;
  int connect_timeout_s = 10;
  int timeout_s = 900;
  int max_redirects = 5;
  // argv of an external downloader for post pages, e.g. {"yt-dlp", "-P", "{dir}", "{url}"}.
  std::vector<std::string> downloader;
};

// Linking observations into convoy tracks (reports/tracks.hpp).
struct TracksConfig {
  int max_speed_kmh = 70;
  int max_gap_hours = 12;
  int heading_tolerance_deg = 45;
};

// Scheduled reports: cron expressions (empty = that kind is not scheduled) in a time zone, and
// where built reports are POSTed.
struct ReportsConfig {
  std::string daily = "0 6 * * *";
  std::string weekly = "0 7 * * 1";
  std::string tz = "Europe/Kyiv";
  bool scheduler = true;
  int catch_up_max = 14;
  std::vector<std::string> webhooks;
  std::string webhook_secret;
};

// The map the API serves (/api/v1/map/style.json). Everything it draws comes from this server
// unless raster_url is set: then the style adds that raster layer (a deployment with internet).
struct MapConfig {
  std::string raster_url;  // XYZ template, e.g. https://tile.example.org/{z}/{x}/{y}.png
  std::string raster_attribution;
};

struct LogConfig {
  std::string level = "info";
};

struct Config {
  ServerConfig server;
  DatabaseConfig database;
  StorageConfig storage;
  UploadsConfig uploads;
  PipelineConfig pipeline;
  FetchConfig fetch;
  TracksConfig tracks;
  ReportsConfig reports;
  MapConfig map;
  LogConfig log;
};

// One key of the table, for `config show` and for checking config/convoywatch.toml.
struct ConfigKeyInfo {
  std::string section;
  std::string key;
  std::string type;  // "string", "integer", "boolean", "string list"
  std::string comment;
  bool secret;
};
const std::vector<ConfigKeyInfo>& config_keys();

struct ConfigSources {
  // TOML file; empty = none. A path that does not exist is an error.
  std::string file;
  // Environment variables (normally the process environment, see environment_map()).
  std::map<std::string, std::string> env;
  // Command-line overrides "section.key" -> value text, applied last.
  std::map<std::string, std::string> flags;
};

Result<Config> load_config(const ConfigSources& sources);
// The process environment, as a map.
std::map<std::string, std::string> environment_map();

// The effective configuration as TOML, secrets (the database password) redacted.
std::string render_config(const Config& config, bool redact_secrets = true);

// "postgresql://user:secret@host/db" -> "postgresql://user:***@host/db"; other forms: password=***.
std::string redact_url(const std::string& url);

}  // namespace cw
