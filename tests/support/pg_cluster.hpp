// A PostgreSQL cluster owned by one test, for tests that stop and start the database: they must
// never do that to the cluster scripts/test shares between all tests running under ctest.
// It is scripts/pg with a CW_PG_DIR of its own and a fixed port chosen below the kernel's
// ephemeral range, so that while it is stopped no other cluster or outgoing connection takes
// its port and the server under test finds it again at the same address.
// Cost: an initdb, a start and CREATE EXTENSION postgis: 7-8 s on the 2-core machine while
// others build (measured; durable settings, fsync on).
// Not thread-safe; one owner.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

namespace cw::test {

class PrivateCluster {
 public:
  // `durable`: fsync and synchronous_commit on (what a production server runs with); otherwise
  // CW_PG_FAST=1. Starts it and fails the test (throws) when it cannot.
  explicit PrivateCluster(bool durable = true);
  ~PrivateCluster();  // stops it and removes its folder
  PrivateCluster(const PrivateCluster&) = delete;
  PrivateCluster& operator=(const PrivateCluster&) = delete;

  // postgresql://convoywatch:…@127.0.0.1:<port>/convoywatch (the postgis extension is there).
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  double setup_seconds() const { return setup_seconds_; }

  // scripts/pg stop (fast shutdown: sessions are terminated) / start on the same port. The
  // output of scripts/pg goes to *log when given. True on success.
  bool stop(std::string* log = nullptr);
  bool start(std::string* log = nullptr);
  // SIGSTOP / SIGCONT to the postmaster and every process it started: a database that stops
  // answering without closing anything (the kernel still accepts connections and acknowledges
  // what is sent). A process that froze is thawed by the destructor. True when signalled.
  bool freeze();
  bool thaw();

 private:
  std::map<std::string, std::string> env() const;

  // The postmaster's pid and those of its children (from postmaster.pid and /proc).
  std::vector<pid_t> processes() const;

  std::string dir_;
  std::string url_;
  int port_ = 0;
  bool durable_;
  double setup_seconds_ = 0;
};

}  // namespace cw::test
