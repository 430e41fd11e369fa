// The parts of ConvoyWatch's public API that `submit` speaks: who am I, is this media already
// there (HEAD of its original, which answers only for media the caller may see), a submission
// of stored media with new context, and tus 1.0.0 uploads (creation with an idempotency key in
// Upload-Metadata, offset, PATCH from a file).
//
// Errors: transport failures are kUnavailable; a problem+json answer becomes an Error whose code
// mirrors the HTTP status (401 kUnauthenticated, 404 kNotFound, 409 kConflict, 410 kGone,
// 413 kPayloadTooLarge, 415 kUnsupportedMedia, 422 kUnprocessable, 423/429/5xx kUnavailable)
// with the server's detail and field. Not thread-safe (one HttpClient).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "client/client_config.hpp"
#include "client/http.hpp"
#include "common/error.hpp"

namespace cw::client {

// The Error for a non-2xx answer: code from the status, detail and field from problem+json.
Error error_from_response(const HttpResponse& response);
// True for errors worth another attempt: kUnavailable (transport, 423, 429, 5xx) and kConflict
// (a tus offset that moved while a cut connection was being closed).
bool is_transient(const Error& error);

struct SubmitAnswer {
  std::string location;   // "/api/v1/submissions/17"
  bool replayed = false;  // the idempotency key had been used: nothing new was made
  nlohmann::json body;    // the submission (may be null for an older stored answer)
};

struct TusCreated {
  std::optional<std::string> upload_url;  // absolute; set when an upload was created
  std::optional<SubmitAnswer> replayed;   // set when the idempotency key had been used
};

struct TusPatched {
  uint64_t offset = 0;                    // the server's offset after the PATCH
  std::optional<std::string> submission;  // X-Submission-Location once complete
};

class ServerApi {
 public:
  explicit ServerApi(const ClientConfig& config);

  const std::string& server() const { return config_.server; }

  // GET /api/v1/me: {"name", "org", "role", …}. kUnauthenticated for a bad token.
  Result<nlohmann::json> me();
  // HEAD /api/v1/media/{sha256}/original: true when the caller may see media with these bytes.
  Result<bool> media_visible(const std::string& sha256);
  // POST /api/v1/submissions (JSON) with media_sha256 and the metadata fields, Idempotency-Key
  // when `key` is not empty.
  Result<SubmitAnswer> submit_stored(const std::string& sha256, const nlohmann::json& metadata,
                                     const std::string& key);

  // POST /api/v1/uploads: Upload-Length and Upload-Metadata (filename, metadata JSON and, when
  // `key` is not empty, idempotency_key).
  Result<TusCreated> tus_create(uint64_t length, const std::string& filename,
                                const nlohmann::json& metadata, const std::string& key);
  // HEAD of an upload: its offset, and the submission once complete. kNotFound / kGone when the
  // upload is unknown or expired.
  Result<TusPatched> tus_status(const std::string& upload_url);
  // PATCH the bytes [offset, length) of `fd`; on_sent reports the bytes of this PATCH sent.
  Result<TusPatched> tus_patch(const std::string& upload_url, int fd, uint64_t offset,
                               uint64_t length, const std::function<void(uint64_t)>& on_sent);

 private:
  HttpRequest request(const std::string& method, const std::string& path_or_url) const;

  ClientConfig config_;
  HttpClient http_;
};

}  // namespace cw::client
