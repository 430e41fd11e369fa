// The resume state file: JSON read and written whole under a lock file.
#include "client/resume_state.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include <nlohmann/json.hpp>

namespace cw::client {

namespace {

std::map<std::string, ResumeEntry> read_entries(const std::string& path) {
  std::map<std::string, ResumeEntry> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = nlohmann::json::parse(ss.str(), nullptr, false);
  if (!doc.is_object() || !doc.contains("uploads") || !doc["uploads"].is_object()) return out;
  for (const auto& [sha, e] : doc["uploads"].items()) {
    if (!e.is_object()) continue;
    ResumeEntry entry;
    entry.server = e.value("server", "");
    entry.upload_url = e.value("upload_url", "");
    entry.length = e.value("length", uint64_t{0});
    entry.idempotency_key = e.value("idempotency_key", "");
    entry.created_at = e.value("created_at", "");
    if (!entry.upload_url.empty()) out.emplace(sha, std::move(entry));
  }
  return out;
}

Status write_entries(const std::string& path, const std::map<std::string, ResumeEntry>& entries) {
  nlohmann::json uploads = nlohmann::json::object();
  for (const auto& [sha, e] : entries) {
    uploads[sha] = {{"server", e.server},
                    {"upload_url", e.upload_url},
                    {"length", e.length},
                    {"idempotency_key", e.idempotency_key},
                    {"created_at", e.created_at}};
  }
  std::string text = nlohmann::json{{"version", 1}, {"uploads", uploads}}.dump(2) + "\n";
  std::string tmp = path + ".tmp";
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Error(Code::kInternal, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      close(fd);
      return Error(Code::kInternal, "cannot write " + tmp + ": " + std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    return Error(Code::kInternal, "cannot write " + tmp + ": " + std::strerror(errno));
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return Error(Code::kInternal, "cannot replace " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

std::optional<ResumeEntry> ResumeState::find(const std::string& sha256, const std::string& server,
                                             uint64_t length, const std::string& key) const {
  auto entries = read_entries(path());
  auto it = entries.find(sha256);
  if (it == entries.end()) return std::nullopt;
  const ResumeEntry& e = it->second;
  if (e.server != server || e.length != length || e.idempotency_key != key) return std::nullopt;
  return e;
}

std::map<std::string, ResumeEntry> ResumeState::entries() const { return read_entries(path()); }

Status ResumeState::update(const std::function<void(std::map<std::string, ResumeEntry>&)>& change) {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) return Error(Code::kInternal, "cannot create " + dir_ + ": " + ec.message());
  chmod(dir_.c_str(), 0700);
  std::string lock_path = dir_ + "/uploads.lock";
  int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0) {
    return Error(Code::kInternal, "cannot open " + lock_path + ": " + std::strerror(errno));
  }
  while (flock(lock, LOCK_EX) != 0) {
    if (errno != EINTR) {
      int err = errno;
      close(lock);
      return Error(Code::kInternal, "cannot lock " + lock_path + ": " + std::strerror(err));
    }
  }
  auto entries = read_entries(path());
  change(entries);
  Status s = write_entries(path(), entries);
  close(lock);  // releases the lock
  return s;
}

Status ResumeState::put(const std::string& sha256, const ResumeEntry& entry) {
  return update([&](std::map<std::string, ResumeEntry>& entries) { entries[sha256] = entry; });
}

Status ResumeState::erase(const std::string& sha256, const std::string& upload_url) {
  if (!std::filesystem::exists(path())) return Status::Ok();
  return update([&](std::map<std::string, ResumeEntry>& entries) {
    auto it = entries.find(sha256);
    if (it != entries.end() && it->second.upload_url == upload_url) entries.erase(it);
  });
}

}  // namespace cw::client
