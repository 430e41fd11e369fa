// HMAC-SHA256 (RFC 2104) over OpenSSL's one-shot HMAC() (not deprecated in 3.0, unlike
// HMAC_CTX). Used for webhook signatures (reports/webhook.hpp). Pure function, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace cw {

using HmacSha256 = std::array<uint8_t, 32>;

// HMAC-SHA256 (RFC 2104) of `data` under `key`. Any key length, empty included.
HmacSha256 hmac_sha256(std::string_view key, std::string_view data);

}  // namespace cw
