// Base64 (RFC 4648, standard alphabet, padded) encoding. Pure function, thread-safe.
// The server's strict decoder for tus Upload-Metadata lives with its only user (server/tus.cpp).
#pragma once

#include <string>
#include <string_view>

namespace cw {

std::string base64_encode(std::string_view bytes);

}  // namespace cw
