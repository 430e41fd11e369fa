// The dashboard at /: the built single-page app (dashboard/dist) as static files — any GET or
// HEAD outside the API that no route takes (Router::fallback, admission.hpp). Files carry an
// ETag (their SHA-256) and answer 304; a precompressed .br or .gz next to a file is sent to a
// client that accepts it; hashed asset names (Vite's assets/name-HASH.ext) are cached for a
// year, everything else is revalidated; a path with no file extension that names no file is one
// of the app's own routes and gets index.html. HTML goes out with a strict
// Content-Security-Policy: scripts and styles from this origin only, requests to this origin
// (and the configured CORS origins), workers from blob: (MapLibre's), nothing framed. Without a
// built dashboard, / explains how to build one.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <mutex>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "server/context.hpp"
#include "server/problem.hpp"
#include "server/routes.hpp"

namespace cw::server {

namespace fs = std::filesystem;

namespace {

const std::map<std::string, std::string>& content_types() {
  static const std::map<std::string, std::string> types = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".woff", "font/woff"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".pbf", "application/x-protobuf"},
  };
  return types;
}

// The folder served: [server] dashboard_dir, else the source tree's dashboard/dist, else the
// place the Docker image installs it; "" when there is none.
std::string dashboard_root(const ServerConfig& config) {
  if (config.dashboard_dir == "off") return "";
  std::error_code ec;
  if (!config.dashboard_dir.empty()) return config.dashboard_dir;
  for (const std::string& dir : {std::string(CW_SOURCE_DIR) + "/dashboard/dist",
                                 std::string("/usr/share/convoywatch/dashboard")}) {
    if (fs::is_regular_file(dir + "/index.html", ec)) return dir;
  }
  return "";
}

std::string csp(const ServerConfig& config) {
  std::string connect = "'self'";
  for (const auto& origin : config.cors_origins) connect += " " + origin;
  return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
         "font-src 'self'; connect-src " +
         connect +
         "; worker-src 'self' blob:; child-src blob:; object-src 'none'; base-uri 'none'; "
         "form-action 'self'; frame-ancestors 'none'";
}

// A file's ETag: its SHA-256, computed once per (path, size, modification time).
std::string etag_of(const std::string& path, const struct stat& st) {
  static std::mutex mu;
  static std::map<std::string, std::pair<std::string, std::string>> cache;  // path -> (key, etag)
  const std::string key = std::to_string(st.st_size) + ":" + std::to_string(st.st_mtim.tv_sec) +
                          "." + std::to_string(st.st_mtim.tv_nsec);
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(path); it != cache.end() && it->second.first == key) {
      return it->second.second;
    }
  }
  Sha256 h;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0)
    h.update(std::string_view(buf, static_cast<size_t>(n)));
  ::close(fd);
  const std::string etag = "\"" + to_hex(h.finish()).substr(0, 32) + "\"";
  std::lock_guard lock(mu);
  cache[path] = {key, etag};
  return etag;
}

bool accepts(const RequestContext& ctx, std::string_view coding) {
  const std::string_view header = ctx.request[http::field::accept_encoding];
  size_t pos = 0;
  while (pos < header.size()) {
    size_t comma = header.find(',', pos);
    if (comma == std::string_view::npos) comma = header.size();
    std::string_view item = header.substr(pos, comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    const size_t semi = item.find(';');
    std::string_view name = item.substr(0, semi);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    const bool refused = semi != std::string_view::npos &&
                         item.substr(semi).find("q=0") != std::string_view::npos &&
                         item.substr(semi).find("q=0.") == std::string_view::npos;
    if (name == coding && !refused) return true;
    pos = comma + 1;
  }
  return false;
}

Result<Reply> not_built(const RequestContext& ctx) {
  if (ctx.path != "/" && ctx.path != "/index.html") {
    return Error(Code::kNotFound, "no such resource: " + ctx.path);
  }
  Reply r = Reply::text(
      http::status::ok,
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>ConvoyWatch</title></head><body><main><h1>ConvoyWatch</h1>"
      "<p>The API is running (<a href=\"/api/v1/openapi.json\">OpenAPI document</a>), but this "
      "server has no built dashboard to show.</p><p>Build it with <code>scripts/run</code>, or "
      "<code>npm --prefix dashboard ci &amp;&amp; npm --prefix dashboard run build</code>, then "
      "reload this page. A dashboard built elsewhere is served from "
      "<code>[server] dashboard_dir</code>.</p></main></body></html>",
      "text/html; charset=utf-8");
  r.headers.set(http::field::cache_control, "no-cache");
  r.headers.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
  return r;
}

Result<Reply> serve_dashboard(RequestContext& ctx) {
  const ServerConfig& config = ctx.services.config.server;
  const std::string root = dashboard_root(config);
  if (root.empty()) return not_built(ctx);
  // The decoded path, as segments: none may climb out of the folder, be hidden or be empty.
  if (ctx.path.find("//") != std::string::npos) {
    return Error(Code::kNotFound, "no such resource: " + ctx.path);
  }
  fs::path rel;
  for (const auto& part : fs::path(ctx.path).relative_path()) {
    const std::string p = part.string();
    if (p.empty()) continue;
    if (p == ".." || p == "." || p.front() == '.' || p.find('\0') != std::string::npos) {
      return Error(Code::kNotFound, "no such resource: " + ctx.path);
    }
    rel /= part;
  }
  std::string file = (fs::path(root) / rel).string();
  struct stat st {};
  bool found = !rel.empty() && ::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode);
  if (!found) {
    // A client-side route (/submissions/12, /map?…): the app decides. A missing asset is a 404.
    if (!rel.empty() && rel.has_extension()) {
      return Error(Code::kNotFound, "no such file: " + ctx.path);
    }
    file = root + "/index.html";
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return not_built(ctx);
  }
  const std::string ext = fs::path(file).extension().string();
  const auto type = content_types().find(ext);
  Reply r;
  r.headers.set(http::field::content_type,
                type != content_types().end() ? type->second : "application/octet-stream");
  const bool hashed = file.find("/assets/") != std::string::npos;
  r.headers.set(http::field::cache_control,
                hashed ? "public, max-age=31536000, immutable" : "no-cache");
  if (ext == ".html") r.headers.set("Content-Security-Policy", csp(config));
  r.headers.set("X-Content-Type-Options", "nosniff");
  r.headers.set(http::field::vary, "Accept-Encoding");

  // A precompressed copy when the client takes it.
  std::string send = file;
  for (auto [coding, suffix] : {std::pair{"br", ".br"}, std::pair{"gzip", ".gz"}}) {
    struct stat cst {};
    if (accepts(ctx, coding) && ::stat((file + suffix).c_str(), &cst) == 0 &&
        S_ISREG(cst.st_mode)) {
      send = file + suffix;
      st = cst;
      r.headers.set(http::field::content_encoding, coding);
      break;
    }
  }
  const std::string etag = etag_of(send, st);
  if (!etag.empty()) r.headers.set(http::field::etag, etag);
  if (!etag.empty() && ctx.request[http::field::if_none_match] == etag) {
    r.status = http::status::not_modified;
    return r;
  }
  int fd = ::open(send.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Error(Code::kNotFound, "no such file: " + ctx.path);
  r.file = FileSpan::adopt(fd, 0, static_cast<uint64_t>(st.st_size));
  return r;
}

}  // namespace

void add_dashboard_route(Router& router) {
  router.set_fallback(serve_dashboard, {.roles = {}, .body_limit = 0, .blocking = true});
}

}  // namespace cw::server
