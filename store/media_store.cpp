// The content-addressed evidence store: temp files, the fsync + rename commit, reopening
// resumable uploads, reads, verification and the stale temp file sweep. Every system call's
// errno is turned into an Error here; paths and errno texts go to the log, never to the client.
#include "store/media_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>
#include <vector>

#include "common/log.hpp"
#include "common/random.hpp"

namespace cw::store {

namespace internal {

// Where the SHA-256 state of a suspended tus upload waits for its next PATCH, so that N small
// PATCHes hash each byte once instead of re-reading the whole file N times. The state is kept in
// memory, not written beside the file: suspend() does not fsync, so after a crash a saved state
// could describe bytes the file no longer holds, and the commit would then record a hash that
// is not the file's. Re-reading after a restart costs one pass over the file; a state is used
// only while the file is exactly as its writer left it (inode, size, modification time).
struct MediaStoreShared {
  struct Kept {
    Sha256 sha;
    uint64_t size = 0;
    dev_t dev = 0;
    ino_t ino = 0;
    struct timespec mtime {};
    uint64_t seq = 0;
  };
  // Each state is about 300 bytes; beyond this many suspended uploads the oldest is dropped (its
  // next PATCH re-reads the file).
  static constexpr size_t kMaxKept = 4096;

  std::mutex mu;
  std::map<std::string, Kept> kept;
  uint64_t next_seq = 0;
  std::atomic<uint64_t> tus_written{0};
  std::atomic<uint64_t> tus_hashed{0};
  std::atomic<uint64_t> resumed_from_memory{0};
  std::atomic<uint64_t> resumed_by_rereading{0};

  void keep(const std::string& name, Kept k) {
    std::lock_guard lock(mu);
    k.seq = next_seq++;
    kept.insert_or_assign(name, std::move(k));
    if (kept.size() <= kMaxKept) return;
    auto oldest = std::min_element(kept.begin(), kept.end(), [](const auto& a, const auto& b) {
      return a.second.seq < b.second.seq;
    });
    kept.erase(oldest);
  }

  // The state kept for `name`, taken out (a reopened writer owns it until its suspend()).
  std::optional<Kept> take(const std::string& name) {
    std::lock_guard lock(mu);
    auto it = kept.find(name);
    if (it == kept.end()) return std::nullopt;
    Kept k = std::move(it->second);
    kept.erase(it);
    return k;
  }

  void forget(const std::string& name) {
    std::lock_guard lock(mu);
    kept.erase(name);
  }
};

}  // namespace internal

namespace {

namespace fs = std::filesystem;

constexpr mode_t kTempFileMode = 0640;
// Evidence is read-only even for the server's own user: an accidental open for writing fails.
constexpr mode_t kStoredFileMode = 0440;
constexpr mode_t kFolderMode = 0750;
constexpr size_t kTempRandomBytes = 16;
constexpr std::string_view kTempSuffix = ".part";
// Read size for re-hashing; large enough that the hash, not the system call, dominates.
constexpr size_t kReadChunk = 1 << 20;

std::string_view prefix_of(TempKind kind) {
  switch (kind) {
    case TempKind::kTus:
      return "tus-";
    case TempKind::kFetch:
      return "fetch-";
    case TempKind::kUpload:
      break;
  }
  return "upload-";
}

// The one place errno becomes an Error. The detail is safe to show to a client; what failed
// and where is logged.
Error io_error(int err, std::string_view op, const std::string& path) {
  const bool full = err == ENOSPC || err == EDQUOT;
  nlohmann::json fields = {{"op", op},
                           {"path", path},
                           {"errno", err},
                           {"error", std::error_code(err, std::generic_category()).message()}};
  if (full) {
    log::warn("media store is full", std::move(fields));
    return Error(Code::kInsufficientStorage, "the media store is full");
  }
  log::error("media store I/O error", std::move(fields));
  return Error(Code::kInternal, "the media store failed");
}

// A new directory entry is durable only once its parent folder is fsynced.
int fsync_dir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd);
  const int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// mkdir that also makes the new entry durable; an existing folder is fine.
Status make_dir_durable(const std::string& parent, const std::string& dir) {
  if (::mkdir(dir.c_str(), kFolderMode) != 0) {
    if (errno == EEXIST) return Status::Ok();
    return io_error(errno, "mkdir", dir);
  }
  if (const int err = fsync_dir(parent); err != 0) return io_error(err, "fsync", parent);
  return Status::Ok();
}

Status make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error(ec.value(), "mkdir", dir);
  return Status::Ok();
}

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

// Reads the whole file from offset 0 into `sha`; keeps the first kSniffBytes in `first` if
// given. Returns 0 or an errno.
int hash_file(int fd, Sha256& sha, uint64_t* size, std::string* first) {
  std::vector<char> buf(kReadChunk);
  uint64_t offset = 0;
  for (;;) {
    const ssize_t n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
    if (first != nullptr && first->size() < kSniffBytes) {
      first->append(buf.data(), std::min(static_cast<size_t>(n), kSniffBytes - first->size()));
    }
    offset += static_cast<uint64_t>(n);
  }
  *size = offset;
  return 0;
}

}  // namespace

// ---- MediaWriter ------------------------------------------------------------------------------

MediaWriter::MediaWriter(std::string root, std::string temp_name, int fd,
                         std::shared_ptr<internal::MediaStoreShared> shared)
    : root_(std::move(root)),
      temp_name_(std::move(temp_name)),
      path_(root_ + "/tmp/" + temp_name_),
      fd_(fd),
      shared_(std::move(shared)),
      tus_(temp_name_.starts_with(prefix_of(TempKind::kTus))) {}

MediaWriter::~MediaWriter() { abort(); }

Status MediaWriter::write(std::string_view bytes) {
  if (state_ != State::kOpen) return Error(Code::kInternal, "the upload is already finished");
  Status s = write_all(bytes);
  // Start the disk writeback of each finished 8 MiB while the rest streams in, so the fsync
  // at commit finds little left to do (it still decides durability). Only a hint: a failure
  // here shows up at fsync.
  constexpr uint64_t kWritebackStep = 8u << 20;
  if (s.ok() && size_ - writeback_from_ >= kWritebackStep) {
    ::sync_file_range(fd_, static_cast<off64_t>(writeback_from_),
                      static_cast<off64_t>(size_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
    writeback_from_ = size_;
  }
  return s;
}

Status MediaWriter::write_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(errno, "write", path_);
    }
    if (n == 0) return io_error(EIO, "write", path_);  // never for regular files; do not spin
    // Hash only what reached the file, so a failed write leaves the hash equal to the file.
    const std::string_view written = bytes.substr(0, static_cast<size_t>(n));
    sha_.update(written);
    if (tus_) {
      shared_->tus_written.fetch_add(written.size());
      shared_->tus_hashed.fetch_add(written.size());
    }
    keep_first_bytes(written);
    size_ += written.size();
    bytes.remove_prefix(written.size());
  }
  return Status::Ok();
}

void MediaWriter::keep_first_bytes(std::string_view bytes) {
  if (first_bytes_.size() >= kSniffBytes) return;
  first_bytes_.append(bytes.substr(0, kSniffBytes - first_bytes_.size()));
}

Result<StoredMedia> MediaWriter::commit() {
  if (state_ != State::kOpen) return Error(Code::kInternal, "the upload is already finished");
  Result<StoredMedia> stored = commit_open_file();
  if (!stored.ok()) {
    abort();
    return stored;
  }
  state_ = State::kCommitted;
  return stored;
}

Result<StoredMedia> MediaWriter::commit_open_file() {
  // The bytes must be on disk before the name says they are evidence.
  if (::fsync(fd_) != 0) return io_error(errno, "fsync", path_);
  if (::fchmod(fd_, kStoredFileMode) != 0) return io_error(errno, "chmod", path_);
  const int fd = fd_;
  fd_ = -1;
  // After a successful fsync, close has nothing left to report that matters, but be strict.
  if (::close(fd) != 0) return io_error(errno, "close", path_);

  StoredMedia stored{to_hex(sha_.finish()), size_, false};
  const std::string& hex = stored.sha256;
  const std::string top = root_ + "/sha256";
  const std::string mid = top + "/" + hex.substr(0, 2);
  const std::string leaf = mid + "/" + hex.substr(2, 2);
  const std::string dest = leaf + "/" + hex;

  auto drop_duplicate = [&]() -> Result<StoredMedia> {
    if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
      log::warn("could not remove a duplicate upload", {{"path", path_}, {"errno", errno}});
    }
    stored.already_existed = true;
    return stored;
  };

  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) return io_error(EEXIST, "commit (not a regular file)", dest);
    return drop_duplicate();
  }
  if (errno != ENOENT) return io_error(errno, "stat", dest);

  if (Status s = make_dir_durable(root_, top); !s.ok()) return s.error();
  if (Status s = make_dir_durable(top, mid); !s.ok()) return s.error();
  if (Status s = make_dir_durable(mid, leaf); !s.ok()) return s.error();

  // RENAME_NOREPLACE makes "already there" atomic: of two writers committing the same bytes at
  // once, exactly one gets already_existed=false, and a stored file is never replaced. File
  // systems without it (some network ones) answer EINVAL; there the lstat above has to do, and
  // a lost race replaces the file with identical bytes.
  if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) return drop_duplicate();
    if (errno != EINVAL && errno != ENOSYS) return io_error(errno, "rename", dest);
    if (::rename(path_.c_str(), dest.c_str()) != 0) return io_error(errno, "rename", dest);
  }
  if (const int err = fsync_dir(leaf); err != 0) return io_error(err, "fsync", leaf);
  return stored;
}

void MediaWriter::abort() {
  if (state_ != State::kOpen) return;
  state_ = State::kAborted;
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (::unlink(path_.c_str()) != 0 && errno != ENOENT) {
    log::warn("could not remove an aborted upload", {{"path", path_}, {"errno", errno}});
  }
}

Status MediaWriter::suspend() {
  if (state_ != State::kOpen) return Error(Code::kInternal, "the upload is already finished");
  state_ = State::kSuspended;
  const int fd = fd_;
  fd_ = -1;
  // The identity of the file as this writer leaves it, with the hash of exactly its bytes.
  struct stat st {};
  const bool known = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == size_;
  if (::close(fd) != 0) {
    shared_->forget(temp_name_);
    return io_error(errno, "close", path_);
  }
  if (known) {
    internal::MediaStoreShared::Kept k;
    k.sha = std::move(sha_);
    k.size = size_;
    k.dev = st.st_dev;
    k.ino = st.st_ino;
    k.mtime = st.st_mtim;
    shared_->keep(temp_name_, std::move(k));
  }
  return Status::Ok();
}

// ---- MediaStore -------------------------------------------------------------------------------

MediaStore::MediaStore(std::string root, OpenFileFn open_file)
    : root_(std::move(root)),
      open_file_(std::move(open_file)),
      shared_(std::make_shared<internal::MediaStoreShared>()) {}

TusHashStats MediaStore::tus_hash_stats() const {
  TusHashStats s;
  s.bytes_written = shared_->tus_written.load();
  s.bytes_hashed = shared_->tus_hashed.load();
  s.resumed_from_memory = shared_->resumed_from_memory.load();
  s.resumed_by_rereading = shared_->resumed_by_rereading.load();
  return s;
}

int MediaStore::open_file(const std::string& path, int flags, mode_t mode) const {
  if (open_file_) return open_file_(path, flags, mode);
  return ::open(path.c_str(), flags, mode);
}

Status MediaStore::prepare() const {
  if (Status s = make_dirs(root_ + "/tmp"); !s.ok()) return s;
  return make_dirs(root_ + "/sha256");
}

bool MediaStore::is_temp_name(std::string_view name) {
  std::string_view rest;
  for (TempKind kind : {TempKind::kUpload, TempKind::kTus, TempKind::kFetch}) {
    if (name.starts_with(prefix_of(kind))) rest = name.substr(prefix_of(kind).size());
  }
  if (rest.empty()) return false;
  const size_t hex_len = 2 * kTempRandomBytes;
  if (rest.size() != hex_len + kTempSuffix.size() || !rest.ends_with(kTempSuffix)) return false;
  for (char c : rest.substr(0, hex_len)) {
    if (!is_lower_hex(c)) return false;
  }
  return true;
}

Result<std::unique_ptr<MediaWriter>> MediaStore::begin_write(TempKind kind) const {
  return create_temp(kind);
}

Result<std::unique_ptr<MediaWriter>> MediaStore::create_temp(TempKind kind) const {
  const std::string dir = root_ + "/tmp";
  bool made_dirs = false;
  // 128 random bits never collide in practice; the loop only covers a missing folder and the
  // theoretical collision that O_EXCL would report.
  for (int attempt = 0; attempt < 4; ++attempt) {
    std::string name =
        std::string(prefix_of(kind)) + random_hex(kTempRandomBytes) + std::string(kTempSuffix);
    const std::string path = dir + "/" + name;
    const int fd = open_file(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kTempFileMode);
    if (fd >= 0) {
      return std::unique_ptr<MediaWriter>(new MediaWriter(root_, std::move(name), fd, shared_));
    }
    if (errno == ENOENT && !made_dirs) {
      // First upload into a fresh root: create the folders, then try again.
      if (Status s = make_dirs(dir); !s.ok()) return s.error();
      made_dirs = true;
      continue;
    }
    if (errno != EEXIST) return io_error(errno, "open", path);
  }
  return io_error(EEXIST, "open", dir);
}

Result<std::unique_ptr<MediaWriter>> MediaStore::reopen_for_append(
    const std::string& temp_name) const {
  if (!is_temp_name(temp_name)) {
    return Error(Code::kInvalidArgument, "not an upload name", "temp_name");
  }
  const std::string path = root_ + "/tmp/" + temp_name;
  const int fd = open_file(path, O_RDWR | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd < 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "the upload is gone", "temp_name");
    return io_error(errno, "open", path);
  }
  // Restore the state before any writer owns the file: a writer that failed here would abort
  // in its destructor and delete an upload the client can still resume.
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return io_error(err, "fstat", path);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return io_error(EINVAL, "reopen (not a regular file)", path);
  }
  const bool tus = temp_name.starts_with(prefix_of(TempKind::kTus));
  Sha256 sha;
  uint64_t size = 0;
  std::string first;
  std::optional<internal::MediaStoreShared::Kept> kept = shared_->take(temp_name);
  if (kept && kept->size == static_cast<uint64_t>(st.st_size) && kept->dev == st.st_dev &&
      kept->ino == st.st_ino && kept->mtime.tv_sec == st.st_mtim.tv_sec &&
      kept->mtime.tv_nsec == st.st_mtim.tv_nsec) {
    // The file is as its last writer left it: continue that hash; only the sniffing bytes are
    // read again.
    sha = std::move(kept->sha);
    size = kept->size;
    first.resize(static_cast<size_t>(std::min<uint64_t>(size, kSniffBytes)));
    size_t got = 0;
    while (got < first.size()) {
      const ssize_t n =
          ::pread(fd, first.data() + got, first.size() - got, static_cast<off_t>(got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        const int err = n < 0 ? errno : EIO;
        ::close(fd);
        return io_error(err, "read", path);
      }
      got += static_cast<size_t>(n);
    }
    if (tus) shared_->resumed_from_memory.fetch_add(1);
  } else {
    if (const int err = hash_file(fd, sha, &size, &first); err != 0) {
      ::close(fd);
      return io_error(err, "read", path);
    }
    if (tus) {
      shared_->tus_hashed.fetch_add(size);
      shared_->resumed_by_rereading.fetch_add(1);
    }
  }
  auto writer = std::unique_ptr<MediaWriter>(new MediaWriter(root_, temp_name, fd, shared_));
  writer->sha_ = std::move(sha);
  writer->size_ = size;
  writer->first_bytes_ = std::move(first);
  return writer;
}

Result<std::string> MediaStore::path_of(std::string_view sha256_hex) const {
  if (!is_sha256_hex(sha256_hex)) return Error(Code::kNotFound, "no media with this id", "sha256");
  std::string path = root_;
  path.append("/sha256/")
      .append(sha256_hex.substr(0, 2))
      .append("/")
      .append(sha256_hex.substr(2, 2))
      .append("/")
      .append(sha256_hex);
  return path;
}

bool MediaStore::exists(std::string_view sha256_hex) const {
  Result<std::string> path = path_of(sha256_hex);
  if (!path.ok()) return false;
  struct stat st {};
  return ::lstat(path->c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<int> MediaStore::open_read_only(std::string_view sha256_hex) const {
  Result<std::string> path = path_of(sha256_hex);
  if (!path.ok()) return path.error();
  const int fd = ::open(path->c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "no media with this id", "sha256");
    return io_error(errno, "open", *path);
  }
  return fd;
}

Result<std::string> MediaStore::verify(std::string_view sha256_hex) const {
  Result<int> fd = open_read_only(sha256_hex);
  if (!fd.ok()) return fd.error();
  Sha256 sha;
  uint64_t size = 0;
  const int err = hash_file(*fd, sha, &size, nullptr);
  ::close(*fd);
  if (err != 0) return io_error(err, "read", *path_of(sha256_hex));
  return to_hex(sha.finish());
}

Result<uint64_t> MediaStore::temp_size(const std::string& temp_name) const {
  if (!is_temp_name(temp_name)) {
    return Error(Code::kInvalidArgument, "not an upload name", "temp_name");
  }
  const std::string path = root_ + "/tmp/" + temp_name;
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return Error(Code::kNotFound, "the upload is gone", "temp_name");
    return io_error(errno, "stat", path);
  }
  if (!S_ISREG(st.st_mode)) return Error(Code::kNotFound, "the upload is gone", "temp_name");
  return static_cast<uint64_t>(st.st_size);
}

Status MediaStore::remove_temp(const std::string& temp_name) const {
  if (!is_temp_name(temp_name)) {
    return Error(Code::kInvalidArgument, "not an upload name", "temp_name");
  }
  const std::string path = root_ + "/tmp/" + temp_name;
  shared_->forget(temp_name);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return io_error(errno, "unlink", path);
  return Status::Ok();
}

Result<int> MediaStore::remove_stale_temp_files(std::chrono::seconds older_than,
                                                TempKind kind) const {
  const std::string dir = root_ + "/tmp";
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) {
    if (ec == std::errc::no_such_file_or_directory) return 0;  // nothing was ever uploaded
    return io_error(ec.value(), "opendir", dir);
  }
  const auto now = std::chrono::system_clock::now();
  int removed = 0;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!is_temp_name(name) || !name.starts_with(prefix_of(kind))) continue;
    const std::string path = dir + "/" + name;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const auto mtime = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) +
            std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
    if (now - mtime < older_than) continue;
    shared_->forget(name);
    if (::unlink(path.c_str()) == 0) {
      ++removed;
    } else if (errno != ENOENT) {  // ENOENT: another process swept it first
      log::warn("could not remove a stale upload", {{"path", path}, {"errno", errno}});
    }
  }
  if (ec) return io_error(ec.value(), "readdir", dir);
  return removed;
}

}  // namespace cw::store
