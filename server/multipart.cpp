// Streaming multipart/form-data parser: boundary extraction, delimiter search, part headers
// and Content-Disposition (RFC 7578, RFC 2046, RFC 6266, RFC 5987).
//
// How the body is scanned: the first delimiter may start the body without a preceding CRLF, so
// the parser starts with a virtual "\r\n" and then only ever looks for "\r\n--boundary" followed
// by "\r\n" (next part) or "--" (end). Anything else after "\r\n--boundary" is content, as are
// partial matches that the next bytes contradict. Content is delivered as one span per feed
// whenever possible; only a possible delimiter prefix at the end of a chunk (at most
// boundary + 5 bytes) is copied and held back. Transport padding after a boundary (RFC 2046
// allows blanks before the CRLF) is not accepted: no browser, curl or tus client sends it, and
// accepting it would make the held-back tail unbounded.
#include "server/multipart.hpp"

#include <algorithm>
#include <cstring>

namespace cw::server {
namespace {

constexpr size_t kMaxBoundary = 70;
// Bytes of a new chunk copied behind a held-back tail: enough to settle any delimiter that
// straddles the two, after which the rest of the chunk is scanned in place.
constexpr size_t kJoinWindow = 256;
// Below this delimiter length (boundaries under 12 characters) the search uses memchr.
constexpr size_t kShortDelimiter = 16;

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 9110 tchar.
bool is_tchar(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// RFC 2046 bchars (bcharsnospace plus space).
bool is_bchar(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("'()+_,-./:=? ", c) != nullptr && c != '\0';
}

// RFC 5987 attr-char.
bool is_attr_char(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) return true;
  return std::strchr("!#$&+-.^_`|~", c) != nullptr && c != '\0';
}

bool is_blank(char c) { return c == ' ' || c == '\t'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

std::string_view trim_blanks(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

Error invalid(std::string detail, std::string field = {}) {
  return Error(Code::kInvalidArgument, std::move(detail), std::move(field));
}

Status validate_boundary(std::string_view b) {
  if (b.empty() || b.size() > kMaxBoundary) {
    return invalid("multipart boundary must be 1 to 70 characters", "Content-Type");
  }
  for (unsigned char c : b) {
    if (!is_bchar(c)) {
      return invalid("multipart boundary contains a character not allowed by RFC 2046",
                     "Content-Type");
    }
  }
  if (b.back() == ' ')
    return invalid("multipart boundary must not end with a space", "Content-Type");
  return Status::Ok();
}

// Strict UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF) without C0 controls or
// DEL, since names and filenames end up in the database, in logs and in JSON.
bool is_clean_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) return false;
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    uint32_t min = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2, cp = c & 0x1f, min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3, cp = c & 0x0f, min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (s.size() - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

struct Param {
  std::string name;  // lower-case
  std::string value;
};

// Reads a quoted-string starting at s[i] == '"'; on success leaves i after the closing quote.
Result<std::string> read_quoted(std::string_view s, size_t& i, const char* field) {
  std::string out;
  ++i;  // opening quote
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '"') {
      ++i;
      return out;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) break;
      const unsigned char e = static_cast<unsigned char>(s[i + 1]);
      if ((e < 0x20 && e != '\t') || e == 0x7f) {
        return invalid("control character in a quoted string", field);
      }
      out.push_back(static_cast<char>(e));
      i += 2;
      continue;
    }
    if ((c < 0x20 && c != '\t') || c == 0x7f) {
      return invalid("control character in a quoted string", field);
    }
    out.push_back(static_cast<char>(c));
    ++i;
  }
  return invalid("unterminated quoted string", field);
}

// Parses `*( OWS ";" OWS token OWS "=" OWS ( token / quoted-string ) ) OWS`. Empty parameters
// (";;" or a trailing ";") are tolerated because some clients emit them. A repeated parameter
// is an error: two `name`s or two `boundary`s are ambiguous, and ambiguity is how request
// smuggling starts.
Result<std::vector<Param>> parse_params(std::string_view s, const char* field) {
  std::vector<Param> params;
  size_t i = 0;
  const auto skip_blanks = [&] {
    while (i < s.size() && is_blank(s[i])) ++i;
  };
  while (true) {
    skip_blanks();
    if (i == s.size()) break;
    if (s[i] != ';') return invalid("expected ';' between parameters", field);
    ++i;
    skip_blanks();
    if (i == s.size() || s[i] == ';') continue;
    const size_t name_start = i;
    while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
    if (i == name_start) return invalid("malformed parameter name", field);
    Param p{to_lower(s.substr(name_start, i - name_start)), {}};
    skip_blanks();
    if (i == s.size() || s[i] != '=') return invalid("parameter without a value", field);
    ++i;
    skip_blanks();
    if (i < s.size() && s[i] == '"') {
      Result<std::string> q = read_quoted(s, i, field);
      if (!q.ok()) return q.error();
      p.value = std::move(*q);
    } else {
      const size_t value_start = i;
      while (i < s.size() && is_tchar(static_cast<unsigned char>(s[i]))) ++i;
      if (i == value_start) return invalid("malformed parameter value", field);
      p.value.assign(s.substr(value_start, i - value_start));
    }
    for (const Param& other : params) {
      if (other.name == p.name) return invalid("parameter '" + p.name + "' repeated", field);
    }
    params.push_back(std::move(p));
  }
  return params;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 5987 ext-value: charset "'" [ language ] "'" value-chars, decoded to UTF-8.
Result<std::string> decode_ext_value(std::string_view v) {
  constexpr const char* kField = "Content-Disposition";
  const size_t q1 = v.find('\'');
  const size_t q2 = q1 == std::string_view::npos ? q1 : v.find('\'', q1 + 1);
  if (q2 == std::string_view::npos) return invalid("malformed filename* value", kField);
  const std::string_view charset = v.substr(0, q1);
  const bool latin1 = iequals(charset, "ISO-8859-1");
  if (!latin1 && !iequals(charset, "UTF-8")) {
    return invalid("filename* charset must be UTF-8 or ISO-8859-1", kField);
  }
  std::string out;
  for (size_t i = q2 + 1; i < v.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(v[i]);
    if (c == '%') {
      const int hi = i + 2 < v.size() ? hex_value(v[i + 1]) : -1;
      const int lo = i + 2 < v.size() ? hex_value(v[i + 2]) : -1;
      if (hi < 0 || lo < 0) return invalid("malformed percent-encoding in filename*", kField);
      c = static_cast<unsigned char>(hi * 16 + lo);
      i += 2;
    } else if (!is_attr_char(c)) {
      return invalid("character not allowed in filename*", kField);
    }
    if (latin1 && c >= 0x80) {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

Status parse_content_disposition(std::string_view value, PartHeaders& out) {
  constexpr const char* kField = "Content-Disposition";
  size_t i = 0;
  while (i < value.size() && is_tchar(static_cast<unsigned char>(value[i]))) ++i;
  if (!iequals(value.substr(0, i), "form-data")) {
    return invalid("Content-Disposition of a part must be form-data", kField);
  }
  Result<std::vector<Param>> params = parse_params(value.substr(i), kField);
  if (!params.ok()) return params.error();
  std::optional<std::string> name;
  std::optional<std::string> filename;
  std::optional<std::string> filename_ext;
  for (Param& p : *params) {
    if (p.name == "name") {
      name = std::move(p.value);
    } else if (p.name == "filename") {
      filename = std::move(p.value);
    } else if (p.name == "filename*") {
      Result<std::string> decoded = decode_ext_value(p.value);
      if (!decoded.ok()) return decoded.error();
      filename_ext = std::move(*decoded);
    }
  }
  if (!name) return invalid("part has no name in Content-Disposition", kField);
  if (name->empty()) return invalid("part name is empty", kField);
  if (!is_clean_utf8(*name)) {
    return invalid("part name is not UTF-8 or contains control characters", kField);
  }
  out.name = std::move(*name);
  // RFC 6266 section 4.3: filename* wins over filename when both are present.
  if (filename_ext) filename = std::move(filename_ext);
  if (filename && !is_clean_utf8(*filename)) {
    return invalid("filename is not UTF-8 or contains control characters", kField);
  }
  out.filename = std::move(filename);
  return Status::Ok();
}

// `block` is the header block without its final blank line: lines separated by CRLF.
Result<PartHeaders> parse_part_headers(std::string_view block) {
  PartHeaders h;
  bool have_disposition = false;
  bool have_type = false;
  while (!block.empty()) {
    const size_t eol = block.find("\r\n");
    const std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) return invalid("empty line inside part headers");
    if (is_blank(line.front())) return invalid("folded part header lines are not allowed");
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return invalid("part header line without ':'");
    const std::string_view name = line.substr(0, colon);
    if (name.empty()) return invalid("part header with an empty name");
    for (unsigned char c : name) {
      // Also rejects blanks before the colon (RFC 9112 section 5.1).
      if (!is_tchar(c)) return invalid("malformed part header name");
    }
    const std::string_view value = trim_blanks(line.substr(colon + 1));
    for (unsigned char c : value) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) {
        return invalid("control character in a part header value");
      }
    }
    if (iequals(name, "Content-Disposition")) {
      if (have_disposition) return invalid("part has two Content-Disposition headers");
      have_disposition = true;
      if (Status s = parse_content_disposition(value, h); !s.ok()) return s.error();
    } else if (iequals(name, "Content-Type")) {
      if (have_type) return invalid("part has two Content-Type headers");
      have_type = true;
      h.content_type.assign(value);
    }
    h.headers.emplace_back(std::string(name), std::string(value));
  }
  if (!have_disposition) return invalid("part has no Content-Disposition header");
  return h;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  constexpr const char* kField = "Content-Type";
  const std::string_view v = trim_blanks(content_type);
  size_t i = 0;
  while (i < v.size() && is_tchar(static_cast<unsigned char>(v[i]))) ++i;
  const std::string_view type = v.substr(0, i);
  if (i >= v.size() || v[i] != '/') {
    return Error(Code::kUnsupportedMedia, "Content-Type must be multipart/form-data", kField);
  }
  const size_t sub_start = ++i;
  while (i < v.size() && is_tchar(static_cast<unsigned char>(v[i]))) ++i;
  const std::string_view subtype = v.substr(sub_start, i - sub_start);
  if (!iequals(type, "multipart") || !iequals(subtype, "form-data")) {
    return Error(Code::kUnsupportedMedia, "Content-Type must be multipart/form-data", kField);
  }
  Result<std::vector<Param>> params = parse_params(v.substr(i), kField);
  if (!params.ok()) return params.error();
  for (Param& p : *params) {
    if (p.name != "boundary") continue;
    if (Status s = validate_boundary(p.value); !s.ok()) return s.error();
    return std::move(p.value);
  }
  return invalid("multipart/form-data without a boundary parameter", kField);
}

MultipartParser::MultipartParser(std::string_view boundary, MultipartHandler& handler,
                                 MultipartLimits limits)
    : handler_(handler), limits_(limits) {
  if (Status s = validate_boundary(boundary); !s.ok()) {
    status_ = s;
    return;
  }
  delim_ = "\r\n--";
  delim_.append(boundary);
  const size_t d = delim_.size();  // at most 74, so shifts fit in a byte
  skip_.fill(static_cast<uint8_t>(d));
  for (size_t i = 0; i + 1 < d; ++i) {
    skip_[static_cast<unsigned char>(delim_[i])] = static_cast<uint8_t>(d - 1 - i);
  }
  // The virtual line break that lets the first delimiter open the body (see the file comment).
  pending_ = "\r\n";
}

Status MultipartParser::fail(Error error) {
  status_ = Status(std::move(error));
  pending_.clear();
  header_buf_.clear();
  return status_;
}

Status MultipartParser::feed(std::string_view chunk) {
  if (!status_.ok()) return status_;
  if (state_ == State::kDone) return Status::Ok();
  // A tail held back from earlier chunks is completed from the front of this chunk, a bounded
  // window at a time; as soon as everything old has been consumed the rest of the chunk is
  // scanned in place, so large chunks are never copied.
  while (!pending_.empty()) {
    if (chunk.empty()) return Status::Ok();
    const size_t old = pending_.size();
    const size_t take = std::min(chunk.size(), kJoinWindow + delim_.size());
    pending_.append(chunk.data(), take);
    Result<size_t> used = consume(pending_);
    if (!used.ok()) return fail(used.error());
    if (*used >= old) {
      chunk.remove_prefix(*used - old);
      pending_.clear();
      break;
    }
    pending_.erase(0, *used);
    chunk.remove_prefix(take);
  }
  Result<size_t> used = consume(chunk);
  if (!used.ok()) return fail(used.error());
  pending_.assign(chunk.substr(*used));
  return Status::Ok();
}

Status MultipartParser::finish() {
  if (!status_.ok()) return status_;
  switch (state_) {
    case State::kDone:
      return Status::Ok();
    case State::kPreamble:
      return fail(invalid("multipart body does not contain the boundary"));
    case State::kHeaders:
      return fail(invalid("multipart body ended inside the headers of a part"));
    case State::kData:
      break;
  }
  return fail(invalid("multipart body ended before the closing boundary (body cut short)"));
}

// Consumes a prefix of `in` and returns its length. Bytes not consumed have had no effect and
// must be offered again with more data behind them.
Result<size_t> MultipartParser::consume(std::string_view in) {
  size_t pos = 0;
  while (pos < in.size()) {
    const State before = state_;
    Result<size_t> next = Error(Code::kInternal, "unreachable");
    switch (state_) {
      case State::kPreamble:
      case State::kData:
        next = scan_body(in, pos);
        break;
      case State::kHeaders:
        next = scan_headers(in, pos);
        break;
      case State::kDone:
        return in.size();
    }
    if (!next.ok()) return next;
    pos = *next;
    if (state_ == before) return pos;  // needs more input
  }
  return pos;
}

size_t MultipartParser::find_delimiter(std::string_view in, size_t from) const {
  const size_t d = delim_.size();
  if (in.size() < d) return std::string_view::npos;
  const auto* s = reinterpret_cast<const unsigned char*>(in.data());
  const auto* pat = reinterpret_cast<const unsigned char*>(delim_.data());
  const size_t end = in.size() - d;
  size_t pos = from;
  if (d < kShortDelimiter) {
    // Horspool shifts are too small to pay for themselves here; memchr for the CR is faster.
    while (pos <= end) {
      if (s[pos] != '\r') {  // runs of CRs do not pay a memchr call each
        const void* cr = std::memchr(s + pos, '\r', end - pos + 1);
        if (cr == nullptr) break;
        pos = static_cast<size_t>(static_cast<const unsigned char*>(cr) - s);
      }
      size_t k = 1;
      while (k < d && s[pos + k] == pat[k]) ++k;
      if (k == d) return pos;
      ++pos;
    }
    return std::string_view::npos;
  }
  const unsigned char last = pat[d - 1];
  while (pos <= end) {
    const unsigned char c = s[pos + d - 1];
    if (c == last && s[pos] == '\r' && std::memcmp(s + pos + 1, pat + 1, d - 2) == 0) return pos;
    pos += skip_[c];
  }
  return std::string_view::npos;
}

// Where the possible start of a delimiter at the end of `in` begins (in.size() if none). The
// boundary cannot contain CR, so only the last CR in the final d - 1 bytes can start one.
size_t MultipartParser::held_back_start(std::string_view in, size_t pos) const {
  const size_t d = delim_.size();
  const size_t n = in.size();
  const size_t lo = std::max(pos, n >= d - 1 ? n - (d - 1) : size_t{0});
  for (size_t i = n; i > lo; --i) {
    if (in[i - 1] != '\r') continue;
    const size_t start = i - 1;
    return in.substr(start) == std::string_view(delim_).substr(0, n - start) ? start : n;
  }
  return n;
}

Result<size_t> MultipartParser::scan_body(std::string_view in, size_t pos) {
  const size_t d = delim_.size();
  const auto emit = [&](size_t end) -> Status {
    if (state_ != State::kData || end == pos) return Status::Ok();  // preamble is dropped
    return handler_.on_part_data(in.substr(pos, end - pos));
  };
  size_t from = pos;
  while (true) {
    const size_t m = find_delimiter(in, from);
    if (m == std::string_view::npos) {
      const size_t keep = held_back_start(in, pos);
      if (Status s = emit(keep); !s.ok()) return s.error();
      return keep;
    }
    if (m + d + 2 > in.size()) {
      // One byte after the boundary may already show it is content.
      if (m + d < in.size() && in[m + d] != '\r' && in[m + d] != '-') {
        from = m + 1;
        continue;
      }
      if (Status s = emit(m); !s.ok()) return s.error();
      return m;
    }
    const char a = in[m + d];
    const char b = in[m + d + 1];
    const bool next_part = a == '\r' && b == '\n';
    const bool close = a == '-' && b == '-';
    if (!next_part && !close) {
      from = m + 1;  // "--boundary" followed by anything else is content
      continue;
    }
    if (Status s = emit(m); !s.ok()) return s.error();
    if (state_ == State::kData) {
      if (Status s = handler_.on_part_end(); !s.ok()) return s.error();
    } else if (close) {
      return invalid("multipart body has no parts");
    }
    if (close) {
      state_ = State::kDone;
      return in.size();  // the epilogue is ignored
    }
    if (parts_ >= limits_.max_parts) {
      return Error(Code::kPayloadTooLarge,
                   "multipart body has more than " + std::to_string(limits_.max_parts) + " parts");
    }
    state_ = State::kHeaders;
    header_buf_ = "\r\n";  // so that a part without headers also ends at "\r\n\r\n"
    return m + d + 2;
  }
}

Result<size_t> MultipartParser::scan_headers(std::string_view in, size_t pos) {
  const size_t cap = limits_.max_header_bytes + 2;  // + the virtual CRLF
  const size_t room = cap > header_buf_.size() ? cap - header_buf_.size() : 0;
  const size_t take = std::min(in.size() - pos, room);
  const size_t old = header_buf_.size();
  header_buf_.append(in.data() + pos, take);
  const size_t t = header_buf_.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
  if (t == std::string::npos) {
    if (header_buf_.size() >= cap) {
      return Error(Code::kPayloadTooLarge, "headers of a multipart part exceed " +
                                               std::to_string(limits_.max_header_bytes) + " bytes");
    }
    return pos + take;
  }
  const size_t end = t + 4;
  const size_t used = take - (header_buf_.size() - end);
  const std::string_view block =
      t == 0 ? std::string_view() : std::string_view(header_buf_).substr(2, t - 2);
  Result<PartHeaders> headers = parse_part_headers(block);
  header_buf_.clear();
  if (!headers.ok()) return headers.error();
  ++parts_;
  state_ = State::kData;
  if (Status s = handler_.on_part_begin(*headers); !s.ok()) return s.error();
  return pos + used;
}

}  // namespace cw::server
