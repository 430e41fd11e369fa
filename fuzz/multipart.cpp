// Fuzz target: the streaming multipart/form-data parser (server/multipart.hpp) and
// multipart_boundary().
//
// Input: byte 0 picks the chunk size (1 to 64 bytes, or the whole body at once); the bytes up to
// the first '\n' are the Content-Type header value; the rest is the body. When the header gives
// a boundary the body is parsed twice, in one piece and in chunks, and both runs must see the
// same parts, the same bytes and the same outcome; part data is never empty, the parser never
// holds more than its documented bound, and an error is sticky.
#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

#include "fuzz/fuzz.hpp"
#include "server/multipart.hpp"

namespace cw::fuzz {
namespace {

using server::MultipartHandler;
using server::MultipartLimits;
using server::MultipartParser;
using server::PartHeaders;

struct Seen {
  std::string events;  // "B<name>|<filename>|<type>\n", data bytes, "E\n"
  bool in_part = false;
};

class Recorder : public MultipartHandler {
 public:
  Status on_part_begin(const PartHeaders& h) override {
    CW_FUZZ_CHECK(!seen.in_part);
    CW_FUZZ_CHECK(!h.name.empty());
    seen.in_part = true;
    seen.events +=
        fmt::format("B{}|{}|{}\n", h.name, h.filename.value_or("<none>"), h.content_type);
    // A handler may refuse a part; the parser must stop cleanly.
    if (h.name == "refuse") return Error(Code::kUnsupportedMedia, "refused");
    return Status::Ok();
  }
  Status on_part_data(std::string_view d) override {
    CW_FUZZ_CHECK(seen.in_part);
    CW_FUZZ_CHECK(!d.empty());
    seen.events.append(d);
    return Status::Ok();
  }
  Status on_part_end() override {
    CW_FUZZ_CHECK(seen.in_part);
    seen.in_part = false;
    seen.events += "E\n";
    return Status::Ok();
  }
  Seen seen;
};

struct Outcome {
  std::string events;
  bool ok = false;
  Code code = Code::kInternal;
  size_t parts = 0;
};

Outcome parse(const std::string& boundary, std::string_view body, size_t chunk,
              const MultipartLimits& limits) {
  Recorder rec;
  MultipartParser parser(boundary, rec, limits);
  const size_t bound = boundary.size() + 4 + 5 + limits.max_header_bytes + 2;
  Status status;
  for (size_t pos = 0; pos < body.size() && status.ok(); pos += chunk) {
    status = parser.feed(body.substr(pos, chunk));
    CW_FUZZ_CHECK(parser.buffered_bytes() <= bound);
  }
  if (status.ok()) status = parser.finish();
  if (!status.ok()) {
    // Sticky: every later call gives the same error and calls no handler.
    std::string before = rec.seen.events;
    Status again = parser.feed(fmt::format("\r\n--{}\r\n\r\nmore", boundary));
    CW_FUZZ_CHECK(!again.ok() && again.error().code() == status.error().code());
    CW_FUZZ_CHECK(rec.seen.events == before);
  }
  Outcome out;
  out.events = std::move(rec.seen.events);
  out.ok = status.ok();
  if (!status.ok()) out.code = status.error().code();
  out.parts = parser.parts();
  if (out.ok) CW_FUZZ_CHECK(parser.done());
  return out;
}

}  // namespace

void multipart(std::string_view data) {
  if (data.empty()) return;
  const size_t chunk_pick = static_cast<unsigned char>(data[0]) % 65;  // 0: whole body
  data.remove_prefix(1);
  const size_t nl = data.find('\n');
  const std::string_view content_type = data.substr(0, nl);
  const std::string_view body =
      nl == std::string_view::npos ? std::string_view() : data.substr(nl + 1);
  Result<std::string> boundary = server::multipart_boundary(content_type);
  if (!boundary.ok()) return;
  CW_FUZZ_CHECK(!boundary->empty() && boundary->size() <= 70);
  CW_FUZZ_CHECK(boundary->find_first_of("\r\n") == std::string::npos);

  MultipartLimits limits;
  limits.max_header_bytes = 512;
  limits.max_parts = 4;
  Outcome whole = parse(*boundary, body, std::max<size_t>(body.size(), 1), limits);
  Outcome split = parse(*boundary, body, chunk_pick == 0 ? 1 : chunk_pick, limits);
  CW_FUZZ_CHECK(whole.ok == split.ok);
  CW_FUZZ_CHECK(whole.code == split.code);
  CW_FUZZ_CHECK(whole.parts == split.parts);
  // Data already handed over before an error may differ by where the chunk ended; the complete
  // parse must not.
  if (whole.ok) CW_FUZZ_CHECK(whole.events == split.events);
}

}  // namespace cw::fuzz

CW_FUZZ_ENTRY(cw::fuzz::multipart)
