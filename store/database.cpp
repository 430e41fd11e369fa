// Connection pool and the mapping of database failures to error values.
#include "store/database.hpp"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fmt/format.h>
#include <libpq-fe.h>

#include "store/internal/pool.hpp"

namespace cw::store {

namespace {

// libpq takes either a URI or key=value words; connect_timeout is added in the matching form.
std::string with_connect_timeout(const std::string& url, int seconds) {
  if (url.find("connect_timeout") != std::string::npos) return url;
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return url + (url.find('?') == std::string::npos ? "?" : "&") +
           fmt::format("connect_timeout={}", seconds);
  }
  return url + fmt::format(" connect_timeout={}", seconds);
}

constexpr int kNoStatementTimeoutPatienceMs = 30000;
constexpr int kPatienceGraceMs = 1000;

// The SSLRequest packet: its length (8), then the request code 1234 << 16 | 5679, big-endian.
constexpr std::array<unsigned char, 8> kSslRequest = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};

// The first of a comma-separated list ("h1,h2"): libpq tries the hosts in that order.
std::string first_of(const char* list) {
  if (list == nullptr) return "";
  const std::string_view v(list);
  return std::string(v.substr(0, v.find(',')));
}

class Socket {
 public:
  explicit Socket(int fd) : fd_(fd) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }

 private:
  int fd_;
};

// Waits until `fd` is ready for `events` (or has an error to report) before `deadline`.
bool wait_for(int fd, short events, std::chrono::steady_clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(left));
    if (n > 0) return true;
    if (n == 0 || errno != EINTR) return false;
  }
}

// Connects the non-blocking socket `fd` to `addr`, sends the SSLRequest and reads one byte.
bool ask(int fd, const sockaddr* addr, socklen_t length,
         std::chrono::steady_clock::time_point deadline) {
  if (::connect(fd, addr, length) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) return false;
    if (!wait_for(fd, POLLOUT, deadline)) return false;
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0 || error != 0) return false;
  }
  if (::send(fd, kSslRequest.data(), kSslRequest.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(kSslRequest.size())) {
    return false;
  }
  if (!wait_for(fd, POLLIN, deadline)) return false;
  unsigned char byte = 0;
  return ::recv(fd, &byte, 1, 0) == 1;
}

}  // namespace

std::optional<ServerAddress> server_address(const std::string& conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
  if (options == nullptr) {
    PQfreemem(error);
    return std::nullopt;
  }
  std::string host;
  std::string hostaddr;
  std::string port;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    const std::string_view keyword(o->keyword);
    if (keyword == "host") host = first_of(o->val);
    if (keyword == "hostaddr") hostaddr = first_of(o->val);
    if (keyword == "port") port = first_of(o->val);
  }
  PQconninfoFree(options);
  // PQconninfoParse leaves out the environment and the defaults; libpq's connect adds them.
  if (hostaddr.empty()) hostaddr = first_of(std::getenv("PGHOSTADDR"));
  if (host.empty()) host = first_of(std::getenv("PGHOST"));
  if (port.empty()) port = first_of(std::getenv("PGPORT"));
  ServerAddress address;
  address.host = !hostaddr.empty() ? hostaddr : !host.empty() ? host : "/var/run/postgresql";
  address.port = port.empty() ? "5432" : port;
  return address;
}

bool postgres_answers(const ServerAddress& address, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  if (!address.host.empty() && address.host.front() == '/') {
    sockaddr_un un{};
    un.sun_family = AF_UNIX;
    const std::string path = address.host + "/.s.PGSQL." + address.port;
    if (path.size() >= sizeof un.sun_path) return false;
    std::memcpy(un.sun_path, path.c_str(), path.size() + 1);
    const Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    return s.fd() >= 0 && ask(s.fd(), reinterpret_cast<const sockaddr*>(&un), sizeof un, deadline);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(address.host.c_str(), address.port.c_str(), &hints, &found) != 0) {
    return false;
  }
  bool answered = false;
  for (const addrinfo* a = found; a != nullptr && !answered; a = a->ai_next) {
    const Socket s(
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    answered = s.fd() >= 0 && ask(s.fd(), a->ai_addr, a->ai_addrlen, deadline);
  }
  ::freeaddrinfo(found);
  return answered;
}

QueryWatchdog::QueryWatchdog(const DatabaseConfig& config)
    : probe_address_(server_address(config.url)),
      probe_timeout_(std::chrono::seconds(config.connect_timeout_s)),
      patience_(std::chrono::milliseconds((config.statement_timeout_ms > 0
                                               ? config.statement_timeout_ms
                                               : kNoStatementTimeoutPatienceMs) +
                                          kPatienceGraceMs)),
      thread_([this] { run(); }) {}

QueryWatchdog::~QueryWatchdog() {
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t QueryWatchdog::watch(int fd) {
  uint64_t id = 0;
  {
    const std::lock_guard lock(mu_);
    id = next_id_++;
    watches_[id] = Watch{fd, Clock::now() + patience_, false};
  }
  changed_.notify_all();
  return id;
}

bool QueryWatchdog::unwatch(uint64_t id) {
  const std::lock_guard lock(mu_);
  const auto it = watches_.find(id);
  if (it == watches_.end()) return false;
  const bool fired = it->second.fired;
  watches_.erase(it);  // under mu_: the watchdog never touches this fd again
  return fired;
}

bool QueryWatchdog::server_answers() const {
  return probe_address_ && postgres_answers(*probe_address_, probe_timeout_);
}

void QueryWatchdog::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    Clock::time_point next = Clock::time_point::max();
    for (const auto& [id, w] : watches_) {
      if (!w.fired) next = std::min(next, w.check_at);
    }
    if (next == Clock::time_point::max()) {
      changed_.wait(lock);
      continue;
    }
    if (Clock::now() < next) {
      changed_.wait_until(lock, next);
      continue;
    }
    // A use has run past its patience: is the server there at all? (Not under the lock: the
    // probe takes up to connect_timeout, and watch/unwatch must not wait for it.)
    lock.unlock();
    const bool answers = server_answers();
    lock.lock();
    const Clock::time_point now = Clock::now();
    int cut = 0;
    for (auto& [id, w] : watches_) {
      if (w.fired || w.check_at > now) continue;
      if (answers) {
        w.check_at = now + patience_;  // long, not stuck: look again later
      } else {
        ::shutdown(w.fd, SHUT_RDWR);  // libpq's pending read or write fails now
        w.fired = true;
        ++cut;
      }
    }
    if (cut > 0) {
      log::warn("database did not answer; cut off the queries waiting for it",
                {{"queries", cut},
                 {"waited_ms",
                  std::chrono::duration_cast<std::chrono::milliseconds>(patience_).count()}});
    }
  }
}

Error unanswered_error(const Database::Impl& impl) {
  return Error(Code::kUnavailable,
               fmt::format("the database did not answer within {} s; retry shortly",
                           std::chrono::duration_cast<std::chrono::seconds>(
                               impl.watchdog.patience() +
                               std::chrono::seconds(impl.config.connect_timeout_s))
                               .count()));
}

Database::Database(DatabaseConfig config)
    : config_(std::move(config)), impl_(std::make_unique<Impl>(config_)) {}

Database::~Database() = default;

std::unique_ptr<pqxx::connection> Database::Impl::open() {
  auto conn = std::make_unique<pqxx::connection>(
      with_connect_timeout(config.url, config.connect_timeout_s));
  const uint64_t watch = watchdog.watch(conn->sock());
  try {
    pqxx::nontransaction tx(*conn);
    tx.exec0(fmt::format("SET statement_timeout = {}", config.statement_timeout_ms));
    tx.exec0("SET TIME ZONE 'UTC'");
  } catch (...) {
    if (watchdog.unwatch(watch)) throw pqxx::broken_connection("the database did not answer");
    throw;
  }
  if (watchdog.unwatch(watch)) throw pqxx::broken_connection("the database did not answer");
  return conn;
}

Result<std::unique_ptr<pqxx::connection>> Database::Impl::acquire(bool* reused) {
  std::unique_lock lock(mu);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(config.acquire_timeout_ms);
  while (idle.empty() && in_use >= static_cast<size_t>(config.pool_size)) {
    if (cv.wait_until(lock, deadline) == std::cv_status::timeout && idle.empty() &&
        in_use >= static_cast<size_t>(config.pool_size)) {
      return Error(Code::kUnavailable, "all database connections are busy; retry shortly");
    }
  }
  ++in_use;
  if (!idle.empty()) {
    auto conn = std::move(idle.front());
    idle.pop_front();
    *reused = true;
    return conn;
  }
  lock.unlock();
  *reused = false;
  try {
    return open();
  } catch (...) {
    release(nullptr);
    return map_db_exception(std::current_exception(), "connect");
  }
}

void Database::Impl::release(std::unique_ptr<pqxx::connection> conn) {
  {
    std::lock_guard lock(mu);
    --in_use;
    if (conn && conn->is_open()) idle.push_back(std::move(conn));
  }
  cv.notify_one();
}

Error map_db_exception(std::exception_ptr e, const char* what) {
  try {
    std::rethrow_exception(e);
  } catch (const pqxx::broken_connection& ex) {
    log::warn("database connection lost", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kUnavailable, "the database is unavailable; retry shortly");
  } catch (const pqxx::in_doubt_error& ex) {
    log::error("transaction outcome unknown", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kUnavailable, "the database connection was lost during commit; retry");
  } catch (const pqxx::unique_violation&) {
    return Error(Code::kConflict, "the object already exists");
  } catch (const pqxx::check_violation&) {
    return Error(Code::kUnprocessable, "a value is out of its allowed range");
  } catch (const pqxx::not_null_violation&) {
    return Error(Code::kUnprocessable, "a required value is missing");
  } catch (const pqxx::foreign_key_violation&) {
    return Error(Code::kUnprocessable, "a referenced object does not exist");
  } catch (const pqxx::sql_error& ex) {
    // Connection-class SQLSTATEs (08xxx, 57P01 admin shutdown) mean the server went away.
    const std::string& state = ex.sqlstate();
    if (state.rfind("08", 0) == 0 || state == "57P01" || state == "57P02" || state == "57P03") {
      log::warn("database unavailable", {{"during", what}, {"sqlstate", state}});
      return Error(Code::kUnavailable, "the database is unavailable; retry shortly");
    }
    if (state == "57014") {
      return Error(Code::kUnavailable, "the database query took too long; retry later");
    }
    log::error(
        "database error",
        {{"during", what}, {"sqlstate", state}, {"error", ex.what()}, {"query", ex.query()}});
    return Error(Code::kInternal, "database error");
  } catch (const std::exception& ex) {
    log::error("unexpected error in the store", {{"during", what}, {"error", ex.what()}});
    return Error(Code::kInternal, "internal error");
  } catch (...) {
    return Error(Code::kInternal, "internal error");
  }
}

Status Database::ping() {
  Result<bool> r = with_connection(*this, [](pqxx::connection& c) -> Result<bool> {
    pqxx::nontransaction tx(c);
    tx.exec1("SELECT 1");
    return true;
  });
  if (!r.ok()) return r.error();
  return Status::Ok();
}

PoolStats Database::stats() const {
  std::lock_guard lock(impl_->mu);
  return PoolStats{impl_->in_use, impl_->idle.size(), static_cast<size_t>(config_.pool_size)};
}

}  // namespace cw::store
