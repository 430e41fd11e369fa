// Answers kept in memory while the change feed vouches that nothing they were read from has
// changed (store/change_feed.hpp): who a bearer token is, and pages of the observation list.
// Every request used to cost a token lookup, and a list page a query with two joins and its
// JSON; a dashboard polling the same page now costs neither until an observation changes.
//
// Entries are keyed by text, stored with the topic version read before the database was asked,
// and served only while that version is current (and for at most max_age, a bound on the harm
// of anything the feed missed). Bounded by bytes; the least recently used go first. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.hpp"
#include "server/http.hpp"
#include "server/metrics.hpp"
#include "store/change_feed.hpp"
#include "store/users.hpp"

namespace cw::server {

template <typename Value>
class VersionedCache {
 public:
  using Clock = std::chrono::steady_clock;

  VersionedCache(size_t max_bytes, Clock::duration max_age)
      : max_bytes_(max_bytes), max_age_(max_age) {}

  // The value stored under `key` with `version`, if it is still fresh.
  std::optional<Value> get(const std::string& key, uint64_t version) {
    const std::lock_guard lock(mu_);
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    const auto entry = it->second;
    if (entry->version != version || Clock::now() - entry->stored_at > max_age_) {
      erase(entry);
      return std::nullopt;
    }
    entries_.splice(entries_.begin(), entries_, entry);  // most recently used first
    return entry->value;
  }

  // Stores `value` (about `bytes` in memory) read under `version`. Values larger than an
  // eighth of the cache are not kept.
  void put(const std::string& key, Value value, uint64_t version, size_t bytes) {
    bytes += key.size() + sizeof(Entry) + 64;
    if (bytes > max_bytes_ / 8) return;
    const std::lock_guard lock(mu_);
    if (const auto it = index_.find(key); it != index_.end()) {
      // A newer version wins; an answer read under an older one is never put back.
      if (it->second->version > version) return;
      erase(it->second);
    }
    while (!entries_.empty() && bytes_ + bytes > max_bytes_) erase(std::prev(entries_.end()));
    entries_.push_front(Entry{key, std::move(value), version, bytes, Clock::now()});
    index_.emplace(key, entries_.begin());
    bytes_ += bytes;
  }

  size_t bytes() const {
    const std::lock_guard lock(mu_);
    return bytes_;
  }

 private:
  struct Entry {
    std::string key;
    Value value;
    uint64_t version;
    size_t bytes;
    Clock::time_point stored_at;
  };
  using Iterator = typename std::list<Entry>::iterator;

  void erase(Iterator entry) {
    bytes_ -= entry->bytes;
    index_.erase(entry->key);
    entries_.erase(entry);
  }

  const size_t max_bytes_;
  const Clock::duration max_age_;
  mutable std::mutex mu_;
  std::list<Entry> entries_;                         // guarded by mu_
  std::unordered_map<std::string, Iterator> index_;  // guarded by mu_
  size_t bytes_ = 0;                                 // guarded by mu_
};

// The server's read caches and the feed they follow.
struct ReadCaches {
  ReadCaches(store::ChangeFeed& f, size_t max_bytes)
      : feed(f), tokens(max_bytes / 8, kMaxAge), lists(max_bytes - max_bytes / 8, kMaxAge) {}

  static constexpr std::chrono::seconds kMaxAge{60};

  store::ChangeFeed& feed;
  // SHA-256 of the token (never the token itself) -> who it is.
  VersionedCache<store::Principal> tokens;
  // Format and query string -> the whole reply of GET /api/v1/observations.
  VersionedCache<Reply> lists;
};

// The one way through a read cache: `load()` answered from `cache` under the current version of
// `topic` when it can be, else asked and (when ok) kept with the size `bytes_of` gives it. The
// key is made only when the feed vouches (for tokens it costs a SHA-256). Without caches it is
// load(). Every look-up is counted in /metrics under `name`.
template <typename Value, typename MakeKey, typename Load, typename BytesOf>
Result<Value> read_through(ReadCaches* caches, VersionedCache<Value> ReadCaches::*cache,
                           store::ChangeFeed::Topic topic, Metrics& metrics, std::string_view name,
                           MakeKey make_key, Load load, BytesOf bytes_of) {
  if (caches == nullptr) return load();
  const uint64_t version = caches->feed.version(topic);
  if (version == 0) {
    metrics.cache_lookup(name, false);
    return load();
  }
  const std::string key = make_key();
  VersionedCache<Value>& store = caches->*cache;
  std::optional<Value> hit = store.get(key, version);
  metrics.cache_lookup(name, hit.has_value());
  if (hit) return std::move(*hit);
  Result<Value> loaded = load();
  if (loaded.ok()) store.put(key, *loaded, version, bytes_of(*loaded));
  return loaded;
}

}  // namespace cw::server
