// HashIndex: the multi-index hash over stored PDQ frame hashes (see hash_index.hpp), and the
// linear scan it is checked and measured against.
#include "pipeline/hash_index.hpp"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <mutex>

namespace cw::pipeline {
namespace {

using detail::distance;
using detail::pack;
using detail::PackedHash;

PdqHash unpack(const PackedHash& packed) {
  PdqHash hash;
  std::memcpy(hash.words.data(), packed.w, sizeof packed.w);
  return hash;
}

uint16_t slot_value(const PackedHash& h, int slot) {
  return static_cast<uint16_t>(h.w[slot >> 2] >> (16 * (slot & 3)));
}

// Appends to `hits` the positions in bucket[0..n) whose hash is within `radius` of `query`. The
// hashes sit at random places in a large array, so the loop asks for a few of them ahead.
CW_POPCNT_CLONES
void verify_bucket(const uint32_t* bucket, std::size_t n, const PackedHash* hashes,
                   const PackedHash& query, int radius, std::vector<uint32_t>& hits) {
  constexpr std::size_t kAhead = 8;
  for (std::size_t i = 0; i < n; ++i) {
    if (i + kAhead < n) __builtin_prefetch(&hashes[bucket[i + kAhead]]);
    if (distance(hashes[bucket[i]], query) <= radius) hits.push_back(bucket[i]);
  }
}

CW_POPCNT_CLONES
void scan_all(const PackedHash* hashes, std::size_t n, const PackedHash& query, int radius,
              std::vector<uint32_t>& hits) {
  for (std::size_t i = 0; i < n; ++i) {
    if (distance(hashes[i], query) <= radius) hits.push_back(static_cast<uint32_t>(i));
  }
}

// Buckets grow by half rather than doubling: at 10 M entries the spare capacity is hundreds of MB.
void push_bucket(std::vector<uint32_t>& bucket, uint32_t position) {
  if (bucket.size() == bucket.capacity()) bucket.reserve(bucket.size() + bucket.size() / 2 + 4);
  bucket.push_back(position);
}

bool by_distance_media_pts(const IndexMatch& a, const IndexMatch& b) {
  if (a.distance != b.distance) return a.distance < b.distance;
  if (a.media_id != b.media_id) return a.media_id < b.media_id;
  return a.pts_ms < b.pts_ms;
}

}  // namespace

HashIndex::HashIndex() : buckets_(kSlots * kBucketsPerSlot) {}

std::shared_lock<std::shared_mutex> HashIndex::lock_for_read() const {
  { std::lock_guard gate(writer_gate_); }  // waits while a writer is waiting or writing
  return std::shared_lock(mutex_);
}

std::unique_lock<std::shared_mutex> HashIndex::lock_for_write() {
  std::lock_guard gate(writer_gate_);  // new readers stop at the gate...
  return std::unique_lock(mutex_);     // ...while the ones inside finish
}

void HashIndex::add(int64_t media_id, int64_t pts_ms, const PdqHash& hash) {
  auto lock = lock_for_write();
  add_locked(media_id, pts_ms, hash);
}

void HashIndex::add_media(int64_t media_id, std::span<const IndexedFrame> frames) {
  auto lock = lock_for_write();
  for (const auto& frame : frames) add_locked(media_id, frame.pts_ms, frame.hash);
}

void HashIndex::replace_media(int64_t media_id, std::span<const IndexedFrame> frames) {
  auto lock = lock_for_write();
  remove_locked(media_id);
  for (const auto& frame : frames) add_locked(media_id, frame.pts_ms, frame.hash);
}

std::size_t HashIndex::remove_media(int64_t media_id) {
  auto lock = lock_for_write();
  return remove_locked(media_id);
}

void HashIndex::add_locked(int64_t media_id, int64_t pts_ms, const PdqHash& hash) {
  assert(media_id != kNoMedia);
  const PackedHash packed = pack(hash);
  uint32_t position;
  if (!free_.empty()) {
    position = free_.back();
    free_.pop_back();
    hashes_[position] = packed;
    media_[position] = media_id;
    pts_ms_[position] = pts_ms;
  } else {
    assert(hashes_.size() < std::numeric_limits<uint32_t>::max());
    position = static_cast<uint32_t>(hashes_.size());
    hashes_.push_back(packed);
    media_.push_back(media_id);
    pts_ms_.push_back(pts_ms);
  }
  for (int s = 0; s < kSlots; ++s) push_bucket(bucket(s, slot_value(packed, s)), position);
}

std::size_t HashIndex::remove_locked(int64_t media_id) {
  if (media_id == kNoMedia) return 0;
  std::size_t removed = 0;
  for (std::size_t p = 0; p < media_.size(); ++p) {
    if (media_[p] != media_id) continue;
    const auto position = static_cast<uint32_t>(p);
    for (int s = 0; s < kSlots; ++s) {
      auto& b = bucket(s, slot_value(hashes_[p], s));
      const auto it = std::find(b.begin(), b.end(), position);
      assert(it != b.end());
      *it = b.back();  // order inside a bucket does not matter
      b.pop_back();
    }
    media_[p] = kNoMedia;
    free_.push_back(position);
    ++removed;
  }
  return removed;
}

std::size_t HashIndex::size() const {
  auto lock = lock_for_read();
  return hashes_.size() - free_.size();
}

std::size_t HashIndex::memory_bytes() const {
  auto lock = lock_for_read();
  std::size_t bytes = hashes_.capacity() * sizeof(PackedHash) +
                      media_.capacity() * sizeof(int64_t) + pts_ms_.capacity() * sizeof(int64_t) +
                      free_.capacity() * sizeof(uint32_t) +
                      buckets_.capacity() * sizeof(std::vector<uint32_t>);
  for (const auto& b : buckets_) bytes += b.capacity() * sizeof(uint32_t);
  return bytes;
}

void HashIndex::reserve(std::size_t entries) {
  auto lock = lock_for_write();
  hashes_.reserve(entries);
  media_.reserve(entries);
  pts_ms_.reserve(entries);
}

void HashIndex::shrink_to_fit() {
  auto lock = lock_for_write();
  hashes_.shrink_to_fit();
  media_.shrink_to_fit();
  pts_ms_.shrink_to_fit();
  free_.shrink_to_fit();
  for (auto& b : buckets_) b.shrink_to_fit();
}

std::vector<IndexMatch> HashIndex::query(const PdqHash& hash, int radius,
                                         std::optional<int64_t> exclude_media) const {
  if (radius < 0) return {};
  auto lock = lock_for_read();
  if (radius > kMaxRadius) return linear_scan_locked(hash, radius, exclude_media);
  const PackedHash packed = pack(hash);
  const bool probe_neighbours = radius / kSlots >= 1;  // ⌊r/16⌋ is 0 or 1 for r ≤ 31
  std::vector<uint32_t> hits;
  for (int s = 0; s < kSlots; ++s) {
    const uint16_t value = slot_value(packed, s);
    const auto& exact = bucket(s, value);
    verify_bucket(exact.data(), exact.size(), hashes_.data(), packed, radius, hits);
    if (!probe_neighbours) continue;
    for (int bit = 0; bit < 16; ++bit) {
      const auto& near = bucket(s, static_cast<uint16_t>(value ^ (1u << bit)));
      verify_bucket(near.data(), near.size(), hashes_.data(), packed, radius, hits);
    }
  }
  // A close entry shows up in every slot where it is near the query: count it once.
  std::sort(hits.begin(), hits.end());
  hits.erase(std::unique(hits.begin(), hits.end()), hits.end());
  std::vector<IndexMatch> matches;
  matches.reserve(hits.size());
  for (const uint32_t p : hits) {
    if (exclude_media && media_[p] == *exclude_media) continue;
    matches.push_back({media_[p], pts_ms_[p], distance(hashes_[p], packed)});
  }
  std::sort(matches.begin(), matches.end(), by_distance_media_pts);
  return matches;
}

std::vector<IndexMatch> HashIndex::linear_scan(const PdqHash& hash, int radius,
                                               std::optional<int64_t> exclude_media) const {
  if (radius < 0) return {};
  auto lock = lock_for_read();
  return linear_scan_locked(hash, radius, exclude_media);
}

std::vector<IndexMatch> HashIndex::linear_scan_locked(const PdqHash& hash, int radius,
                                                      std::optional<int64_t> exclude_media) const {
  const PackedHash packed = pack(hash);
  std::vector<uint32_t> hits;
  scan_all(hashes_.data(), hashes_.size(), packed, radius, hits);
  std::vector<IndexMatch> matches;
  for (const uint32_t p : hits) {
    if (media_[p] == kNoMedia) continue;  // a free position keeps its old hash
    if (exclude_media && media_[p] == *exclude_media) continue;
    matches.push_back({media_[p], pts_ms_[p], hamming(hash, unpack(hashes_[p]))});
  }
  std::sort(matches.begin(), matches.end(), by_distance_media_pts);
  return matches;
}

}  // namespace cw::pipeline
