// Child processes for tests: run `convoywatch` commands and capture their output, or keep a
// `convoywatch serve` running on a free port.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <map>
#include <string>
#include <vector>

namespace cw::test {

struct CommandResult {
  int exit_code = -1;  // -signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs `argv` with `env` added to the environment (and CONVOYWATCH_CONFIG cleared so the
// developer's files are not read), waits, and captures stdout and stderr.
CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env = {});
// Runs the convoywatch binary built with the tests.
CommandResult run_convoywatch(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env = {});

// `convoywatch user add --create-org --name NAME --org ORG --role ROLE` with `env`: the new
// user's token. A failed command fails the test (and returns what the command printed).
std::string add_user(const std::map<std::string, std::string>& env, const std::string& name,
                     const std::string& org, const std::string& role);

// Starts the convoywatch binary with `args` in the background, `env` added (CONVOYWATCH_CONFIG
// cleared), stderr to `log_path` and stdout to `log_path`.out. The caller waits for it.
pid_t spawn_convoywatch(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env, const std::string& log_path);

// Any program, like spawn_convoywatch: argv[0] is its path.
pid_t spawn_command(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const std::string& log_path);

// `convoywatch serve` on 127.0.0.1 and a free port, its stderr in a temp file. It connects as the
// application role (test::app_url of env's CONVOYWATCH_DATABASE_URL), as deployments do, unless
// env sets CONVOYWATCH_DATABASE_ALLOW_PRIVILEGED (`serve --migrate` needs the owner).
class ServerProcess {
 public:
  // Starts it and waits until it listens (fails the test after 180 s: `serve --migrate` on an empty
  // database loads the geodata first).
  explicit ServerProcess(const std::map<std::string, std::string>& env,
                         const std::vector<std::string>& extra_args = {});
  ~ServerProcess();  // SIGTERM, then SIGKILL after 10 s
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits for exit; returns the exit code (-signal when killed), or -1000 on timeout.
  int wait(int timeout_ms);
  std::string log() const;  // everything the server wrote to stderr
  std::string media_root() const { return dir_ + "/media"; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
  bool exited_ = false;
};

// tests/support/media_server.py serving `video_file` (and the routes listed there) on
// 127.0.0.1 and a free port: the web a fetch_url job downloads from.
class MediaHttpServer {
 public:
  explicit MediaHttpServer(const std::string& video_file);  // fails the test after 30 s
  ~MediaHttpServer();                                       // SIGKILL
  MediaHttpServer(const MediaHttpServer&) = delete;
  MediaHttpServer& operator=(const MediaHttpServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port>" + path
  std::string url(const std::string& path) const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// tests/support/cutting_proxy.py in front of 127.0.0.1:`target_port`: forwards connections and
// cuts the first `cuts` uploads (PATCH) once `cut_after` bytes have gone through. With
// `down_after_cut`, connections are refused after the cut until bring_up() (a network that stays
// down, so the client gives up and a later run has to resume). `rate`: bytes per second the
// proxy forwards from clients at most (0: as fast as they come).
class CuttingProxy {
 public:
  CuttingProxy(int target_port, uint64_t cut_after, int cuts = 1, bool down_after_cut = false,
               uint64_t rate = 0);
  ~CuttingProxy();  // SIGKILL
  CuttingProxy(const CuttingProxy&) = delete;
  CuttingProxy& operator=(const CuttingProxy&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Lets connections through again.
  void bring_up() const;
  // The proxy's events so far: {"event": "cut", "forwarded": N}, {"event": "refused"}.
  std::vector<std::string> events() const;
  int cuts() const;

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string dir_;
};

// Reads a whole file ("" when missing).
std::string read_file(const std::string& path);
void write_file(const std::string& path, const std::string& bytes);

// Free TCP port on 127.0.0.1 (bind to 0, read it, close).
int free_port();
std::string make_temp_dir(const std::string& prefix);

}  // namespace cw::test
