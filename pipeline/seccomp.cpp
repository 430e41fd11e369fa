// libseccomp filter: an allow-list with SCMP_ACT_TRAP for the rest, and a SIGSYS handler that
// reports the syscall number and exits.
#include "pipeline/seccomp.hpp"

#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace cw::pipeline {

namespace {

constexpr char kMarker[] = "sandbox violation: syscall #";

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer's check at exit stops the threads from a helper made with clone() and ptrace():
// sanitizer builds (the tests) allow both. The namespaces still keep them from reaching out.
constexpr bool kSanitizerBuild = true;
#else
constexpr bool kSanitizerBuild = false;
#endif

// Calls a decoder (FFmpeg, OpenCV, GDAL, libjpeg, libpng) and the C++ runtime make.
constexpr const char* kAllowed[] = {
    // descriptors and files (which files: the mount namespace decides)
    "read",
    "write",
    "readv",
    "writev",
    "pread64",
    "pwrite64",
    "preadv",
    "pwritev",
    "preadv2",
    "pwritev2",
    "lseek",
    "close",
    "close_range",
    "open",
    "openat",
    "stat",
    "fstat",
    "lstat",
    "newfstatat",
    "statx",
    "statfs",
    "fstatfs",
    "access",
    "faccessat",
    "faccessat2",
    "readlink",
    "readlinkat",
    "getcwd",
    "getdents",
    "getdents64",
    "mkdir",
    "mkdirat",
    "rename",
    "renameat",
    "renameat2",
    "unlink",
    "unlinkat",
    "rmdir",
    "ftruncate",
    "fsync",
    "fdatasync",
    "fallocate",
    "fadvise64",
    "flock",
    "fcntl",
    "dup",
    "dup2",
    "dup3",
    "pipe",
    "pipe2",
    "umask",
    "fchmod",
    "chmod",
    "fchmodat",
    "utimensat",
    "ioctl",
    "poll",
    "ppoll",
    "select",
    "pselect6",
    "epoll_create1",
    "epoll_ctl",
    "epoll_wait",
    "epoll_pwait",
    "eventfd2",
    "sendfile",
    "copy_file_range",
    // memory
    "mmap",
    "munmap",
    "mprotect",
    "mremap",
    "madvise",
    "brk",
    "mincore",
    "msync",
    "mlock",
    "munlock",
    "membarrier",
    "get_mempolicy",
    // threads, signals, time
    "futex",
    "set_robust_list",
    "get_robust_list",
    "rseq",
    "set_tid_address",
    "arch_prctl",
    "prctl",
    "exit",
    "exit_group",
    "gettid",
    "getpid",
    "getppid",
    "getuid",
    "geteuid",
    "getgid",
    "getegid",
    "getresuid",
    "getresgid",
    "getgroups",
    "getpgrp",
    "rt_sigaction",
    "rt_sigprocmask",
    "rt_sigreturn",
    "rt_sigtimedwait",
    "sigaltstack",
    "tgkill",
    "tkill",
    "restart_syscall",
    "clock_gettime",
    "clock_getres",
    "clock_nanosleep",
    "nanosleep",
    "gettimeofday",
    "time",
    "times",
    "getrusage",
    "getrlimit",
    "setrlimit",
    "prlimit64",
    "sched_yield",
    "sched_getaffinity",
    "sched_setaffinity",
    "sched_getparam",
    "sched_getscheduler",
    "sched_setscheduler",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "getpriority",
    "setpriority",
    "getcpu",
    "uname",
    "sysinfo",
    "getrandom",
    "wait4",
    "waitid",
};

extern "C" void on_sigsys(int, siginfo_t* info, void*) {
  // Only async-signal-safe calls: the number goes out in decimal, the parent names it.
  char line[64];
  size_t n = sizeof kMarker - 1;
  std::memcpy(line, kMarker, n);
  char digits[16];
  int d = 0;
  unsigned nr = static_cast<unsigned>(info->si_syscall);
  do {
    digits[d++] = static_cast<char>('0' + nr % 10);
    nr /= 10;
  } while (nr != 0 && d < 15);
  while (d > 0) line[n++] = digits[--d];
  line[n++] = '\n';
  ssize_t ignored = ::write(2, line, n);
  (void)ignored;
  syscall(SYS_exit_group, kSeccompViolationExit);
}

}  // namespace

Status enter_seccomp() {
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) {
    return Error(Code::kInternal, "seccomp: cannot handle SIGSYS");
  }
  sigset_t sys;
  sigemptyset(&sys);
  sigaddset(&sys, SIGSYS);
  pthread_sigmask(SIG_UNBLOCK, &sys, nullptr);

  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
  if (ctx == nullptr) return Error(Code::kInternal, "seccomp: cannot initialise the filter");
  struct Release {
    scmp_filter_ctx c;
    ~Release() { seccomp_release(c); }
  } release{ctx};
  // no_new_privs (libseccomp's default) and the filter on every thread already running.
  int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
  for (const char* name : kAllowed) {
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) continue;  // not a call on this architecture
    if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
  }
  // Threads, never processes; clone3 hides its flags from BPF, so glibc is told to use clone.
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
  if (rc == 0) {
    rc = kSanitizerBuild
             ? seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0)
             : seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                                SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
  }
  if (rc == 0 && kSanitizerBuild) rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ptrace), 0);
  if (rc == 0) rc = seccomp_load(ctx);
  if (rc != 0) {
    return Error(Code::kInternal,
                 std::string("seccomp: cannot install the filter: ") + std::strerror(-rc));
  }
  return Status::Ok();
}

std::string seccomp_violation_in(std::string_view err_tail) {
  size_t at = err_tail.rfind(kMarker);
  if (at == std::string_view::npos) return {};
  int nr = 0;
  size_t i = at + sizeof kMarker - 1;
  size_t start = i;
  while (i < err_tail.size() && err_tail[i] >= '0' && err_tail[i] <= '9' && i - start < 6) {
    nr = nr * 10 + (err_tail[i++] - '0');
  }
  if (i == start) return {};
  char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
  if (name == nullptr) return "#" + std::to_string(nr);
  std::string out(name);
  std::free(name);
  return out;
}

}  // namespace cw::pipeline
