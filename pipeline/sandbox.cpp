// fork/exec with rlimits, a wall-clock deadline and bounded output capture.
#include "pipeline/sandbox.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <cerrno>
#include <cstring>

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

// In the child, between fork and exec: only async-signal-safe calls.
[[noreturn]] void exec_child(const std::vector<std::string>& argv, const SandboxLimits& limits,
                             int out_fd, int err_fd) {
  setpgid(0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  int null_fd = open("/dev/null", O_RDONLY);
  dup2(null_fd, 0);
  dup2(out_fd, 1);
  dup2(err_fd, 2);
  for (int fd = 3; fd < 1024; ++fd) close(fd);
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
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execv(args[0], args.data());
  _exit(127);
}

}  // namespace

SandboxLimits sandbox_limits(const PipelineConfig& config) {
  SandboxLimits limits;
  limits.cpu_seconds = config.cpu_seconds;
  limits.address_space_bytes = static_cast<uint64_t>(config.memory_mb) << 20;
  limits.wall_timeout = std::chrono::seconds(config.job_timeout_s);
  return limits;
}

Result<SandboxResult> run_sandboxed(const std::vector<std::string>& argv,
                                    const SandboxLimits& limits) {
  if (argv.empty()) return Error(Code::kInternal, "nothing to run");
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
  if (pid == 0) exec_child(argv, limits, out_pipe[1], err_pipe[1]);
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
  return r;
}

std::optional<std::string> failure_reason(const SandboxResult& r, const SandboxLimits& limits) {
  if (r.cancelled) return "cancelled";
  if (r.timed_out) return fmt::format("timed out after {} s", limits.wall_timeout.count());
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
