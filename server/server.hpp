// The HTTP server: Boost.Beast over Asio. `io_threads` threads run the sockets; handlers that
// may block (everything touching the database) run on a separate pool of `database.pool_size`
// threads and post their reply back. SIGINT/SIGTERM stop accepting, close idle keep-alive
// connections, let in-flight requests finish (up to shutdown_timeout_s), then run() returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/config.hpp"
#include "common/error.hpp"
#include "server/imagery_backend.hpp"
#include "server/router.hpp"
#include "store/database.hpp"
#include "store/media_store.hpp"

namespace cw::server {

class Server {
 public:
  // REQUIRES: router, db outlive the server. `imagery` serves the imagery routes (503 without).
  Server(const Config& config, store::Database& db, store::MediaStore& media, Router router,
         ImageryBackend imagery = {});
  ~Server();

  // Binds the listening socket (port 0 picks a free one).
  Status bind();
  // REQUIRES: bind() succeeded.
  uint16_t port() const;
  // Serves until stop() or a signal; returns after the drain.
  void run();
  // Begins a graceful stop. Thread-safe.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cw::server
