// Random hex strings from the OpenSSL CSPRNG.
#include "common/random.hpp"

#include <openssl/rand.h>

#include <stdexcept>
#include <vector>

#include "common/sha256.hpp"

namespace cw {

std::string random_hex(size_t bytes) {
  std::vector<uint8_t> buf(bytes);
  if (RAND_bytes(buf.data(), static_cast<int>(buf.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return to_hex(buf.data(), buf.size());
}

}  // namespace cw
