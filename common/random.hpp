// Cryptographically random identifiers (API tokens, request ids) from OpenSSL's RAND_bytes.
#pragma once

#include <string>

namespace cw {

// `bytes` random bytes as lowercase hex (2 * bytes characters). Thread-safe.
std::string random_hex(size_t bytes);

}  // namespace cw
