// The configuration table and its loaders (TOML via toml++, environment, flags).
#include "common/config.hpp"

#include <fmt/format.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <functional>
#include <thread>
#include <variant>

extern char** environ;

namespace cw {

namespace {

using Value = std::variant<int64_t, bool, std::string, std::vector<std::string>>;

enum class Type { kInt, kBool, kString, kStringList };

struct KeyDef {
  std::string section;
  std::string key;
  Type type;
  std::string comment;
  bool secret = false;
  int64_t min = 0;
  int64_t max = 0;
  std::function<void(Config&, const Value&)> set;
  std::function<Value(const Config&)> get;
};

template <typename S, typename M>
KeyDef int_key(std::string section, std::string key, S Config::*s, M S::*m, int64_t min,
               int64_t max, std::string comment) {
  return KeyDef{
      std::move(section),
      std::move(key),
      Type::kInt,
      std::move(comment),
      false,
      min,
      max,
      [s, m](Config& c, const Value& v) { c.*s.*m = static_cast<M>(std::get<int64_t>(v)); },
      [s, m](const Config& c) { return Value(static_cast<int64_t>(c.*s.*m)); }};
}

template <typename S>
KeyDef string_key(std::string section, std::string key, S Config::*s, std::string S::*m,
                  std::string comment, bool secret = false) {
  return KeyDef{std::move(section),
                std::move(key),
                Type::kString,
                std::move(comment),
                secret,
                0,
                0,
                [s, m](Config& c, const Value& v) { c.*s.*m = std::get<std::string>(v); },
                [s, m](const Config& c) { return Value(c.*s.*m); }};
}

template <typename S>
KeyDef bool_key(std::string section, std::string key, S Config::*s, bool S::*m,
                std::string comment) {
  return KeyDef{std::move(section),
                std::move(key),
                Type::kBool,
                std::move(comment),
                false,
                0,
                0,
                [s, m](Config& c, const Value& v) { c.*s.*m = std::get<bool>(v); },
                [s, m](const Config& c) { return Value(c.*s.*m); }};
}

template <typename S>
KeyDef list_key(std::string section, std::string key, S Config::*s, std::vector<std::string> S::*m,
                std::string comment) {
  return KeyDef{
      std::move(section),
      std::move(key),
      Type::kStringList,
      std::move(comment),
      false,
      0,
      0,
      [s, m](Config& c, const Value& v) { c.*s.*m = std::get<std::vector<std::string>>(v); },
      [s, m](const Config& c) { return Value(c.*s.*m); }};
}

const std::vector<KeyDef>& key_table() {
  using C = Config;
  static const std::vector<KeyDef> table = {
      string_key("server", "listen", &C::server, &ServerConfig::listen,
                 "address:port to listen on (port 0 picks a free port)"),
      int_key("server", "io_threads", &C::server, &ServerConfig::io_threads, 0, 256,
              "threads running the HTTP I/O event loop (0 = half the cores, at least 1)"),
      int_key("server", "max_upload_bytes", &C::server, &ServerConfig::max_upload_bytes, 1,
              int64_t{1} << 50, "largest accepted video upload in bytes (413 beyond)"),
      int_key("server", "max_json_bytes", &C::server, &ServerConfig::max_json_bytes, 1024,
              int64_t{1} << 30, "largest accepted JSON or form body in bytes (413 beyond)"),
      int_key("server", "header_limit_bytes", &C::server, &ServerConfig::header_limit_bytes, 1024,
              1 << 20, "largest accepted request header block in bytes (431 beyond)"),
      int_key(
          "server", "header_timeout_s", &C::server, &ServerConfig::header_timeout_s, 1, 3600,
          "seconds a client has to send a complete request header (also the keep-alive idle time)"),
      int_key("server", "body_timeout_s", &C::server, &ServerConfig::body_timeout_s, 1, 86400,
              "seconds without progress after which a request body read is abandoned"),
      int_key("server", "write_timeout_s", &C::server, &ServerConfig::write_timeout_s, 1, 86400,
              "seconds without progress after which a response write is abandoned"),
      int_key("server", "shutdown_timeout_s", &C::server, &ServerConfig::shutdown_timeout_s, 0,
              3600, "on SIGINT/SIGTERM, seconds in-flight requests get to finish"),
      list_key("server", "cors_origins", &C::server, &ServerConfig::cors_origins,
               "exact origins allowed to call the API from a browser (the dashboard)"),
      int_key("server", "rate_limit_per_minute", &C::server, &ServerConfig::rate_limit_per_minute,
              0, 1000000, "requests per minute per API token (0 = no limit)"),
      int_key("server", "rate_limit_burst", &C::server, &ServerConfig::rate_limit_burst, 1, 1000000,
              "requests a token may send at once before the per-minute rate applies"),
      int_key("server", "read_cache_mb", &C::server, &ServerConfig::read_cache_mb, 0, 65536,
              "memory for answers kept while the database says nothing changed (0 = off)"),
      string_key("server", "public_url", &C::server, &ServerConfig::public_url,
                 "external base URL used in Location headers (empty = relative)"),
      string_key("server", "dashboard_dir", &C::server, &ServerConfig::dashboard_dir,
                 "the built dashboard served at / (empty = dashboard/dist of the source tree "
                 "when built, \"off\" = none)"),
      int_key("server", "max_event_streams_per_token", &C::server,
              &ServerConfig::max_event_streams_per_token, 1, 1000,
              "open /api/v1/events streams one token may hold (429 beyond)"),
      int_key("server", "event_retention_hours", &C::server, &ServerConfig::event_retention_hours,
              1, 24 * 365, "how long events are kept for clients resuming with Last-Event-ID"),
      int_key("server", "event_queue_kb", &C::server, &ServerConfig::event_queue_kb, 16, 65536,
              "events queued for one stream before a client that does not read is cut off"),
      int_key("server", "event_heartbeat_s", &C::server, &ServerConfig::event_heartbeat_s, 1, 3600,
              "seconds between heartbeat comments on an idle event stream"),
      int_key("server", "tile_cache_mb", &C::server, &ServerConfig::tile_cache_mb, 0, 65536,
              "memory for vector tiles kept while the database says nothing changed (0 = off)"),
      string_key("database", "url", &C::database, &DatabaseConfig::url,
                 "PostgreSQL connection URL (libpq syntax)", true),
      int_key("database", "pool_size", &C::database, &DatabaseConfig::pool_size, 1, 1000,
              "database connections, and threads doing blocking work for requests"),
      int_key("database", "connect_timeout_s", &C::database, &DatabaseConfig::connect_timeout_s, 1,
              600, "seconds to wait for a new database connection"),
      int_key("database", "acquire_timeout_ms", &C::database, &DatabaseConfig::acquire_timeout_ms,
              1, 600000, "milliseconds a request waits for a free pooled connection (503 after)"),
      int_key("database", "statement_timeout_ms", &C::database,
              &DatabaseConfig::statement_timeout_ms, 0, 86400000,
              "PostgreSQL statement_timeout for every connection (0 = none)"),
      bool_key("database", "allow_privileged", &C::database, &DatabaseConfig::allow_privileged,
               "let serve and worker run as a superuser or the schema's owner (off: they refuse)"),
      string_key("storage", "root", &C::storage, &StorageConfig::root,
                 "folder of the content-addressed evidence store"),
      string_key("storage", "backend", &C::storage, &StorageConfig::backend,
                 "where evidence is kept: \"fs\" (the folder `root`) or \"s3\" (a bucket)"),
      string_key("storage", "s3_endpoint", &C::storage, &StorageConfig::s3_endpoint,
                 "S3 server as http(s)://host[:port], no path (needed for backend \"s3\")"),
      string_key("storage", "s3_bucket", &C::storage, &StorageConfig::s3_bucket,
                 "S3 bucket of the evidence (needed for backend \"s3\")"),
      string_key("storage", "s3_region", &C::storage, &StorageConfig::s3_region,
                 "region the S3 requests are signed for"),
      string_key("storage", "s3_prefix", &C::storage, &StorageConfig::s3_prefix,
                 "prefix of every object key in the bucket, e.g. \"convoywatch/\" (empty = none)"),
      string_key("storage", "s3_addressing", &C::storage, &StorageConfig::s3_addressing,
                 "\"path\" (host/bucket/key) or \"virtual\" (bucket.host/key)"),
      string_key("storage", "s3_credentials_file", &C::storage, &StorageConfig::s3_credentials_file,
                 "file with access_key and secret_key, read when CONVOYWATCH_STORAGE_S3_ACCESS_KEY "
                 "and _SECRET_KEY are unset"),
      bool_key("storage", "s3_presign_downloads", &C::storage, &StorageConfig::s3_presign_downloads,
               "downloads redirect to a short-lived presigned S3 URL instead of streaming"),
      int_key("uploads", "expiry_hours", &C::uploads, &UploadsConfig::expiry_hours, 1, 24 * 365,
              "hours an unfinished resumable (tus) upload is kept before it expires"),
      int_key("pipeline", "workers", &C::pipeline, &PipelineConfig::workers, 0, 256,
              "media-processing workers run inside `serve`"),
      int_key("pipeline", "max_attempts", &C::pipeline, &PipelineConfig::max_attempts, 1, 100,
              "tries of a job before it stays failed"),
      int_key("pipeline", "retry_backoff_s", &C::pipeline, &PipelineConfig::retry_backoff_s, 0,
              3600, "wait before the first retry; doubles with each attempt"),
      int_key("pipeline", "lease_s", &C::pipeline, &PipelineConfig::lease_s, 5, 86400,
              "a running job's lease; another worker takes it over when it runs out"),
      int_key("pipeline", "poll_interval_ms", &C::pipeline, &PipelineConfig::poll_interval_ms, 50,
              600000, "workers look for jobs this often even without a notification"),
      int_key("pipeline", "job_timeout_s", &C::pipeline, &PipelineConfig::job_timeout_s, 1, 86400,
              "wall-clock limit of one sandboxed analysis or imagery step"),
      int_key("pipeline", "cpu_seconds", &C::pipeline, &PipelineConfig::cpu_seconds, 1, 86400,
              "CPU-time limit of one sandboxed analysis or imagery step"),
      int_key("pipeline", "memory_mb", &C::pipeline, &PipelineConfig::memory_mb, 64, 1048576,
              "address-space limit of one sandboxed analysis or imagery step, in MiB"),
      string_key("pipeline", "sandbox", &C::pipeline, &PipelineConfig::sandbox,
                 "how analysis, imagery and downloader children are confined: \"namespaces\" "
                 "(bubblewrap and seccomp) or \"limits-only\" (resource limits only)"),
      int_key("pipeline", "max_frames", &C::pipeline, &PipelineConfig::max_frames, 1, 10000,
              "most frames kept per video"),
      bool_key("fetch", "allow_private", &C::fetch, &FetchConfig::allow_private,
               "fetch URLs that resolve to private, loopback or link-local addresses"),
      int_key("fetch", "max_bytes", &C::fetch, &FetchConfig::max_bytes, 1, int64_t{1} << 50,
              "largest media file fetched by URL, in bytes"),
      int_key("fetch", "connect_timeout_s", &C::fetch, &FetchConfig::connect_timeout_s, 1, 600,
              "seconds to wait for a connection to the media server"),
      int_key("fetch", "timeout_s", &C::fetch, &FetchConfig::timeout_s, 1, 86400,
              "seconds one download may take in all"),
      int_key("fetch", "max_redirects", &C::fetch, &FetchConfig::max_redirects, 0, 5,
              "redirects followed (at most 5)"),
      list_key("fetch", "downloader", &C::fetch, &FetchConfig::downloader,
               "command for post pages, {url} and {dir} replaced (e.g. yt-dlp); empty = off"),
      int_key("tracks", "max_speed_kmh", &C::tracks, &TracksConfig::max_speed_kmh, 1, 1000,
              "fastest a convoy is taken to drive between two sightings of one track"),
      int_key("tracks", "max_gap_hours", &C::tracks, &TracksConfig::max_gap_hours, 1, 24 * 14,
              "longest time between two sightings of one track"),
      int_key("tracks", "heading_tolerance_deg", &C::tracks, &TracksConfig::heading_tolerance_deg,
              1, 180, "largest difference of direction of travel within one track"),
      string_key("reports", "daily", &C::reports, &ReportsConfig::daily,
                 "cron schedule of the daily report, in `tz` (empty = not scheduled)"),
      string_key("reports", "weekly", &C::reports, &ReportsConfig::weekly,
                 "cron schedule of the weekly report, in `tz` (empty = not scheduled)"),
      string_key("reports", "tz", &C::reports, &ReportsConfig::tz,
                 "IANA time zone of the schedules, the report days and weeks"),
      bool_key("reports", "scheduler", &C::reports, &ReportsConfig::scheduler,
               "`serve` builds scheduled reports (and those missed while it was down)"),
      int_key("reports", "catch_up_max", &C::reports, &ReportsConfig::catch_up_max, 0, 366,
              "most missed periods of each kind built at start"),
      list_key("reports", "webhooks", &C::reports, &ReportsConfig::webhooks,
               "URLs each built report's JSON is POSTed to, signed (empty = none)"),
      string_key("reports", "webhook_secret", &C::reports, &ReportsConfig::webhook_secret,
                 "HMAC-SHA256 key of the X-ConvoyWatch-Signature header", true),
      string_key("map", "raster_url", &C::map, &MapConfig::raster_url,
                 "XYZ raster tile URL template added under the map style (empty = none: the "
                 "map is drawn only from this server)"),
      string_key("map", "raster_attribution", &C::map, &MapConfig::raster_attribution,
                 "attribution shown for raster_url"),
      string_key("log", "level", &C::log, &LogConfig::level,
                 "trace, debug, info, warn, error or off"),
  };
  return table;
}

const char* type_name(Type t) {
  switch (t) {
    case Type::kInt:
      return "integer";
    case Type::kBool:
      return "boolean";
    case Type::kString:
      return "string";
    case Type::kStringList:
      return "string list";
  }
  return "?";
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string env_name(const KeyDef& d) {
  return "CONVOYWATCH_" + upper(d.section) + "_" + upper(d.key);
}

bool valid_s3_endpoint(const std::string& e) {
  std::string rest;
  if (e.starts_with("http://")) {
    rest = e.substr(7);
  } else if (e.starts_with("https://")) {
    rest = e.substr(8);
  } else {
    return false;
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  return !rest.empty() && rest.find_first_of("/?#@ ") == std::string::npos;
}

bool valid_s3_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

// The checks of single [storage] keys; empty when `v` is fine.
std::string storage_problem(const std::string& key, const std::string& v) {
  if (key == "backend" && v != "fs" && v != "s3") return "must be \"fs\" or \"s3\"";
  if (key == "s3_addressing" && v != "path" && v != "virtual") {
    return "must be \"path\" or \"virtual\"";
  }
  if (key == "s3_endpoint" && !v.empty() && !valid_s3_endpoint(v)) {
    return "must be http://host[:port] or https://host[:port], without a path";
  }
  if (key == "s3_bucket" && !v.empty() && !valid_s3_bucket(v)) {
    return "must be an S3 bucket name: 3 to 63 of a-z 0-9 . -, starting and ending with a letter "
           "or digit";
  }
  if (key == "s3_region" && (v.empty() || v.find_first_of(":/ ") != std::string::npos)) {
    return "must be a region name such as \"us-east-1\"";
  }
  if (key == "s3_prefix" &&
      (v.starts_with("/") || v.find("//") != std::string::npos || v.size() > 512)) {
    return "must not start with '/' nor hold \"//\" (at most 512 bytes)";
  }
  return {};
}

Status check_value(const KeyDef& d, const Value& v, const std::string& where) {
  if (d.type == Type::kInt) {
    int64_t i = std::get<int64_t>(v);
    if (i < d.min || i > d.max) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}: [{}] {} = {} is out of range ({}..{})", where, d.section, d.key,
                               i, d.min, d.max),
                   d.section + "." + d.key);
    }
  }
  if (d.section == "storage" && d.type == Type::kString) {
    std::string problem = storage_problem(d.key, std::get<std::string>(v));
    if (!problem.empty()) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}: [storage] {} {}", where, d.key, problem), "storage." + d.key);
    }
  }
  if (d.section == "pipeline" && d.key == "sandbox") {
    const auto& mode = std::get<std::string>(v);
    if (mode != "namespaces" && mode != "limits-only") {
      return Error(Code::kInvalidArgument,
                   where + ": [pipeline] sandbox must be \"namespaces\" or \"limits-only\"",
                   "pipeline.sandbox");
    }
  }
  if (d.section == "log" && d.key == "level") {
    static const std::vector<std::string> levels = {"trace", "debug", "info",
                                                    "warn",  "error", "off"};
    if (std::find(levels.begin(), levels.end(), std::get<std::string>(v)) == levels.end()) {
      return Error(Code::kInvalidArgument,
                   where + ": [log] level must be one of trace, debug, info, warn, error, off",
                   "log.level");
    }
  }
  return Status::Ok();
}

// Parses text from the environment or a flag.
Result<Value> parse_text(const KeyDef& d, const std::string& text, const std::string& where) {
  auto wrong = [&]() {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}: [{}] {} expects a {}, got \"{}\"", where, d.section, d.key,
                             type_name(d.type), text),
                 d.section + "." + d.key);
  };
  switch (d.type) {
    case Type::kInt: {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size()) return wrong();
      return Value(v);
    }
    case Type::kBool:
      if (text == "true" || text == "1") return Value(true);
      if (text == "false" || text == "0") return Value(false);
      return wrong();
    case Type::kString:
      return Value(text);
    case Type::kStringList: {
      std::vector<std::string> items;
      size_t start = 0;
      while (start <= text.size() && !text.empty()) {
        size_t comma = text.find(',', start);
        std::string item =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front())))
          item.erase(0, 1);
        while (!item.empty() && std::isspace(static_cast<unsigned char>(item.back())))
          item.pop_back();
        if (!item.empty()) items.push_back(item);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return Value(items);
    }
  }
  return wrong();
}

Result<Value> from_toml(const KeyDef& d, const toml::node& node, const std::string& where) {
  auto wrong = [&]() {
    return Error(
        Code::kInvalidArgument,
        fmt::format("{}: [{}] {} expects a {}", where, d.section, d.key, type_name(d.type)),
        d.section + "." + d.key);
  };
  switch (d.type) {
    case Type::kInt:
      if (auto v = node.value_exact<int64_t>()) return Value(*v);
      return wrong();
    case Type::kBool:
      if (auto v = node.value_exact<bool>()) return Value(*v);
      return wrong();
    case Type::kString:
      if (auto v = node.value_exact<std::string>()) return Value(*v);
      return wrong();
    case Type::kStringList: {
      const toml::array* arr = node.as_array();
      if (arr == nullptr) return wrong();
      std::vector<std::string> items;
      for (const toml::node& el : *arr) {
        auto s = el.value_exact<std::string>();
        if (!s) return wrong();
        items.push_back(*s);
      }
      return Value(items);
    }
  }
  return wrong();
}

const KeyDef* find_key(const std::string& section, const std::string& key) {
  for (const KeyDef& d : key_table()) {
    if (d.section == section && d.key == key) return &d;
  }
  return nullptr;
}

Status load_file(const std::string& path, Config& config) {
  if (!std::filesystem::exists(path)) {
    return Error(Code::kInvalidArgument, "config file " + path + " does not exist", "config");
  }
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}:{}: {}", path, e.source().begin.line, e.description()), "config");
  }
  for (auto&& [section_key, section_node] : root) {
    std::string section(section_key.str());
    const toml::table* table = section_node.as_table();
    if (table == nullptr) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}:{}: unknown key \"{}\" (keys belong in a [section])", path,
                               section_node.source().begin.line, section),
                   section);
    }
    for (auto&& [key_key, node] : *table) {
      std::string key(key_key.str());
      std::string where = fmt::format("{}:{}", path, node.source().begin.line);
      const KeyDef* d = find_key(section, key);
      if (d == nullptr) {
        return Error(Code::kInvalidArgument,
                     fmt::format("{}: unknown key [{}] {}", where, section, key),
                     section + "." + key);
      }
      Result<Value> v = from_toml(*d, node, where);
      if (!v.ok()) return v.error();
      if (Status s = check_value(*d, *v, where); !s.ok()) return s;
      d->set(config, *v);
    }
  }
  return Status::Ok();
}

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", c);
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string render_value(const Value& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* b = std::get_if<bool>(&v)) return *b ? "true" : "false";
  if (auto* s = std::get_if<std::string>(&v)) return toml_quote(*s);
  std::string out = "[";
  const auto& list = std::get<std::vector<std::string>>(v);
  for (size_t i = 0; i < list.size(); ++i) {
    if (i > 0) out += ", ";
    out += toml_quote(list[i]);
  }
  return out + "]";
}

}  // namespace

const std::vector<ConfigKeyInfo>& config_keys() {
  static const std::vector<ConfigKeyInfo> keys = [] {
    std::vector<ConfigKeyInfo> out;
    for (const KeyDef& d : key_table()) {
      out.push_back({d.section, d.key, type_name(d.type), d.comment, d.secret});
    }
    return out;
  }();
  return keys;
}

std::map<std::string, std::string> environment_map() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

Result<Config> load_config(const ConfigSources& sources) {
  Config config;
  if (!sources.file.empty()) {
    if (Status s = load_file(sources.file, config); !s.ok()) return s.error();
  }
  for (const KeyDef& d : key_table()) {
    auto it = sources.env.find(env_name(d));
    if (it == sources.env.end()) continue;
    Result<Value> v = parse_text(d, it->second, "environment " + it->first);
    if (!v.ok()) return v.error();
    if (Status s = check_value(d, *v, "environment " + it->first); !s.ok()) return s.error();
    d.set(config, *v);
  }
  for (const auto& [name, text] : sources.flags) {
    size_t dot = name.find('.');
    const KeyDef* d =
        dot == std::string::npos ? nullptr : find_key(name.substr(0, dot), name.substr(dot + 1));
    if (d == nullptr) {
      return Error(Code::kInvalidArgument, "flag --set " + name + ": unknown key", name);
    }
    Result<Value> v = parse_text(*d, text, "flag --set " + name);
    if (!v.ok()) return v.error();
    if (Status s = check_value(*d, *v, "flag --set " + name); !s.ok()) return s.error();
    d->set(config, *v);
  }
  if (config.storage.backend == "s3") {
    for (const auto& [key, value] : {std::pair{"s3_endpoint", &config.storage.s3_endpoint},
                                     std::pair{"s3_bucket", &config.storage.s3_bucket}}) {
      if (value->empty()) {
        return Error(Code::kInvalidArgument,
                     fmt::format("[storage] backend = \"s3\" needs {} (CONVOYWATCH_STORAGE_{})",
                                 key, upper(key)),
                     std::string("storage.") + key);
      }
    }
  }
  return config;
}

std::string redact_url(const std::string& url) {
  size_t scheme = url.find("://");
  if (scheme != std::string::npos) {
    size_t at = url.find('@', scheme + 3);
    size_t slash = url.find('/', scheme + 3);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
      size_t colon = url.find(':', scheme + 3);
      if (colon != std::string::npos && colon < at) {
        return url.substr(0, colon + 1) + "***" + url.substr(at);
      }
    }
  }
  std::string out = url;
  size_t pw = out.find("password=");
  if (pw != std::string::npos) {
    size_t end = out.find_first_of(" &", pw);
    out.replace(pw + 9, end == std::string::npos ? std::string::npos : end - pw - 9, "***");
  }
  return out;
}

std::string render_config(const Config& config, bool redact_secrets) {
  std::string out;
  std::string section;
  for (const KeyDef& d : key_table()) {
    if (d.section != section) {
      if (!section.empty()) out += "\n";
      out += fmt::format("[{}]\n", d.section);
      section = d.section;
    }
    Value v = d.get(config);
    if (d.secret && redact_secrets) v = redact_url(std::get<std::string>(v));
    out += fmt::format("# {}\n{} = {}\n", d.comment, d.key, render_value(v));
  }
  return out;
}

int io_threads_for(const ServerConfig& server) {
  if (server.io_threads > 0) return server.io_threads;
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency() / 2));
}

}  // namespace cw
