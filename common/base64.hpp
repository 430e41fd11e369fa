// Base64 (RFC 4648, standard alphabet): padded encoding, and a strict decoder (tus
// Upload-Metadata). Pure functions, thread-safe.
//
// The decoder is written here rather than taken from OpenSSL: EVP_DecodeBlock skips surrounding
// blanks, insists on padding and returns a length that counts the padding as zero bytes, and
// metadata validation has to be exact: a value decodes to one byte string or is refused.
#pragma once

#include <string>
#include <string_view>

namespace cw {

std::string base64_encode(std::string_view bytes);

// Standard alphabet; either fully padded to a multiple of 4 or not padded at all; the bits
// below the last full byte must be zero, so every byte string has exactly one accepted spelling
// per padding style. False (and `out` unspecified) for anything else.
bool base64_decode_strict(std::string_view in, std::string& out);

}  // namespace cw
