// fork/exec helpers for tests.
#include "tests/support/process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/test_db.hpp"

extern char** environ;

namespace cw::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

namespace {

pid_t spawn(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
            const std::string& out_path, const std::string& err_path) {
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    std::string key = kv.substr(0, kv.find('='));
    if (key == "CONVOYWATCH_CONFIG" || env.count(key)) continue;
    envs.push_back(kv);
  }
  envs.push_back("CONVOYWATCH_CONFIG=");
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return -WTERMSIG(status);
  return -1;
}

}  // namespace

std::string make_temp_dir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

CommandResult run_command(const std::vector<std::string>& argv,
                          const std::map<std::string, std::string>& env) {
  std::string dir = make_temp_dir("cw-cmd-");
  pid_t pid = spawn(argv, env, dir + "/out", dir + "/err");
  int status = 0;
  waitpid(pid, &status, 0);
  CommandResult r{decode_status(status), read_file(dir + "/out"), read_file(dir + "/err")};
  std::filesystem::remove_all(dir);
  return r;
}

CommandResult run_convoywatch(const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv = {CW_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, env);
}

std::string add_user(const std::map<std::string, std::string>& env, const std::string& name,
                     const std::string& org, const std::string& role) {
  auto r = run_convoywatch(
      {"user", "add", "--create-org", "--name", name, "--org", org, "--role", role}, env);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out.substr(0, r.out.find('\n'));
}

ServerProcess::ServerProcess(const std::map<std::string, std::string>& env,
                             const std::vector<std::string>& extra_args) {
  dir_ = make_temp_dir("cw-serve-");
  std::map<std::string, std::string> full = env;
  auto url = full.find("CONVOYWATCH_DATABASE_URL");
  if (url != full.end() && full.count("CONVOYWATCH_DATABASE_ALLOW_PRIVILEGED") == 0) {
    url->second = app_url(url->second);
  }
  full.emplace("CONVOYWATCH_SERVER_LISTEN", "127.0.0.1:0");
  full.emplace("CONVOYWATCH_STORAGE_ROOT", dir_ + "/media");
  full.emplace("CONVOYWATCH_LOG_LEVEL", "info");
  // Tests that want the embedded pipeline workers ask for them.
  full.emplace("CONVOYWATCH_PIPELINE_WORKERS", "0");
  // And those that test the report scheduler turn it on.
  full.emplace("CONVOYWATCH_REPORTS_SCHEDULER", "false");
  std::vector<std::string> argv = {CW_BINARY, "serve", "--port-file", dir_ + "/port"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = spawn(argv, full, dir_ + "/out", dir_ + "/err");
  // `serve --migrate` on an empty database loads the geodata first (25 s, more under load).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(180);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string port = read_file(dir_ + "/port");
    if (!port.empty()) {
      port_ = std::stoi(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      ADD_FAILURE() << "convoywatch serve exited with " << decode_status(status) << ":\n" << log();
      throw std::runtime_error("server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "convoywatch serve did not listen within 180 s:\n" << log();
  throw std::runtime_error("server did not start");
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0 && !exited_) {
    kill(pid_, SIGTERM);
    if (wait(10000) == -1000) {
      kill(pid_, SIGKILL);
      wait(5000);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void ServerProcess::signal(int sig) const { kill(pid_, sig); }

int ServerProcess::wait(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      return decode_status(status);
    }
    if (std::chrono::steady_clock::now() >= deadline) return -1000;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string ServerProcess::log() const { return read_file(dir_ + "/err"); }

pid_t spawn_command(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env, const std::string& log_path) {
  return spawn(argv, env, log_path + ".out", log_path);
}

pid_t spawn_convoywatch(const std::vector<std::string>& args,
                        const std::map<std::string, std::string>& env,
                        const std::string& log_path) {
  std::vector<std::string> argv = {CW_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return spawn(argv, env, log_path + ".out", log_path);
}

MediaHttpServer::MediaHttpServer(const std::string& video_file) {
  dir_ = make_temp_dir("cw-media-http-");
  std::string script = std::string(CW_SOURCE_DIR) + "/tests/support/media_server.py";
  pid_ = spawn({"/usr/bin/python3", script, "--file", video_file, "--port-file", dir_ + "/port"},
               {}, dir_ + "/out", dir_ + "/err");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string port = read_file(dir_ + "/port");
    if (!port.empty()) {
      port_ = std::stoi(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "media_server.py exited with " << decode_status(status) << ":\n"
                    << read_file(dir_ + "/err");
      throw std::runtime_error("media server did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "media_server.py did not listen within 30 s:\n" << read_file(dir_ + "/err");
  throw std::runtime_error("media server did not start");
}

MediaHttpServer::~MediaHttpServer() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string MediaHttpServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

CuttingProxy::CuttingProxy(int target_port, uint64_t cut_after, int cuts, bool down_after_cut,
                           uint64_t rate) {
  dir_ = make_temp_dir("cw-proxy-");
  std::string script = std::string(CW_SOURCE_DIR) + "/tests/support/cutting_proxy.py";
  std::vector<std::string> argv = {"/usr/bin/python3", script,
                                   "--target",         std::to_string(target_port),
                                   "--port-file",      dir_ + "/port",
                                   "--cut-after",      std::to_string(cut_after),
                                   "--cuts",           std::to_string(cuts),
                                   "--down-file",      dir_ + "/down"};
  if (down_after_cut) argv.push_back("--down-after-cut");
  if (rate > 0) {
    argv.push_back("--rate");
    argv.push_back(std::to_string(rate));
  }
  pid_ = spawn(argv, {}, dir_ + "/events", dir_ + "/err");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string port = read_file(dir_ + "/port");
    if (!port.empty()) {
      port_ = std::stoi(port);
      return;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      ADD_FAILURE() << "cutting_proxy.py exited with " << decode_status(status) << ":\n"
                    << read_file(dir_ + "/err");
      throw std::runtime_error("proxy did not start");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ADD_FAILURE() << "cutting_proxy.py did not listen within 30 s:\n" << read_file(dir_ + "/err");
  throw std::runtime_error("proxy did not start");
}

CuttingProxy::~CuttingProxy() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void CuttingProxy::bring_up() const {
  std::error_code ec;
  std::filesystem::remove(dir_ + "/down", ec);
}

std::vector<std::string> CuttingProxy::events() const {
  std::vector<std::string> out;
  std::istringstream in(read_file(dir_ + "/events"));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

int CuttingProxy::cuts() const {
  int n = 0;
  for (const auto& e : events()) n += e.find("\"cut\"") != std::string::npos ? 1 : 0;
  return n;
}

}  // namespace cw::test
