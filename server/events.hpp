// Live events for GET /api/v1/events (Server-Sent Events, text/event-stream).
//
// The events are the rows of the database's outbox (store/events.hpp), which triggers write in
// the transaction of each change, whichever process made it. One thread per server (the hub):
//   - wakes when the change feed says the outbox grew (topic kEvents), and at least every second;
//   - reads the new rows in id order. An id missing below a newer one belongs to a transaction
//     that has not committed yet: the newer rows wait for it up to kGapWait, then go out without
//     it (a late row is still sent when it appears);
//   - renders each event's object once per organisation that listens, as a member of it may see
//     it (the same repositories and JSON as the GET routes); an object a caller may not see is
//     not sent to that caller at all;
//   - writes "id: N\nevent: TYPE\ndata: {"type","id","at","object"}\n\n" to each stream;
//   - sends a heartbeat comment to streams idle for [server] event_heartbeat_s;
//   - ends the streams of tokens that were revoked (looked at when the access topic moves, so
//     within the change feed's notification time).
// A stream that resumes (Last-Event-ID: N) first gets the stored events after N; when N is older
// than what is kept ([server] event_retention_hours) an event `reset` says that some were lost.
// A stream's queue is bounded ([server] event_queue_kb): a client that does not read is cut off,
// never buffered without limit (server.cpp's SessionSink).
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "common/config.hpp"
#include "common/error.hpp"
#include "server/http.hpp"
#include "server/metrics.hpp"
#include "store/change_feed.hpp"
#include "store/database.hpp"
#include "store/users.hpp"

namespace cw::server {

class EventHub {
 public:
  static constexpr std::chrono::seconds kGapWait{2};

  // Starts the thread. REQUIRES: db, feed and config outlive the hub.
  EventHub(store::Database& db, store::ChangeFeed& feed, const Config& config);
  ~EventHub();  // ends every stream, stops the thread
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  // A stream for `who`, resuming after `last_event_id` when given (else from now on).
  // kTooManyRequests when the token holds max_event_streams_per_token streams already.
  Result<std::shared_ptr<ResponseStream>> open(const store::Principal& who,
                                               std::optional<int64_t> last_event_id);
  // Streams open now.
  size_t streams() const;
  // Deletes stored events older than the retention; how many (the server runs it periodically).
  Result<int64_t> prune();

  struct Core;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace cw::server
