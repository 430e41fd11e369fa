// cw_sandbox_escape: a stand-in for `convoywatch analyze`, built only with the tests, that tries
// to get out of the sandbox. It is run exactly as the worker runs the analysis
// (`cw_sandbox_escape analyze INPUT --out DIR [--max-frames N]`), opens its input, installs the
// same seccomp filter (unless the input's first word is "no-seccomp", to test the namespaces
// alone), then makes the one attempt the input's first line names:
//   env | proc1-environ | environ PID | tcp HOST PORT | unix PATH | read PATH | write PATH |
//   create PATH | exec | outlive | ptrace PID | violate | benign
// It prints {"attempt": ..., "escaped": bool, "detail": ...} and exits 0 when the attempt was
// refused, 3 when it got out (the test fails on that), 2 for "benign" (a refused file).
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/seccomp.hpp"

extern char** environ;

namespace {

int report(const std::string& attempt, bool escaped, const std::string& detail) {
  std::string d;
  for (char c : detail) d += (c == '"' || c == '\\' || c < 0x20) ? '_' : c;
  std::printf("{\"attempt\":\"%s\",\"escaped\":%s,\"detail\":\"%s\"}\n", attempt.c_str(),
              escaped ? "true" : "false", d.c_str());
  std::fflush(stdout);
  return escaped ? 3 : 0;
}

std::string err() { return std::strerror(errno); }

// Opens and reads a file; escaped when anything could be read.
int try_read(const std::string& attempt, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return report(attempt, false, path + ": " + err());
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return report(attempt, false, path + ": nothing to read");
  return report(attempt, true, path + ": read " + std::to_string(n) + " bytes");
}

int try_connect(const std::string& attempt, int family, const sockaddr* addr, socklen_t len) {
  int fd = socket(family, SOCK_STREAM, 0);
  if (fd < 0) return report(attempt, false, "socket: " + err());
  int rc = connect(fd, addr, len);
  std::string why = err();
  close(fd);
  if (rc != 0) return report(attempt, false, "connect: " + why);
  return report(attempt, true, "connected");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || std::string(argv[1]) != "analyze" || std::string(argv[3]) != "--out") {
    std::fprintf(stderr, "usage: cw_sandbox_escape analyze INPUT --out DIR\n");
    return 1;
  }
  const std::string input = argv[2];
  const std::string out = argv[4];
  int in_fd = open(input.c_str(), O_RDONLY | O_CLOEXEC);
  if (in_fd < 0) {
    std::fprintf(stderr, "cannot open the input: %s\n", err().c_str());
    return 1;
  }
  char text[4096] = {};
  ssize_t got = read(in_fd, text, sizeof text - 1);
  std::istringstream line(std::string(text, got > 0 ? static_cast<size_t>(got) : 0));
  std::vector<std::string> words;
  for (std::string w; line >> w;) words.push_back(w);
  bool seccomp = true;
  if (!words.empty() && words[0] == "no-seccomp") {
    seccomp = false;
    words.erase(words.begin());
  }
  if (words.empty()) return report("none", false, "no attempt named");
  if (seccomp) {
    if (cw::Status s = cw::pipeline::enter_seccomp(); !s.ok()) {
      std::fprintf(stderr, "%s\n", s.error().detail().c_str());
      return 1;
    }
  }
  const std::string& a = words[0];
  auto arg = [&](size_t i) { return words.size() > i ? words[i] : std::string(); };

  if (a == "benign") {
    std::printf("{\"error\":{\"code\":\"unprocessable\",\"detail\":\"benign refusal\"}}\n");
    return 2;
  }
  if (a == "env") {
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "CONVOYWATCH_", 12) == 0) {
        return report(a, true, std::string(*e).substr(0, std::string(*e).find('=')));
      }
    }
    return report(a, false, "no CONVOYWATCH_ variable");
  }
  if (a == "proc1-environ") return try_read(a, "/proc/1/environ");
  if (a == "environ") return try_read(a, "/proc/" + arg(1) + "/environ");
  if (a == "read") return try_read(a, arg(1));
  if (a == "write" || a == "create") {
    int flags = a == "write" ? O_WRONLY | O_APPEND : O_WRONLY | O_CREAT | O_EXCL;
    int fd = open(arg(1).c_str(), flags, 0644);
    if (fd < 0) return report(a, false, arg(1) + ": " + err());
    ssize_t n = write(fd, "x", 1);
    close(fd);
    return report(a, n == 1, arg(1) + (n == 1 ? ": written" : ": opened, write refused"));
  }
  if (a == "tcp") {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(arg(2))));
    inet_pton(AF_INET, arg(1).c_str(), &sa.sin_addr);
    return try_connect(a, AF_INET, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (a == "unix") {
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::snprintf(sa.sun_path, sizeof sa.sun_path, "%s", arg(1).c_str());
    return try_connect(a, AF_UNIX, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  }
  if (a == "exec") {
    char* args[] = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                    const_cast<char*>("echo '{\"attempt\":\"exec\",\"escaped\":true}'; exit 3"),
                    nullptr};
    execve("/bin/sh", args, environ);
    return report(a, false, "execve: " + err());
  }
  if (a == "outlive") {
    // A grandchild in a session of its own that keeps writing a heartbeat into the output
    // folder for 30 s: the test checks that it stops when the job ends.
    if (setsid() < 0) std::fprintf(stderr, "setsid: %s\n", err().c_str());
    pid_t first = fork();
    if (first < 0) return report(a, false, "fork: " + err());
    if (first == 0) {
      if (fork() != 0) _exit(0);
      setsid();
      int fd = open((out + "/heartbeat").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      for (int i = 0; i < 300; ++i) {
        (void)!write(fd, "x", 1);
        usleep(100 * 1000);
      }
      _exit(0);
    }
    usleep(300 * 1000);  // the grandchild has started beating
    return report(a, false, "forked; the test checks the heartbeat stops");
  }
  if (a == "ptrace") {
    long rc = ptrace(PTRACE_ATTACH, std::stoi(arg(1)), nullptr, nullptr);
    if (rc != 0) return report(a, false, "ptrace: " + err());
    return report(a, true, "attached");
  }
  if (a == "violate") {
    int fd = socket(AF_INET, SOCK_STREAM, 0);  // the filter ends the process here
    return report(a, fd >= 0, "socket returned");
  }
  return report(a, false, "unknown attempt");
}
