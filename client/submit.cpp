// The submit run: options to a list of files, each file hashed, checked, uploaded or resumed,
// every outcome reported, and the summary.
#include "client/submit.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <thread>

#include "client/client_config.hpp"
#include "client/progress.hpp"
#include "client/resume_state.hpp"
#include "client/server_api.hpp"
#include "client/telegram_export.hpp"
#include "common/sha256.hpp"
#include "common/time.hpp"

extern char** environ;

namespace cw::client {

namespace {

namespace fs = std::filesystem;

// One file to submit, with the context it goes with.
struct Job {
  std::string path;  // to open
  FileResult shown;  // label, path, ids
  nlohmann::json metadata = nlohmann::json::object();
  bool telegram = false;
  int64_t chat_id = 0;
  int64_t message_id = 0;
  std::string notes;  // from the export plan
};

class FileCloser {
 public:
  explicit FileCloser(int fd) : fd_(fd) {}
  ~FileCloser() {
    if (fd_ >= 0) close(fd_);
  }
  FileCloser(const FileCloser&) = delete;
  FileCloser& operator=(const FileCloser&) = delete;

 private:
  int fd_;
};

Result<std::string> hash_file(int fd, uint64_t size, Reporter& reporter) {
  Sha256 sha;
  std::vector<char> buf(1 << 20);
  uint64_t done = 0;
  while (true) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error(Code::kInternal, std::string("cannot read: ") + std::strerror(errno));
    if (n == 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
    done += static_cast<uint64_t>(n);
    reporter.progress(std::min(done, size));
  }
  if (done != size) return Error(Code::kInternal, "the file changed size while it was read");
  return to_hex(sha.finish());
}

class Run {
 public:
  Run(const ClientConfig& config, Reporter& reporter)
      : config_(config), api_(config), state_(config.state_dir), reporter_(reporter) {}

  ServerApi& api() { return api_; }

  FileResult process(const Job& job) {
    FileResult r = job.shown;
    struct stat st {};
    if (stat(job.path.c_str(), &st) != 0) {
      r.reason = job.telegram ? "file missing from the export folder" : "no such file";
      return r;
    }
    if (!S_ISREG(st.st_mode)) {
      r.reason = "not a regular file";
      return r;
    }
    r.size = static_cast<uint64_t>(st.st_size);
    int fd = open(job.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      r.reason = std::string("cannot open: ") + std::strerror(errno);
      return r;
    }
    FileCloser closer(fd);
    reporter_.phase("hashing");
    auto sha = hash_file(fd, r.size, reporter_);
    if (!sha.ok()) {
      r.reason = sha.error().detail();
      return r;
    }
    r.sha256 = *sha;
    reporter_.hashed(r.sha256);
    std::string key =
        job.telegram ? telegram_idempotency_key(job.chat_id, job.message_id, r.sha256) : "";

    reporter_.phase("checking");
    auto visible = with_retries([&] { return api_.media_visible(r.sha256); });
    if (!visible.ok()) return failed(r, visible.error());
    if (*visible) {
      if (!job.telegram) {
        r.outcome = Outcome::kAlreadyThere;
        return with_notes(r, job);
      }
      // Known bytes, maybe a new message: its own submission, without sending the file.
      auto answer = with_retries([&] { return api_.submit_stored(r.sha256, job.metadata, key); });
      if (!answer.ok()) return failed(r, answer.error());
      r.submission = answer->location;
      r.outcome = answer->replayed ? Outcome::kAlreadyThere : Outcome::kSubmitted;
      if (!answer->replayed) r.reason = "the video was on the server already: not sent again";
      return with_notes(r, job);
    }
    return upload(r, job, fd, key);
  }

 private:
  // Runs `call` again after transient failures (the server restarting, a cut connection), up to
  // config.retries times.
  template <typename F>
  auto with_retries(F call) -> decltype(call()) {
    for (int attempt = 1;; ++attempt) {
      auto result = call();
      if (result.ok() || !is_transient(result.error()) || attempt > config_.retries) {
        return result;
      }
      pause(attempt);
    }
  }

  void pause(int attempt) const {
    int64_t ms = 250;
    for (int i = 1; i < attempt && ms < config_.retry_max_delay_ms; ++i) ms *= 2;
    ms = std::min<int64_t>(ms, config_.retry_max_delay_ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  }

  static FileResult failed(FileResult r, const Error& e) {
    r.outcome = Outcome::kFailed;
    r.reason = e.field().empty() ? e.detail() : e.detail() + " [" + e.field() + "]";
    return r;
  }

  static FileResult with_notes(FileResult r, const Job& job) {
    if (!job.notes.empty()) r.reason = r.reason.empty() ? job.notes : r.reason + "; " + job.notes;
    return r;
  }

  FileResult submitted(FileResult r, const Job& job, const std::string& location,
                       const std::string& upload_url) {
    (void)state_.erase(r.sha256, upload_url);
    r.outcome = Outcome::kSubmitted;
    r.submission = location;
    return with_notes(r, job);
  }

  FileResult upload(FileResult r, const Job& job, int fd, const std::string& key) {
    std::string name = fs::path(job.path).filename().string();
    std::string url;
    uint64_t offset = 0;
    bool resumed_from_state = false;
    if (auto entry = state_.find(r.sha256, config_.server, r.size, key)) {
      auto status = with_retries([&] { return api_.tus_status(entry->upload_url); });
      if (status.ok()) {
        if (status->submission) return submitted(r, job, *status->submission, entry->upload_url);
        url = entry->upload_url;
        offset = status->offset;
        resumed_from_state = true;
      } else if (status.error().code() == Code::kNotFound || status.error().code() == Code::kGone) {
        (void)state_.erase(r.sha256, entry->upload_url);  // expired: start again
      } else {
        return failed(r, status.error());
      }
    }
    for (int fresh = 0;; ++fresh) {
      if (url.empty()) {
        auto created =
            with_retries([&] { return api_.tus_create(r.size, name, job.metadata, key); });
        if (!created.ok()) return failed(r, created.error());
        if (created->replayed) {
          r.outcome = Outcome::kAlreadyThere;
          r.submission = created->replayed->location;
          return with_notes(r, job);
        }
        url = *created->upload_url;
        ResumeEntry entry{config_.server, url, r.size, key, format_rfc3339(now_utc())};
        if (Status s = state_.put(r.sha256, entry); !s.ok()) return failed(r, s.error());
        offset = 0;
      }
      reporter_.phase("uploading");
      if (resumed_from_state) {
        reporter_.resumed(offset, "from an earlier run");
        resumed_from_state = false;
      }
      auto done = send(r, fd, url, offset);
      if (done.ok()) return submitted(r, job, *done, url);
      if ((done.error().code() == Code::kNotFound || done.error().code() == Code::kGone) &&
          fresh == 0) {
        // The upload expired or was removed under us: once more from the start.
        (void)state_.erase(r.sha256, url);
        url.clear();
        continue;
      }
      FileResult out = failed(r, done.error());
      // Refused for good (not a video, too large, bad metadata): the server dropped the upload.
      if (!is_transient(done.error())) (void)state_.erase(r.sha256, url);
      if (is_transient(done.error())) {
        out.reason += offset_of_last_ > 0
                          ? fmt::format("; {} of {} are on the server: run again to resume",
                                        format_bytes(offset_of_last_), format_bytes(r.size))
                          : "; run again to resume";
      }
      return out;
    }
  }

  // PATCHes until the server has every byte; the submission's location.
  Result<std::string> send(FileResult& r, int fd, const std::string& url, uint64_t offset) {
    offset_of_last_ = offset;
    int attempts = 0;
    while (true) {
      uint64_t sent_now = 0;
      auto patched = api_.tus_patch(url, fd, offset, r.size, [&](uint64_t sent) {
        sent_now = sent;
        reporter_.progress(std::min(offset + sent, r.size));
      });
      r.sent += sent_now;
      if (patched.ok()) {
        offset_of_last_ = offset = patched->offset;
        attempts = 0;
        if (patched->submission) return *patched->submission;
        if (offset >= r.size) {
          auto status = api_.tus_status(url);
          if (status.ok() && status->submission) return *status->submission;
          return Error(Code::kInternal, "the server has every byte but made no submission");
        }
        continue;
      }
      Error error = patched.error();
      if (!is_transient(error)) return error;
      while (true) {
        if (++attempts > config_.retries) return error;
        pause(attempts);
        auto status = api_.tus_status(url);
        if (!status.ok()) {
          if (!is_transient(status.error())) return status.error();
          continue;
        }
        if (status->submission) return *status->submission;
        if (status->offset > offset) attempts = 0;  // it moved on: progress, not a failure
        offset_of_last_ = offset = status->offset;
        reporter_.resumed(offset, error.detail());
        break;
      }
    }
  }

  const ClientConfig& config_;
  ServerApi api_;
  ResumeState state_;
  Reporter& reporter_;
  uint64_t offset_of_last_ = 0;
};

// "Колонна Белгород #101 IMG_0042.MP4": what a person finds the post by. The export's folders
// (chats/chat_01/video_files/) say nothing; the JSON lines carry the whole path.
std::string telegram_label(const TelegramChat& chat, int64_t message_id, const std::string& file) {
  std::string who = chat.name.empty() ? std::to_string(chat.id) : chat.name;
  std::string label = fmt::format("{} #{}", who, message_id);
  if (!file.empty() && !is_telegram_placeholder(file)) {
    label += " " + fs::path(file).filename().string();
  }
  return label;
}

}  // namespace

SubmitIo SubmitIo::from_process() {
  SubmitIo io;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) io.env.emplace(kv.substr(0, eq), kv.substr(eq + 1));
  }
  io.out = &std::cout;
  io.err = &std::cerr;
  io.tty = isatty(STDERR_FILENO) == 1;
  winsize ws{};
  if (io.tty && ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0) io.columns = ws.ws_col;
  return io;
}

bool has_video_extension(const std::string& path) {
  static const std::set<std::string> kExtensions = {".mp4", ".m4v", ".mov", ".qt",
                                                    ".3gp", ".3g2", ".mkv", ".webm",
                                                    ".avi", ".ts",  ".mts", ".m2ts"};
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return kExtensions.count(ext) > 0;
}

FoundFiles find_videos(const std::vector<std::string>& paths) {
  FoundFiles found;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> in_dir;
      fs::recursive_directory_iterator it(p, fs::directory_options::skip_permission_denied, ec);
      for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (!name.empty() && name.front() == '.') {
          if (it->is_directory(ec)) it.disable_recursion_pending();
          continue;
        }
        if (it->is_regular_file(ec) && has_video_extension(name)) {
          in_dir.push_back(it->path().string());
        }
      }
      std::sort(in_dir.begin(), in_dir.end());
      found.files.insert(found.files.end(), in_dir.begin(), in_dir.end());
    } else if (fs::exists(p, ec)) {
      found.files.push_back(p);
    } else {
      found.missing.push_back(p);
    }
  }
  return found;
}

Result<nlohmann::json> metadata_from_options(const SubmitOptions& o) {
  nlohmann::json m = nlohmann::json::object();
  if (!o.meta_json.empty()) {
    m = nlohmann::json::parse(o.meta_json, nullptr, false);
    if (!m.is_object()) {
      return Error(Code::kInvalidArgument, "--meta must be a JSON object", "--meta");
    }
  }
  auto set = [&](const char* key, const std::optional<std::string>& v) {
    if (v) m[key] = *v;
  };
  set("platform", o.platform);
  set("source_url", o.source_url);
  set("posted_at", o.posted_at);
  set("author", o.author);
  set("description", o.description);
  set("visibility", o.visibility);
  if (!o.tags.empty()) {
    if (!m.contains("tags") || !m["tags"].is_array()) m["tags"] = nlohmann::json::array();
    for (const auto& t : o.tags) m["tags"].push_back(t);
  }
  return m;
}

Result<nlohmann::json> merge_telegram_metadata(const nlohmann::json& from_export,
                                               const nlohmann::json& from_person) {
  nlohmann::json m = from_export;
  for (const auto& [key, value] : from_person.items()) {
    if (key == "tags") {
      if (!value.is_array()) {
        return Error(Code::kInvalidArgument, "tags must be a list of strings", "tags");
      }
      if (!m.contains("tags")) m["tags"] = nlohmann::json::array();
      for (const auto& t : value) {
        if (std::find(m["tags"].begin(), m["tags"].end(), t) == m["tags"].end()) {
          m["tags"].push_back(t);
        }
      }
    } else if (key == "visibility" || key == "claimed_location") {
      m[key] = value;
    } else {
      return Error(Code::kInvalidArgument,
                   key +
                       " comes from the export for each message; with --telegram-export give "
                       "only tags, visibility and claimed_location",
                   key);
    }
  }
  return m;
}

int run_submit(const SubmitOptions& options, const SubmitIo& io) {
  std::ostream& out = *io.out;
  std::ostream& err = *io.err;
  auto usage = [&](const std::string& message) {
    err << "convoywatch submit: " << message << "\n";
    return 2;
  };
  if (options.paths.empty() == options.telegram_export.empty()) {
    return usage("give files or folders, or --telegram-export DIR (not both)");
  }
  if (!options.channel_usernames.empty() && options.telegram_export.empty()) {
    return usage("--channel-username goes with --telegram-export");
  }
  auto person = metadata_from_options(options);
  if (!person.ok()) return usage(person.error().detail());

  std::vector<Job> jobs;
  std::vector<FileResult> left_out;  // reported without being looked at
  if (!options.telegram_export.empty()) {
    auto plan = read_telegram_export(options.telegram_export, options.channel_usernames);
    if (!plan.ok()) return usage(plan.error().detail());
    for (const TelegramItem& item : plan->items) {
      const TelegramChat& chat = plan->chats[item.chat];
      auto merged = merge_telegram_metadata(item.metadata, *person);
      if (!merged.ok()) return usage(merged.error().detail());
      Job job;
      job.path = (fs::path(options.telegram_export) / item.file).string();
      job.shown.label = telegram_label(chat, item.message_id, item.file);
      job.shown.path = item.file;
      job.shown.chat_id = chat.id;
      job.shown.message_id = item.message_id;
      job.metadata = std::move(merged.value());
      job.telegram = true;
      job.chat_id = chat.id;
      job.message_id = item.message_id;
      for (const auto& note : item.notes) {
        job.notes += (job.notes.empty() ? "" : "; ") + note;
      }
      jobs.push_back(std::move(job));
    }
    for (const auto* list : {&plan->skipped, &plan->refused}) {
      for (const TelegramLeftOut& l : *list) {
        const TelegramChat& chat = plan->chats[l.chat];
        FileResult r;
        r.label = telegram_label(chat, l.message_id, l.file);
        r.path = l.file;
        r.outcome = list == &plan->skipped ? Outcome::kSkipped : Outcome::kFailed;
        r.reason = l.reason;
        r.chat_id = chat.id;
        r.message_id = l.message_id;
        left_out.push_back(std::move(r));
      }
    }
  } else {
    FoundFiles found = find_videos(options.paths);
    for (const std::string& f : found.files) {
      Job job;
      job.path = f;
      job.shown.label = f;
      job.shown.path = f;
      job.metadata = *person;
      jobs.push_back(std::move(job));
    }
    for (const std::string& f : found.missing) {
      FileResult r;
      r.label = r.path = f;
      r.reason = "no such file or folder";
      left_out.push_back(std::move(r));
    }
  }

  ClientConfigSources sources;
  sources.file = options.client_config;
  sources.env = io.env;
  sources.server = options.server;
  sources.token = options.token;
  auto config = load_client_config(sources);
  if (!config.ok()) return usage(config.error().detail());
  if (options.retries) config->retries = std::max(0, *options.retries);

  std::unique_ptr<Reporter> reporter =
      options.json ? make_json_reporter(out)
                   : (io.tty ? make_tty_reporter(err, io.columns) : make_quiet_reporter());
  Run run(*config, *reporter);
  auto me = run.api().me();
  if (!me.ok()) {
    if (me.error().code() == Code::kUnauthenticated || me.error().code() == Code::kForbidden) {
      return usage("the server refused the token: " + me.error().detail());
    }
    err << "convoywatch submit: cannot reach " << config->server << ": " << me.error().detail()
        << "\n";
    return 1;
  }

  auto started = std::chrono::steady_clock::now();
  uint64_t bytes = 0;
  for (const Job& j : jobs) {
    std::error_code ec;
    auto size = fs::file_size(j.path, ec);
    if (!ec) bytes += size;
  }
  reporter->plan(jobs.size() + left_out.size(), bytes);
  std::vector<FileResult> results;
  Totals totals;
  auto count = [&](const FileResult& r) {
    totals.bytes_sent += r.sent;
    switch (r.outcome) {
      case Outcome::kSubmitted:
        ++totals.submitted;
        totals.submitted_bytes += r.size;
        break;
      case Outcome::kAlreadyThere:
        ++totals.already_there;
        totals.already_there_bytes += r.size;
        break;
      case Outcome::kSkipped:
        ++totals.skipped;
        break;
      case Outcome::kFailed:
        ++totals.failed;
        break;
    }
    results.push_back(r);
  };
  size_t index = 0;
  for (const FileResult& r : left_out) {
    reporter->file_start(++index, r);
    reporter->file_end(r);
    count(r);
  }
  for (const Job& job : jobs) {
    FileResult start = job.shown;
    std::error_code ec;
    start.size = fs::file_size(job.path, ec);
    if (ec) start.size = 0;
    reporter->file_start(++index, start);
    FileResult r = run.process(job);
    reporter->file_end(r);
    count(r);
  }
  totals.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  reporter->finish(totals);
  if (!options.json) print_summary(out, totals, results);
  out.flush();
  return totals.failed > 0 ? 1 : 0;
}

}  // namespace cw::client
