// fork/exec (through bubblewrap in mode kNamespaces) with rlimits, a cleared environment, a
// wall-clock deadline and bounded output capture.
#include "pipeline/sandbox.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>

#include "pipeline/seccomp.hpp"

namespace cw::pipeline {

namespace {

#if defined(__SANITIZE_ADDRESS__)
// AddressSanitizer reserves terabytes of shadow address space: an RLIMIT_AS would stop the
// child before main(). Sanitizer builds (the test build) rely on the other limits.
constexpr bool kApplyAddressLimit = false;
#else
constexpr bool kApplyAddressLimit = true;
#endif

void set_limit(int resource, rlim_t soft, rlim_t hard) {
  rlimit lim{soft, hard};
  setrlimit(resource, &lim);
}

namespace fs = std::filesystem;

// bubblewrap from the distribution, never from PATH.
constexpr const char* kBwrap = "/usr/bin/bwrap";

// The child's whole environment: no database URL, no S3 keys, nothing of CONVOYWATCH_*.
std::vector<std::string> child_environment() {
  std::vector<std::string> env = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"};
#if defined(__SANITIZE_ADDRESS__)
  // Sanitizer builds (the tests) keep the sanitizers' own switches.
  for (const char* name : {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"}) {
    if (const char* v = getenv(name)) env.push_back(std::string(name) + "=" + v);
  }
#endif
  return env;
}

// The bubblewrap command line that runs `argv` confined as the header describes.
std::vector<std::string> bwrap_argv(const std::vector<std::string>& argv,
                                    const SandboxLimits& limits) {
  std::vector<std::string> a = {kBwrap,
                                "--unshare-user",
                                "--unshare-pid",
                                "--unshare-ipc",
                                "--unshare-uts",
                                "--unshare-cgroup-try",
                                "--die-with-parent",
                                "--new-session",
                                "--cap-drop",
                                "ALL",
                                "--uid",
                                "65534",
                                "--gid",
                                "65534",
                                "--hostname",
                                "sandbox",
                                "--clearenv"};
  if (!limits.network) a.push_back("--unshare-net");
  for (const std::string& e : child_environment()) {
    size_t eq = e.find('=');
    a.insert(a.end(), {"--setenv", e.substr(0, eq), e.substr(eq + 1)});
  }
  // The system's programs, libraries and data (GDAL's and PROJ's tables live in /usr/share);
  // the top-level links of a merged /usr stay links.
  a.insert(a.end(), {"--ro-bind", "/usr", "/usr"});
  for (const char* top : {"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    std::error_code ec;
    if (fs::is_symlink(top, ec)) {
      a.insert(a.end(), {"--symlink", fs::read_symlink(top, ec).string(), top});
    } else if (fs::is_directory(top, ec)) {
      a.insert(a.end(), {"--ro-bind", top, top});
    }
  }
  // The dynamic loader's cache and the alternatives some libraries are linked through (BLAS).
  for (const char* etc : {"/etc/ld.so.cache", "/etc/alternatives", "/etc/localtime"}) {
    a.insert(a.end(), {"--ro-bind-try", etc, etc});
  }
  if (limits.network) {
    for (const char* etc : {"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/ssl"}) {
      a.insert(a.end(), {"--ro-bind-try", etc, etc});
    }
  }
  // A minimal /dev (null, zero, urandom, ...), read-only like everything but the output folder.
  a.insert(a.end(), {"--dev", "/dev", "--remount-ro", "/dev"});
  // /proc of the new PID namespace (the sanitizers read /proc/self), with bubblewrap's own
  // process 1 hidden; the worker and everything else on the host are not in it.
  a.insert(a.end(), {"--proc", "/proc", "--tmpfs", "/proc/1", "--remount-ro", "/proc/1"});
  a.insert(a.end(), {"--ro-bind", argv[0], argv[0]});
  for (const std::string& path : limits.read_only) a.insert(a.end(), {"--ro-bind", path, path});
  if (!limits.output_dir.empty()) {
    a.insert(a.end(),
             {"--bind", limits.output_dir, limits.output_dir, "--chdir", limits.output_dir});
  } else {
    a.insert(a.end(), {"--chdir", "/"});
  }
  // The root bubblewrap built is read-only too: the output folder is the one place to write.
  a.insert(a.end(), {"--remount-ro", "/", "--"});
  a.insert(a.end(), argv.begin(), argv.end());
  return a;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: only async-signal-safe calls (everything it execs was
// built before the fork).
[[noreturn]] void exec_child(char* const* args, char* const* envp, const SandboxLimits& limits,
                             int out_fd, int err_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  // Every other descriptor the worker holds (database sockets, store files) stays behind.
  if (close_range(3, ~0U, 0) != 0) {
    for (int fd = 3; fd < 65536; ++fd) close(fd);
  }
  set_limit(RLIMIT_CORE, 0, 0);
  // SIGXCPU at the soft limit names the cause; the hard limit a second later is a SIGKILL.
  auto cpu = static_cast<rlim_t>(limits.cpu_seconds);
  set_limit(RLIMIT_CPU, cpu, cpu + 1);
  auto fsize = static_cast<rlim_t>(limits.file_size_bytes);
  set_limit(RLIMIT_FSIZE, fsize, fsize);
  if (kApplyAddressLimit) {
    auto as = static_cast<rlim_t>(limits.address_space_bytes);
    set_limit(RLIMIT_AS, as, as);
  }
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  execve(args[0], args, envp);
  _exit(127);
}

}  // namespace

std::string_view sandbox_mode_name(SandboxMode mode) {
  return mode == SandboxMode::kNamespaces ? "namespaces" : "limits-only";
}

SandboxMode sandbox_mode_of(const PipelineConfig& config) {
  return config.sandbox == "limits-only" ? SandboxMode::kLimitsOnly : SandboxMode::kNamespaces;
}

Status check_sandbox(SandboxMode mode) {
  if (mode == SandboxMode::kLimitsOnly) return Status::Ok();
  if (access(kBwrap, X_OK) != 0) {
    return Error(Code::kUnavailable,
                 fmt::format("{} is missing: install Debian's bubblewrap package, or set "
                             "[pipeline] sandbox = \"limits-only\" to run untrusted decoders "
                             "with resource limits only",
                             kBwrap),
                 "pipeline.sandbox");
  }
  SandboxLimits trial;
  trial.wall_timeout = std::chrono::seconds(20);
  auto run = run_sandboxed({"/usr/bin/true"}, trial);
  if (!run.ok() || run->exit_code != 0) {
    std::string why = run.ok() ? run->err_tail : run.error().detail();
    while (!why.empty() && (why.back() == '\n' || why.back() == '\r')) why.pop_back();
    return Error(Code::kUnavailable,
                 fmt::format("bubblewrap cannot create namespaces here ({}): allow unprivileged "
                             "user namespaces (sysctl kernel.unprivileged_userns_clone=1, or a "
                             "container runtime that permits them), or set [pipeline] sandbox = "
                             "\"limits-only\" to run untrusted decoders with resource limits only",
                             why.empty() ? "no reason given" : why),
                 "pipeline.sandbox");
  }
  return Status::Ok();
}

Status check_child_output(const std::string& dir, int max_depth, size_t max_files,
                          uint64_t max_bytes) {
  std::error_code ec;
  size_t files = 0;
  uint64_t bytes = 0;
  auto bad = [&](const fs::path& p, const std::string& why) {
    return Error(Code::kUnprocessable, fmt::format("the child's output is refused: {} {}",
                                                   p.lexically_relative(dir).string(), why));
  };
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec);
  if (ec) return Error(Code::kInternal, "cannot read the child's output: " + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return Error(Code::kInternal, "cannot read the child's output: " + ec.message());
    const fs::path& p = it->path();
    std::string name = p.filename().string();
    bool name_ok = !name.empty() && name[0] != '.' && name.size() <= 255;
    for (char c : name) {
      name_ok = name_ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-');
    }
    if (!name_ok) return bad(p, "has a name outside [A-Za-z0-9._-]");
    auto st = it->symlink_status(ec);
    if (fs::is_directory(st)) {
      if (it.depth() + 1 > max_depth) return bad(p, "is nested too deep");
    } else if (fs::is_regular_file(st)) {
      bytes += it->file_size(ec);
    } else {
      return bad(p, "is not a regular file");
    }
    if (++files > max_files) return bad(p, fmt::format("is beyond {} entries", max_files));
    if (bytes > max_bytes) return bad(p, fmt::format("is beyond {} bytes", max_bytes));
  }
  return Status::Ok();
}

SandboxLimits sandbox_limits(const PipelineConfig& config) {
  SandboxLimits limits;
  limits.cpu_seconds = config.cpu_seconds;
  limits.address_space_bytes = static_cast<uint64_t>(config.memory_mb) << 20;
  limits.wall_timeout = std::chrono::seconds(config.job_timeout_s);
  limits.mode = sandbox_mode_of(config);
  return limits;
}

Result<SandboxResult> run_sandboxed(const std::vector<std::string>& argv,
                                    const SandboxLimits& limits) {
  if (argv.empty()) return Error(Code::kInternal, "nothing to run");
  const bool confined = limits.mode == SandboxMode::kNamespaces;
  std::vector<std::string> command = confined ? bwrap_argv(argv, limits) : argv;
  std::vector<std::string> environment = child_environment();
  std::vector<char*> args = c_strings(command);
  std::vector<char*> envp = c_strings(environment);
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return Error(Code::kInternal, "pipe failed");
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    return Error(Code::kInternal, "pipe failed");
  }
  auto start = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    return Error(Code::kInternal, std::string("fork failed: ") + std::strerror(errno));
  }
  if (pid == 0) exec_child(args.data(), envp.data(), limits, out_pipe[1], err_pipe[1]);
  close(out_pipe[1]);
  close(err_pipe[1]);

  SandboxResult r;
  auto deadline = start + limits.wall_timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    if (limits.cancel && limits.cancel()) {
      r.cancelled = true;
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      break;
    }
    int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (n < 0 && errno != EINTR) break;
    for (auto& p : fds) {
      if (p.fd < 0 || (p.revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      ssize_t got = read(p.fd, buf, sizeof buf);
      if (got <= 0) {
        close(p.fd);
        p.fd = -1;
        --open_fds;
        continue;
      }
      if (p.fd == out_pipe[0]) {
        if (r.out.size() + static_cast<size_t>(got) > limits.max_output_bytes) {
          r.output_truncated = true;
          kill(-pid, SIGKILL);
          kill(pid, SIGKILL);
        } else {
          r.out.append(buf, static_cast<size_t>(got));
        }
      } else {
        r.err_tail.append(buf, static_cast<size_t>(got));
        if (r.err_tail.size() > 4096) r.err_tail.erase(0, r.err_tail.size() - 4096);
      }
    }
  }
  for (auto& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  kill(-pid, SIGKILL);  // whatever the child left behind in its group
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  if (r.exit_code == kSeccompViolationExit) r.violation = seccomp_violation_in(r.err_tail);
  // bubblewrap exits with 128 + the signal that ended the program it ran.
  if (confined && r.exit_code > 128 && r.exit_code < 128 + 65) {
    r.signal = r.exit_code - 128;
    r.exit_code = -1;
  }
  return r;
}

std::optional<std::string> failure_reason(const SandboxResult& r, const SandboxLimits& limits) {
  if (r.cancelled) return "cancelled";
  if (r.timed_out) return fmt::format("timed out after {} s", limits.wall_timeout.count());
  if (!r.violation.empty()) return "sandbox violation: syscall " + r.violation;
  if (r.output_truncated) return "analysis output larger than the limit";
  if (r.signal == SIGXCPU) return fmt::format("CPU limit of {} s exceeded", limits.cpu_seconds);
  if (r.signal == SIGXFSZ) return "file size limit exceeded";
  if (r.signal != 0) {
    const char* name = sigabbrev_np(r.signal);
    return fmt::format("decoder crashed: signal {} (SIG{})", r.signal, name ? name : "?");
  }
  if (r.exit_code == 0) return std::nullopt;
  std::string line = r.err_tail;
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (size_t nl = line.rfind('\n'); nl != std::string::npos) line = line.substr(nl + 1);
  if (line.size() > 300) line = line.substr(0, 300);
  return line.empty() ? fmt::format("exited with status {}", r.exit_code)
                      : fmt::format("exited with status {}: {}", r.exit_code, line);
}

}  // namespace cw::pipeline
