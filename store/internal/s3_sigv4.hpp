// Internal to store/s3_*.cpp: AWS Signature Version 4 for the one request libcurl 7.88 signs
// wrongly, S3's URI encoding, and trimming of header values and credentials-file lines.
//
// libcurl signs every other S3 request (CURLOPT_AWS_SIGV4). Before curl 8.10.0 it sorts the
// canonical headers as whole "name:value" lines, so a header whose name is a prefix of another's
// lands after it ("x-amz-copy-source-range" before "x-amz-copy-source"), and the server rejects
// UploadPartCopy with a range as SignatureDoesNotMatch (curl commit cf3e3d93, "aws_sigv4: fix
// canon order for headers with same prefix"). s3_client.cpp signs that request with this
// function while the libcurl it runs with is older than 8.10.0.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace cw::store::internal {

struct SigV4Request {
  std::string method;           // "PUT"
  std::string canonical_uri;    // the path as sent, already URI-encoded: "/bucket/a%20b"
  std::string canonical_query;  // sorted, encoded, "name=value" joined by '&' (value may be "")
  // Lowercase header names -> values (trimmed); must hold "host" and "x-amz-date". All of them
  // are signed.
  std::map<std::string, std::string> headers;
  std::string payload_sha256;  // hex, or "UNSIGNED-PAYLOAD"
};

// The Authorization header's value: "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...". `amz_date` is the x-amz-date value (YYYYMMDDTHHMMSSZ); the service is "s3".
std::string sigv4_authorization(const SigV4Request& request, const std::string& access_key,
                                const std::string& secret_key, const std::string& region,
                                const std::string& amz_date);

// S3's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (uppercase hex); '/' kept when
// `keep_slash`.
std::string s3_uri_encode(std::string_view text, bool keep_slash);

// `s` without leading spaces and tabs and trailing spaces, tabs, CR and LF (header values and
// credentials-file lines).
std::string trim(std::string_view s);

}  // namespace cw::store::internal
