// Unit tests for the streaming multipart/form-data parser and multipart_boundary().
//
// Most tests compare what a recording handler saw against the expected parts, and feed the same
// body in several ways (whole, byte by byte, split at every position) because delimiter
// handling across chunk borders is where streaming parsers usually break.
#include "server/multipart.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace cw::server {
namespace {

constexpr std::string_view kCurlBoundary = "------------------------d74496d66958873e";

struct SeenPart {
  PartHeaders headers;
  std::string data;
  bool ended = false;

  bool operator==(const SeenPart& o) const {
    return headers.name == o.headers.name && headers.filename == o.headers.filename &&
           headers.content_type == o.headers.content_type && headers.headers == o.headers.headers &&
           data == o.data && ended == o.ended;
  }
};

class Recorder : public MultipartHandler {
 public:
  Status on_part_begin(const PartHeaders& h) override {
    EXPECT_TRUE(parts.empty() || parts.back().ended) << "part begun before the last one ended";
    parts.push_back({h, {}, false});
    return Status::Ok();
  }
  Status on_part_data(std::string_view d) override {
    EXPECT_FALSE(d.empty());
    EXPECT_FALSE(parts.empty());
    if (parts.empty()) return Error(Code::kInternal, "data outside a part");
    parts.back().data.append(d);
    ++data_calls;
    return Status::Ok();
  }
  Status on_part_end() override {
    EXPECT_FALSE(parts.empty());
    if (parts.empty()) return Error(Code::kInternal, "end outside a part");
    parts.back().ended = true;
    return Status::Ok();
  }

  std::vector<SeenPart> parts;
  size_t data_calls = 0;
};

struct Outcome {
  std::vector<SeenPart> parts;
  Status status;  // first error from feed() or finish()
  size_t data_calls = 0;
};

// Feeds `body` cut at the given (sorted) positions, then finishes.
Outcome parse_split(std::string_view boundary, std::string_view body,
                    const std::vector<size_t>& cuts, MultipartLimits limits = {}) {
  Recorder rec;
  MultipartParser parser(boundary, rec, limits);
  Outcome out;
  size_t start = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(body.size());
  for (size_t end : ends) {
    Status s = parser.feed(body.substr(start, end - start));
    start = end;
    if (!s.ok()) {
      out.status = s;
      break;
    }
  }
  if (out.status.ok()) out.status = parser.finish();
  out.parts = std::move(rec.parts);
  out.data_calls = rec.data_calls;
  return out;
}

Outcome parse_whole(std::string_view boundary, std::string_view body, MultipartLimits limits = {}) {
  return parse_split(boundary, body, {}, limits);
}

Outcome parse_bytewise(std::string_view boundary, std::string_view body) {
  std::vector<size_t> cuts;
  for (size_t i = 1; i < body.size(); ++i) cuts.push_back(i);
  return parse_split(boundary, body, cuts);
}

std::string part(std::string_view boundary, std::string_view headers, std::string_view data) {
  std::string s = "--";
  s.append(boundary).append("\r\n").append(headers);
  if (!headers.empty() && !headers.ends_with("\r\n")) s.append("\r\n");
  s.append("\r\n").append(data).append("\r\n");
  return s;
}

std::string close(std::string_view boundary) { return "--" + std::string(boundary) + "--\r\n"; }

// What `curl -F metadata=@meta.json -F file=@clip.mp4` sends, with a file that is full of
// delimiter lookalikes.
std::string curl_file_data() {
  using namespace std::string_literals;
  std::string data = "\x00\x00\x00\x18"s + "ftypmp42" + "\x00\r\n\r\n--\r\n-\xff"s;
  data += "\r\n--" + std::string(kCurlBoundary) + "X";    // boundary + other byte
  data += "\r\n--" + std::string(kCurlBoundary) + "-x";   // boundary + single dash
  data += "\r\n--" + std::string(kCurlBoundary) + "\rx";  // boundary + lone CR
  data += "--" + std::string(kCurlBoundary) + "\r\n";     // not at the start of a line
  data += "\r\n--" + std::string(kCurlBoundary.substr(0, 20)) + "\r\n";  // partial boundary
  for (int i = 0; i < 256; ++i) data.push_back(static_cast<char>(i));
  data += "\r\n\r";
  return data;
}

std::string curl_body() {
  std::string body;
  body += part(kCurlBoundary,
               "Content-Disposition: form-data; name=\"metadata\"; filename=\"meta.json\"\r\n"
               "Content-Type: application/json\r\n",
               R"({"platform":"telegram","claimed_place":"Белгород"})");
  body += part(kCurlBoundary,
               "Content-Disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\n"
               "Content-Type: video/mp4\r\n",
               curl_file_data());
  body += close(kCurlBoundary);
  return body;
}

void expect_curl_parts(const Outcome& out) {
  ASSERT_TRUE(out.status.ok()) << out.status.error().to_string();
  ASSERT_EQ(out.parts.size(), 2u);
  EXPECT_EQ(out.parts[0].headers.name, "metadata");
  EXPECT_EQ(out.parts[0].headers.filename, "meta.json");
  EXPECT_EQ(out.parts[0].headers.content_type, "application/json");
  EXPECT_EQ(out.parts[0].data, R"({"platform":"telegram","claimed_place":"Белгород"})");
  EXPECT_TRUE(out.parts[0].ended);
  EXPECT_EQ(out.parts[1].headers.name, "file");
  EXPECT_EQ(out.parts[1].headers.filename, "clip.mp4");
  EXPECT_EQ(out.parts[1].headers.content_type, "video/mp4");
  ASSERT_EQ(out.parts[1].headers.headers.size(), 2u);
  EXPECT_EQ(out.parts[1].headers.headers[0].first, "Content-Disposition");
  EXPECT_EQ(out.parts[1].headers.headers[1],
            (std::pair<std::string, std::string>("Content-Type", "video/mp4")));
  EXPECT_EQ(out.parts[1].data, curl_file_data());
  EXPECT_TRUE(out.parts[1].ended);
}

TEST(MultipartTest, CurlBodyFedWhole) {
  const Outcome out = parse_whole(kCurlBoundary, curl_body());
  expect_curl_parts(out);
  // One contiguous span per part, not one callback per byte or per lookalike.
  EXPECT_EQ(out.data_calls, 2u);
}

TEST(MultipartTest, CurlBodyFedByteByByte) {
  expect_curl_parts(parse_bytewise(kCurlBoundary, curl_body()));
}

TEST(MultipartTest, CurlBodySplitAtEveryPosition) {
  const std::string body = curl_body();
  const Outcome whole = parse_whole(kCurlBoundary, body);
  for (size_t i = 0; i <= body.size(); ++i) {
    const Outcome out = parse_split(kCurlBoundary, body, {i});
    ASSERT_TRUE(out.status.ok()) << "split at " << i;
    ASSERT_EQ(out.parts, whole.parts) << "split at " << i;
  }
}

TEST(MultipartTest, ShortBodySplitAtEveryPairOfPositions) {
  const std::string b = "xyz";
  const std::string body =
      "pre\r\n" + part(b, "Content-Disposition: form-data; name=a", "1\r\n--xy\r\n--xyz-") +
      part(b, "Content-Disposition: form-data; name=b", "") + close(b) + "epi";
  const Outcome whole = parse_whole(b, body);
  ASSERT_TRUE(whole.status.ok()) << whole.status.error().to_string();
  ASSERT_EQ(whole.parts.size(), 2u);
  EXPECT_EQ(whole.parts[0].data, "1\r\n--xy\r\n--xyz-");
  EXPECT_EQ(whole.parts[1].data, "");
  for (size_t i = 0; i <= body.size(); ++i) {
    for (size_t j = i; j <= body.size(); ++j) {
      const Outcome out = parse_split(b, body, {i, j});
      ASSERT_TRUE(out.status.ok()) << i << "," << j;
      ASSERT_EQ(out.parts, whole.parts) << i << "," << j;
    }
  }
}

// Both boundary lengths: short boundaries are searched with memchr, long ones with Horspool.
TEST(MultipartTest, BoundaryLookalikesInsideDataAreData) {
  for (const std::string b : {"AaB03x", "----WebKitFormBoundary7MA4YWxkTrZu0gW"}) {
    std::string lower = b;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::vector<std::string> cases = {
        "\r\n--" + b + "Z",
        "\r\n--" + b + "-",
        "\r\n--" + b + "-z",
        "\r\n--" + b + "\r",
        "\r\n--" + b + "\rz",
        "\r\n--" + b.substr(0, b.size() - 1),
        "\r\n--" + b.substr(0, b.size() - 1) + "\r\n",
        "\r\n--",
        "\r\n-",
        "\r",
        "--" + b + "\r\n",
        "x--" + b + "--",
        "\n--" + b + "\r\n",
        "\r--" + b + "\r\n",
        "\r\n--" + lower + "\r\n",
        "\r\n--" + b + " \r\n",  // transport padding is not accepted inside data
        "\r\r\n--" + b + "x",
        "\r\n--" + b.substr(0, 3) + "\r\n--" + b + "q\r\n--" + b + "-\r",
    };
    for (const std::string& data : cases) {
      const std::string body =
          part(b, "Content-Disposition: form-data; name=\"f\"", data) + close(b);
      for (const Outcome& out : {parse_whole(b, body), parse_bytewise(b, body)}) {
        ASSERT_TRUE(out.status.ok()) << testing::PrintToString(data);
        ASSERT_EQ(out.parts.size(), 1u) << testing::PrintToString(data);
        EXPECT_EQ(out.parts[0].data, data);
      }
    }
  }
}

TEST(MultipartTest, PreambleAndEpilogueAreIgnored) {
  const std::string b = "b";
  const std::string body = "This is a preamble with --b inside\r\n--bx\r\n" +
                           part(b, "Content-Disposition: form-data; name=x", "v") +
                           "--b--garbage\r\n--b\r\nContent-Disposition: nonsense\r\n\r\n";
  const Outcome out = parse_whole(b, body);
  ASSERT_TRUE(out.status.ok()) << out.status.error().to_string();
  ASSERT_EQ(out.parts.size(), 1u);
  EXPECT_EQ(out.parts[0].data, "v");
}

TEST(MultipartTest, BodyWithoutFinalCrlfIsComplete) {
  const std::string b = "b";
  const Outcome out =
      parse_whole(b, part(b, "Content-Disposition: form-data; name=x", "v") + "--b--");
  ASSERT_TRUE(out.status.ok());
  ASSERT_EQ(out.parts.size(), 1u);
}

TEST(MultipartTest, EmptyPart) {
  const std::string b = "b";
  const std::string body = part(b, "Content-Disposition: form-data; name=\"empty\"", "") +
                           part(b, "Content-Disposition: form-data; name=\"next\"", "n") + close(b);
  const Outcome out = parse_whole(b, body);
  ASSERT_TRUE(out.status.ok());
  ASSERT_EQ(out.parts.size(), 2u);
  EXPECT_EQ(out.parts[0].headers.name, "empty");
  EXPECT_EQ(out.parts[0].data, "");
  EXPECT_TRUE(out.parts[0].ended);
  EXPECT_EQ(out.parts[1].data, "n");
  EXPECT_EQ(out.data_calls, 1u);
}

TEST(MultipartTest, CutShortBodyFailsAtFinish) {
  const std::string body = curl_body();
  const size_t complete = body.size() - 2;  // everything up to and including the final "--"
  for (size_t len = 0; len < complete; ++len) {
    const Outcome out = parse_whole(kCurlBoundary, std::string_view(body).substr(0, len));
    ASSERT_FALSE(out.status.ok()) << "length " << len;
    EXPECT_EQ(out.status.error().code(), Code::kInvalidArgument);
    for (const SeenPart& p : out.parts) {
      if (&p != &out.parts.back()) {
        EXPECT_TRUE(p.ended);
      }
    }
  }
  const Outcome out = parse_whole(kCurlBoundary, std::string_view(body).substr(0, complete));
  EXPECT_TRUE(out.status.ok());
}

TEST(MultipartTest, MissingCloseDelimiterNamesTheProblem) {
  const std::string b = "b";
  const Outcome out = parse_whole(b, part(b, "Content-Disposition: form-data; name=x", "v"));
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.error().code(), Code::kInvalidArgument);
  EXPECT_NE(out.status.error().detail().find("closing boundary"), std::string::npos);
  ASSERT_EQ(out.parts.size(), 1u);
  EXPECT_FALSE(out.parts[0].ended);
}

TEST(MultipartTest, BodiesWithoutParts) {
  const std::vector<std::string> bodies = {"", "no boundary here", "--b--\r\n", "--bb\r\n"};
  for (const std::string& body : bodies) {
    const Outcome out = parse_whole("b", body);
    ASSERT_FALSE(out.status.ok()) << body;
    EXPECT_EQ(out.status.error().code(), Code::kInvalidArgument);
    EXPECT_TRUE(out.parts.empty());
  }
}

TEST(MultipartTest, MalformedHeadersAreRejected) {
  struct Case {
    const char* label;
    std::string headers;  // each line ends in CRLF
  };
  using namespace std::string_literals;
  const std::vector<Case> cases = {
      {"no headers", ""},
      {"no content-disposition", "Content-Type: text/plain\r\n"},
      {"folded line", "Content-Disposition: form-data;\r\n name=\"x\"\r\n"},
      {"folded with tab", "Content-Disposition: form-data; name=\"x\"\r\n\tmore\r\n"},
      {"no colon", "Content-Disposition form-data; name=\"x\"\r\n"},
      {"empty header name", ": x\r\nContent-Disposition: form-data; name=\"x\"\r\n"},
      {"space before colon", "Content-Disposition : form-data; name=\"x\"\r\n"},
      {"bare LF", "Content-Disposition: form-data; name=\"x\"\nX: y\r\n"},
      {"bare CR", "Content-Disposition: form-data; name=\"x\"\rX: y\r\n"},
      {"NUL in value", "Content-Disposition: form-data; name=\"x\0\"\r\n"s},
      {"not form-data", "Content-Disposition: attachment; name=\"x\"\r\n"},
      {"no name", "Content-Disposition: form-data; filename=\"a.mp4\"\r\n"},
      {"empty name", "Content-Disposition: form-data; name=\"\"\r\n"},
      {"repeated name", "Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n"},
      {"repeated name, other case", "Content-Disposition: form-data; name=a; NAME=b\r\n"},
      {"two dispositions",
       "Content-Disposition: form-data; name=\"a\"\r\nContent-Disposition: form-data; name=b\r\n"},
      {"two content types",
       "Content-Disposition: form-data; name=a\r\nContent-Type: a/b\r\nContent-Type: c/d\r\n"},
      {"unterminated quote", "Content-Disposition: form-data; name=\"abc\r\n"},
      {"backslash at end", "Content-Disposition: form-data; name=\"abc\\\r\n"},
      {"param without value", "Content-Disposition: form-data; name\r\n"},
      {"param with empty value", "Content-Disposition: form-data; name=\r\n"},
      {"junk after quoted value", "Content-Disposition: form-data; name=\"a\"x\r\n"},
      {"missing semicolon", "Content-Disposition: form-data name=\"a\"\r\n"},
      {"bad filename* charset", "Content-Disposition: form-data; name=a; filename*=KOI8-R''x\r\n"},
      {"filename* without quotes", "Content-Disposition: form-data; name=a; filename*=UTF-8\r\n"},
      {"filename* bad percent", "Content-Disposition: form-data; name=a; filename*=UTF-8''%zz\r\n"},
      {"filename* short percent",
       "Content-Disposition: form-data; name=a; filename*=UTF-8''a%e\r\n"},
      {"filename* bad UTF-8",
       "Content-Disposition: form-data; name=a; filename*=UTF-8''%C3%28\r\n"},
      {"filename* overlong", "Content-Disposition: form-data; name=a; filename*=UTF-8''%C0%AF\r\n"},
      {"filename* NUL", "Content-Disposition: form-data; name=a; filename*=UTF-8''a%00b\r\n"},
      {"filename* newline", "Content-Disposition: form-data; name=a; filename*=UTF-8''a%0Ab\r\n"},
      {"filename raw bad UTF-8",
       "Content-Disposition: form-data; name=a; filename=\"\xff.mp4\"\r\n"},
  };
  const std::string b = "b";
  for (const Case& c : cases) {
    const std::string body = "--b\r\n" + c.headers + "\r\nvalue\r\n--b--\r\n";
    for (const Outcome& out : {parse_whole(b, body), parse_bytewise(b, body)}) {
      ASSERT_FALSE(out.status.ok()) << c.label;
      EXPECT_EQ(out.status.error().code(), Code::kInvalidArgument) << c.label;
      EXPECT_TRUE(out.parts.empty()) << c.label;
    }
  }
}

TEST(MultipartTest, ContentDispositionVariants) {
  struct Case {
    const char* label;
    std::string disposition;
    std::string name;
    std::optional<std::string> filename;
  };
  const std::vector<Case> cases = {
      {"plain", "form-data; name=\"file\"; filename=\"clip.mp4\"", "file", "clip.mp4"},
      {"unquoted", "form-data; name=file; filename=clip.mp4", "file", "clip.mp4"},
      {"case-insensitive", "Form-Data; NAME=\"file\"; FileName=\"a\"", "file", "a"},
      {"blanks around =", "form-data ; name = \"file\" ;filename=\"a\"", "file", "a"},
      {"trailing semicolon", "form-data; name=\"file\";", "file", std::nullopt},
      {"no filename", "form-data; name=\"metadata\"", "metadata", std::nullopt},
      {"empty filename", "form-data; name=\"f\"; filename=\"\"", "f", ""},
      {"escaped quote", R"(form-data; name="f"; filename="say \"hi\".mp4")", "f", "say \"hi\".mp4"},
      {"escaped backslash", R"(form-data; name="f"; filename="a\\b.mp4")", "f", "a\\b.mp4"},
      {"semicolon in quotes", R"(form-data; name="f"; filename="a;b=c.mp4")", "f", "a;b=c.mp4"},
      {"raw UTF-8 filename", "form-data; name=\"f\"; filename=\"колонна.mp4\"", "f", "колонна.mp4"},
      {"filename* UTF-8", "form-data; name=\"f\"; filename*=UTF-8''%D0%BA%D0%BE%D0%BB.mp4", "f",
       "кол.mp4"},
      {"filename* with language", "form-data; name=f; filename*=utf-8'uk'%E2%82%AC%20rates", "f",
       "€ rates"},
      {"filename* wins over filename",
       "form-data; name=f; filename=\"fallback.mp4\"; filename*=UTF-8''%E2%82%AC.mp4", "f",
       "€.mp4"},
      {"filename* before filename",
       "form-data; name=f; filename*=UTF-8''%E2%82%AC.mp4; filename=\"fallback.mp4\"", "f",
       "€.mp4"},
      {"filename* ISO-8859-1", "form-data; name=f; filename*=iso-8859-1'en'%A3%20rates", "f",
       "£ rates"},
      {"unknown parameter kept out", "form-data; name=f; size=12", "f", std::nullopt},
  };
  const std::string b = "b";
  for (const Case& c : cases) {
    const std::string body =
        part(b, "Content-Disposition: " + c.disposition + "\r\n", "data") + close(b);
    const Outcome out = parse_whole(b, body);
    ASSERT_TRUE(out.status.ok()) << c.label << ": " << out.status.error().to_string();
    ASSERT_EQ(out.parts.size(), 1u) << c.label;
    EXPECT_EQ(out.parts[0].headers.name, c.name) << c.label;
    EXPECT_EQ(out.parts[0].headers.filename, c.filename) << c.label;
    EXPECT_EQ(out.parts[0].headers.content_type, "") << c.label;
    EXPECT_EQ(out.parts[0].data, "data") << c.label;
  }
}

TEST(MultipartTest, OtherHeadersAreKeptInOrder) {
  const std::string b = "b";
  const std::string body =
      part(b,
           "X-Custom:   spaced value \t\r\ncontent-type:video/mp4\r\n"
           "content-disposition: form-data; name=f\r\nContent-Transfer-Encoding: binary\r\n",
           "d") +
      close(b);
  const Outcome out = parse_whole(b, body);
  ASSERT_TRUE(out.status.ok());
  ASSERT_EQ(out.parts.size(), 1u);
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"X-Custom", "spaced value"},
      {"content-type", "video/mp4"},
      {"content-disposition", "form-data; name=f"},
      {"Content-Transfer-Encoding", "binary"}};
  EXPECT_EQ(out.parts[0].headers.headers, expected);
  EXPECT_EQ(out.parts[0].headers.content_type, "video/mp4");
}

TEST(MultipartTest, TooManyParts) {
  const std::string b = "b";
  std::string body;
  for (int i = 0; i < 3; ++i) body += part(b, "Content-Disposition: form-data; name=p", "x");
  body += close(b);
  const Outcome ok = parse_whole(b, body, {.max_header_bytes = 1024, .max_parts = 3});
  EXPECT_TRUE(ok.status.ok());
  const Outcome out = parse_whole(b, body, {.max_header_bytes = 1024, .max_parts = 2});
  ASSERT_FALSE(out.status.ok());
  EXPECT_EQ(out.status.error().code(), Code::kPayloadTooLarge);
  EXPECT_EQ(out.parts.size(), 2u);
}

TEST(MultipartTest, HeaderBlockLimit) {
  const std::string b = "b";
  const std::string headers = "Content-Disposition: form-data; name=p\r\nX-Pad: aaaaaaaa\r\n";
  const size_t block = headers.size() + 2;  // plus the blank line
  const std::string body = part(b, headers, "x") + close(b);
  EXPECT_TRUE(parse_whole(b, body, {.max_header_bytes = block, .max_parts = 16}).status.ok());
  EXPECT_TRUE(parse_bytewise(b, body).status.ok());
  for (const std::vector<size_t>& cuts : {std::vector<size_t>{}, std::vector<size_t>{10, 30}}) {
    const Outcome out =
        parse_split(b, body, cuts, {.max_header_bytes = block - 1, .max_parts = 16});
    ASSERT_FALSE(out.status.ok());
    EXPECT_EQ(out.status.error().code(), Code::kPayloadTooLarge);
  }
  // A header block that never ends does not grow the parser past the limit.
  Recorder rec;
  MultipartParser parser("b", rec, {.max_header_bytes = 100, .max_parts = 16});
  ASSERT_TRUE(parser.feed("--b\r\nContent-Disposition: form-data; name=p\r\n").ok());
  Status s;
  for (int i = 0; i < 100 && s.ok(); ++i) {
    s = parser.feed("X: y\r\n");
    EXPECT_LE(parser.buffered_bytes(), 102u);
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPayloadTooLarge);
}

class FailingHandler : public Recorder {
 public:
  Status on_part_data(std::string_view d) override {
    Status s = Recorder::on_part_data(d);
    if (parts.back().headers.name == "file") {
      return Error(Code::kPayloadTooLarge, "file too large", "file");
    }
    return s;
  }
};

TEST(MultipartTest, HandlerErrorStopsTheParser) {
  FailingHandler h;
  MultipartParser parser(kCurlBoundary, h);
  const std::string body = curl_body();
  Status s = parser.feed(body);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kPayloadTooLarge);
  EXPECT_EQ(s.error().field(), "file");
  const size_t calls = h.data_calls;
  Status again = parser.feed(body);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().detail(), "file too large");
  Status fin = parser.finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_EQ(fin.error().code(), Code::kPayloadTooLarge);
  EXPECT_EQ(h.data_calls, calls);
  EXPECT_FALSE(h.parts.back().ended);
}

TEST(MultipartTest, InvalidBoundaryFailsEveryFeed) {
  for (std::string_view b :
       {std::string_view(""), std::string_view("a\rb"), std::string_view("ends with space ")}) {
    Recorder rec;
    MultipartParser parser(b, rec);
    Status s = parser.feed("--\r\n");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.error().code(), Code::kInvalidArgument);
    EXPECT_FALSE(parser.finish().ok());
  }
}

TEST(MultipartTest, DataIsDeliveredWithoutWaitingForTheEnd) {
  const std::string b(70, 'q');
  Recorder rec;
  MultipartParser parser(b, rec);
  ASSERT_TRUE(parser.feed("--" + b + "\r\nContent-Disposition: form-data; name=f\r\n\r\n").ok());
  const std::string data(10000, 'd');
  for (size_t i = 0; i < data.size(); i += 333) {
    ASSERT_TRUE(parser.feed(std::string_view(data).substr(i, 333)).ok());
    const size_t fed = std::min(i + 333, data.size());
    ASSERT_EQ(rec.parts.size(), 1u);
    EXPECT_EQ(rec.parts[0].data.size(), fed);  // nothing looks like a delimiter: no hold-back
  }
  // A possible delimiter start is held back, and at most boundary + 5 bytes of it.
  ASSERT_TRUE(parser.feed("\r\n--" + b + "-").ok());
  EXPECT_EQ(rec.parts[0].data.size(), data.size());
  EXPECT_LE(parser.buffered_bytes(), b.size() + 5);
  ASSERT_TRUE(parser.feed("-").ok());
  EXPECT_TRUE(parser.done());
  EXPECT_TRUE(parser.finish().ok());
  EXPECT_EQ(rec.parts[0].data, data);
}

// 64-bit FNV-1a, to check 50 MB of content without keeping a copy.
struct Fnv {
  uint64_t h = 1469598103934665603ull;
  void add(std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  }
};

class CountingHandler : public MultipartHandler {
 public:
  Status on_part_begin(const PartHeaders& h) override {
    name = h.name;
    return Status::Ok();
  }
  Status on_part_data(std::string_view d) override {
    bytes += d.size();
    fnv.add(d);
    ++calls;
    return Status::Ok();
  }
  Status on_part_end() override {
    ++ended;
    return Status::Ok();
  }
  std::string name;
  uint64_t bytes = 0;
  Fnv fnv;
  size_t calls = 0;
  int ended = 0;
};

TEST(MultipartTest, FiftyMegabytePartInChunksKeepsMemoryBounded) {
  constexpr size_t kPartSize = 50u * 1000 * 1000;
  constexpr size_t kChunk = 64 * 1024;
  // Pseudo-random content with frequent CRs and delimiter prefixes.
  std::string block(1 << 20, '\0');
  std::mt19937_64 rng(7);
  for (char& c : block) c = static_cast<char>(rng());
  const std::string lookalike = "\r\n--" + std::string(kCurlBoundary.substr(0, 30));
  for (size_t i = 0; i + lookalike.size() < block.size(); i += 4099) {
    block.replace(i, lookalike.size(), lookalike);
  }
  std::string head =
      "--" + std::string(kCurlBoundary) +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.mp4\"\r\n\r\n";
  const std::string tail = "\r\n" + close(kCurlBoundary);

  CountingHandler h;
  MultipartParser parser(kCurlBoundary, h);
  Fnv expected;
  ASSERT_TRUE(parser.feed(head).ok());
  // Chunks that do not line up with the block, so delimiter prefixes straddle chunk borders.
  size_t sent = 0;
  size_t max_buffered = 0;
  while (sent < kPartSize) {
    const size_t n = std::min(kChunk - 7, kPartSize - sent);
    const size_t off = sent % block.size();
    const size_t take = std::min(n, block.size() - off);
    const std::string_view chunk = std::string_view(block).substr(off, take);
    expected.add(chunk);
    ASSERT_TRUE(parser.feed(chunk).ok());
    max_buffered = std::max(max_buffered, parser.buffered_bytes());
    sent += take;
  }
  ASSERT_TRUE(parser.feed(tail).ok());
  ASSERT_TRUE(parser.finish().ok());
  EXPECT_EQ(h.name, "file");
  EXPECT_EQ(h.ended, 1);
  EXPECT_EQ(h.bytes, kPartSize);
  EXPECT_EQ(h.fnv.h, expected.h);
  EXPECT_LE(max_buffered, kCurlBoundary.size() + 6);
  // About one callback per chunk (two where a held-back tail is released).
  EXPECT_LE(h.calls, 2 * (kPartSize / (kChunk - 7) + 2));
}

// Random bodies over an alphabet rich in delimiter characters, fed in random pieces, must give
// the parts they were built from.
TEST(MultipartTest, RandomBodiesRandomChunks) {
  std::mt19937 rng(12345);
  const std::string alphabet = "\r\n-ab";
  for (const std::string b : {"ab-ab", "ab-ab-ab-ab-ab-ab-ab"}) {
    for (int round = 0; round < 300; ++round) {
      std::vector<std::string> datas;
      std::string body = "pre\r\n--" + b.substr(0, 4) + "\r\n";
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int k = 0; k < n; ++k) {
        std::string d;
        const size_t len = rng() % 80;
        for (size_t i = 0; i < len; ++i) d.push_back(alphabet[rng() % alphabet.size()]);
        // Random lookalikes of the delimiter, some of them complete.
        if (rng() % 2 == 0)
          d.insert(rng() % (d.size() + 1), "\r\n--" + b.substr(0, rng() % (b.size() + 1)));
        // Keep real delimiters out of the data, as a sender must.
        for (size_t pos; (pos = d.find("\r\n--" + b + "\r\n")) != std::string::npos;)
          d.erase(pos, 1);
        for (size_t pos; (pos = d.find("\r\n--" + b + "--")) != std::string::npos;) d.erase(pos, 1);
        if (d.ends_with("\r\n--" + b)) d.pop_back();
        datas.push_back(d);
        body += part(b, "Content-Disposition: form-data; name=p" + std::to_string(k), d);
      }
      body += close(b) + "\r\n--" + b + "\r\nepilogue";
      std::vector<size_t> cuts;
      for (size_t i = 1; i < body.size(); ++i) {
        if (rng() % 7 == 0) cuts.push_back(i);
      }
      const Outcome out = parse_split(b, body, cuts);
      const Outcome whole = parse_whole(b, body);
      ASSERT_EQ(out.parts, whole.parts) << testing::PrintToString(body);
      ASSERT_TRUE(out.status.ok()) << testing::PrintToString(body);
      ASSERT_EQ(out.parts.size(), datas.size());
      for (size_t k = 0; k < datas.size(); ++k) {
        EXPECT_EQ(out.parts[k].data, datas[k]) << testing::PrintToString(body);
      }
    }
  }
}

TEST(MultipartTest, BoundaryFromContentType) {
  struct Case {
    std::string content_type;
    std::optional<std::string> boundary;  // nullopt: error
    Code code = Code::kInvalidArgument;
  };
  const std::string b70(70, 'x');
  const std::vector<Case> cases = {
      {"multipart/form-data; boundary=------------------------d74496d66958873e",
       "------------------------d74496d66958873e"},
      {"multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
       "----WebKitFormBoundary7MA4YWxkTrZu0gW"},
      {"multipart/form-data; boundary=\"a b\"", "a b"},
      {"Multipart/Form-Data; BOUNDARY=abc", "abc"},
      {"multipart/form-data;boundary=abc;charset=utf-8", "abc"},
      {"multipart/form-data; charset=\"utf-8\"; boundary=\"q'()+_,-./:=?\"", "q'()+_,-./:=?"},
      {"  multipart/form-data ; boundary = abc  ", "abc"},
      {"multipart/form-data; boundary=" + b70, b70},
      {"multipart/form-data; boundary=\"" + b70 + "x\"", std::nullopt},
      {"multipart/form-data", std::nullopt},
      {"multipart/form-data; charset=utf-8", std::nullopt},
      {"multipart/form-data; boundary=", std::nullopt},
      {"multipart/form-data; boundary=\"\"", std::nullopt},
      {"multipart/form-data; boundary=\"ends \"", std::nullopt},
      {"multipart/form-data; boundary=\"a\\\"b\"", std::nullopt},  // '"' is not a bchar
      {"multipart/form-data; boundary=a{b", std::nullopt},
      {"multipart/form-data; boundary=abc; boundary=abd", std::nullopt},
      {"multipart/form-data; boundary=\"abc", std::nullopt},
      {"multipart/form-data boundary=abc", std::nullopt},
      {"multipart/mixed; boundary=abc", std::nullopt, Code::kUnsupportedMedia},
      {"application/json", std::nullopt, Code::kUnsupportedMedia},
      {"multipart", std::nullopt, Code::kUnsupportedMedia},
      {"", std::nullopt, Code::kUnsupportedMedia},
  };
  for (const Case& c : cases) {
    const Result<std::string> r = multipart_boundary(c.content_type);
    if (c.boundary) {
      ASSERT_TRUE(r.ok()) << c.content_type << ": " << r.error().to_string();
      EXPECT_EQ(*r, *c.boundary) << c.content_type;
    } else {
      ASSERT_FALSE(r.ok()) << c.content_type;
      EXPECT_EQ(r.error().code(), c.code) << c.content_type;
      EXPECT_EQ(r.error().field(), "Content-Type") << c.content_type;
    }
  }
}

}  // namespace
}  // namespace cw::server
