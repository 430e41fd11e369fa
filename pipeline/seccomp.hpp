// The seccomp allow-list that a child decoding untrusted bytes (`analyze`, `imagery-*`) installs
// on itself once its input is open and before it decodes. What the decoders need stays allowed
// (memory, threads, reading and writing descriptors, opening files: the bubblewrap file view of
// pipeline/sandbox.hpp decides which files exist and which are writable); what an attacker
// needs to get out is refused: sockets, execve, fork (threads only), ptrace, mounts, namespaces,
// keyrings, BPF, io_uring and every other call not on the list. A refused call ends the process
// at once with exit status kSeccompViolationExit after writing "sandbox violation: syscall #N" to
// stderr; the parent turns that into the job's reason ("sandbox violation: syscall socket").
#pragma once

#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cw::pipeline {

// Not 128 + a signal number, which is how bubblewrap reports a program a signal ended.
inline constexpr int kSeccompViolationExit = 100;

// REQUIRES: called once, by the child itself, on its main thread. Applies to every thread.
Status enter_seccomp();

// The name of the syscall in a violation report within a child's stderr ("socket"); empty
// when there is none.
std::string seccomp_violation_in(std::string_view err_tail);

}  // namespace cw::pipeline
