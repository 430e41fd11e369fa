// Running untrusted decoding in a confined child process. FFmpeg's decoders see files from the
// internet, so the analysis never runs inside the server or worker: the worker runs
// `convoywatch analyze FILE --out DIR` through run_sandboxed() and reads its JSON from stdout.
// A crash, a limit hit or a hang ends the child, not the worker, and becomes a clear reason.
//
// In mode kNamespaces (the default) the child runs under bubblewrap (/usr/bin/bwrap): new user,
// PID, IPC, UTS, cgroup, mount and network namespaces, all capabilities dropped, no_new_privs,
// a new session, killed with its parent; an environment of PATH and the locale only; a file view
// of the read-only system (/usr), the program, the files in `read_only` and the one writable
// `output_dir` — nothing of the evidence store, the configuration or /proc. The child itself
// adds a seccomp allow-list (pipeline/seccomp.hpp) before it decodes. kLimitsOnly keeps only the
// resource limits, the cleared environment and the closed descriptors.
// Thread-safe: each call forks its own child.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"

namespace cw::pipeline {

enum class SandboxMode { kNamespaces, kLimitsOnly };

// "namespaces" or "limits-only" ([pipeline] sandbox).
std::string_view sandbox_mode_name(SandboxMode mode);
SandboxMode sandbox_mode_of(const PipelineConfig& config);

struct SandboxLimits {
  int cpu_seconds = 300;                      // RLIMIT_CPU: SIGXCPU beyond it
  uint64_t address_space_bytes = 4ull << 30;  // RLIMIT_AS (not applied in sanitizer builds)
  uint64_t file_size_bytes = 2ull << 30;      // RLIMIT_FSIZE: SIGXFSZ beyond it
  std::chrono::seconds wall_timeout{300};     // then SIGKILL
  size_t max_output_bytes = 64u << 20;        // stdout kept; more is an error
  // When set and it returns true (polled every 200 ms), the child is killed and the result is
  // `cancelled`: a worker shutting down hands its job back instead of waiting for the analysis,
  // and one whose lease was lost stops decoding a job another worker has taken.
  std::function<bool()> cancel;
  SandboxMode mode = SandboxMode::kNamespaces;
  // What the child may read besides the system's programs and libraries and argv[0] (files or
  // folders, bound read-only at the same path).
  std::vector<std::string> read_only;
  // The one folder the child may write, bound at the same path; it must exist. Empty: none.
  std::string output_dir;
  // Share the host's network namespace (only the external downloader; analysis never does).
  bool network = false;
};

struct SandboxResult {
  int exit_code = -1;  // when it exited normally
  int signal = 0;      // when a signal ended it
  bool timed_out = false;
  bool cancelled = false;
  bool output_truncated = false;
  std::string out;       // stdout
  std::string err_tail;  // the last 4 KiB of stderr
  double seconds = 0;
  // When the child broke its seccomp allow-list: the syscall's name ("socket").
  std::string violation;
};

// The limits of an analysis or imagery child from [pipeline]: cpu_seconds, memory_mb and
// job_timeout_s (no cancel predicate: the caller adds its own).
SandboxLimits sandbox_limits(const PipelineConfig& config);

// Whether children can be confined as `mode` asks: for kNamespaces, bubblewrap is installed and
// user namespaces work here (a trial run). The error says what to install or configure.
// Workers and `serve` call it before they start and refuse to run when it fails.
Status check_sandbox(SandboxMode mode);

// Runs argv[0] (a path, no PATH lookup) with no inherited descriptors but stdin from /dev/null,
// a fresh process group, no core dumps, an environment of PATH and LANG only, and the limits,
// confined as limits.mode says. Errors only when it could not start.
Result<SandboxResult> run_sandboxed(const std::vector<std::string>& argv,
                                    const SandboxLimits& limits);

// Checks what a child left in its output folder before the caller moves it into place: only
// regular files and folders (no links, devices or sockets), names of [A-Za-z0-9._-] not starting
// with '.', at most `max_depth` folders deep, `max_files` entries and `max_bytes` in total.
Status check_child_output(const std::string& dir, int max_depth, size_t max_files,
                          uint64_t max_bytes);

// Why a sandboxed run failed, for the job's last_error: "cancelled", "sandbox violation: syscall
// socket", "decoder crashed: signal 11
// (SIGSEGV)", "timed out after 300 s", "CPU limit of 300 s exceeded", "exited with status 3:
// <stderr line>"; nullopt when it exited 0.
std::optional<std::string> failure_reason(const SandboxResult& r, const SandboxLimits& limits);

}  // namespace cw::pipeline
