// Fuzz target: tus header parsing (server/tus.hpp) and the submission metadata an upload carries
// (server/submission_meta.hpp submission_from_upload_metadata).
//
// Input: three header values separated by '\n': Upload-Length / Upload-Offset, Upload-Metadata,
// Tus-Resumable. Accepted numbers must print back as the digits sent (less leading zeros);
// accepted metadata must encode back to a header that parses to the same map; an upload's
// filename and metadata must be text the database stores.
#include <string>

#include "fuzz/fuzz.hpp"
#include "common/utf8.hpp"
#include "server/submission_meta.hpp"
#include "server/tus.hpp"

namespace cw::fuzz {
namespace {

std::string_view next_line(std::string_view& data) {
  const size_t nl = data.find('\n');
  std::string_view line = data.substr(0, nl);
  data = nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
  return line;
}

std::string base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const unsigned v =
        static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

}  // namespace

void tus(std::string_view data) {
  const std::string_view number = next_line(data);
  const std::string_view metadata = next_line(data);
  const std::string_view version = next_line(data);

  for (auto parse : {server::parse_upload_length, server::parse_upload_offset}) {
    Result<uint64_t> n = parse(number);
    if (!n.ok()) continue;
    std::string_view digits = number;
    while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
    CW_FUZZ_CHECK(std::to_string(*n) == digits);
  }

  auto map = server::parse_upload_metadata(metadata);
  if (map.ok()) {
    std::string header;
    for (const auto& [key, value] : *map) {
      CW_FUZZ_CHECK(!key.empty());
      CW_FUZZ_CHECK(key.find_first_of(" \t,") == std::string::npos);
      if (!header.empty()) header += ",";
      header += key;
      if (!value.empty()) {
        header += ' ';
        header += base64(value);
      }
    }
    auto again = server::parse_upload_metadata(header);
    CW_FUZZ_CHECK(again.ok());
    CW_FUZZ_CHECK(*again == *map);
  }
  // What the upload will store: the filename and the metadata must be text the database keeps
  // and the API can print.
  if (auto meta = server::submission_from_upload_metadata(std::string(metadata)); meta.ok()) {
    CW_FUZZ_CHECK(is_storable_text(meta->second));
    store::Submission s;
    s.meta = meta->first;
    s.original_filename = meta->second;
    (void)server::submission_json(s).dump();  // throws on text JSON cannot print
  }

  Status v = server::check_tus_resumable(version);
  CW_FUZZ_CHECK(v.ok() == (version == server::kTusVersion));
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::tus)
