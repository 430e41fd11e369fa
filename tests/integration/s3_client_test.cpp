// The S3 client against a real Ceph RADOS Gateway (the throwaway one scripts/test starts with
// scripts/objectstore and describes in CONVOYWATCH_TEST_S3_*; without it every test here fails).
// What landed is checked independently with s3cmd where it matters: bytes, size and ETag.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/random.hpp"
#include "common/sha256.hpp"
#include "store/s3_client.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/process.hpp"

namespace cw::store {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::string env_or_fail(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') {
    ADD_FAILURE() << name
                  << " is not set: these tests need the RADOS Gateway that scripts/test starts "
                     "(scripts/objectstore)";
    return {};
  }
  return v;
}

S3Options options_from_env() {
  S3Options o;
  o.endpoint = env_or_fail("CONVOYWATCH_TEST_S3_ENDPOINT");
  o.bucket = env_or_fail("CONVOYWATCH_TEST_S3_BUCKET");
  o.region = env_or_fail("CONVOYWATCH_TEST_S3_REGION");
  o.credentials.access_key = env_or_fail("CONVOYWATCH_TEST_S3_ACCESS_KEY");
  o.credentials.secret_key = env_or_fail("CONVOYWATCH_TEST_S3_SECRET_KEY");
  o.retry_delay = std::chrono::milliseconds(10);
  return o;
}

// Deterministic pseudo-random bytes, different per seed.
std::string bytes_of(size_t n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 4) {
    uint32_t v = gen();
    for (size_t k = 0; k < 4 && i + k < n; ++k) s[i + k] = static_cast<char>(v >> (8 * k));
  }
  return s;
}

std::string md5_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_md5(), nullptr);
  return to_hex(md, len);
}

// The absolute path of PROGRAM from PATH (the test helpers exec without a search), or a
// failure when it is not installed.
std::string program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t colon = dirs.find(':', start);
    std::string dir =
        dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = dir + "/" + name;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  ADD_FAILURE() << name << " is not installed (scripts/setup installs it)";
  return name;
}

class S3ClientTest : public ::testing::Test {
 protected:
  S3ClientTest() {
    options_ = options_from_env();
    auto c = S3Client::create(options_);
    EXPECT_TRUE(c.ok()) << c.error().to_string();
    if (c.ok()) client_ = std::move(*c);
    // Each test has keys of its own: ctest runs two test processes at once on one bucket.
    prefix_ = "test/" +
              std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
              random_hex(4) + "/";
    // s3cmd, the independent client, gets its own configuration from the same settings.
    std::string authority = options_.endpoint.substr(options_.endpoint.find("://") + 3);
    s3cmd_config_ = (dir_ / "s3cmd.cfg").string();
    std::ofstream cfg(s3cmd_config_);
    cfg << "[default]\naccess_key = " << options_.credentials.access_key
        << "\nsecret_key = " << options_.credentials.secret_key << "\nhost_base = " << authority
        << "\nhost_bucket = " << authority << "\nbucket_location = " << options_.region
        << "\nuse_https = " << (options_.endpoint.starts_with("https") ? "True" : "False")
        << "\nsignature_v2 = False\n";
  }

  ~S3ClientTest() override {
    if (!client_) return;
    // Leave the bucket as it was: delete what the test made, abort what it left open.
    auto page = client_->list_objects(prefix_);
    if (page.ok()) {
      for (const S3ObjectInfo& o : page->objects) (void)client_->delete_object(o.key);
    }
    auto uploads = client_->list_multipart_uploads(prefix_);
    if (uploads.ok()) {
      for (const S3MultipartUpload& u : uploads->uploads) {
        (void)client_->abort_multipart_upload(u.key, u.upload_id);
      }
    }
  }

  std::string s3url(const std::string& key) const { return "s3://" + options_.bucket + "/" + key; }

  // s3cmd ARGS... with this test's configuration; fails the test when s3cmd fails.
  test::CommandResult s3cmd(std::vector<std::string> args) const {
    args.insert(args.begin(), {program("s3cmd"), "-c", s3cmd_config_, "--no-progress"});
    test::CommandResult r = test::run_command(args);
    EXPECT_EQ(r.exit_code, 0) << "s3cmd failed: " << r.err << r.out;
    return r;
  }

  // The object's bytes as s3cmd downloads them.
  std::string s3cmd_get(const std::string& key) const {
    std::string out = (dir_ / ("got-" + random_hex(4))).string();
    s3cmd({"get", s3url(key), out});
    std::ifstream in(out, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // A line of `s3cmd info`, e.g. "MD5 sum" or "File size".
  std::string s3cmd_info(const std::string& key, const std::string& field) const {
    test::CommandResult r = s3cmd({"info", s3url(key)});
    size_t at = r.out.find(field + ":");
    if (at == std::string::npos) return "(no " + field + " in: " + r.out + ")";
    size_t start = r.out.find_first_not_of(' ', at + field.size() + 1);
    return r.out.substr(start, r.out.find('\n', start) - start);
  }

  std::string get_all(const std::string& key, std::optional<S3ByteRange> range = std::nullopt) {
    std::string got;
    auto r = client_->get_object(
        key,
        [&](std::string_view b) {
          got.append(b);
          return Status::Ok();
        },
        range);
    EXPECT_TRUE(r.ok()) << r.error().to_string();
    return got;
  }

  S3Options options_;
  std::unique_ptr<S3Client> client_;
  std::string prefix_;
  test::TempDir dir_;
  std::string s3cmd_config_;
};

TEST_F(S3ClientTest, PutHeadGetDeleteRoundTrip) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "small.bin";
  const std::string data = bytes_of(1000, 1);
  auto put = client_->put_bytes(key, data, {"video/mp4"});
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  const std::string md5 = md5_hex(data);
  EXPECT_EQ(put->etag, md5);

  auto head = client_->head_object(key);
  ASSERT_TRUE(head.ok()) << head.error().to_string();
  EXPECT_EQ(head->size, 1000u);
  EXPECT_EQ(head->etag, md5);
  EXPECT_EQ(head->content_type, "video/mp4");
  EXPECT_EQ(get_all(key), data);

  ASSERT_TRUE(client_->delete_object(key).ok());
  auto gone = client_->head_object(key);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code(), Code::kNotFound);
  EXPECT_TRUE(client_->delete_object(key).ok()) << "deleting a missing object is not an error";
}

TEST_F(S3ClientTest, PutFileLandsWithTheRightBytesAndEtagForS3cmd) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "file.bin";
  const std::string path = (dir_ / "file.bin").string();
  const std::string data = bytes_of(3 * kMiB + 123, 2);
  std::ofstream(path, std::ios::binary) << data;
  auto put = client_->put_file(key, path);
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_EQ(put->size, data.size());
  const std::string md5 = md5_hex(data);
  EXPECT_EQ(put->etag, md5);
  // Independently: s3cmd sees the same size and MD5 and downloads the same bytes.
  EXPECT_EQ(s3cmd_info(key, "File size"), std::to_string(data.size()));
  EXPECT_EQ(s3cmd_info(key, "MD5 sum"), md5);
  EXPECT_TRUE(s3cmd_get(key) == data) << "s3cmd downloaded other bytes";
}

TEST_F(S3ClientTest, StreamsAPutFromACallbackAndAGetToACallback) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "stream.bin";
  const std::string data = bytes_of(20 * kMiB + 7, 3);
  size_t offset = 0;
  size_t calls = 0;
  auto put = client_->put_object(key, data.size(), [&](char* buf, size_t cap) -> Result<size_t> {
    ++calls;
    size_t n = std::min<size_t>({cap, 100'000, data.size() - offset});  // odd chunk sizes
    std::memcpy(buf, data.data() + offset, n);
    offset += n;
    return n;
  });
  ASSERT_TRUE(put.ok()) << put.error().to_string();
  EXPECT_GT(calls, 200u) << "the body was read in pieces, not at once";
  Sha256 sha;
  size_t chunks = 0;
  size_t largest = 0;
  auto got = client_->get_object(key, [&](std::string_view b) {
    sha.update(b);
    ++chunks;
    largest = std::max(largest, b.size());
    return Status::Ok();
  });
  ASSERT_TRUE(got.ok()) << got.error().to_string();
  EXPECT_EQ(got->size, data.size());
  EXPECT_EQ(to_hex(sha.finish()), Sha256::hex_digest(data));
  EXPECT_GT(chunks, 100u);
  EXPECT_LE(largest, 1 * kMiB) << "the sink gets the body in pieces, never all of it at once";
}

TEST_F(S3ClientTest, PutFromACallbackThatEndsEarlyOrFailsIsAnError) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "short.bin";
  auto shortened =
      client_->put_object(key, 1000, [](char*, size_t) -> Result<size_t> { return size_t{0}; });
  ASSERT_FALSE(shortened.ok());
  auto failing = client_->put_object(key, 1000, [](char*, size_t) -> Result<size_t> {
    return Error(Code::kInsufficientStorage, "disk gone");
  });
  ASSERT_FALSE(failing.ok());
  EXPECT_EQ(failing.error().code(), Code::kInsufficientStorage);
  EXPECT_EQ(client_->head_object(key).error().code(), Code::kNotFound);
}

TEST_F(S3ClientTest, RangeReads) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "range.bin";
  const std::string data = bytes_of(kMiB, 4);
  ASSERT_TRUE(client_->put_bytes(key, data).ok());
  struct Case {
    uint64_t first, last;
  };
  for (Case c : {Case{0, 0}, Case{100, 199}, Case{kMiB - 10, kMiB - 1}, Case{0, kMiB - 1},
                 Case{5, kMiB + 1000}}) {  // S3 clips a range that runs past the end
    std::string got;
    auto r = client_->get_object(
        key,
        [&](std::string_view b) {
          got.append(b);
          return Status::Ok();
        },
        S3ByteRange{c.first, c.last});
    ASSERT_TRUE(r.ok()) << c.first << "-" << c.last << ": " << r.error().to_string();
    EXPECT_EQ(r->size, data.size()) << "the whole object's size, from Content-Range";
    uint64_t last = std::min<uint64_t>(c.last, data.size() - 1);
    EXPECT_TRUE(got == data.substr(c.first, last - c.first + 1)) << c.first << "-" << c.last;
  }
  // A range past the end: S3's 416 InvalidRange, and nothing reaches the sink.
  bool called = false;
  auto past = client_->get_object(
      key,
      [&](std::string_view) {
        called = true;
        return Status::Ok();
      },
      S3ByteRange{kMiB, kMiB + 10});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code(), Code::kInvalidArgument);
  EXPECT_FALSE(called);
  // If-Match with another ETag: 412.
  auto changed = client_->get_object(
      key, [](std::string_view) { return Status::Ok(); }, std::nullopt,
      "0123456789abcdef0123456789abcdef");
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.error().code(), Code::kPreconditionFailed);
}

TEST_F(S3ClientTest, GetOfAMissingObjectAndASinkThatFails) {
  ASSERT_TRUE(client_);
  bool called = false;
  auto missing = client_->get_object(prefix_ + "nothing", [&](std::string_view) {
    called = true;
    return Status::Ok();
  });
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
  EXPECT_FALSE(called) << "an error answer's body must not reach the sink";

  const std::string key = prefix_ + "sink.bin";
  ASSERT_TRUE(client_->put_bytes(key, bytes_of(4 * kMiB, 5)).ok());
  size_t seen = 0;
  auto stopped = client_->get_object(key, [&](std::string_view b) -> Status {
    seen += b.size();
    if (seen > kMiB) return Error(Code::kInsufficientStorage, "scratch disk full");
    return Status::Ok();
  });
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code(), Code::kInsufficientStorage);
  EXPECT_LT(seen, 3 * kMiB) << "the transfer stopped when the sink failed";
}

TEST_F(S3ClientTest, MultipartUploadOfThreePartsMatchesS3cmd) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "multi.bin";
  const std::string data = bytes_of(10 * kMiB + 1000, 6);
  auto id = client_->create_multipart_upload(key, {"video/mp4"});
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  std::vector<S3CompletedPart> parts;
  // Uploaded out of order: the part numbers decide the order.
  for (int n : {2, 1, 3}) {
    size_t from = (n - 1) * 5 * kMiB;
    size_t len = n == 3 ? data.size() - from : 5 * kMiB;
    auto etag = client_->upload_part(key, *id, n, std::string_view(data).substr(from, len));
    ASSERT_TRUE(etag.ok()) << etag.error().to_string();
    parts.push_back({n, *etag});
  }
  auto etag = client_->complete_multipart_upload(key, *id, parts);
  ASSERT_TRUE(etag.ok()) << etag.error().to_string();
  EXPECT_TRUE(etag->ends_with("-3")) << *etag;

  auto head = client_->head_object(key);
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->etag, *etag);
  EXPECT_EQ(head->content_type, "video/mp4");
  // Independently: s3cmd reports the multipart ETag and downloads the same bytes.
  EXPECT_EQ(s3cmd_info(key, "MD5 sum"), *etag);
  EXPECT_TRUE(s3cmd_get(key) == data) << "s3cmd downloaded other bytes";
  auto uploads = client_->list_multipart_uploads(prefix_);
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->uploads.empty()) << "a completed upload is no longer listed";
}

TEST_F(S3ClientTest, CompleteWithAWrongPartIsRefused) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "bad.bin";
  auto id = client_->create_multipart_upload(key);
  ASSERT_TRUE(id.ok());
  auto small = client_->upload_part(key, *id, 1, bytes_of(1000, 7));
  ASSERT_TRUE(small.ok());
  auto last = client_->upload_part(key, *id, 2, bytes_of(1000, 8));
  ASSERT_TRUE(last.ok());
  // Part 1 is below S3's 5 MiB minimum for a part that is not the last.
  auto too_small = client_->complete_multipart_upload(key, *id, {{1, *small}, {2, *last}});
  ASSERT_FALSE(too_small.ok());
  EXPECT_EQ(too_small.error().code(), Code::kInvalidArgument) << too_small.error().to_string();
  auto wrong_etag =
      client_->complete_multipart_upload(key, *id, {{1, "00000000000000000000000000000000"}});
  ASSERT_FALSE(wrong_etag.ok());
  EXPECT_EQ(wrong_etag.error().code(), Code::kInvalidArgument) << wrong_etag.error().to_string();
  EXPECT_TRUE(client_->abort_multipart_upload(key, *id).ok());
  // Completing an aborted upload fails (AWS says 404 NoSuchUpload; Ceph 16 answers 500 "This
  // multipart completion is already in progress"), and leaves no object.
  auto aborted = client_->complete_multipart_upload(key, *id, {{1, *small}});
  ASSERT_FALSE(aborted.ok());
  EXPECT_EQ(client_->head_object(key).error().code(), Code::kNotFound);
}

TEST_F(S3ClientTest, UploadPartCopyAssemblesByteRangesOfAnotherObject) {
  ASSERT_TRUE(client_);
  const std::string source = prefix_ + "tmp/upload-source";
  const std::string dest = prefix_ + "sha256/ab/cd/dest";
  const std::string data = bytes_of(12 * kMiB + 5, 9);
  ASSERT_TRUE(client_->put_bytes(source, data).ok());
  auto id = client_->create_multipart_upload(dest);
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  // Three ranges, the middle one not aligned to anything.
  const std::vector<S3ByteRange> ranges = {
      {0, 5 * kMiB - 1}, {5 * kMiB, 11 * kMiB + 16}, {11 * kMiB + 17, data.size() - 1}};
  std::vector<S3CompletedPart> parts;
  for (size_t i = 0; i < ranges.size(); ++i) {
    auto etag = client_->upload_part_copy(dest, *id, static_cast<int>(i + 1), source, ranges[i]);
    ASSERT_TRUE(etag.ok()) << etag.error().to_string();
    parts.push_back({static_cast<int>(i + 1), *etag});
  }
  auto etag = client_->complete_multipart_upload(dest, *id, parts);
  ASSERT_TRUE(etag.ok()) << etag.error().to_string();
  EXPECT_TRUE(etag->ends_with("-3")) << *etag;
  EXPECT_TRUE(get_all(dest) == data) << "the copied parts make the source's bytes";
  EXPECT_TRUE(s3cmd_get(dest) == data) << "s3cmd downloaded other bytes";
  // A range past the source's end is refused.
  auto id2 = client_->create_multipart_upload(dest + "-2");
  ASSERT_TRUE(id2.ok());
  auto past =
      client_->upload_part_copy(dest + "-2", *id2, 1, source, {data.size(), data.size() + 100});
  ASSERT_FALSE(past.ok());
  EXPECT_EQ(past.error().code(), Code::kInvalidArgument) << past.error().to_string();
  auto missing = client_->upload_part_copy(dest + "-2", *id2, 1, prefix_ + "nothing", {0, 10});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound) << missing.error().to_string();
}

TEST_F(S3ClientTest, AbortLeavesNothing) {
  ASSERT_TRUE(client_);
  const std::string key = prefix_ + "aborted.bin";
  auto id = client_->create_multipart_upload(key);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(client_->upload_part(key, *id, 1, bytes_of(5 * kMiB, 10)).ok());
  ASSERT_TRUE(client_->upload_part(key, *id, 2, bytes_of(1000, 11)).ok());
  auto open = client_->list_multipart_uploads(prefix_);
  ASSERT_TRUE(open.ok()) << open.error().to_string();
  ASSERT_EQ(open->uploads.size(), 1u);
  EXPECT_EQ(open->uploads[0].key, key);
  EXPECT_EQ(open->uploads[0].upload_id, *id);
  EXPECT_FALSE(open->uploads[0].initiated.empty());
  // s3cmd sees it too.
  EXPECT_NE(s3cmd({"multipart", "s3://" + options_.bucket}).out.find(*id), std::string::npos);

  ASSERT_TRUE(client_->abort_multipart_upload(key, *id).ok());
  EXPECT_TRUE(client_->abort_multipart_upload(key, *id).ok()) << "aborting twice is fine";
  auto after = client_->list_multipart_uploads(prefix_);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->uploads.empty());
  auto objects = client_->list_objects(prefix_);
  ASSERT_TRUE(objects.ok());
  EXPECT_TRUE(objects->objects.empty());
  EXPECT_EQ(client_->head_object(key).error().code(), Code::kNotFound);
  EXPECT_EQ(s3cmd({"multipart", "s3://" + options_.bucket}).out.find(*id), std::string::npos);
  EXPECT_EQ(s3cmd({"ls", "--recursive", s3url(prefix_)}).out, "");
}

TEST_F(S3ClientTest, ListByPrefixInPages) {
  ASSERT_TRUE(client_);
  std::vector<std::string> keys;
  for (int i = 0; i < 7; ++i) keys.push_back(prefix_ + "p/" + std::to_string(i) + ".bin");
  for (const auto& k : keys) ASSERT_TRUE(client_->put_bytes(k, "x" + k).ok());
  ASSERT_TRUE(client_->put_bytes(prefix_ + "q/other", "y").ok());
  std::vector<std::string> listed;
  std::string token;
  int pages = 0;
  for (;;) {
    auto page = client_->list_objects(prefix_ + "p/", token, 3);
    ASSERT_TRUE(page.ok()) << page.error().to_string();
    ++pages;
    for (const auto& o : page->objects) {
      listed.push_back(o.key);
      EXPECT_EQ(o.size, 1 + o.key.size());
      EXPECT_EQ(o.etag.size(), 32u);
      EXPECT_FALSE(o.last_modified.empty());
    }
    if (!page->truncated) break;
    token = page->next_token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(listed, keys);
  auto none = client_->list_objects(prefix_ + "nothing/");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->objects.empty());
  EXPECT_FALSE(none->truncated);
}

TEST_F(S3ClientTest, CopyObject) {
  ASSERT_TRUE(client_);
  const std::string data = bytes_of(2 * kMiB, 12);
  ASSERT_TRUE(client_->put_bytes(prefix_ + "from", data, {"video/webm"}).ok());
  auto etag = client_->copy_object(prefix_ + "from", prefix_ + "to");
  ASSERT_TRUE(etag.ok()) << etag.error().to_string();
  auto head = client_->head_object(prefix_ + "to");
  ASSERT_TRUE(head.ok());
  EXPECT_EQ(head->etag, *etag);
  EXPECT_EQ(head->size, data.size());
  EXPECT_EQ(head->content_type, "video/webm") << "the copy keeps the type";
  EXPECT_TRUE(s3cmd_get(prefix_ + "to") == data);
  auto missing = client_->copy_object(prefix_ + "nothing", prefix_ + "to2");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);
}

TEST_F(S3ClientTest, KeysWithCharactersThatNeedEncoding) {
  ASSERT_TRUE(client_);
  for (std::string name : {"a b+c%d=e&f?g#h", "über/ünïcode/файл.mp4", "dots/./x/../y",
                           "semi;colon,comma:colon@at!bang'quote(paren)*star~tilde", "trailing/"}) {
    const std::string key = prefix_ + name;
    ASSERT_TRUE(client_->put_bytes(key, name).ok()) << name;
    EXPECT_EQ(get_all(key), name) << name;
    auto page = client_->list_objects(key);
    ASSERT_TRUE(page.ok()) << name << ": " << page.error().to_string();
    ASSERT_EQ(page->objects.size(), 1u) << name;
    EXPECT_EQ(page->objects[0].key, key);
    auto copy = client_->copy_object(key, key + ".copy");
    ASSERT_TRUE(copy.ok()) << name << ": " << copy.error().to_string();
  }
}

TEST_F(S3ClientTest, VirtualHostAddressing) {
  ASSERT_TRUE(client_);
  // scripts/objectstore sets `rgw dns name = localhost`, and libcurl resolves *.localhost to
  // the loopback address, so <bucket>.localhost:<port> reaches the gateway.
  S3Options o = options_;
  o.addressing = S3Addressing::kVirtualHost;
  const std::string port = o.endpoint.substr(o.endpoint.rfind(':') + 1);
  o.endpoint = "http://localhost:" + port;
  auto c = S3Client::create(o);
  ASSERT_TRUE(c.ok());
  auto& v = *c;
  const std::string key = prefix_ + "virtual host.bin";
  const std::string data = bytes_of(6 * kMiB, 13);
  ASSERT_TRUE(v->put_bytes(key, data).ok());
  auto page = v->list_objects(prefix_);
  ASSERT_TRUE(page.ok()) << page.error().to_string();
  ASSERT_EQ(page->objects.size(), 1u);
  auto id = v->create_multipart_upload(key + ".mp");
  ASSERT_TRUE(id.ok()) << id.error().to_string();
  auto p1 = v->upload_part_copy(key + ".mp", *id, 1, key, {0, 5 * kMiB - 1});
  ASSERT_TRUE(p1.ok()) << p1.error().to_string();
  auto p2 = v->upload_part(key + ".mp", *id, 2, std::string_view(data).substr(5 * kMiB));
  ASSERT_TRUE(p2.ok()) << p2.error().to_string();
  ASSERT_TRUE(v->complete_multipart_upload(key + ".mp", *id, {{1, *p1}, {2, *p2}}).ok());
  // And the path-style client sees what the virtual-host one wrote.
  EXPECT_TRUE(get_all(key + ".mp") == data);
}

TEST_F(S3ClientTest, WrongSecretKeyIsRefused) {
  ASSERT_TRUE(client_);
  S3Options o = options_;
  o.credentials.secret_key = "not-the-secret";
  auto c = S3Client::create(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->put_bytes(prefix_ + "denied", "x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInternal);
  EXPECT_NE(r.error().detail().find("SignatureDoesNotMatch"), std::string::npos)
      << r.error().detail();
  EXPECT_EQ(r.error().detail().find("not-the-secret"), std::string::npos);
  EXPECT_EQ(client_->head_object(prefix_ + "denied").error().code(), Code::kNotFound);
}

TEST_F(S3ClientTest, AnEndpointThatDoesNotAnswerIsUnavailableAfterRetries) {
  S3Options o = options_from_env();
  o.endpoint = "http://127.0.0.1:9";  // discard: nothing listens
  o.max_attempts = 3;
  o.retry_delay = std::chrono::milliseconds(1);
  auto c = S3Client::create(o);
  ASSERT_TRUE(c.ok());
  auto r = (*c)->head_object("k");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnavailable) << r.error().to_string();
}

}  // namespace
}  // namespace cw::store
