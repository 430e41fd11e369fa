// Webhook signatures over common/hmac.hpp's HMAC-SHA256, and OpenSSL's CRYPTO_memcmp for the
// constant-time comparison.
#include "reports/webhook.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>

#include <cstdlib>
#include <optional>
#include <vector>

#include "common/hmac.hpp"
#include "common/sha256.hpp"

namespace cw::reports {
namespace {

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
