// AWS Signature Version 4 for the request libcurl 7.88 cannot sign (store/internal/s3_sigv4.hpp),
// and S3's URI encoding, which the client uses for every key and query.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string_view>

#include "common/sha256.hpp"
#include "store/internal/s3_sigv4.hpp"

namespace cw::store::internal {

namespace {

std::string hmac(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<const char*>(out), len);
}

}  // namespace

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

std::string s3_uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() * 3 / 2);
  for (char ch : text) {
    auto c = static_cast<unsigned char>(ch);
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

std::string sigv4_authorization(const SigV4Request& request, const std::string& access_key,
                                const std::string& secret_key, const std::string& region,
                                const std::string& amz_date) {
  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [name, value] : request.headers) {  // std::map: sorted by name, as AWS wants
    canonical_headers += name + ":" + value + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  const std::string canonical_request = request.method + "\n" + request.canonical_uri + "\n" +
                                        request.canonical_query + "\n" + canonical_headers + "\n" +
                                        signed_headers + "\n" + request.payload_sha256;
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + region + "/s3/aws4_request";
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" + Sha256::hex_digest(canonical_request);
  std::string key = hmac("AWS4" + secret_key, date);
  key = hmac(key, region);
  key = hmac(key, "s3");
  key = hmac(key, "aws4_request");
  const std::string signature = hmac(key, string_to_sign);
  return "AWS4-HMAC-SHA256 Credential=" + access_key + "/" + scope +
         ", SignedHeaders=" + signed_headers + ", Signature=" +
         to_hex(reinterpret_cast<const uint8_t*>(signature.data()), signature.size());
}

}  // namespace cw::store::internal
