// A test's own PostgreSQL cluster through scripts/pg.
#include "tests/support/pg_cluster.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "tests/support/process.hpp"

namespace cw::test {

namespace {

std::string pg_script() { return std::string(CW_SOURCE_DIR) + "/scripts/pg"; }

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Below the ephemeral range (32768-60999) and scripts/pg's own (54320-54419): nothing takes it
// while the cluster is stopped, unless another program listens there on purpose.
int pick_port() {
  std::mt19937 rng(
      static_cast<unsigned>(getpid()) ^
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int i = 0; i < 200; ++i) {
    int port = pick(rng);
    if (port_free(port)) return port;
  }
  throw std::runtime_error("no free port in 20000-32000");
}

}  // namespace

PrivateCluster::PrivateCluster(bool durable) : durable_(durable) {
  const auto t0 = std::chrono::steady_clock::now();
  dir_ = make_temp_dir("cw-own-pg-");
  port_ = pick_port();
  std::string log;
  if (!start(&log)) {
    ADD_FAILURE() << "could not start a private PostgreSQL cluster in " << dir_ << ":\n" << log;
    throw std::runtime_error("no private cluster");
  }
  CommandResult url = run_command({pg_script(), "url"}, env());
  if (url.exit_code != 0) {
    ADD_FAILURE() << "scripts/pg url failed: " << url.err;
    throw std::runtime_error("no private cluster");
  }
  url_ = url.out.substr(0, url.out.find('\n'));
  setup_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

PrivateCluster::~PrivateCluster() {
  thaw();
  stop();
  run_command({"/bin/rm", "-rf", "--", dir_});
}

std::map<std::string, std::string> PrivateCluster::env() const {
  return {{"CW_PG_DIR", dir_},
          {"CW_PG_PORT", std::to_string(port_)},
          {"CW_PG_FAST", durable_ ? "0" : "1"}};
}

bool PrivateCluster::stop(std::string* log) {
  CommandResult r = run_command({pg_script(), "stop"}, env());
  if (log != nullptr) *log = r.out + r.err;
  return r.exit_code == 0;
}

bool PrivateCluster::start(std::string* log) {
  CommandResult r = run_command({pg_script(), "start"}, env());
  if (log != nullptr) *log = r.out + r.err;
  return r.exit_code == 0;
}

std::vector<pid_t> PrivateCluster::processes() const {
  std::vector<pid_t> pids;
  std::ifstream pid_file(dir_ + "/postmaster.pid");
  pid_t postmaster = 0;
  if (!(pid_file >> postmaster) || postmaster <= 0) return pids;
  pids.push_back(postmaster);
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line)) continue;
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == postmaster) pids.push_back(std::stoi(name));
  }
  return pids;
}

bool PrivateCluster::freeze() {
  const std::vector<pid_t> pids = processes();
  if (pids.empty()) return false;
  bool all = true;
  for (pid_t pid : pids) all = kill(pid, SIGSTOP) == 0 && all;  // the postmaster first
  return all;
}

bool PrivateCluster::thaw() {
  const std::vector<pid_t> pids = processes();
  bool all = !pids.empty();
  for (pid_t pid : pids) all = kill(pid, SIGCONT) == 0 && all;
  return all;
}

}  // namespace cw::test
