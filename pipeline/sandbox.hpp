// Running untrusted decoding in a child process with limits. FFmpeg's decoders see files from
// the internet, so the analysis never runs inside the server or worker: the worker runs
// `convoywatch analyze FILE --out DIR` through run_sandboxed() and reads its JSON from stdout.
// A crash, a limit hit or a hang ends the child, not the worker, and becomes a clear reason.
// Thread-safe: each call forks its own child.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/config.hpp"
#include "common/error.hpp"

namespace cw::pipeline {

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
};

// The limits of an analysis or imagery child from [pipeline]: cpu_seconds, memory_mb and
// job_timeout_s (no cancel predicate: the caller adds its own).
SandboxLimits sandbox_limits(const PipelineConfig& config);

// Runs argv[0] (a path, no PATH lookup) with no inherited descriptors but stdin from /dev/null,
// a fresh process group, no core dumps and the limits. Errors only when it could not start.
Result<SandboxResult> run_sandboxed(const std::vector<std::string>& argv,
                                    const SandboxLimits& limits);

// Why a sandboxed run failed, for the job's last_error: "cancelled", "decoder crashed: signal 11
// (SIGSEGV)", "timed out after 300 s", "CPU limit of 300 s exceeded", "exited with status 3:
// <stderr line>"; nullopt when it exited 0.
std::optional<std::string> failure_reason(const SandboxResult& r, const SandboxLimits& limits);

}  // namespace cw::pipeline
