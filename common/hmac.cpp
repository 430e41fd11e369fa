// HMAC-SHA256 with OpenSSL; keys longer than HMAC() takes are hashed first, as HMAC does.
#include "common/hmac.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <string>

#include "common/sha256.hpp"

namespace cw {
namespace {

// HMAC() wants non-null pointers even for zero lengths, and string_view's data() may be null.
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

HmacSha256 hmac_sha256(std::string_view key, std::string_view data) {
  HmacSha256 out{};
  unsigned int len = 0;
  // A key longer than INT_MAX is not a secret anybody configures; HMAC hashes long keys first,
  // so hash it here the same way rather than truncate.
  std::string hashed_key;
  if (key.size() > static_cast<size_t>(INT_MAX)) {
    const Sha256Digest d = Sha256::digest(key);
    hashed_key.assign(d.begin(), d.end());
    key = hashed_key;
  }
  HMAC(EVP_sha256(), bytes_of(key), static_cast<int>(key.size()), bytes_of(data), data.size(),
       out.data(), &len);
  return out;
}

}  // namespace cw
