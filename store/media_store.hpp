// The evidence store: original media bytes, content-addressed by SHA-256, written once and
// never modified (DESIGN.md, "Evidence rules").
//
// Layout under the root folder (config `storage.root`):
//   <root>/sha256/ab/cd/<hash>   committed originals, mode 0440 (ab, cd: first hex digit pairs)
//   <root>/tmp/upload-<hex>.part an upload being streamed; removed by the startup sweep
//   <root>/tmp/tus-<hex>.part    a resumable (tus) upload; survives restarts, removed on expiry
//   <root>/tmp/fetch-<hex>.part  a download by URL; swept by workers once older than a day
// Temp files live on the same file system as the store, so the final rename is atomic: a reader
// sees either no file or the whole, fsynced file.
//
// Ownership and threads: MediaStore holds the root path, the file-opening hook and a
// mutex-guarded table of the hash states of suspended tus uploads (shared by its copies), so one
// instance may be shared by all threads. A MediaWriter is one upload; it is not thread-safe
// and belongs to one caller at a time. Pure file system and bytes: no database, no HTTP.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "common/sha256.hpp"

namespace cw::store {

// Which kind of temp file a writer uses; the kind is the file name's prefix.
enum class TempKind {
  kUpload,  // "upload-": a single-request upload, useless after a restart
  kTus,     // "tus-": a resumable upload, reopened with reopen_for_append
  kFetch,   // "fetch-": a download by a fetch_url job (a worker process may outlive the server)
};

struct StoredMedia {
  std::string sha256;  // 64 lowercase hex digits
  uint64_t size = 0;
  bool already_existed = false;  // identical bytes were already in the store
};

// How the store opens temp files: same contract as ::open (an fd, or -1 with errno set). The
// default calls ::open. It exists so tests can inject faults the way LevelDB's Env does, e.g.
// open the real file and dup2 /dev/full over it so every write fails with a genuine ENOSPC.
using OpenFileFn = std::function<int(const std::string& path, int flags, mode_t mode)>;

// The first bytes a writer keeps in memory for sniffing the container.
inline constexpr size_t kSniffBytes = 4096;

// Bytes that went through the SHA-256 of resumable (tus) temp files, since this MediaStore (and
// its copies) began. `bytes_hashed` - `bytes_written` is what reopening had to re-read.
struct TusHashStats {
  uint64_t bytes_written = 0;         // appended to tus temp files (and hashed as they went)
  uint64_t bytes_hashed = 0;          // hashed in all: bytes_written plus what reopening re-read
  uint64_t resumed_from_memory = 0;   // reopenings that continued a kept hash state
  uint64_t resumed_by_rereading = 0;  // reopenings that re-read the file (after a restart)
};

class MediaStore;
namespace internal {
struct MediaStoreShared;
}

// One upload streaming into a temp file. Finish it with exactly one of commit(), abort() or
// suspend(); if none was called, the destructor aborts, so an error or an exception on the way
// leaves nothing half-written behind.
class MediaWriter {
 public:
  ~MediaWriter();
  MediaWriter(const MediaWriter&) = delete;
  MediaWriter& operator=(const MediaWriter&) = delete;

  // Appends all of `bytes` (the caller's chunk is written as is, no extra copy) and hashes what
  // reached the file. A disk-full error (ENOSPC, EDQUOT) is kInsufficientStorage, anything else
  // kInternal; the temp path goes to the log only. After an error the writer stays consistent
  // (size() and the hash cover exactly the bytes in the file), so it can still be aborted or
  // suspended. REQUIRES: not finished.
  Status write(std::string_view bytes);

  // Bytes in the temp file so far (for tus: the Upload-Offset).
  uint64_t size() const { return size_; }
  // The first kSniffBytes bytes of the content (fewer if the content is shorter).
  const std::string& first_bytes() const { return first_bytes_; }
  // Full path of the temp file, e.g. for a pipeline stage that reads it before commit.
  std::string path() const { return path_; }
  // File name of the temp file inside <root>/tmp; persist it to call reopen_for_append later.
  const std::string& temp_name() const { return temp_name_; }

  // Makes the bytes evidence: fsyncs the file, and moves it to <root>/sha256/ab/cd/<hash> with
  // mode 0440, creating and fsyncing folders as needed. If identical bytes are already stored,
  // the temp file is removed and already_existed is true (also when another writer committed
  // the same bytes at the same moment). On failure the temp file is removed too.
  // REQUIRES: not finished.
  Result<StoredMedia> commit();

  // Closes and removes the temp file. Safe to call on a finished writer (does nothing).
  void abort();

  // Closes the temp file but keeps it, for reopen_for_append (a tus PATCH that ended). Not
  // fsynced: after a crash the tus client asks for the offset, which reopening re-reads from
  // the file. The hash state is handed to the store that made the writer, so that reopening in
  // this process continues it instead of re-reading the file. REQUIRES: not finished.
  Status suspend();

 private:
  friend class MediaStore;
  MediaWriter(std::string root, std::string temp_name, int fd,
              std::shared_ptr<internal::MediaStoreShared> shared);

  enum class State { kOpen, kCommitted, kAborted, kSuspended };

  Status write_all(std::string_view bytes);
  void keep_first_bytes(std::string_view bytes);
  Result<StoredMedia> commit_open_file();

  std::string root_;
  std::string temp_name_;
  std::string path_;
  int fd_ = -1;
  State state_ = State::kOpen;
  Sha256 sha_;
  uint64_t size_ = 0;
  uint64_t writeback_from_ = 0;  // bytes before this were handed to the disk writeback
  std::string first_bytes_;
  std::shared_ptr<internal::MediaStoreShared> shared_;
  bool tus_ = false;  // a "tus-" temp file: counted in TusHashStats
};

class MediaStore {
 public:
  // `root` is the store folder; it and its subfolders are created when first needed.
  // `open_file` replaces ::open for temp files (tests only); empty means ::open.
  explicit MediaStore(std::string root, OpenFileFn open_file = {});

  const std::string& root() const { return root_; }

  // Creates <root>, <root>/tmp and <root>/sha256 if missing, so that a wrong or read-only root
  // fails at server start rather than at the first upload. Calling it is optional.
  Status prepare() const;

  // A new temp file <root>/tmp/<prefix>-<32 random hex>.part, created exclusively, mode 0640.
  Result<std::unique_ptr<MediaWriter>> begin_write(TempKind kind = TempKind::kUpload) const;

  // Reopens a temp file left by suspend() (or by a process that died) and restores the hash
  // state, so writing continues where the file ends: from the state suspend() left with this
  // store (or a copy of it) when the file is still exactly as that writer left it (same inode,
  // size and modification time), else by re-reading the file's bytes (after a restart, after
  // another process appended, or when the kept states were full). `temp_name` must
  // be a name this store generates (no folders): anything else is kInvalidArgument, so a
  // client-controlled name can never reach outside <root>/tmp. kNotFound when the file is gone.
  // REQUIRES: no other writer has the same temp file open (the tus handler locks the upload).
  Result<std::unique_ptr<MediaWriter>> reopen_for_append(const std::string& temp_name) const;

  // <root>/sha256/ab/cd/<hash>, whether or not it exists. kNotFound unless `sha256_hex` is 64
  // lowercase hex digits (a malformed id names no media).
  Result<std::string> path_of(std::string_view sha256_hex) const;
  bool exists(std::string_view sha256_hex) const;
  // A read-only fd (O_CLOEXEC) the caller must close; kNotFound when missing or malformed.
  Result<int> open_read_only(std::string_view sha256_hex) const;
  // Re-reads the stored file and returns the SHA-256 of what is on disk now; it differs from
  // `sha256_hex` when the evidence was altered. kNotFound when missing or malformed.
  Result<std::string> verify(std::string_view sha256_hex) const;

  // Removes <root>/tmp files of `kind` whose last change is at least `older_than` ago and
  // returns how many went. Server start calls it with 0 s and kUpload (such uploads cannot be
  // resumed); tus uploads are swept with kTus and their expiry. Files whose names this store
  // would not generate are left alone.
  Result<int> remove_stale_temp_files(std::chrono::seconds older_than,
                                      TempKind kind = TempKind::kUpload) const;

  // Size of a temp file (a tus upload's offset) without reading it. kInvalidArgument for a name
  // this store would not generate, kNotFound when it is gone.
  Result<uint64_t> temp_size(const std::string& temp_name) const;
  // Deletes a temp file (a terminated or expired tus upload); ok when it is already gone.
  Status remove_temp(const std::string& temp_name) const;

  // What the hashing of tus temp files cost so far (shared by the copies of this store).
  TusHashStats tus_hash_stats() const;

  // True for names begin_write generates: "upload-", "tus-" or "fetch-", 32 lowercase hex,
  // ".part".
  static bool is_temp_name(std::string_view name);

 private:
  Result<std::unique_ptr<MediaWriter>> create_temp(TempKind kind) const;
  int open_file(const std::string& path, int flags, mode_t mode) const;

  std::string root_;
  OpenFileFn open_file_;
  // The hash states of suspended uploads and the counters; shared by copies of the store.
  std::shared_ptr<internal::MediaStoreShared> shared_;
};

}  // namespace cw::store
