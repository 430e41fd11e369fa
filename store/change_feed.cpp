// The change feed's listening thread (store/change_feed.hpp).
#include "store/change_feed.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <system_error>

#include "common/log.hpp"
#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

constexpr const char* kChannel = "cw_changes";

using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& c, std::function<void(const std::string&)> on_change)
      : pqxx::notification_receiver(c, kChannel), on_change_(std::move(on_change)) {}
  void operator()(const std::string& payload, int) override { on_change_(payload); }

 private:
  std::function<void(const std::string&)> on_change_;
};

}  // namespace

struct ChangeFeed::Impl {
  int stop_fd = -1;  // eventfd: written once by the destructor
  // Declared before the receiver: the receiver must go first (it unregisters from the conn).
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;

  void drop() noexcept {
    try {
      receiver.reset();
    } catch (...) {
    }
    try {
      conn.reset();
    } catch (...) {
    }
  }
  // Waits up to `timeout` for the socket (when >= 0) to be readable or for the stop signal.
  // True when stopping.
  bool wait(int sock, std::chrono::milliseconds timeout) const {
    pollfd fds[2] = {{stop_fd, POLLIN, 0}, {sock, POLLIN, 0}};
    const int n = sock >= 0 ? 2 : 1;
    const int ms = static_cast<int>(std::max<int64_t>(0, timeout.count()));
    while (::poll(fds, n, ms) < 0 && errno == EINTR) {
    }
    return (fds[0].revents & POLLIN) != 0;
  }
};

std::array<bool, ChangeFeed::kTopics> ChangeFeed::topics_of(const std::string& table) {
  std::array<bool, kTopics> t{};
  const auto set = [&t](Topic topic) { t[static_cast<size_t>(topic)] = true; };
  if (table == "organisations" || table == "api_tokens") {
    set(Topic::kAccess);
  } else if (table == "users") {
    set(Topic::kAccess);
    set(Topic::kObservations);
  } else if (table == "observations" || table == "convoy_edits") {
    set(Topic::kObservations);
  } else if (table == "geo_regions") {
    set(Topic::kObservations);
    set(Topic::kGeodata);
  } else if (table == "geo_layers") {
    set(Topic::kGeodata);
  } else if (table == "imagery") {
    set(Topic::kImagery);
  } else if (table == "events") {
    set(Topic::kEvents);
  } else {
    t.fill(true);
  }
  return t;
}

ChangeFeed::ChangeFeed(Database& db, Options options)
    : db_(db), options_(options), impl_(std::make_unique<Impl>()) {
  impl_->stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (impl_->stop_fd < 0) throw std::system_error(errno, std::generic_category(), "eventfd");
  thread_ = std::thread([this] { run(); });
}

ChangeFeed::~ChangeFeed() {
  const uint64_t one = 1;
  if (::write(impl_->stop_fd, &one, sizeof one) != sizeof one) {
    log::error("could not signal the change feed to stop", {{"errno", errno}});
  }
  thread_.join();
  impl_->drop();
  ::close(impl_->stop_fd);
}

void ChangeFeed::bump(const std::array<bool, kTopics>& which) {
  for (size_t i = 0; i < kTopics; ++i) {
    if (which[i]) versions_[i].fetch_add(1, std::memory_order_acq_rel);
  }
}

void ChangeFeed::touch() {
  std::array<bool, kTopics> all{};
  all.fill(true);
  bump(all);
}

bool ChangeFeed::live() const {
  return listening_.load(std::memory_order_acquire) &&
         now_ms() - heard_at_ms_.load(std::memory_order_acquire) < options_.stale_after.count();
}

bool ChangeFeed::wait_live(std::chrono::milliseconds timeout) const {
  const auto deadline = Clock::now() + timeout;
  while (!live()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

uint64_t ChangeFeed::version(Topic topic) const {
  // The version is read before live(): a reconnection in between moves it on, so an answer
  // stored under it is never served as current. (Every connection moves it on before the feed
  // is live, so a live version is at least 1.)
  const uint64_t v = versions_[static_cast<size_t>(topic)].load(std::memory_order_acquire);
  return live() ? v : 0;
}

void ChangeFeed::run() {
  Impl& im = *impl_;
  Database::Impl& pool = db_.impl();
  bool warned = false;
  int64_t pinged_at = 0;
  for (;;) {
    if (!im.conn) {
      try {
        im.conn = pool.open();  // watched by the pool's watchdog while it sets up the session
        im.receiver = std::make_unique<Receiver>(
            *im.conn, [this](const std::string& table) { bump(topics_of(table)); });
        // Whatever changed while nobody listened is unknown: every topic moves on.
        touch();
        pinged_at = now_ms();
        heard_at_ms_.store(pinged_at, std::memory_order_release);
        listening_.store(true, std::memory_order_release);
        if (warned) log::info("the change feed listens again; read caches resume");
        warned = false;
      } catch (const std::exception& e) {
        im.drop();
        if (!warned) {
          log::warn("the change feed cannot listen; read caches are off until it can",
                    {{"error", e.what()}});
          warned = true;
        }
        if (im.wait(-1, options_.reconnect_delay)) return;
        continue;
      }
    }
    const auto until_ping =
        std::chrono::milliseconds(pinged_at + options_.heartbeat.count() - now_ms());
    if (im.wait(im.conn->sock(), until_ping)) return;
    try {
      // Reads what arrived and calls the receiver for each notification.
      if (im.conn->get_notifs() > 0) heard_at_ms_.store(now_ms(), std::memory_order_release);
      if (now_ms() - pinged_at >= options_.heartbeat.count()) {
        // A round trip proves the server is there. The watchdog cuts it off if it is not.
        const uint64_t watch = pool.watchdog.watch(im.conn->sock());
        try {
          pqxx::nontransaction tx(*im.conn);
          tx.exec("SELECT 1");
        } catch (...) {
          pool.watchdog.unwatch(watch);
          throw;
        }
        if (pool.watchdog.unwatch(watch)) throw pqxx::broken_connection("no answer");
        pinged_at = now_ms();
        heard_at_ms_.store(pinged_at, std::memory_order_release);
        // Notifications that came in with the answer wait in libpq's buffer, not on the socket.
        im.conn->get_notifs();
      }
      if (!im.conn->is_open()) throw pqxx::broken_connection("the connection closed");
    } catch (const std::exception& e) {
      listening_.store(false, std::memory_order_release);
      im.drop();
      log::warn("the change feed lost its connection; read caches are off until it is back",
                {{"error", e.what()}});
      warned = true;
    }
  }
}

}  // namespace cw::store
