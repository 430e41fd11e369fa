// The S3 client (store/s3_client.hpp): requests over libcurl, signed by libcurl's AWS SigV4
// (except ranged UploadPartCopy on libcurl < 8.10, see store/internal/s3_sigv4.hpp), answers read
// with Boost.PropertyTree's XML parser, a pool of easy handles for connection reuse, retries.
// The keys are read in s3_credentials.cpp, the one request libcurl signs wrongly is signed in
// s3_sigv4.cpp.
#include "store/s3_client.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "common/log.hpp"
#include "common/sha256.hpp"
#include "common/xml.hpp"
#include "store/internal/s3_sigv4.hpp"

namespace cw::store {

namespace {

using boost::property_tree::ptree;
using internal::s3_uri_encode;
using internal::trim;

constexpr const char* kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";
// Bodies in memory up to this size are signed with their SHA-256; larger ones (parts) go as
// UNSIGNED-PAYLOAD rather than hashing every part a second time.
constexpr size_t kSignedBodyMax = size_t{1} << 20;
// Largest XML answer kept (a list page of 1000 long keys is about 400 KB).
constexpr size_t kMaxAnswer = size_t{4} << 20;
constexpr size_t kMaxPooledHandles = 16;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool curl_signs_prefix_headers_right() {
  const curl_version_info_data* v = curl_version_info(CURLVERSION_NOW);
  return v != nullptr && v->version_num >= 0x080a00;  // 8.10.0
}

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

// A body to send: a reader and, when the source can be read again, a rewind.
struct Body {
  uint64_t size = 0;
  std::function<Result<size_t>(char*, size_t)> read;
  std::function<bool()> rewind;  // empty: cannot be sent twice
  std::string payload_hash = kUnsignedPayload;
};

struct Request {
  std::string op;  // "PUT", "GET", ... for messages: "PUT a/b"
  std::string method;
  std::string key;  // empty: the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercase names
  std::optional<Body> body;                                  // PUT / POST with a body
  std::string post;                                          // POST body (small XML)
  bool post_body = false;
  const S3Client::WriteFn* sink = nullptr;  // 2xx bodies go here; else they are kept
  bool small = true;                        // a total time limit applies
  bool retry = true;
  bool self_sign = false;  // sign here, not with libcurl (internal/s3_sigv4.hpp)
};

struct Response {
  long status = 0;
  std::string body;  // the answer (XML) when there is no sink or it is an error
  std::string etag;
  std::string content_type;
  std::string last_modified;
  std::optional<uint64_t> content_length;
  std::optional<uint64_t> total_size;  // from Content-Range
  uint64_t delivered = 0;              // bytes given to the sink
};

// What one attempt ended with.
struct Outcome {
  Response response;
  CURLcode curl = CURLE_OK;
  std::string curl_error;
  std::optional<Error> callback_error;  // from the sink or the body reader
  bool answer_too_big = false;
};

struct Transfer {
  CURL* curl = nullptr;
  Request* request = nullptr;
  Outcome* outcome = nullptr;
  bool status_known = false;
  bool to_sink = false;
  uint64_t sent = 0;
};

size_t on_write(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->status_known) {
    long code = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
    t->status_known = true;
    t->to_sink = t->request->sink != nullptr && code >= 200 && code < 300;
  }
  if (t->to_sink) {
    Status s = (*t->request->sink)(std::string_view(data, n));
    if (!s.ok()) {
      t->outcome->callback_error = s.error();
      return 0;
    }
    t->outcome->response.delivered += n;
    return n;
  }
  if (t->outcome->response.body.size() + n > kMaxAnswer) {
    t->outcome->answer_too_big = true;
    return 0;
  }
  t->outcome->response.body.append(data, n);
  return n;
}

size_t on_read(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  Body& body = *t->request->body;
  const size_t want = std::min<uint64_t>(size * count, body.size - t->sent);
  if (want == 0) return 0;
  Result<size_t> got = body.read(buffer, want);
  if (!got.ok()) {
    t->outcome->callback_error = got.error();
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0 || *got > want) {
    t->outcome->callback_error = Error(
        Code::kInternal,
        fmt::format("{}: the body ended after {} of {} bytes", t->request->op, t->sent, body.size));
    return CURL_READFUNC_ABORT;
  }
  t->sent += *got;
  return *got;
}

int on_seek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  Body& body = *t->request->body;
  if (offset != 0 || origin != SEEK_SET || !body.rewind || !body.rewind()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->sent = 0;
  return CURL_SEEKFUNC_OK;
}

std::string header_value(CURL* curl, const char* name) {
  curl_header* h = nullptr;
  if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) != CURLHE_OK || h == nullptr) {
    return {};
  }
  return trim(h->value);
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    if (v > (UINT64_MAX - 9) / 10) return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

// "bytes 0-9/1234" -> 1234.
std::optional<uint64_t> total_from_content_range(const std::string& value) {
  size_t slash = value.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  return parse_u64(value.substr(slash + 1));
}

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

Result<ptree> parse_xml(const std::string& op, const std::string& text) {
  ptree tree;
  try {
    std::istringstream in(text);
    boost::property_tree::read_xml(in, tree);
  } catch (const std::exception&) {
    return Error(Code::kInternal, op + ": the object store's answer is not XML");
  }
  return tree;
}

bool retryable_curl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

// The S3 error code and message of an error answer (empty when it has no XML body).
std::pair<std::string, std::string> s3_error_of(const std::string& body) {
  if (body.empty()) return {};
  ptree tree;
  try {
    std::istringstream in(body);
    boost::property_tree::read_xml(in, tree);
  } catch (const std::exception&) {
    return {};
  }
  return {tree.get<std::string>("Error.Code", ""), tree.get<std::string>("Error.Message", "")};
}

Code code_for(long status, const std::string& s3_code) {
  if (s3_code == "SlowDown" || s3_code == "RequestTimeout" || s3_code == "InternalError" ||
      s3_code == "ServiceUnavailable") {
    return Code::kUnavailable;
  }
  if (s3_code == "EntityTooLarge") return Code::kPayloadTooLarge;
  if (s3_code == "QuotaExceeded" || s3_code == "InsufficientCapacity") {
    return Code::kInsufficientStorage;
  }
  switch (status) {
    case 400:
    case 416:
      return Code::kInvalidArgument;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kConflict;
    case 412:
      return Code::kPreconditionFailed;
    case 507:
      return Code::kInsufficientStorage;
    case 500:
    case 502:
    case 503:
    case 504:
      return Code::kUnavailable;
    default:
      return Code::kInternal;
  }
}

// Parses an endpoint "scheme://host[:port]" (a trailing '/' allowed) into scheme and authority.
bool split_endpoint(const std::string& endpoint, std::string* scheme, std::string* authority) {
  size_t sep = endpoint.find("://");
  if (sep == std::string::npos) return false;
  *scheme = endpoint.substr(0, sep);
  if (*scheme != "http" && *scheme != "https") return false;
  std::string rest = endpoint.substr(sep + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty()) return false;
  if (rest.find_first_of("/?#@ ") != std::string::npos) return false;
  *authority = rest;
  return true;
}

bool valid_bucket(const std::string& b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

Status check_key(const std::string& op, const std::string& key) {
  if (key.empty() || key.size() > 1024) {
    return Error(Code::kInvalidArgument, op + ": an object key has 1 to 1024 bytes");
  }
  return Status::Ok();
}

}  // namespace

// ---- the client --------------------------------------------------------------------------------

struct S3Client::Handles {
  std::mutex mu;
  std::vector<CURL*> free;
  std::string scheme;
  std::string authority;

  ~Handles() {
    for (CURL* c : free) curl_easy_cleanup(c);
  }
  CURL* take() {
    {
      std::lock_guard lock(mu);
      if (!free.empty()) {
        CURL* c = free.back();
        free.pop_back();
        return c;
      }
    }
    return curl_easy_init();
  }
  void give(CURL* c) {
    curl_easy_reset(c);  // keeps the connection cache
    std::lock_guard lock(mu);
    if (free.size() < kMaxPooledHandles) {
      free.push_back(c);
      return;
    }
    curl_easy_cleanup(c);
  }

  Outcome perform(const S3Options& o, Request& r);
  // `last`, when given, gets the last attempt's answer headers (also when it failed).
  Result<Response> run(const S3Options& o, Request& r, Response* last = nullptr);
};

S3Client::S3Client(S3Options options)
    : options_(std::move(options)), handles_(std::make_unique<Handles>()) {}

S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::create(S3Options options) {
  global_init();
  std::string scheme;
  std::string authority;
  if (!split_endpoint(options.endpoint, &scheme, &authority)) {
    return Error(Code::kInvalidArgument,
                 "storage.s3_endpoint must be http(s)://host[:port] without a path, not \"" +
                     options.endpoint + "\"",
                 "storage.s3_endpoint");
  }
  if (!valid_bucket(options.bucket)) {
    return Error(Code::kInvalidArgument,
                 "storage.s3_bucket must be an S3 bucket name (3-63 of a-z 0-9 . -), not \"" +
                     options.bucket + "\"",
                 "storage.s3_bucket");
  }
  if (options.region.empty() || options.region.find_first_of(": /") != std::string::npos) {
    return Error(Code::kInvalidArgument, "storage.s3_region must be a region name",
                 "storage.s3_region");
  }
  if (options.credentials.access_key.empty() || options.credentials.secret_key.empty()) {
    return Error(Code::kInvalidArgument, "the S3 access key and secret key must both be set",
                 "storage.s3_credentials_file");
  }
  if (options.max_attempts < 1) options.max_attempts = 1;
  auto client = std::unique_ptr<S3Client>(new S3Client(std::move(options)));
  client->handles_->scheme = scheme;
  client->handles_->authority = authority;
  return client;
}

Outcome S3Client::Handles::perform(const S3Options& o, Request& r) {
  Outcome out;
  CURL* c = take();
  if (c == nullptr) {
    out.curl = CURLE_OUT_OF_MEMORY;
    out.curl_error = "curl_easy_init failed";
    return out;
  }
  if (r.method == "PUT" && !r.body) {  // a copy: a PUT without a body
    r.body = Body{0, [](char*, size_t) -> Result<size_t> { return size_t{0}; }, [] { return true; },
                  kEmptySha256};
  }
  // URL: the canonical query (sorted, encoded) is the query sent, because libcurl 7.88 signs
  // the query as it appears in the URL.
  std::vector<std::pair<std::string, std::string>> query;
  for (const auto& [k, v] : r.query)
    query.emplace_back(s3_uri_encode(k, false), s3_uri_encode(v, false));
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [k, v] : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += k + "=" + v;
  }
  std::string host;
  std::string path;
  if (o.addressing == S3Addressing::kVirtualHost) {
    host = o.bucket + "." + authority;
    path = "/" + s3_uri_encode(r.key, true);
  } else {
    host = authority;
    path = "/" + o.bucket;
    if (!r.key.empty()) path += "/" + s3_uri_encode(r.key, true);
  }
  const std::string url =
      scheme + "://" + host + path + (canonical_query.empty() ? "" : "?" + canonical_query);

  std::string payload_hash = kEmptySha256;
  if (r.body) payload_hash = r.body->payload_hash;
  if (r.post_body) payload_hash = r.post.empty() ? kEmptySha256 : Sha256::hex_digest(r.post);

  curl_slist* headers = nullptr;
  std::vector<std::string> lines;
  for (const auto& [name, value] : r.headers) lines.push_back(name + ": " + value);
  lines.push_back("x-amz-content-sha256: " + payload_hash);
  if (r.self_sign) {
    const std::string date = amz_date_now();
    internal::SigV4Request sr;
    sr.method = r.method;
    sr.canonical_uri = path;
    sr.canonical_query = canonical_query;
    for (const auto& [name, value] : r.headers) sr.headers[name] = trim(value);
    sr.headers["host"] = host;
    sr.headers["x-amz-content-sha256"] = payload_hash;
    sr.headers["x-amz-date"] = date;
    sr.payload_sha256 = payload_hash;
    lines.push_back("Host: " + host);
    lines.push_back("x-amz-date: " + date);
    lines.push_back("Authorization: " + internal::sigv4_authorization(sr, o.credentials.access_key,
                                                                      o.credentials.secret_key,
                                                                      o.region, date));
  }
  for (const std::string& l : lines) headers = curl_slist_append(headers, l.c_str());

  Transfer t;
  t.curl = c;
  t.request = &r;
  t.outcome = &out;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string sigv4 = "aws:amz:" + o.region + ":s3";
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);  // keys may hold "./" and "../"
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, o.low_speed_bytes);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(o.low_speed_time.count()));
  if (r.small) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT, static_cast<long>(o.small_request_timeout.count()));
  }
  if (!r.self_sign) {
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(c, CURLOPT_USERNAME, o.credentials.access_key.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, o.credentials.secret_key.c_str());
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
  if (r.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (r.method == "PUT") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                     static_cast<curl_off_t>(r.body ? r.body->size : 0));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &t);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, on_seek);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &t);
  } else if (r.method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r.post.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.post.size()));
  } else if (r.method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r.method.c_str());
  }

  out.curl = curl_easy_perform(c);
  if (out.curl != CURLE_OK) out.curl_error = errbuf[0] != 0 ? errbuf : curl_easy_strerror(out.curl);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out.response.status);
  if (out.response.status != 0) {
    out.response.etag = unquote(header_value(c, "ETag"));
    out.response.content_type = header_value(c, "Content-Type");
    out.response.last_modified = header_value(c, "Last-Modified");
    out.response.content_length = parse_u64(header_value(c, "Content-Length"));
    out.response.total_size = total_from_content_range(header_value(c, "Content-Range"));
  }
  curl_slist_free_all(headers);
  give(c);
  return out;
}

// Runs a request with the retry policy; a 2xx is a Response, anything else an Error.
Result<Response> S3Client::Handles::run(const S3Options& o, Request& r, Response* last) {
  std::chrono::milliseconds delay = o.retry_delay;
  for (int attempt = 1;; ++attempt) {
    if (attempt > 1 && r.body && r.body->rewind && !r.body->rewind()) {
      return Error(Code::kInternal, r.op + ": cannot read the body again for a retry");
    }
    Outcome out = perform(o, r);
    if (last != nullptr) *last = out.response;
    if (out.callback_error) return *out.callback_error;
    if (out.answer_too_big) {
      return Error(Code::kInternal, r.op + ": the object store's answer is too large");
    }
    bool retry = false;
    Error error(Code::kInternal, "");
    if (out.curl != CURLE_OK) {
      retry = retryable_curl(out.curl);
      error = Error(
          retry || out.curl == CURLE_COULDNT_RESOLVE_HOST ? Code::kUnavailable : Code::kInternal,
          fmt::format("{}: the object store did not answer: {}", r.op, out.curl_error));
    } else if (out.response.status >= 200 && out.response.status < 300) {
      // Copies and completions can fail after the 200 header: S3 then sends an Error document.
      if (r.sink == nullptr && out.response.body.find("<Error>") != std::string::npos) {
        auto [s3_code, message] = s3_error_of(out.response.body);
        if (!s3_code.empty()) {
          Code code = code_for(500, s3_code);
          retry = code == Code::kUnavailable;
          error = Error(code, fmt::format("{}: {} {}", r.op, s3_code, message));
        } else {
          return std::move(out.response);
        }
      } else {
        return std::move(out.response);
      }
    } else {
      auto [s3_code, message] = s3_error_of(out.response.body);
      Code code = code_for(out.response.status, s3_code);
      retry = code == Code::kUnavailable;
      error = Error(code, fmt::format("{}: HTTP {}{}{}", r.op, out.response.status,
                                      s3_code.empty() ? "" : " " + s3_code,
                                      message.empty() ? "" : " (" + message + ")"));
    }
    if (!retry || !r.retry || attempt >= o.max_attempts || out.response.delivered > 0) {
      return error;
    }
    log::warn("s3 request failed; retrying", {{"error", error.detail()},
                                              {"attempt", attempt},
                                              {"max_attempts", o.max_attempts},
                                              {"delay_ms", delay.count()}});
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

namespace {

S3ObjectInfo info_of(const std::string& key, const Response& r) {
  S3ObjectInfo info;
  info.key = key;
  info.etag = r.etag;
  info.content_type = r.content_type;
  info.last_modified = r.last_modified;
  if (r.total_size) {
    info.size = *r.total_size;
  } else if (r.content_length) {
    info.size = *r.content_length;
  }
  return info;
}

std::string range_text(S3ByteRange range) {
  return fmt::format("bytes={}-{}", range.first, range.last);
}

}  // namespace

Result<S3ObjectInfo> S3Client::put_object(const std::string& key, uint64_t size, const ReadFn& body,
                                          const S3PutOptions& options) {
  Request r;
  r.op = "PUT " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  r.method = "PUT";
  r.key = key;
  r.headers = {{"content-type", options.content_type}};
  r.body = Body{size, body, {}, kUnsignedPayload};
  r.small = false;
  r.retry = false;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  S3ObjectInfo info = info_of(key, *resp);
  info.size = size;
  info.content_type = options.content_type;
  return info;
}

Result<S3ObjectInfo> S3Client::put_file(const std::string& key, const std::string& path,
                                        const S3PutOptions& options) {
  Request r;
  r.op = "PUT " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Error(Code::kNotFound, r.op + ": cannot open " + path);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) return Error(Code::kInternal, r.op + ": cannot size " + path);
  auto offset = std::make_shared<uint64_t>(0);
  Body body;
  body.size = static_cast<uint64_t>(end);
  body.read = [fd, offset, path](char* buf, size_t n) -> Result<size_t> {
    for (;;) {
      ssize_t got = ::pread(fd, buf, n, static_cast<off_t>(*offset));
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Error(Code::kInternal, "cannot read " + path);
      *offset += static_cast<uint64_t>(got);
      return static_cast<size_t>(got);
    }
  };
  body.rewind = [offset] {
    *offset = 0;
    return true;
  };
  body.payload_hash = kUnsignedPayload;
  r.method = "PUT";
  r.key = key;
  r.headers = {{"content-type", options.content_type}};
  r.body = std::move(body);
  r.small = false;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  S3ObjectInfo info = info_of(key, *resp);
  info.size = static_cast<uint64_t>(end);
  info.content_type = options.content_type;
  return info;
}

namespace {

Body memory_body(std::string_view bytes) {
  auto offset = std::make_shared<size_t>(0);
  Body body;
  body.size = bytes.size();
  body.read = [bytes, offset](char* buf, size_t n) -> Result<size_t> {
    size_t k = std::min(n, bytes.size() - *offset);
    std::memcpy(buf, bytes.data() + *offset, k);
    *offset += k;
    return k;
  };
  body.rewind = [offset] {
    *offset = 0;
    return true;
  };
  body.payload_hash = bytes.size() <= kSignedBodyMax ? Sha256::hex_digest(bytes) : kUnsignedPayload;
  return body;
}

}  // namespace

Result<S3ObjectInfo> S3Client::put_bytes(const std::string& key, std::string_view bytes,
                                         const S3PutOptions& options) {
  Request r;
  r.op = "PUT " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  r.method = "PUT";
  r.key = key;
  r.headers = {{"content-type", options.content_type}};
  r.body = memory_body(bytes);
  r.small = false;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  S3ObjectInfo info = info_of(key, *resp);
  info.size = bytes.size();
  info.content_type = options.content_type;
  return info;
}

Result<S3ObjectInfo> S3Client::head_object(const std::string& key) {
  Request r;
  r.op = "HEAD " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  r.method = "HEAD";
  r.key = key;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  return info_of(key, *resp);
}

Result<S3ObjectInfo> S3Client::get_object(const std::string& key, const WriteFn& sink,
                                          std::optional<S3ByteRange> range,
                                          const std::string& if_match) {
  const std::string op = "GET " + key;
  if (Status s = check_key(op, key); !s.ok()) return s.error();
  if (range && range->last < range->first) {
    return Error(Code::kInvalidArgument, op + ": a range's last byte comes before its first");
  }
  uint64_t delivered = 0;
  const WriteFn counting = [&](std::string_view bytes) {
    Status s = sink(bytes);
    if (s.ok()) delivered += bytes.size();
    return s;
  };
  std::string etag = unquote(if_match);
  std::optional<uint64_t> total;  // of the whole object, once bytes have arrived
  std::chrono::milliseconds delay = options_.retry_delay;
  for (int attempt = 1;; ++attempt) {
    Request r;
    r.op = op;
    r.method = "GET";
    r.key = key;
    r.sink = &counting;
    r.small = false;
    r.retry = false;  // resumed here instead, from the bytes already delivered
    if (delivered > 0) {
      const uint64_t first = (range ? range->first : 0) + delivered;
      const uint64_t last = range ? range->last : *total - 1;
      if (first > last) {  // everything had arrived when the connection broke
        S3ObjectInfo info;
        info.key = key;
        info.size = *total;
        info.etag = etag;
        return info;
      }
      r.headers.emplace_back("range", range_text({first, last}));
    } else if (range) {
      r.headers.emplace_back("range", range_text(*range));
    }
    if (!etag.empty()) r.headers.emplace_back("if-match", "\"" + etag + "\"");
    const uint64_t before = delivered;
    Response last;
    Result<Response> resp = handles_->run(options_, r, &last);
    if (resp.ok()) return info_of(key, *resp);
    const Error& e = resp.error();
    if (e.code() != Code::kUnavailable || attempt >= options_.max_attempts) return e;
    if (before == 0 && delivered > 0) {
      // The first answer that carried bytes fixes the version and size the rest must match.
      if (etag.empty()) etag = last.etag;
      total = last.total_size ? last.total_size : last.content_length;
      if (etag.empty() || !total) return e;
    }
    log::warn(delivered > 0 ? "s3 download broke off; resuming" : "s3 download failed; retrying",
              {{"error", e.detail()},
               {"bytes", delivered},
               {"attempt", attempt},
               {"max_attempts", options_.max_attempts},
               {"delay_ms", delay.count()}});
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

Status S3Client::delete_object(const std::string& key) {
  Request r;
  r.op = "DELETE " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s;
  r.method = "DELETE";
  r.key = key;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok() && resp.error().code() != Code::kNotFound) return resp.error();
  return Status::Ok();
}

Result<S3ListPage> S3Client::list_objects(const std::string& prefix,
                                          const std::string& continuation_token, int max_keys) {
  Request r;
  r.op = "LIST " + prefix;
  r.method = "GET";
  r.query = {{"list-type", "2"},
             {"prefix", prefix},
             {"max-keys", std::to_string(std::clamp(max_keys, 1, 1000))}};
  if (!continuation_token.empty()) r.query.emplace_back("continuation-token", continuation_token);
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  S3ListPage page;
  const ptree* root = tree->get_child_optional("ListBucketResult").get_ptr();
  if (root == nullptr) return Error(Code::kInternal, r.op + ": not a ListBucketResult");
  for (const auto& [name, node] : *root) {
    if (name != "Contents") continue;
    S3ObjectInfo info;
    info.key = node.get<std::string>("Key", "");
    info.size = node.get<uint64_t>("Size", 0);
    info.etag = unquote(node.get<std::string>("ETag", ""));
    info.last_modified = node.get<std::string>("LastModified", "");
    page.objects.push_back(std::move(info));
  }
  page.truncated = root->get<std::string>("IsTruncated", "false") == "true";
  page.next_token = root->get<std::string>("NextContinuationToken", "");
  if (page.truncated && page.next_token.empty()) {
    return Error(Code::kInternal, r.op + ": a truncated page without NextContinuationToken");
  }
  return page;
}

namespace {

std::string copy_source(const std::string& bucket, const std::string& key) {
  return "/" + bucket + "/" + s3_uri_encode(key, true);
}

}  // namespace

Result<std::string> S3Client::copy_object(const std::string& source_key,
                                          const std::string& dest_key) {
  Request r;
  r.op = "COPY " + source_key + " to " + dest_key;
  if (Status s = check_key(r.op, source_key); !s.ok()) return s.error();
  if (Status s = check_key(r.op, dest_key); !s.ok()) return s.error();
  r.method = "PUT";
  r.key = dest_key;
  r.headers = {{"x-amz-copy-source", copy_source(options_.bucket, source_key)}};
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  std::string etag = unquote(tree->get<std::string>("CopyObjectResult.ETag", ""));
  if (etag.empty()) return Error(Code::kInternal, r.op + ": no ETag in the answer");
  return etag;
}

Result<std::string> S3Client::create_multipart_upload(const std::string& key,
                                                      const S3PutOptions& options) {
  Request r;
  r.op = "CREATE UPLOAD " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  r.method = "POST";
  r.key = key;
  r.query = {{"uploads", ""}};
  r.headers = {{"content-type", options.content_type}};
  r.post_body = true;
  r.retry = false;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  std::string id = tree->get<std::string>("InitiateMultipartUploadResult.UploadId", "");
  if (id.empty()) return Error(Code::kInternal, r.op + ": no UploadId in the answer");
  return id;
}

namespace {

Status check_part(const std::string& op, const std::string& upload_id, int part_number) {
  if (upload_id.empty()) return Error(Code::kInvalidArgument, op + ": no upload id");
  if (part_number < 1 || part_number > 10000) {
    return Error(Code::kInvalidArgument, op + ": part numbers are 1 to 10000");
  }
  return Status::Ok();
}

}  // namespace

Result<std::string> S3Client::upload_part(const std::string& key, const std::string& upload_id,
                                          int part_number, std::string_view bytes) {
  Request r;
  r.op = fmt::format("UPLOAD PART {} of {}", part_number, key);
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  if (Status s = check_part(r.op, upload_id, part_number); !s.ok()) return s.error();
  r.method = "PUT";
  r.key = key;
  r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  r.body = memory_body(bytes);
  r.small = false;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  if (resp->etag.empty()) return Error(Code::kInternal, r.op + ": no ETag in the answer");
  return resp->etag;
}

Result<std::string> S3Client::upload_part_copy(const std::string& key, const std::string& upload_id,
                                               int part_number, const std::string& source_key,
                                               S3ByteRange range) {
  Request r;
  r.op = fmt::format("UPLOAD PART COPY {} of {} from {}", part_number, key, source_key);
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  if (Status s = check_key(r.op, source_key); !s.ok()) return s.error();
  if (Status s = check_part(r.op, upload_id, part_number); !s.ok()) return s.error();
  if (range.last < range.first) {
    return Error(Code::kInvalidArgument, r.op + ": a range's last byte comes before its first");
  }
  r.method = "PUT";
  r.key = key;
  r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
  r.headers = {{"x-amz-copy-source", copy_source(options_.bucket, source_key)},
               {"x-amz-copy-source-range", range_text(range)}};
  r.self_sign = !curl_signs_prefix_headers_right();
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  std::string etag = unquote(tree->get<std::string>("CopyPartResult.ETag", ""));
  if (etag.empty()) return Error(Code::kInternal, r.op + ": no ETag in the answer");
  return etag;
}

Result<std::string> S3Client::complete_multipart_upload(const std::string& key,
                                                        const std::string& upload_id,
                                                        const std::vector<S3CompletedPart>& parts) {
  Request r;
  r.op = "COMPLETE UPLOAD " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s.error();
  if (upload_id.empty()) return Error(Code::kInvalidArgument, r.op + ": no upload id");
  if (parts.empty()) return Error(Code::kInvalidArgument, r.op + ": no parts");
  std::vector<S3CompletedPart> sorted = parts;
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.part_number < b.part_number; });
  std::string xml = "<CompleteMultipartUpload>";
  for (const S3CompletedPart& p : sorted) {
    xml += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>\"{}\"</ETag></Part>", p.part_number,
                       xml_escape(unquote(p.etag)));
  }
  xml += "</CompleteMultipartUpload>";
  r.method = "POST";
  r.key = key;
  r.query = {{"uploadId", upload_id}};
  r.headers = {{"content-type", "application/xml"}};
  r.post = std::move(xml);
  r.post_body = true;
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) {
    // A retry after a completion whose answer was lost finds the upload gone: the object with
    // as many parts is then the result.
    if (resp.error().code() == Code::kNotFound) {
      Result<S3ObjectInfo> head = head_object(key);
      if (head.ok() && head->etag.size() > 2 &&
          head->etag.ends_with("-" + std::to_string(sorted.size()))) {
        return head->etag;
      }
    }
    return resp.error();
  }
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  if (!tree->get_child_optional("CompleteMultipartUploadResult")) {
    return Error(Code::kInternal, r.op + ": not a CompleteMultipartUploadResult");
  }
  std::string etag = unquote(tree->get<std::string>("CompleteMultipartUploadResult.ETag", ""));
  if (etag.empty()) {
    // Ceph 16 (Pacific) answers with an empty <ETag/>; the object has it.
    Result<S3ObjectInfo> head = head_object(key);
    if (!head.ok()) return head.error();
    etag = head->etag;
  }
  if (etag.empty()) return Error(Code::kInternal, r.op + ": no ETag in the answer");
  return etag;
}

Status S3Client::abort_multipart_upload(const std::string& key, const std::string& upload_id) {
  Request r;
  r.op = "ABORT UPLOAD " + key;
  if (Status s = check_key(r.op, key); !s.ok()) return s;
  if (upload_id.empty()) return Error(Code::kInvalidArgument, r.op + ": no upload id");
  r.method = "DELETE";
  r.key = key;
  r.query = {{"uploadId", upload_id}};
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok() && resp.error().code() != Code::kNotFound) return resp.error();
  return Status::Ok();
}

Result<S3UploadsPage> S3Client::list_multipart_uploads(const std::string& prefix,
                                                       const std::string& key_marker,
                                                       const std::string& upload_id_marker) {
  Request r;
  r.op = "LIST UPLOADS " + prefix;
  r.method = "GET";
  r.query = {{"uploads", ""}, {"prefix", prefix}};
  if (!key_marker.empty()) r.query.emplace_back("key-marker", key_marker);
  if (!upload_id_marker.empty()) r.query.emplace_back("upload-id-marker", upload_id_marker);
  Result<Response> resp = handles_->run(options_, r);
  if (!resp.ok()) return resp.error();
  Result<ptree> tree = parse_xml(r.op, resp->body);
  if (!tree.ok()) return tree.error();
  const ptree* root = tree->get_child_optional("ListMultipartUploadsResult").get_ptr();
  if (root == nullptr) return Error(Code::kInternal, r.op + ": not a ListMultipartUploadsResult");
  S3UploadsPage page;
  for (const auto& [name, node] : *root) {
    if (name != "Upload") continue;
    page.uploads.push_back({node.get<std::string>("Key", ""), node.get<std::string>("UploadId", ""),
                            node.get<std::string>("Initiated", "")});
  }
  page.truncated = root->get<std::string>("IsTruncated", "false") == "true";
  page.next_key_marker = root->get<std::string>("NextKeyMarker", "");
  page.next_upload_id_marker = root->get<std::string>("NextUploadIdMarker", "");
  return page;
}

}  // namespace cw::store
