// ConvoyWatch's API as `submit` uses it: requests, problem+json answers turned into Errors.
#include "client/server_api.hpp"

#include <fmt/format.h>

#include <charconv>

#include "common/base64.hpp"

namespace cw::client {

namespace {

constexpr const char* kTusVersion = "1.0.0";

Code code_for_status(long status) {
  switch (status) {
    case 400:
      return Code::kInvalidArgument;
    case 401:
      return Code::kUnauthenticated;
    case 403:
      return Code::kForbidden;
    case 404:
      return Code::kNotFound;
    case 409:
      return Code::kConflict;
    case 410:
      return Code::kGone;
    case 412:
      return Code::kPreconditionFailed;
    case 413:
      return Code::kPayloadTooLarge;
    case 415:
      return Code::kUnsupportedMedia;
    case 422:
      return Code::kUnprocessable;
    case 429:
      return Code::kUnavailable;  // rate limited: wait and try again
    case 507:
      return Code::kInsufficientStorage;
    default:
      return status == 423 || status >= 500 ? Code::kUnavailable : Code::kInternal;
  }
}

Result<uint64_t> header_number(const HttpResponse& r, const std::string& name) {
  std::string v = r.header(name);
  uint64_t n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size()) {
    return Error(Code::kInternal, "the server's answer has no valid " + name + " header");
  }
  return n;
}

SubmitAnswer answer_from(const HttpResponse& r) {
  SubmitAnswer a;
  a.location = r.header("location");
  if (a.location.empty()) a.location = r.header("x-submission-location");
  a.replayed = r.header("idempotent-replayed") == "true";
  a.body = nlohmann::json::parse(r.body, nullptr, false);
  if (a.body.is_discarded()) a.body = nullptr;
  return a;
}

}  // namespace

Error error_from_response(const HttpResponse& response) {
  std::string detail;
  std::string field;
  auto doc = nlohmann::json::parse(response.body, nullptr, false);
  if (doc.is_object()) {
    if (doc.contains("detail") && doc["detail"].is_string()) detail = doc["detail"];
    if (doc.contains("field") && doc["field"].is_string()) field = doc["field"];
  }
  if (detail.empty()) detail = "the server answered " + std::to_string(response.status);
  std::string text = fmt::format("{} ({})", detail, response.status);
  return Error(code_for_status(response.status), text, field);
}

bool is_transient(const Error& error) {
  return error.code() == Code::kUnavailable || error.code() == Code::kConflict;
}

ServerApi::ServerApi(const ClientConfig& config)
    : config_(config),
      http_(HttpOptions{config.connect_timeout_s, config.stall_timeout_s, "convoywatch-submit"}) {}

HttpRequest ServerApi::request(const std::string& method, const std::string& path_or_url) const {
  HttpRequest r;
  r.method = method;
  r.url = resolve_url(config_.server, path_or_url);
  r.headers.emplace_back("Authorization", "Bearer " + config_.token);
  return r;
}

Result<nlohmann::json> ServerApi::me() {
  auto r = http_.send(request("GET", "/api/v1/me"));
  if (!r.ok()) return r.error();
  if (r->status != 200) return error_from_response(*r);
  auto doc = nlohmann::json::parse(r->body, nullptr, false);
  if (!doc.is_object()) return Error(Code::kInternal, "the server's /api/v1/me is not JSON");
  return doc;
}

Result<bool> ServerApi::media_visible(const std::string& sha256) {
  auto r = http_.send(request("HEAD", "/api/v1/media/" + sha256 + "/original"));
  if (!r.ok()) return r.error();
  if (r->status == 200) return true;
  if (r->status == 404) return false;
  return error_from_response(*r);
}

Result<SubmitAnswer> ServerApi::submit_stored(const std::string& sha256,
                                              const nlohmann::json& metadata,
                                              const std::string& key) {
  HttpRequest req = request("POST", "/api/v1/submissions");
  nlohmann::json body = metadata;
  body["media_sha256"] = sha256;
  req.body = body.dump();
  req.headers.emplace_back("Content-Type", "application/json");
  if (!key.empty()) req.headers.emplace_back("Idempotency-Key", key);
  auto r = http_.send(req);
  if (!r.ok()) return r.error();
  if (r->status != 201) return error_from_response(*r);
  return answer_from(*r);
}

Result<TusCreated> ServerApi::tus_create(uint64_t length, const std::string& filename,
                                         const nlohmann::json& metadata, const std::string& key) {
  HttpRequest req = request("POST", "/api/v1/uploads");
  std::string upload_metadata =
      "filename " + base64_encode(filename) + ",metadata " + base64_encode(metadata.dump());
  if (!key.empty()) upload_metadata += ",idempotency_key " + base64_encode(key);
  req.headers.emplace_back("Tus-Resumable", kTusVersion);
  req.headers.emplace_back("Upload-Length", std::to_string(length));
  req.headers.emplace_back("Upload-Metadata", upload_metadata);
  auto r = http_.send(req);
  if (!r.ok()) return r.error();
  TusCreated out;
  if (r->status == 200 && r->header("idempotent-replayed") == "true") {
    out.replayed = answer_from(*r);
    return out;
  }
  if (r->status != 201) return error_from_response(*r);
  std::string location = r->header("location");
  if (location.empty()) return Error(Code::kInternal, "the server created an upload without a URL");
  out.upload_url = resolve_url(config_.server, location);
  return out;
}

Result<TusPatched> ServerApi::tus_status(const std::string& upload_url) {
  HttpRequest req = request("HEAD", upload_url);
  req.headers.emplace_back("Tus-Resumable", kTusVersion);
  auto r = http_.send(req);
  if (!r.ok()) return r.error();
  if (r->status != 200) return error_from_response(*r);
  auto offset = header_number(*r, "upload-offset");
  if (!offset.ok()) return offset.error();
  TusPatched out;
  out.offset = *offset;
  if (std::string s = r->header("x-submission-location"); !s.empty()) out.submission = s;
  return out;
}

Result<TusPatched> ServerApi::tus_patch(const std::string& upload_url, int fd, uint64_t offset,
                                        uint64_t length,
                                        const std::function<void(uint64_t)>& on_sent) {
  HttpRequest req = request("PATCH", upload_url);
  req.headers.emplace_back("Tus-Resumable", kTusVersion);
  req.headers.emplace_back("Upload-Offset", std::to_string(offset));
  req.headers.emplace_back("Content-Type", "application/offset+octet-stream");
  req.file = FileBody{fd, offset, length - offset};
  req.on_sent = on_sent;
  auto r = http_.send(req);
  if (!r.ok()) return r.error();
  if (r->status != 204 && r->status != 200) return error_from_response(*r);
  auto new_offset = header_number(*r, "upload-offset");
  if (!new_offset.ok()) return new_offset.error();
  TusPatched out;
  out.offset = *new_offset;
  if (std::string s = r->header("x-submission-location"); !s.empty()) out.submission = s;
  return out;
}

}  // namespace cw::client
