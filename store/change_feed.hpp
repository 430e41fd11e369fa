// What has changed in the database, for readers that keep answers in memory (the server's token
// and list caches). A thread LISTENs on cw_changes (migration 0010: every statement that changes
// a table the caches draw on notifies it with the table's name, at commit) over a connection of
// its own and counts the changes per topic.
//
// A cache stores an answer with the version() it read before going to the database, and serves
// it again only while version() is the same. Changes made by this process are told with
// touch() as soon as they are committed, so a client never reads an answer older than its own
// write; changes by other processes arrive with their notification (milliseconds).
//
// The feed vouches for nothing (version() is 0) while it is not listening, and when it
// has not heard from the server for `stale_after`: it sends a heartbeat every `heartbeat`, so a
// server that went silent (a frozen process, a dropped network) stops the caches within
// stale_after, and notifications lost meanwhile cannot leave an old answer in use. After a
// reconnection every topic moves on.
//
// Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "store/database.hpp"

namespace cw::store {

class ChangeFeed {
 public:
  enum class Topic {
    kAccess,        // organisations, users, api_tokens: who a token is
    kObservations,  // observations, and the user and region names their listing shows
    kEvents,        // the events outbox (migration 0012): live events to send
    kGeodata,       // geo_layers, geo_regions (migration 0013): the map's base layers
    kImagery,       // imagery (migration 0013): footprints on the map
  };
  static constexpr size_t kTopics = 5;

  struct Options {
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds stale_after{3000};
    std::chrono::milliseconds reconnect_delay{1000};
  };

  // Starts the thread; it connects (and reconnects) by itself.
  ChangeFeed(Database& db, Options options);
  explicit ChangeFeed(Database& db) : ChangeFeed(db, Options{}) {}
  ~ChangeFeed();  // stops the thread
  ChangeFeed(const ChangeFeed&) = delete;
  ChangeFeed& operator=(const ChangeFeed&) = delete;

  // The current version of `topic`, or 0 while the feed cannot vouch for it (a live feed's
  // versions are never 0).
  uint64_t version(Topic topic) const;
  // This process committed a change: every topic moves on at once.
  void touch();
  // Listening and heard from the server within stale_after.
  bool live() const;
  // Waits up to `timeout` for live(); for start-up and tests.
  bool wait_live(std::chrono::milliseconds timeout) const;

  // The topics a table's notification moves on (all of them for a table it does not know).
  static std::array<bool, kTopics> topics_of(const std::string& table);

 private:
  struct Impl;
  void run();
  void bump(const std::array<bool, kTopics>& which);

  Database& db_;
  const Options options_;
  std::array<std::atomic<uint64_t>, kTopics> versions_{};
  std::atomic<bool> listening_{false};
  std::atomic<int64_t> heard_at_ms_{0};  // steady clock, ms
  std::unique_ptr<Impl> impl_;
  std::thread thread_;  // last: starts once the rest is built
};

}  // namespace cw::store
