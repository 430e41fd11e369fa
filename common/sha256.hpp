// SHA-256 over OpenSSL's EVP interface, incremental so a 2 GiB upload can be hashed while it
// streams, plus hex helpers. Not thread-safe per object; create one per stream.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cw {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // REQUIRES: called once; the object is spent afterwards.
  Sha256Digest finish();

  static Sha256Digest digest(std::string_view data);
  static std::string hex_digest(std::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

std::string to_hex(const uint8_t* data, size_t size);
inline std::string to_hex(const Sha256Digest& d) { return to_hex(d.data(), d.size()); }
// Lowercase or uppercase hex of even length; false on anything else.
bool from_hex(std::string_view hex, std::string* out);
// True for exactly 64 lowercase hex digits (the form media ids take).
bool is_sha256_hex(std::string_view s);

}  // namespace cw
