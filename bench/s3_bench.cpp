// cw_s3_bench: one transfer between a file and an S3 bucket through the project's S3 client
// (store/s3_client.hpp), timed, for bench/s3.sh. The endpoint, bucket, region and keys come from
// CONVOYWATCH_STORAGE_S3_* (scripts/objectstore env).
//
//   cw_s3_bench put FILE KEY             one streamed PUT of the file
//   cw_s3_bench multipart FILE KEY MIB   a multipart upload in parts of MIB MiB, read from the
//                                        file into one buffer and hashed (SHA-256) on the way, as
//                                        an upload into the evidence store would be
//   cw_s3_bench get KEY FILE             a streamed GET into the file
//   cw_s3_bench ranges KEY FILE MIB      the object as ranged GETs of MIB MiB, one after another
//
// Prints one line: "<mode> seconds S bytes N mib_per_s R vmhwm_kib K [sha256 H] [etag E]".
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/sha256.hpp"
#include "store/s3_client.hpp"

namespace {

using cw::Result;
using cw::Status;
using cw::store::S3Client;

long vmhwm_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "cw_s3_bench: %s\n", what.c_str());
  return 1;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    return fail(
        "usage: put FILE KEY | multipart FILE KEY MIB | get KEY FILE | ranges KEY FILE MIB");
  }
  const std::string mode = argv[1];
  auto env = cw::environment_map();
  cw::store::S3Options o;
  o.endpoint = env["CONVOYWATCH_STORAGE_S3_ENDPOINT"];
  o.bucket = env["CONVOYWATCH_STORAGE_S3_BUCKET"];
  if (!env["CONVOYWATCH_STORAGE_S3_REGION"].empty())
    o.region = env["CONVOYWATCH_STORAGE_S3_REGION"];
  auto creds = cw::store::load_s3_credentials(env, "");
  if (!creds.ok()) return fail(creds.error().to_string());
  o.credentials = *creds;
  auto client_r = S3Client::create(o);
  if (!client_r.ok()) return fail(client_r.error().to_string());
  S3Client& client = **client_r;

  const auto start = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  std::string extra;
  if (mode == "put") {
    auto r = client.put_file(argv[3], argv[2]);
    if (!r.ok()) return fail(r.error().to_string());
    bytes = r->size;
    extra = " etag " + r->etag;
  } else if (mode == "multipart") {
    if (argc < 5) return fail("multipart FILE KEY MIB");
    const size_t part = static_cast<size_t>(std::atol(argv[4])) << 20;
    int fd = ::open(argv[2], O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(std::string("cannot open ") + argv[2]);
    auto id = client.create_multipart_upload(argv[3]);
    if (!id.ok()) return fail(id.error().to_string());
    std::string buffer(part, '\0');
    std::vector<cw::store::S3CompletedPart> parts;
    cw::Sha256 sha;
    for (int n = 1;; ++n) {
      size_t filled = 0;
      while (filled < part) {
        ssize_t got = ::read(fd, buffer.data() + filled, part - filled);
        if (got < 0) return fail("read failed");
        if (got == 0) break;
        filled += static_cast<size_t>(got);
      }
      if (filled == 0) break;
      std::string_view chunk(buffer.data(), filled);
      sha.update(chunk);
      auto etag = client.upload_part(argv[3], *id, n, chunk);
      if (!etag.ok()) {
        (void)client.abort_multipart_upload(argv[3], *id);
        return fail(etag.error().to_string());
      }
      parts.push_back({n, *etag});
      bytes += filled;
      if (filled < part) break;
    }
    ::close(fd);
    auto etag = client.complete_multipart_upload(argv[3], *id, parts);
    if (!etag.ok()) return fail(etag.error().to_string());
    extra = " sha256 " + cw::to_hex(sha.finish()) + " etag " + *etag;
  } else if (mode == "get" || mode == "ranges") {
    int fd = ::open(argv[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return fail(std::string("cannot create ") + argv[3]);
    auto sink = [&](std::string_view b) -> Status {
      if (!write_all(fd, b)) return cw::Error(cw::Code::kInternal, "write failed");
      bytes += b.size();
      return Status::Ok();
    };
    if (mode == "get") {
      auto r = client.get_object(argv[2], sink);
      if (!r.ok()) return fail(r.error().to_string());
      extra = " etag " + r->etag;
    } else {
      if (argc < 5) return fail("ranges KEY FILE MIB");
      const uint64_t step = static_cast<uint64_t>(std::atol(argv[4])) << 20;
      auto head = client.head_object(argv[2]);
      if (!head.ok()) return fail(head.error().to_string());
      for (uint64_t first = 0; first < head->size; first += step) {
        uint64_t last = std::min(head->size, first + step) - 1;
        auto r = client.get_object(argv[2], sink, cw::store::S3ByteRange{first, last}, head->etag);
        if (!r.ok()) return fail(r.error().to_string());
      }
      extra = " etag " + head->etag;
    }
    ::close(fd);
  } else {
    return fail("unknown mode " + mode);
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s seconds %.3f bytes %llu mib_per_s %.1f vmhwm_kib %ld%s\n", mode.c_str(), seconds,
              static_cast<unsigned long long>(bytes), bytes / 1048576.0 / seconds, vmhwm_kib(),
              extra.c_str());
  return 0;
}
