// Webhook signatures: HMAC-SHA256 over the request body with a shared secret, so a receiver can
// tell a report delivery is ours and unaltered.
//
// The request carries the header
//   ConvoyWatch-Signature: t=<unix seconds>,v1=<64 lowercase hex digits>
// where v1 = hex(HMAC-SHA256(secret, "<t>.<body>")): the timestamp as decimal digits, a full
// stop, then the body bytes exactly as sent. Signing the timestamp with the body lets a receiver
// refuse replays of an old delivery. To check one:
//   1. split the header on ',' into key=value pairs; take t and every v1 (during a secret
//      rotation a sender may send several v1 values; unknown keys are ignored);
//   2. compute HMAC-SHA256(secret, t + "." + body) and compare it with each v1 in constant time;
//   3. refuse the delivery when |now - t| exceeds the tolerance (5 minutes by default).
// verify_signature() does exactly this.
//
// Pure functions over common/hmac.hpp; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cw::reports {

inline constexpr std::string_view kSignatureHeader = "ConvoyWatch-Signature";
inline constexpr std::chrono::seconds kDefaultSignatureTolerance{300};

// The header value "t=<unix seconds>,v1=<hex>" for `body` sent at `at`.
std::string sign_webhook(std::string_view secret, std::string_view body,
                         std::chrono::sys_seconds at);

// kOk when `header` carries a v1 signature of `body` under `secret` and its timestamp is within
// `tolerance` of `now` (either side, for clock skew). kInvalidArgument for a header that cannot be
// read (no t, t not a number, no v1); kUnauthenticated for a signature that does not match or a
// timestamp outside the tolerance. The detail never contains the expected signature.
Status verify_signature(std::string_view secret, std::string_view body, std::string_view header,
                        std::chrono::sys_seconds now,
                        std::chrono::seconds tolerance = kDefaultSignatureTolerance);

}  // namespace cw::reports
