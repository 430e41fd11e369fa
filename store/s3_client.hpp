// An S3 client for the evidence store's object backend: one bucket of an S3-compatible server
// (Ceph RADOS Gateway, AWS S3, MinIO, ...), over libcurl with its AWS Signature V4 signing.
//
// Operations: put (streamed from a callback, a file or memory), get (whole or a byte range,
// streamed to a callback), head, delete, list by prefix, server-side copy, and multipart uploads
// (create, upload a part from a buffer, copy a byte range of another object as a part, complete,
// abort, list the unfinished ones for clean-up). Memory stays O(part): bodies are streamed, and
// a part is sent from the caller's buffer without a copy.
//
// Errors are values (cw::Status / cw::Result), mapped from S3's answers:
//   404 NoSuchKey, NoSuchUpload, NoSuchBucket  -> kNotFound
//   412 PreconditionFailed                     -> kPreconditionFailed
//   400 (EntityTooSmall, InvalidPart, ...)     -> kInvalidArgument; 416 InvalidRange too
//   409                                        -> kConflict
//   507, or the store being full               -> kInsufficientStorage
//   500, 502, 503, 504, time-outs, no connection -> kUnavailable
//   403 (bad keys, signature, permissions) and anything else -> kInternal
// The detail names the operation, the key, the HTTP status and S3's error code; never the
// credentials.
//
// Retries: requests that can be repeated safely (GET, HEAD, DELETE, list, copy, put from memory or
// a file, upload part, upload part copy, complete) are tried up to `max_attempts` times on a
// connection failure, a time-out or a 5xx, with exponential back-off. A GET that breaks off after
// some bytes resumes from there with If-Match on the first answer's ETag, so the sink never sees a
// byte twice or bytes of another version. Puts from a callback and the creation of a multipart
// upload are not retried (they cannot be rewound / would start a second upload).
//
// Thread safety: an S3Client may be used from many threads at once; it keeps a pool of libcurl
// handles (and with them their open connections). Callbacks run on the calling thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace cw::store {

// How a bucket is addressed: https://host/bucket/key (path) or https://bucket.host/key (virtual
// host; AWS's default, needs DNS — or an /etc/hosts entry — for bucket.host).
enum class S3Addressing { kPath, kVirtualHost };

struct S3Credentials {
  std::string access_key;
  std::string secret_key;
};

// The keys from CONVOYWATCH_STORAGE_S3_ACCESS_KEY and CONVOYWATCH_STORAGE_S3_SECRET_KEY in
// `env` when both are set, else from `file` when it is not empty. The file has `name = value`
// lines; the names access_key / secret_key (s3cmd's configuration) and aws_access_key_id /
// aws_secret_access_key (an AWS credentials file) are read, everything else (other keys,
// [sections], # comments) is skipped. kInvalidArgument (field "storage.s3_credentials_file")
// when only one of the two variables is set, the file is unreadable, lacks a key or holds a name
// twice; kUnauthenticated when there are no keys anywhere.
Result<S3Credentials> load_s3_credentials(const std::map<std::string, std::string>& env,
                                          const std::string& file);

struct S3Options {
  // Scheme, host and optional port, no path: "http://127.0.0.1:7480",
  // "https://s3.eu-central-1.amazonaws.com".
  std::string endpoint;
  std::string bucket;
  std::string region = "us-east-1";  // the SigV4 signing region (RGW accepts any)
  S3Addressing addressing = S3Addressing::kPath;
  S3Credentials credentials;
  std::chrono::milliseconds connect_timeout{5000};
  // A request whose body moves slower than low_speed_bytes per second for low_speed_time is
  // abandoned (a stalled server); transfers have no total time limit otherwise.
  std::chrono::seconds low_speed_time{30};
  long low_speed_bytes = 1024;
  // Requests without a large body (head, delete, list, create, complete, abort, copies) must end
  // within this. Server-side copies of large objects take a while: keep it generous.
  std::chrono::seconds small_request_timeout{300};
  int max_attempts = 4;                        // tries of a retryable request (1 = no retry)
  std::chrono::milliseconds retry_delay{100};  // first back-off; doubles with each retry
};

struct S3ObjectInfo {
  std::string key;
  uint64_t size = 0;  // of the object (a ranged get still reports the whole object's size)
  // Without quotes: the hex MD5 of a simple object, "<hex>-<parts>" for a multipart one.
  std::string etag;
  std::string last_modified;  // as the server gave it (HTTP date or ISO 8601)
  std::string content_type;   // from HEAD and GET only
};

// Bytes first..last of an object, both included (HTTP's Range: bytes=first-last).
struct S3ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;
};

struct S3PutOptions {
  std::string content_type = "application/octet-stream";
};

struct S3ListPage {
  std::vector<S3ObjectInfo> objects;  // in key order
  bool truncated = false;
  std::string next_token;  // pass to the next list_objects call when truncated
};

struct S3MultipartUpload {
  std::string key;
  std::string upload_id;
  std::string initiated;  // ISO 8601, as the server gave it
};

struct S3UploadsPage {
  std::vector<S3MultipartUpload> uploads;
  bool truncated = false;
  std::string next_key_marker;  // pass both to the next call when truncated
  std::string next_upload_id_marker;
};

struct S3CompletedPart {
  int part_number = 0;
  std::string etag;
};

class S3Client {
 public:
  // Fills the body: writes at most `capacity` bytes to `buffer`, returns how many (0 = the end;
  // ending early is an error), or an error that aborts the request.
  using ReadFn = std::function<Result<size_t>(char* buffer, size_t capacity)>;
  // Takes the next bytes of a body; an error aborts the request.
  using WriteFn = std::function<Status(std::string_view bytes)>;

  // Checks the options (endpoint form, bucket name, keys present); kInvalidArgument with the
  // config key in `field` otherwise. Makes no request.
  static Result<std::unique_ptr<S3Client>> create(S3Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  const S3Options& options() const { return options_; }

  // Keys are 1..1024 bytes; anything else is kInvalidArgument without a request.

  // PUT of exactly `size` bytes from `body` (a single request: S3 takes up to 5 GiB this way).
  // Not retried.
  Result<S3ObjectInfo> put_object(const std::string& key, uint64_t size, const ReadFn& body,
                                  const S3PutOptions& options = {});
  // PUT of a file's bytes, streamed; retried (the file is read again from the start).
  Result<S3ObjectInfo> put_file(const std::string& key, const std::string& path,
                                const S3PutOptions& options = {});
  // PUT of bytes in memory; retried.
  Result<S3ObjectInfo> put_bytes(const std::string& key, std::string_view bytes,
                                 const S3PutOptions& options = {});

  // HEAD: size, ETag, type. kNotFound when there is no such object.
  Result<S3ObjectInfo> head_object(const std::string& key);

  // GET, the whole object or `range`, streamed to `sink` in order. Returns the object's info
  // (size is the whole object's). kNotFound when missing; a range that starts past the end is
  // kInvalidArgument. `if_match` (an ETag, quotes optional) makes it kPreconditionFailed when
  // the object has changed.
  Result<S3ObjectInfo> get_object(const std::string& key, const WriteFn& sink,
                                  std::optional<S3ByteRange> range = std::nullopt,
                                  const std::string& if_match = {});

  // DELETE. Ok when the object is already gone (S3 answers 204 either way).
  Status delete_object(const std::string& key);

  // One page (at most max_keys, 1..1000) of the objects whose keys start with `prefix`, in key
  // order; `continuation_token` is the previous page's next_token, or empty for the first.
  Result<S3ListPage> list_objects(const std::string& prefix,
                                  const std::string& continuation_token = {}, int max_keys = 1000);

  // Server-side copy of a whole object (S3 limits this to 5 GiB; above, use a multipart upload
  // with upload_part_copy). Returns the new object's ETag. kNotFound when the source is missing.
  // The copy keeps the source's content type.
  Result<std::string> copy_object(const std::string& source_key, const std::string& dest_key);

  // Starts a multipart upload to `key`; returns its upload id. Not retried.
  Result<std::string> create_multipart_upload(const std::string& key,
                                              const S3PutOptions& options = {});
  // Uploads part `part_number` (1..10000) from `bytes`, which S3 wants to be 5 MiB .. 5 GiB
  // except for the last part. Returns the part's ETag. Sending the same part number again
  // replaces the part, so retries are safe.
  Result<std::string> upload_part(const std::string& key, const std::string& upload_id,
                                  int part_number, std::string_view bytes);
  // Part `part_number` made server-side from bytes `range` of `source_key` (UploadPartCopy).
  Result<std::string> upload_part_copy(const std::string& key, const std::string& upload_id,
                                       int part_number, const std::string& source_key,
                                       S3ByteRange range);
  // Joins the parts (in part-number order) into the object; returns its ETag ("<hex>-<n>"),
  // read with a HEAD when the server's answer leaves it empty (Ceph 16 does).
  // kInvalidArgument for a missing part or a wrong ETag, kNotFound for an unknown upload id.
  Result<std::string> complete_multipart_upload(const std::string& key,
                                                const std::string& upload_id,
                                                const std::vector<S3CompletedPart>& parts);
  // Discards an unfinished upload and its parts. Ok when it is already gone.
  Status abort_multipart_upload(const std::string& key, const std::string& upload_id);
  // The unfinished uploads whose keys start with `prefix`, oldest first per key, one page of at
  // most 1000; for clean-up after a crash.
  Result<S3UploadsPage> list_multipart_uploads(const std::string& prefix,
                                               const std::string& key_marker = {},
                                               const std::string& upload_id_marker = {});

 private:
  struct Handles;
  explicit S3Client(S3Options options);

  S3Options options_;
  std::unique_ptr<Handles> handles_;
};

}  // namespace cw::store
