// An in-memory multi-index hash (Norouzi et al., "Fast search in Hamming space with multi-index
// hashing") over the PDQ frame hashes of every analysed media, for "which stored frames are within
// distance r of this hash?" without scanning them all.
//
// The 256 bits are cut into 16 slots of 16 bits (PdqHash::words). Two hashes within distance r
// differ in at least one slot by at most ⌊r/16⌋ bits (pigeonhole: 16 slots each differing by more
// would make more than r bits), so a query looks, per slot, at the stored hashes whose slot value
// is the query's or within ⌊r/16⌋ bits of it (1 + 16 values for r ≤ 31), and checks each candidate
// with the full hamming distance. Results are exact: the same as linear_scan() over the same data.
//
// Ownership and memory: the index owns copies of the hashes. Per entry it keeps the hash (32 B),
// the caller's media id and pts (8 B each) and one uint32 position in one bucket per slot (64 B):
// about 112 B per stored frame plus 25 MB of bucket headers, so ~1.1 GB for 10 M frames. The
// position of a removed entry is reused by later adds; nothing is ever compacted.
//
// Thread safety: every method is safe to call concurrently. A std::shared_mutex lets any number
// of readers (query, linear_scan, size, memory_bytes) run together; writers (add, add_media,
// replace_media, remove_media, reserve, shrink_to_fit) take it exclusively. Writers go first:
// glibc's rwlock prefers readers, so a steady stream of overlapping queries would hold a writer
// off for ever; a gate mutex that a waiting writer holds stops new readers until it has written.
// Writes are short (add_media: about a microsecond per frame; remove_media scans the media ids,
// ~10 ms at 10 M entries), so a query waits at most for the writes already waiting.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <vector>

#include "pipeline/pdq.hpp"

namespace cw::pipeline {

// One frame to store: its presentation time and hash. The caller keeps frames of quality < 50 out
// (they match everything flat and nothing useful).
struct IndexedFrame {
  int64_t pts_ms = 0;
  PdqHash hash;
};

struct IndexMatch {
  int64_t media_id = 0;
  int64_t pts_ms = 0;
  int distance = 0;  // hamming distance to the query, 0..radius

  bool operator==(const IndexMatch&) const = default;
};

namespace detail {
// A hash as four 64-bit words (PdqHash::words[4i..4i+3] in word i, little-endian), aligned so that
// one hash never straddles two cache lines.
struct alignas(32) PackedHash {
  uint64_t w[4];
};

inline PackedHash pack(const PdqHash& hash) {
  static_assert(sizeof(PackedHash) == sizeof(hash.words));
  PackedHash packed;
  std::memcpy(packed.w, hash.words.data(), sizeof packed.w);
  return packed;
}

inline int distance(const PackedHash& a, const PackedHash& b) {
  return std::popcount(a.w[0] ^ b.w[0]) + std::popcount(a.w[1] ^ b.w[1]) +
         std::popcount(a.w[2] ^ b.w[2]) + std::popcount(a.w[3] ^ b.w[3]);
}
}  // namespace detail

// The distance loops are built twice, for CPUs with and without the POPCNT instruction, and the
// loader picks one (GCC function multi-versioning): Debian's x86-64 baseline has no POPCNT, and
// without it std::popcount is a libgcc call per word, about three times slower.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define CW_POPCNT_CLONES __attribute__((target_clones("popcnt", "default")))
#else
#define CW_POPCNT_CLONES
#endif

class HashIndex {
 public:
  // The largest radius the pigeonhole probing serves (two probes per slot bit, ⌊31/16⌋ = 1).
  // PDQ's match distance is 31; query() with a larger radius falls back to a linear scan.
  static constexpr int kMaxRadius = 31;
  // Media ids are the caller's; this one marks a free position and may not be used.
  static constexpr int64_t kNoMedia = std::numeric_limits<int64_t>::min();

  HashIndex();
  HashIndex(const HashIndex&) = delete;
  HashIndex& operator=(const HashIndex&) = delete;

  // Stores one frame hash of media_id.
  // REQUIRES: media_id != kNoMedia; fewer than 2^32 - 1 entries stored.
  void add(int64_t media_id, int64_t pts_ms, const PdqHash& hash);
  // Stores frames of media_id under one lock (loading at start, or after an analysis).
  void add_media(int64_t media_id, std::span<const IndexedFrame> frames);
  // remove_media then add_media under one lock: readers see the old or the new frames, never a
  // mix. For re-analysis, which replaces a media's frames.
  void replace_media(int64_t media_id, std::span<const IndexedFrame> frames);
  // Removes every entry of media_id and returns how many there were.
  std::size_t remove_media(int64_t media_id);

  // Stored entries (removed ones not counted).
  std::size_t size() const;
  // Bytes the index holds in its arrays (capacities, bucket headers included; the allocator's
  // own overhead per bucket, ~16 B × 1 M, is not).
  std::size_t memory_bytes() const;
  // Makes room for `entries` in total so a bulk load does not reallocate the entry arrays.
  void reserve(std::size_t entries);
  // Gives back the spare capacity of the entry arrays and of every bucket (after a bulk load).
  void shrink_to_fit();

  // Every stored entry within `radius` of `hash`, except those of exclude_media, ordered by
  // distance, then media id, then pts. radius < 0 gives nothing.
  std::vector<IndexMatch> query(const PdqHash& hash, int radius = kMaxRadius,
                                std::optional<int64_t> exclude_media = std::nullopt) const;
  // The same answer by comparing the query with every stored hash: the benchmark's baseline and
  // the tests' oracle.
  std::vector<IndexMatch> linear_scan(const PdqHash& hash, int radius = kMaxRadius,
                                      std::optional<int64_t> exclude_media = std::nullopt) const;

 private:
  static constexpr int kSlots = 16;
  static constexpr std::size_t kBucketsPerSlot = 65536;

  std::shared_lock<std::shared_mutex> lock_for_read() const;
  std::unique_lock<std::shared_mutex> lock_for_write();
  void add_locked(int64_t media_id, int64_t pts_ms, const PdqHash& hash);
  std::size_t remove_locked(int64_t media_id);
  std::vector<IndexMatch> linear_scan_locked(const PdqHash& hash, int radius,
                                             std::optional<int64_t> exclude_media) const;
  std::vector<uint32_t>& bucket(int slot, uint16_t value) {
    return buckets_[static_cast<std::size_t>(slot) * kBucketsPerSlot + value];
  }
  const std::vector<uint32_t>& bucket(int slot, uint16_t value) const {
    return buckets_[static_cast<std::size_t>(slot) * kBucketsPerSlot + value];
  }

  mutable std::shared_mutex mutex_;
  // Held by a writer while it waits for mutex_; readers pass through it first (writer preference).
  mutable std::mutex writer_gate_;
  // Entry arrays, indexed by position. A free position has media_ == kNoMedia and is in free_.
  std::vector<detail::PackedHash> hashes_;
  std::vector<int64_t> media_;
  std::vector<int64_t> pts_ms_;
  std::vector<uint32_t> free_;
  // kSlots × 65536 buckets of positions: bucket (s, v) holds the entries whose slot s is v.
  std::vector<std::vector<uint32_t>> buckets_;
};

}  // namespace cw::pipeline
