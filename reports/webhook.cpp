// OpenSSL's one-shot HMAC() (not deprecated in 3.0, unlike HMAC_CTX) and CRYPTO_memcmp for the
// constant-time comparison.
#include "reports/webhook.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <climits>
#include <cstdlib>
#include <optional>
#include <vector>

#include "common/sha256.hpp"

namespace cw::reports {
namespace {

// HMAC() wants non-null pointers even for zero lengths, and string_view's data() may be null.
const unsigned char* bytes_of(std::string_view s) {
  static const unsigned char kEmpty = 0;
  return s.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(s.data());
}

std::optional<int64_t> parse_unix_seconds(std::string_view s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

HmacSha256 signed_payload_mac(std::string_view secret, int64_t t, std::string_view body) {
  std::string payload = std::to_string(t);
  payload += '.';
  payload += body;
  return hmac_sha256(secret, payload);
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

std::string sign_webhook(std::string_view secret, std::string_view body,
                         std::chrono::sys_seconds at) {
  const int64_t t = at.time_since_epoch().count();
  const HmacSha256 mac = signed_payload_mac(secret, t, body);
  return fmt::format("t={},v1={}", t, to_hex(mac.data(), mac.size()));
}

Status verify_signature(std::string_view secret, std::string_view body, std::string_view header,
                        std::chrono::sys_seconds now, std::chrono::seconds tolerance) {
  const std::string field(kSignatureHeader);
  std::optional<int64_t> t;
  std::vector<std::string_view> v1s;
  size_t pos = 0;
  while (pos <= header.size()) {
    const size_t comma = header.find(',', pos);
    const std::string_view item = trim(
        header.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos));
    pos = comma == std::string_view::npos ? header.size() + 1 : comma + 1;
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = item.substr(0, eq);
    const std::string_view value = item.substr(eq + 1);
    if (key == "t") {
      t = parse_unix_seconds(value);
      if (!t) {
        return Error(Code::kInvalidArgument, "signature timestamp t is not unix seconds", field);
      }
    } else if (key == "v1") {
      v1s.push_back(value);
    }
  }
  if (!t) return Error(Code::kInvalidArgument, "signature header has no t=", field);
  if (v1s.empty()) return Error(Code::kInvalidArgument, "signature header has no v1=", field);

  const HmacSha256 expected = signed_payload_mac(secret, *t, body);
  bool match = false;
  for (std::string_view v1 : v1s) {
    std::string given;
    if (v1.size() != 2 * expected.size() || !from_hex(v1, &given)) continue;
    // Every candidate is compared in full, so timing says nothing about which bytes matched.
    if (CRYPTO_memcmp(given.data(), expected.data(), expected.size()) == 0) match = true;
  }
  if (!match) return Error(Code::kUnauthenticated, "signature does not match", field);

  const int64_t skew = now.time_since_epoch().count() - *t;
  if (std::llabs(skew) > tolerance.count()) {
    return Error(Code::kUnauthenticated,
                 fmt::format("signature timestamp is {} s away from now (tolerance {} s)", skew,
                             tolerance.count()),
                 field);
  }
  return Status::Ok();
}

}  // namespace cw::reports
