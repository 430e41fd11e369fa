// Unit tests for the evidence store in a fresh temp folder: content addressing, duplicates
// (also racing ones), abort and destructor clean-up, resumable reopening, name validation,
// verification of altered evidence, the stale temp file sweep and I/O error mapping.
//
// Disk-full is injected through MediaStore's open_file hook: the hook creates the real temp
// file, then dup2()s an fd of /dev/full over it, so each write() gets a genuine ENOSPC from the
// kernel. A tiny tmpfs would be closer to life, but mounting one needs CAP_SYS_ADMIN in a
// private mount namespace, which unprivileged CI containers do not grant and which unshare()
// refuses to a process that already runs threads (gtest, spdlog).
#include "store/media_store.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/sha256.hpp"

namespace cw::store {
namespace {

namespace fs = std::filesystem;

std::string pseudo_random(size_t size, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

ino_t inode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

// Writes `content` in chunks of `chunk` bytes, as the server does with request body buffers.
void write_chunks(MediaWriter& w, std::string_view content, size_t chunk) {
  for (size_t i = 0; i < content.size(); i += chunk) {
    Status s = w.write(content.substr(i, chunk));
    ASSERT_TRUE(s.ok()) << s.error().to_string();
  }
}

std::string tus_name(char fill) { return "tus-" + std::string(32, fill) + ".part"; }

class MediaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "cw-media-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    root_ = dir_ + "/media";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Names in <root>/tmp, sorted.
  std::set<std::string> temp_files() const {
    std::set<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(root_ + "/tmp", ec), end; !ec && it != end; it.increment(ec)) {
      names.insert(it->path().filename().string());
    }
    return names;
  }

  std::unique_ptr<MediaWriter> begin(const MediaStore& store, TempKind kind = TempKind::kUpload) {
    auto w = store.begin_write(kind);
    EXPECT_TRUE(w.ok()) << w.error().to_string();
    return w.ok() ? std::move(w).value() : nullptr;
  }

  StoredMedia store_bytes(const MediaStore& store, const std::string& content) {
    auto w = begin(store);
    if (!w) return {};
    write_chunks(*w, content, 1 << 20);
    Result<StoredMedia> stored = w->commit();
    EXPECT_TRUE(stored.ok()) << stored.error().to_string();
    return stored.ok() ? *stored : StoredMedia{};
  }

  std::string dir_;
  std::string root_;
};

TEST_F(MediaStoreTest, CommitStoresBytesAtTheirContentAddress) {
  MediaStore store(root_);  // the root does not exist yet: begin_write creates it
  const std::string content = pseudo_random((3 << 20) + 123, 1);
  auto w = begin(store);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->path().starts_with(root_ + "/tmp/upload-")) << w->path();
  EXPECT_TRUE(MediaStore::is_temp_name(w->temp_name())) << w->temp_name();
  EXPECT_EQ(mode_of(w->path()), 0640u);
  write_chunks(*w, content, 1 << 20);
  EXPECT_EQ(w->size(), content.size());
  EXPECT_EQ(w->first_bytes(), content.substr(0, kSniffBytes));

  Result<StoredMedia> stored = w->commit();
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  const std::string hash = Sha256::hex_digest(content);
  EXPECT_EQ(stored->sha256, hash);
  EXPECT_EQ(stored->size, content.size());
  EXPECT_FALSE(stored->already_existed);

  const std::string expected_path =
      root_ + "/sha256/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash;
  EXPECT_EQ(read_file(expected_path), content);
  EXPECT_EQ(mode_of(expected_path), 0440u);
  EXPECT_TRUE(temp_files().empty());

  Result<std::string> path = store.path_of(hash);
  ASSERT_TRUE(path.ok());
  EXPECT_EQ(*path, expected_path);
  EXPECT_TRUE(store.exists(hash));
  Result<int> fd = store.open_read_only(hash);
  ASSERT_TRUE(fd.ok());
  std::string head(100, '\0');
  EXPECT_EQ(::pread(*fd, head.data(), head.size(), 0), 100);
  EXPECT_EQ(head, content.substr(0, 100));
  EXPECT_EQ(::write(*fd, "x", 1), -1);  // read-only descriptor
  ::close(*fd);
  Result<std::string> verified = store.verify(hash);
  ASSERT_TRUE(verified.ok());
  EXPECT_EQ(*verified, hash);

  // A finished writer refuses more work rather than touching evidence.
  EXPECT_EQ(w->write("more").error().code(), Code::kInternal);
  EXPECT_EQ(w->commit().error().code(), Code::kInternal);
}

TEST_F(MediaStoreTest, EmptyAndSmallUploads) {
  MediaStore store(root_);
  StoredMedia empty = store_bytes(store, "");
  EXPECT_EQ(empty.sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(empty.size, 0u);
  EXPECT_TRUE(store.exists(empty.sha256));

  auto w = begin(store);
  ASSERT_TRUE(w);
  const std::string content = pseudo_random(10000, 2);
  write_chunks(*w, content, 1000);  // the sniff buffer fills across chunk boundaries
  EXPECT_EQ(w->first_bytes(), content.substr(0, kSniffBytes));
  ASSERT_TRUE(w->commit().ok());
}

TEST_F(MediaStoreTest, IdenticalBytesTwiceAreStoredOnce) {
  MediaStore store(root_);
  const std::string content = pseudo_random(70000, 3);
  StoredMedia first = store_bytes(store, content);
  EXPECT_FALSE(first.already_existed);
  const std::string path = *store.path_of(first.sha256);
  const ino_t inode = inode_of(path);

  StoredMedia second = store_bytes(store, content);
  EXPECT_TRUE(second.already_existed);
  EXPECT_EQ(second.sha256, first.sha256);
  EXPECT_EQ(second.size, content.size());
  EXPECT_EQ(inode_of(path), inode) << "the stored original must not be replaced";
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(MediaStoreTest, RacingCommitsOfIdenticalBytesStoreOnce) {
  MediaStore store(root_);
  ASSERT_TRUE(store.prepare().ok());
  const std::string content = pseudo_random(200000, 4);
  constexpr int kThreads = 8;
  std::vector<std::unique_ptr<MediaWriter>> writers;
  for (int i = 0; i < kThreads; ++i) {
    writers.push_back(begin(store));
    ASSERT_TRUE(writers.back());
    write_chunks(*writers.back(), content, 65536);
  }
  std::atomic<int> fresh = 0;
  std::atomic<int> failed = 0;
  std::vector<std::thread> threads;
  for (auto& w : writers) {
    threads.emplace_back([&w, &fresh, &failed] {
      Result<StoredMedia> r = w->commit();
      if (!r.ok()) {
        ++failed;
      } else if (!r->already_existed) {
        ++fresh;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(fresh.load(), 1);
  EXPECT_TRUE(temp_files().empty());
  EXPECT_EQ(read_file(*store.path_of(Sha256::hex_digest(content))), content);
}

TEST_F(MediaStoreTest, AbortAndDestructorLeaveNoTempFile) {
  MediaStore store(root_);
  {
    auto w = begin(store);
    ASSERT_TRUE(w);
    write_chunks(*w, "partial upload", 4);
    ASSERT_TRUE(fs::exists(w->path()));
    w->abort();
    EXPECT_FALSE(fs::exists(w->path()));
    w->abort();  // harmless twice
    EXPECT_EQ(w->write("x").error().code(), Code::kInternal);
    EXPECT_EQ(w->commit().error().code(), Code::kInternal);
  }
  EXPECT_TRUE(temp_files().empty());

  {
    auto w = begin(store);
    ASSERT_TRUE(w);
    write_chunks(*w, "the client went away", 5);
    EXPECT_EQ(temp_files().size(), 1u);
  }  // neither commit nor abort
  EXPECT_TRUE(temp_files().empty());

  try {
    auto w = begin(store);
    ASSERT_TRUE(w);
    write_chunks(*w, "a handler threw", 5);
    throw std::runtime_error("boom");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(temp_files().empty());
  EXPECT_FALSE(fs::exists(root_ + "/sha256/e3"));  // nothing was committed either
}

TEST_F(MediaStoreTest, ReopenForAppendContinuesTheHash) {
  const std::string part1 = pseudo_random(1000, 5);  // shorter than the sniff buffer
  const std::string part2 = pseudo_random((1 << 20) + 17, 6);
  const std::string part3 = pseudo_random(5000, 7);
  std::string name;
  {
    MediaStore store(root_);
    auto w = begin(store, TempKind::kTus);
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->temp_name().starts_with("tus-")) << w->temp_name();
    write_chunks(*w, part1, 300);
    name = w->temp_name();
    ASSERT_TRUE(w->suspend().ok());
    EXPECT_EQ(w->write("x").error().code(), Code::kInternal);
  }  // the writer is gone; a suspended file must survive it
  ASSERT_EQ(temp_files(), std::set<std::string>{name});

  {
    MediaStore store(root_);  // as after a server restart
    auto reopened = store.reopen_for_append(name);
    ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
    MediaWriter& w = **reopened;
    EXPECT_EQ(w.size(), part1.size());
    EXPECT_EQ(w.first_bytes(), part1);
    EXPECT_EQ(w.temp_name(), name);
    write_chunks(w, part2, 1 << 20);
    EXPECT_EQ(w.first_bytes(), (part1 + part2).substr(0, kSniffBytes));
    ASSERT_TRUE(w.suspend().ok());
  }

  MediaStore store(root_);
  auto reopened = store.reopen_for_append(name);
  ASSERT_TRUE(reopened.ok()) << reopened.error().to_string();
  EXPECT_EQ((*reopened)->size(), part1.size() + part2.size());
  write_chunks(**reopened, part3, 4096);
  Result<StoredMedia> stored = (*reopened)->commit();
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  const std::string whole = part1 + part2 + part3;
  EXPECT_EQ(stored->sha256, Sha256::hex_digest(whole));
  EXPECT_EQ(stored->size, whole.size());
  EXPECT_EQ(read_file(*store.path_of(stored->sha256)), whole);
  EXPECT_TRUE(temp_files().empty());
}

// Many small appends, each a suspend and a reopen as tus PATCHes are: every byte is hashed once
// (the state suspend() kept is continued), the sniffing bytes are still there, and the result
// is the hash of the whole. A new store (a restart) re-reads the file once; a file changed behind
// a kept state (another process appended) is re-read too, never continued from a stale state.
TEST_F(MediaStoreTest, ReopenContinuesTheKeptHashAndHashesEachByteOnce) {
  const std::string content = pseudo_random(300 * 97, 8);
  std::string name;
  MediaStore store(root_);
  {
    auto w = begin(store, TempKind::kTus);
    ASSERT_TRUE(w);
    name = w->temp_name();
    ASSERT_TRUE(w->suspend().ok());
  }
  size_t at = 0;
  for (int i = 0; i < 200; ++i, at += 97) {
    auto r = store.reopen_for_append(name);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*r)->size(), at);
    EXPECT_EQ((*r)->first_bytes(), content.substr(0, std::min(at, kSniffBytes)));
    ASSERT_TRUE((*r)->write(std::string_view(content).substr(at, 97)).ok());
    ASSERT_TRUE((*r)->suspend().ok());
  }
  TusHashStats s = store.tus_hash_stats();
  EXPECT_EQ(s.bytes_written, at);
  EXPECT_EQ(s.bytes_hashed, at);  // not the ~200 * at / 2 that re-reading would cost
  EXPECT_EQ(s.resumed_from_memory, 200u);
  EXPECT_EQ(s.resumed_by_rereading, 0u);

  // After a restart: one pass over the file, then the kept state again.
  MediaStore restarted(root_);
  for (int i = 0; i < 50; ++i, at += 97) {
    auto r = restarted.reopen_for_append(name);
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ((*r)->first_bytes(), content.substr(0, kSniffBytes));
    ASSERT_TRUE((*r)->write(std::string_view(content).substr(at, 97)).ok());
    ASSERT_TRUE((*r)->suspend().ok());
  }
  s = restarted.tus_hash_stats();
  EXPECT_EQ(s.resumed_by_rereading, 1u);
  EXPECT_EQ(s.resumed_from_memory, 49u);
  EXPECT_EQ(s.bytes_written, 50u * 97);
  EXPECT_EQ(s.bytes_hashed, 200u * 97 + 50u * 97);

  // Bytes appended behind the kept state (as another process would): the state no longer
  // describes the file, so the file is re-read.
  {
    std::ofstream out(root_ + "/tmp/" + name, std::ios::binary | std::ios::app);
    out << content.substr(at, 97);
  }
  at += 97;
  auto r = restarted.reopen_for_append(name);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ((*r)->size(), at);
  EXPECT_EQ(restarted.tus_hash_stats().resumed_by_rereading, 2u);
  ASSERT_TRUE((*r)->write(std::string_view(content).substr(at)).ok());
  Result<StoredMedia> stored = (*r)->commit();
  ASSERT_TRUE(stored.ok()) << stored.error().to_string();
  EXPECT_EQ(stored->sha256, Sha256::hex_digest(content));
  EXPECT_EQ(stored->size, content.size());
}

// A removed upload's kept state goes with it: a file made later under the same name is read,
// not continued from the old state.
TEST_F(MediaStoreTest, RemovedUploadsLeaveNoKeptHashBehind) {
  MediaStore store(root_);
  auto w = begin(store, TempKind::kTus);
  ASSERT_TRUE(w);
  const std::string name = w->temp_name();
  ASSERT_TRUE(w->write("first upload's bytes").ok());
  ASSERT_TRUE(w->suspend().ok());
  ASSERT_TRUE(store.remove_temp(name).ok());
  {
    std::ofstream out(root_ + "/tmp/" + name, std::ios::binary);
    out << "other bytes";
  }
  auto r = store.reopen_for_append(name);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(store.tus_hash_stats().resumed_by_rereading, 1u);
  Result<StoredMedia> stored = (*r)->commit();
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->sha256, Sha256::hex_digest("other bytes"));
}

TEST_F(MediaStoreTest, ReopenRefusesNamesOutsideTheTempFolder) {
  MediaStore store(root_);
  ASSERT_TRUE(store.prepare().ok());
  const std::string hex(32, 'a');
  const std::vector<std::string> bad = {
      "../x",
      "../../etc/passwd",
      "/etc/passwd",
      "",
      ".",
      "..",
      "tus-" + hex + ".part/../x",
      "../tmp/tus-" + hex + ".part",
      "tus-" + std::string(32, 'A') + ".part",
      "tus-" + std::string(31, 'a') + ".part",
      "tus-" + hex + "a.part",
      "tus-" + hex,
      "tus-" + hex + ".partx",
      "tus-" + hex + ".part\n",
      "tus-" + hex + std::string(".part\0x", 7),
      "uploads-" + hex + ".part",
      "tus-" + std::string(28, 'a') + "/../.part",
  };
  for (const std::string& name : bad) {
    auto r = store.reopen_for_append(name);
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error().code(), Code::kInvalidArgument) << name;
    EXPECT_EQ(r.error().field(), "temp_name");
  }

  // Well-formed but unknown: the upload is gone (expired or never existed).
  auto missing = store.reopen_for_append(tus_name('b'));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Code::kNotFound);

  // A symlink planted under a valid name is not followed, and its target is left alone.
  const std::string outside = dir_ + "/outside.txt";
  std::ofstream(outside) << "not evidence";
  ASSERT_EQ(::symlink(outside.c_str(), (root_ + "/tmp/" + tus_name('c')).c_str()), 0);
  testing::internal::CaptureStderr();
  auto linked = store.reopen_for_append(tus_name('c'));
  testing::internal::GetCapturedStderr();
  ASSERT_FALSE(linked.ok());
  EXPECT_EQ(linked.error().code(), Code::kInternal);
  EXPECT_EQ(read_file(outside), "not evidence");
}

TEST_F(MediaStoreTest, VerifyDetectsAnAlteredFile) {
  MediaStore store(root_);
  StoredMedia stored = store_bytes(store, "original footage");
  Result<std::string> before = store.verify(stored.sha256);
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(*before, stored.sha256);

  const std::string path = *store.path_of(stored.sha256);
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "doctored footage";
  Result<std::string> after = store.verify(stored.sha256);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, stored.sha256);
  EXPECT_EQ(*after, Sha256::hex_digest("doctored footage"));

  EXPECT_EQ(store.verify(std::string(64, '0')).error().code(), Code::kNotFound);
  EXPECT_EQ(store.verify("not-a-hash").error().code(), Code::kNotFound);
}

TEST_F(MediaStoreTest, MalformedIdsNameNoMedia) {
  MediaStore store(root_);
  StoredMedia stored = store_bytes(store, "x");
  std::string upper = stored.sha256;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<std::string> bad = {
      "",
      upper,
      stored.sha256.substr(0, 63),
      stored.sha256 + "0",
      "../../../../etc/passwd",
      std::string(62, 'a') + "/a",
      std::string(64, 'g'),
  };
  for (const std::string& id : bad) {
    auto path = store.path_of(id);
    ASSERT_FALSE(path.ok()) << id;
    EXPECT_EQ(path.error().code(), Code::kNotFound) << id;
    EXPECT_FALSE(store.exists(id)) << id;
    EXPECT_EQ(store.open_read_only(id).error().code(), Code::kNotFound) << id;
  }
  EXPECT_EQ(store.open_read_only(std::string(64, 'f')).error().code(), Code::kNotFound);
  EXPECT_FALSE(store.exists(std::string(64, 'f')));
}

TEST_F(MediaStoreTest, StaleSweepRemovesOnlyUploadParts) {
  MediaStore store(root_);
  EXPECT_EQ(*store.remove_stale_temp_files(std::chrono::seconds(0)), 0);  // no root yet
  ASSERT_TRUE(store.prepare().ok());

  auto leave = [&](TempKind kind) {
    auto w = begin(store, kind);
    EXPECT_TRUE(w && w->write("bytes").ok() && w->suspend().ok());
    return w ? w->temp_name() : std::string();
  };
  const std::string old_upload = leave(TempKind::kUpload);
  const std::string new_upload = leave(TempKind::kUpload);
  const std::string tus = leave(TempKind::kTus);
  const std::string tmp = root_ + "/tmp/";
  std::ofstream(tmp + "notes.txt") << "not ours";
  std::ofstream(tmp + "upload-foo.part") << "not a name we make";
  ASSERT_TRUE(fs::create_directory(tmp + "upload-" + std::string(32, 'd') + ".part"));

  const timespec two_hours_ago[2] = {{::time(nullptr) - 7200, 0}, {::time(nullptr) - 7200, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tmp + old_upload).c_str(), two_hours_ago, 0), 0);
  ASSERT_EQ(::utimensat(AT_FDCWD, (tmp + tus).c_str(), two_hours_ago, 0), 0);

  Result<int> removed = store.remove_stale_temp_files(std::chrono::hours(1));
  ASSERT_TRUE(removed.ok());
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(fs::exists(tmp + old_upload));
  EXPECT_TRUE(fs::exists(tmp + new_upload));

  // The startup sweep: every upload-*.part, however new; tus uploads stay resumable.
  EXPECT_EQ(*store.remove_stale_temp_files(std::chrono::seconds(0)), 1);
  const std::set<std::string> left = {"notes.txt", "upload-foo.part",
                                      "upload-" + std::string(32, 'd') + ".part", tus};
  EXPECT_EQ(temp_files(), left);

  // Tus uploads go by their own expiry.
  EXPECT_EQ(*store.remove_stale_temp_files(std::chrono::hours(3), TempKind::kTus), 0);
  EXPECT_EQ(*store.remove_stale_temp_files(std::chrono::hours(1), TempKind::kTus), 1);
  EXPECT_FALSE(fs::exists(tmp + tus));
}

// open_file hook: the real temp file, but with `target` dup2()ed over its descriptor.
OpenFileFn redirect_writes_to(const char* target, int target_flags) {
  return [target, target_flags](const std::string& path, int flags, mode_t mode) {
    const int fd = ::open(path.c_str(), flags, mode);
    if (fd < 0) return fd;
    const int other = ::open(target, target_flags | O_CLOEXEC);
    if (other < 0 || ::dup3(other, fd, O_CLOEXEC) < 0) throw std::runtime_error("dup3 failed");
    ::close(other);
    return fd;
  };
}

TEST_F(MediaStoreTest, DiskFullIsInsufficientStorage) {
  MediaStore store(root_, redirect_writes_to("/dev/full", O_WRONLY));
  auto w = begin(store);
  ASSERT_TRUE(w);
  const std::string temp_path = w->path();
  ASSERT_TRUE(fs::exists(temp_path));

  testing::internal::CaptureStderr();
  Status s = w->write(pseudo_random(100000, 8));
  const std::string log = testing::internal::GetCapturedStderr();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kInsufficientStorage);
  EXPECT_EQ(s.error().detail(), "the media store is full");
  EXPECT_EQ(s.error().detail().find(root_), std::string::npos) << "no paths for the client";
  EXPECT_NE(log.find(temp_path), std::string::npos) << "the path belongs in the log: " << log;
  EXPECT_EQ(w->size(), 0u);  // nothing reached the disk, and the writer says so

  w.reset();  // the handler gives up: nothing half-written stays behind
  EXPECT_FALSE(fs::exists(temp_path));
  EXPECT_TRUE(temp_files().empty());
}

TEST_F(MediaStoreTest, OtherIoErrorsAreInternal) {
  // A read-only descriptor makes write() fail with EBADF: an environment failure, not "full".
  MediaStore store(root_, redirect_writes_to("/dev/null", O_RDONLY));
  auto w = begin(store);
  ASSERT_TRUE(w);
  testing::internal::CaptureStderr();
  Status s = w->write("bytes");
  testing::internal::GetCapturedStderr();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code(), Code::kInternal);
  EXPECT_EQ(s.error().detail().find(root_), std::string::npos);
  w.reset();
  EXPECT_TRUE(temp_files().empty());

  // Running out of inodes fails the open itself.
  MediaStore no_inodes(root_, [](const std::string&, int, mode_t) {
    errno = ENOSPC;
    return -1;
  });
  testing::internal::CaptureStderr();
  auto r = no_inodes.begin_write();
  testing::internal::GetCapturedStderr();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kInsufficientStorage);

  // A root that cannot be a folder fails prepare() at startup, not at the first upload.
  std::ofstream(dir_ + "/file") << "x";
  MediaStore broken(dir_ + "/file/media");
  testing::internal::CaptureStderr();
  Status prepared = broken.prepare();
  testing::internal::GetCapturedStderr();
  ASSERT_FALSE(prepared.ok());
  EXPECT_EQ(prepared.error().code(), Code::kInternal);
}

}  // namespace
}  // namespace cw::store
