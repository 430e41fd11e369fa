// fetch_media with libcurl's easy interface (curl 7.88): protocols limited to http and https for
// the request and its redirects, the address check in CURLOPT_OPENSOCKETFUNCTION, the media-type
// check at the first body byte, and the size cap both from Content-Length and while streaming.
#include "pipeline/fetch.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>

#include <curl/curl.h>
#include <fmt/format.h>

namespace cw::pipeline {
namespace {

struct Range4 {
  uint32_t net;
  int bits;
  const char* why;
};

// IPv4 ranges no server-side fetch should reach by default (IANA special-purpose registry).
constexpr std::array<Range4, 14> kPrivate4 = {{
    {0x00000000, 8, "unspecified"},         // 0.0.0.0/8
    {0x0A000000, 8, "private"},             // 10/8
    {0x64400000, 10, "carrier-grade NAT"},  // 100.64/10
    {0x7F000000, 8, "loopback"},            // 127/8
    {0xA9FE0000, 16, "link-local"},         // 169.254/16 (cloud metadata)
    {0xAC100000, 12, "private"},            // 172.16/12
    {0xC0000000, 24, "reserved"},           // 192.0.0/24
    {0xC0000200, 24, "documentation"},      // 192.0.2/24
    {0xC0A80000, 16, "private"},            // 192.168/16
    {0xC6120000, 15, "benchmarking"},       // 198.18/15
    {0xC6336400, 24, "documentation"},      // 198.51.100/24
    {0xCB007100, 24, "documentation"},      // 203.0.113/24
    {0xE0000000, 4, "multicast"},           // 224/4
    {0xF0000000, 4, "reserved"},            // 240/4, incl. broadcast
}};

bool private4(uint32_t host_order, std::string* why) {
  for (const Range4& r : kPrivate4) {
    uint32_t mask = r.bits == 0 ? 0 : ~uint32_t{0} << (32 - r.bits);
    if ((host_order & mask) == r.net) {
      if (why) *why = r.why;
      return true;
    }
  }
  return false;
}

bool private6(const in6_addr& a, std::string* why) {
  const uint8_t* b = a.s6_addr;
  auto set = [&](const char* w) {
    if (why) *why = w;
    return true;
  };
  static const uint8_t kZero[16] = {};
  if (std::memcmp(b, kZero, 15) == 0 && (b[15] == 0 || b[15] == 1)) {
    return set(b[15] == 0 ? "unspecified" : "loopback");
  }
  auto v4_at = [&](int offset) {
    uint32_t v;
    std::memcpy(&v, b + offset, 4);
    return ntohl(v);
  };
  // ::ffff:a.b.c.d (mapped) and 64:ff9b::a.b.c.d (NAT64): judge the IPv4 address inside.
  static const uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  static const uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kMapped, 12) == 0 || std::memcmp(b, kNat64, 12) == 0) {
    return private4(v4_at(12), why);
  }
  if ((b[0] & 0xfe) == 0xfc) return set("private");                     // fc00::/7
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return set("link-local");  // fe80::/10
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return set("site-local");  // fec0::/10
  if (b[0] == 0xff) return set("multicast");                            // ff00::/8
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return set("documentation");
  return false;
}

std::string address_text(const sockaddr* a) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (a->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(a)->sin_addr, buf, sizeof buf);
  } else if (a->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(a)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  const FetchOptions* options = nullptr;
  const FetchSink* sink = nullptr;
  CURL* curl = nullptr;
  uint64_t bytes = 0;
  bool checked_type = false;
  std::optional<Error> abort;  // why a callback stopped the transfer
  std::string refused;         // the last address refused by the open-socket callback
};

curl_socket_t open_socket(void* clientp, curlsocktype purpose, curl_sockaddr* address) {
  auto* t = static_cast<Transfer*>(clientp);
  if (purpose == CURLSOCKTYPE_IPCXN && !t->options->allow_private) {
    std::string why;
    if (is_private_address(&address->addr, &why)) {
      t->refused = fmt::format("{} is a {} address", address_text(&address->addr), why);
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(address->family, address->socktype | SOCK_CLOEXEC, address->protocol);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The media type without parameters, lower case.
std::string media_type(const char* content_type) {
  if (content_type == nullptr) return {};
  std::string t = lower(content_type);
  t = t.substr(0, t.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.pop_back();
  return t;
}

bool acceptable_type(const std::string& t) {
  static const std::vector<std::string> kExact = {"", "application/octet-stream",
                                                  "binary/octet-stream", "application/mp4",
                                                  "application/x-matroska"};
  return t.rfind("video/", 0) == 0 || std::find(kExact.begin(), kExact.end(), t) != kExact.end();
}

size_t on_body(char* data, size_t size, size_t n, void* userp) {
  auto* t = static_cast<Transfer*>(userp);
  size_t len = size * n;
  if (!t->checked_type) {
    t->checked_type = true;
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    char* ct = nullptr;
    curl_easy_getinfo(t->curl, CURLINFO_CONTENT_TYPE, &ct);
    std::string type = media_type(ct);
    if (status >= 200 && status < 300 && !acceptable_type(type)) {
      bool page = type == "text/html" || type == "application/xhtml+xml";
      t->abort = Error(Code::kUnsupportedMedia,
                       page ? fmt::format("a web page ({}), not a media file", type)
                            : fmt::format("the server sent {}, not a video", type),
                       "source_url");
      return 0;
    }
  }
  if (t->bytes + len > t->options->max_bytes) {
    t->abort = Error(Code::kPayloadTooLarge,
                     fmt::format("larger than the limit of {} bytes", t->options->max_bytes),
                     "source_url");
    return 0;
  }
  if (Status s = (*t->sink)(std::string_view(data, len)); !s.ok()) {
    t->abort = s.error();
    return 0;
  }
  t->bytes += len;
  return len;
}

int on_progress(void* clientp, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(clientp);
  if (t->options->cancel && t->options->cancel()) {
    t->abort = Error(Code::kUnavailable, "cancelled", "source_url");
    return 1;
  }
  return 0;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};

}  // namespace

bool is_private_address(const sockaddr* address, std::string* why) {
  if (address->sa_family == AF_INET) {
    return private4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr), why);
  }
  if (address->sa_family == AF_INET6) {
    return private6(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, why);
  }
  if (why) *why = "non-IP";
  return true;
}

bool is_private_address_text(const std::string& text, std::string* why) {
  sockaddr_in v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4.sin_addr) == 1) {
    v4.sin_family = AF_INET;
    return is_private_address(reinterpret_cast<const sockaddr*>(&v4), why);
  }
  sockaddr_in6 v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6.sin6_addr) == 1) {
    v6.sin6_family = AF_INET6;
    return is_private_address(reinterpret_cast<const sockaddr*>(&v6), why);
  }
  return false;
}

Result<FetchResult> fetch_media(const std::string& url, const FetchOptions& options,
                                const FetchSink& sink) {
  global_init();
  std::unique_ptr<CURL, CurlDeleter> handle(curl_easy_init());
  if (!handle) return Error(Code::kInternal, "cannot create a curl handle");
  CURL* c = handle.get();
  Transfer t;
  t.options = &options;
  t.sink = &sink;
  t.curl = c;
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, static_cast<long>(options.max_redirects));
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(options.timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, options.low_speed_bytes);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options.low_speed_time.count()));
  curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(options.max_bytes));
  curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
  curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  if (options.cancel) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &t);
  }

  CURLcode rc = curl_easy_perform(c);
  FetchResult result;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &result.http_status);
  curl_easy_getinfo(c, CURLINFO_REDIRECT_COUNT, &result.redirects);
  char* final_url = nullptr;
  curl_easy_getinfo(c, CURLINFO_EFFECTIVE_URL, &final_url);
  if (final_url) result.final_url = final_url;
  char* ct = nullptr;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  result.content_type = media_type(ct);
  result.bytes = t.bytes;

  if (rc == CURLE_OK) {
    if (!t.checked_type) {
      // An empty body never reached on_body.
      return Error(Code::kUnprocessable, "the server sent an empty body", "source_url");
    }
    return result;
  }
  if (t.abort) return *t.abort;
  std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
      if (!t.refused.empty()) {
        return Error(
            Code::kForbidden,
            fmt::format("refused to connect: {} (set [fetch] allow_private to allow)", t.refused),
            "source_url");
      }
      return Error(Code::kUnavailable, "cannot connect: " + detail, "source_url");
    case CURLE_UNSUPPORTED_PROTOCOL:
      return Error(Code::kUnprocessable, "only http and https URLs are fetched: " + detail,
                   "source_url");
    case CURLE_URL_MALFORMAT:
      return Error(Code::kUnprocessable, "malformed URL: " + detail, "source_url");
    case CURLE_TOO_MANY_REDIRECTS:
      return Error(Code::kUnprocessable,
                   fmt::format("more than {} redirects", options.max_redirects), "source_url");
    case CURLE_FILESIZE_EXCEEDED:
      return Error(Code::kPayloadTooLarge,
                   fmt::format("larger than the limit of {} bytes", options.max_bytes),
                   "source_url");
    case CURLE_HTTP_RETURNED_ERROR: {
      long s = result.http_status;
      bool retry = s >= 500 || s == 429 || s == 408;
      return Error(retry ? Code::kUnavailable : Code::kUnprocessable,
                   fmt::format("the server answered HTTP {}", s), "source_url");
    }
    case CURLE_COULDNT_RESOLVE_HOST:
      return Error(Code::kUnavailable, "cannot resolve the host: " + detail, "source_url");
    default:
      // Timeouts, resets, TLS trouble, a cut-short body: worth another try.
      return Error(Code::kUnavailable, "download failed: " + detail, "source_url");
  }
}

Status check_public_host(const std::string& url, bool allow_private) {
  global_init();
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Error(Code::kUnprocessable, "malformed URL", "source_url");
  }
  char* scheme = nullptr;
  char* host = nullptr;
  curl_url_get(u.get(), CURLUPART_SCHEME, &scheme, 0);
  curl_url_get(u.get(), CURLUPART_HOST, &host, 0);
  std::string s = scheme ? lower(scheme) : "";
  std::string h = host ? host : "";
  curl_free(scheme);
  curl_free(host);
  if (s != "http" && s != "https") {
    return Error(Code::kUnprocessable, "only http and https URLs are fetched", "source_url");
  }
  if (allow_private) return Status::Ok();
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  if (int rc = getaddrinfo(h.c_str(), nullptr, &hints, &list); rc != 0) {
    return Error(Code::kUnavailable,
                 fmt::format("cannot resolve the host {}: {}", h, gai_strerror(rc)), "source_url");
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(list, freeaddrinfo);
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    std::string why;
    if (is_private_address(a->ai_addr, &why)) {
      return Error(Code::kForbidden,
                   fmt::format("refused to connect: {} is a {} address (set [fetch] "
                               "allow_private to allow)",
                               address_text(a->ai_addr), why),
                   "source_url");
    }
  }
  return Status::Ok();
}

Result<std::vector<std::string>> downloader_argv(const std::vector<std::string>& argv_template,
                                                 const std::string& url, const std::string& dir) {
  if (argv_template.empty()) return Error(Code::kInvalidArgument, "no downloader configured");
  bool has_url = false;
  std::vector<std::string> argv;
  for (std::string arg : argv_template) {
    for (auto [key, value] : {std::pair<std::string, const std::string*>{"{url}", &url},
                              std::pair<std::string, const std::string*>{"{dir}", &dir}}) {
      for (size_t at = arg.find(key); at != std::string::npos;
           at = arg.find(key, at + value->size())) {
        if (key == "{url}") has_url = true;
        arg.replace(at, key.size(), *value);
      }
    }
    argv.push_back(std::move(arg));
  }
  if (!has_url) {
    return Error(Code::kInvalidArgument, "[fetch] downloader must contain {url}",
                 "fetch.downloader");
  }
  if (argv[0].find('/') == std::string::npos) {
    const char* path = std::getenv("PATH");
    std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
    std::optional<std::string> found;
    for (size_t from = 0; from <= dirs.size();) {
      size_t to = dirs.find(':', from);
      if (to == std::string::npos) to = dirs.size();
      std::string candidate = dirs.substr(from, to - from) + "/" + argv[0];
      if (to > from && ::access(candidate.c_str(), X_OK) == 0) {
        found = candidate;
        break;
      }
      from = to + 1;
    }
    if (!found) {
      return Error(Code::kNotFound, "the downloader " + argv[0] + " is not on PATH",
                   "fetch.downloader");
    }
    argv[0] = *found;
  }
  return argv;
}

}  // namespace cw::pipeline
