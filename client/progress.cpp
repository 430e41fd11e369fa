// The progress reporters (terminal, JSON lines, quiet), their formatting and the summary table.
#include "client/progress.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "common/utf8.hpp"

namespace cw::client {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_between(SteadyTime a, SteadyTime b) {
  return std::chrono::duration<double>(b - a).count();
}

std::string percent(uint64_t done, uint64_t total) {
  if (total == 0) return "100%";
  return fmt::format("{:3d}%", static_cast<int>(std::min<uint64_t>(100, done * 100 / total)));
}

// Code points of `s` from the end, at most `n`: the byte offset where they start.
size_t start_of_last(const std::string& s, size_t n) {
  size_t pos = s.size();
  size_t count = 0;
  while (pos > 0 && count < n) {
    --pos;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    ++count;
  }
  return pos;
}

class TtyReporter : public Reporter {
 public:
  TtyReporter(std::ostream& out, size_t columns) : out_(out), columns_(columns ? columns : 80) {}

  void plan(size_t files, uint64_t bytes) override {
    files_ = files;
    bytes_ = bytes;
  }

  void file_start(size_t index, const FileResult& file) override {
    index_ = index;
    label_ = file.label;
    size_ = file.size;
    phase_ = "starting";
    done_ = phase_start_ = 0;
    file_meter_.reset();
    draw(true);
  }

  void phase(const std::string& name) override {
    commit_sent();
    phase_ = name;
    done_ = phase_start_ = 0;
    file_meter_.reset();
    draw(true);
  }

  void hashed(const std::string&) override {}

  void resumed(uint64_t offset, const std::string& why) override {
    commit_sent();
    done_ = phase_start_ = offset;
    file_meter_.reset();
    if (!why.empty()) {
      permanent(fmt::format("  resuming      {} at {} ({})", fit_left(label_, 40),
                            format_bytes(offset), why));
    }
    draw(true);
  }

  void progress(uint64_t done) override {
    done_ = done;
    SteadyTime now = Clock::now();
    if (phase_ == "uploading") {
      file_meter_.add(now, done_ - phase_start_);
      total_meter_.add(now, sent_ + (done_ - phase_start_));
    }
    draw(false);
  }

  void file_end(const FileResult& r) override {
    commit_sent();
    finished_bytes_ += r.size;
    ++finished_;
    phase_.clear();
    std::string what;
    switch (r.outcome) {
      case Outcome::kSubmitted:
        what = "submitted    ";
        break;
      case Outcome::kAlreadyThere:
        what = "already there";
        break;
      case Outcome::kSkipped:
        what = "skipped      ";
        break;
      case Outcome::kFailed:
        what = "FAILED       ";
        break;
    }
    std::string tail = r.outcome == Outcome::kSubmitted ? r.submission : r.reason;
    std::string size = r.size > 0 ? format_bytes(r.size) : "";
    // The name gets what the outcome, the size and a submission's path leave (16 to 48
    // columns); reasons too long for the line are in the summary in full.
    size_t label_width = std::clamp<size_t>(columns_ > 52 ? columns_ - 52 : 0, 16, 48);
    permanent(fmt::format("  {} {:<{}} {:>10}  {}", what, fit_left(r.label, label_width),
                          label_width, size, tail));
    draw(true);
  }

  void finish(const Totals&) override {
    clear();
    out_.flush();
  }

 private:
  void commit_sent() {
    if (phase_ == "uploading" && done_ > phase_start_) sent_ += done_ - phase_start_;
    phase_start_ = done_;
  }

  void clear() {
    std::string s;
    for (size_t i = 0; i < lines_; ++i) s += "\x1b[1A\x1b[2K";
    lines_ = 0;
    out_ << s;
  }

  // A line that stays: printed above the live lines.
  void permanent(const std::string& line) {
    clear();
    out_ << fit_right(line, columns_ - 1) << "\n";
  }

  static std::string fit_right(const std::string& s, size_t width) {
    if (display_width(s) <= width) return s;
    std::string out;
    size_t cols = 0;
    for (size_t i = 0; i < s.size() && cols + 1 < width;) {
      size_t n = utf8_sequence_length(s, i);
      if (n == 0) n = 1;
      out.append(s, i, n);
      i += n;
      ++cols;
    }
    return out + "~";
  }

  // "  uploading [####------]  3.8 MiB / 6.2 MiB    61%   11.3 MiB/s  ETA 0:01": the bar takes
  // what the numbers leave of the width (at most 30, none below 8). Fixed widths, so that the
  // line does not jitter as the numbers change.
  static std::string progress_line(const std::string& name, uint64_t done, uint64_t size,
                                   double rate, size_t w) {
    double eta = rate > 0 ? static_cast<double>(size - done) / rate : -1;
    std::string head = fmt::format("{:<11} ", name);
    std::string numbers =
        fmt::format("{:>9} / {:<9} {}  {:>11}  ETA {:>5}", format_bytes(done), format_bytes(size),
                    percent(done, size), format_rate(rate), format_eta(eta));
    size_t fixed = display_width(head) + display_width(numbers) + 3;
    size_t bar = w > fixed ? std::min<size_t>(w - fixed, 30) : 0;
    std::string line = head;
    if (bar >= 8) line += format_bar(fraction(done, size), bar) + " ";
    return fit_right(line + numbers, w);
  }

  // The current file: which one, then what is being done to it.
  std::vector<std::string> file_lines(size_t w) const {
    std::string head = fmt::format("[{}/{}] ", index_, files_);
    size_t room = w > display_width(head) ? w - display_width(head) : 8;
    std::vector<std::string> lines = {fit_right(head + fit_left(label_, room), w)};
    if (phase_ == "uploading" || phase_ == "hashing") {
      lines.push_back(progress_line("  " + phase_, done_, size_, file_meter_.rate(), w));
    } else {
      lines.push_back(fit_right(fmt::format("  {:<9} {:>11}", phase_, format_bytes(size_)), w));
    }
    return lines;
  }

  std::string total_line(size_t w) const {
    uint64_t done = std::min(finished_bytes_ + (phase_ == "uploading" ? done_ : 0), bytes_);
    return progress_line("total", done, bytes_, total_meter_.rate(), w);
  }

  static double fraction(uint64_t done, uint64_t total) {
    return total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  }

  void draw(bool force) {
    SteadyTime now = Clock::now();
    if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    size_t w = columns_ - 1;  // the last column would wrap on some terminals
    std::string s;
    for (size_t i = 0; i < lines_; ++i) s += "\x1b[1A\x1b[2K";
    lines_ = 0;
    if (!phase_.empty()) {
      for (const auto& line : file_lines(w)) {
        s += line + "\n";
        ++lines_;
      }
    }
    s += total_line(w) + "\n";
    ++lines_;
    out_ << s;
    out_.flush();
  }

  std::ostream& out_;
  size_t columns_;
  size_t files_ = 0;
  uint64_t bytes_ = 0;
  size_t index_ = 0;
  std::string label_;
  uint64_t size_ = 0;
  std::string phase_;
  uint64_t done_ = 0;
  uint64_t phase_start_ = 0;
  uint64_t sent_ = 0;
  uint64_t finished_bytes_ = 0;
  size_t finished_ = 0;
  RateMeter file_meter_;
  RateMeter total_meter_;
  SteadyTime last_draw_{};
  size_t lines_ = 0;
};

class JsonReporter : public Reporter {
 public:
  explicit JsonReporter(std::ostream& out) : out_(out) {}

  void plan(size_t files, uint64_t bytes) override {
    bytes_ = bytes;
    emit({{"event", "plan"}, {"files", files}, {"bytes", bytes}});
  }
  void file_start(size_t index, const FileResult& file) override {
    path_ = file.path;
    size_ = file.size;
    phase_.clear();
    nlohmann::json e = {{"event", "file"},
                        {"index", index},
                        {"path", file.path},
                        {"label", file.label},
                        {"size", file.size}};
    ids(e, file);
    emit(e);
  }
  void phase(const std::string& name) override {
    if (phase_ == "uploading") sent_before_ += last_done_ - phase_start_;
    phase_ = name;
    last_done_ = phase_start_ = 0;
    meter_.reset();
  }
  void hashed(const std::string& sha256) override {
    emit({{"event", "hashed"}, {"path", path_}, {"sha256", sha256}});
  }
  void resumed(uint64_t offset, const std::string& why) override {
    if (phase_ == "uploading") sent_before_ += last_done_ - phase_start_;
    last_done_ = phase_start_ = offset;
    meter_.reset();
    emit({{"event", "resume"}, {"path", path_}, {"offset", offset}, {"reason", why}});
  }
  void progress(uint64_t done) override {
    if (phase_ != "uploading") return;
    last_done_ = done;
    SteadyTime now = Clock::now();
    meter_.add(now, sent_before_ + done - phase_start_);
    if (now - last_emit_ < std::chrono::seconds(1)) return;
    last_emit_ = now;
    double rate = meter_.rate();
    emit({{"event", "progress"},
          {"path", path_},
          {"sent", done},
          {"size", size_},
          {"bytes_per_s", rate < 0 ? nlohmann::json() : nlohmann::json(std::lround(rate))},
          {"eta_s", rate > 0 ? nlohmann::json(std::lround(static_cast<double>(size_ - done) / rate))
                             : nlohmann::json()}});
  }
  void file_end(const FileResult& r) override {
    if (phase_ == "uploading") sent_before_ += last_done_ - phase_start_;
    phase_.clear();
    last_done_ = phase_start_ = 0;
    nlohmann::json e = {{"event", "result"}, {"path", r.path},
                        {"label", r.label},  {"status", outcome_name(r.outcome)},
                        {"size", r.size},    {"sent", r.sent}};
    if (!r.sha256.empty()) e["sha256"] = r.sha256;
    if (!r.submission.empty()) e["submission"] = r.submission;
    if (!r.reason.empty()) e["reason"] = r.reason;
    ids(e, r);
    emit(e);
  }
  void finish(const Totals& t) override {
    emit({{"event", "summary"},
          {"submitted", t.submitted},
          {"already_there", t.already_there},
          {"skipped", t.skipped},
          {"failed", t.failed},
          {"bytes_sent", t.bytes_sent},
          {"seconds", std::round(t.seconds * 1000) / 1000}});
  }

 private:
  static void ids(nlohmann::json& e, const FileResult& f) {
    if (f.chat_id) e["chat_id"] = *f.chat_id;
    if (f.message_id) e["message_id"] = *f.message_id;
  }
  void emit(const nlohmann::json& e) {
    out_ << e.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    out_.flush();
  }

  std::ostream& out_;
  uint64_t bytes_ = 0;
  std::string path_;
  uint64_t size_ = 0;
  std::string phase_;
  uint64_t phase_start_ = 0;
  uint64_t last_done_ = 0;
  uint64_t sent_before_ = 0;
  RateMeter meter_;
  SteadyTime last_emit_{};
};

class QuietReporter : public Reporter {
 public:
  void plan(size_t, uint64_t) override {}
  void file_start(size_t, const FileResult&) override {}
  void phase(const std::string&) override {}
  void hashed(const std::string&) override {}
  void resumed(uint64_t, const std::string&) override {}
  void progress(uint64_t) override {}
  void file_end(const FileResult&) override {}
  void finish(const Totals&) override {}
};

}  // namespace

std::string format_bytes(uint64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes) / 1024.0;
  size_t u = 0;
  while (v >= 1023.95 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  // Three significant figures from GiB up, where a tenth is hundreds of megabytes.
  if (u >= 2 && v < 10) return fmt::format("{:.2f} {}", v, kUnits[u]);
  return fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string format_rate(double bytes_per_s) {
  if (bytes_per_s < 0 || !std::isfinite(bytes_per_s)) return "--- B/s";
  return format_bytes(static_cast<uint64_t>(std::llround(bytes_per_s))) + "/s";
}

std::string format_eta(double seconds) {
  if (seconds < 0 || !std::isfinite(seconds) || seconds >= 99.0 * 3600) return "--:--";
  auto s = static_cast<int64_t>(std::ceil(seconds));
  int64_t h = s / 3600, m = (s / 60) % 60, sec = s % 60;
  if (h > 0) return fmt::format("{}:{:02d}:{:02d}", h, m, sec);
  return fmt::format("{}:{:02d}", m, sec);
}

std::string format_bar(double fraction, size_t width) {
  if (!(fraction >= 0)) fraction = 0;
  fraction = std::min(fraction, 1.0);
  auto full = static_cast<size_t>(std::floor(fraction * static_cast<double>(width)));
  return "[" + std::string(full, '#') + std::string(width - full, '-') + "]";
}

size_t display_width(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

std::string fit_left(const std::string& s, size_t width) {
  if (display_width(s) <= width) return s;
  if (width <= 3) return std::string(width, '.');
  return "..." + s.substr(start_of_last(s, width - 3));
}

void RateMeter::add(SteadyTime t, uint64_t total_bytes) {
  samples_.emplace_back(t, total_bytes);
  while (samples_.size() > 2 && t - samples_[1].first >= window_) samples_.pop_front();
}

double RateMeter::rate() const {
  if (samples_.size() < 2) return -1;
  double dt = seconds_between(samples_.front().first, samples_.back().first);
  if (dt < 0.2) return -1;
  auto bytes =
      static_cast<double>(samples_.back().second) - static_cast<double>(samples_.front().second);
  return std::max(0.0, bytes / dt);
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kSubmitted:
      return "submitted";
    case Outcome::kAlreadyThere:
      return "already_there";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kFailed:
      return "failed";
  }
  return "failed";
}

std::unique_ptr<Reporter> make_tty_reporter(std::ostream& out, size_t columns) {
  return std::make_unique<TtyReporter>(out, columns);
}

std::unique_ptr<Reporter> make_json_reporter(std::ostream& out) {
  return std::make_unique<JsonReporter>(out);
}

std::unique_ptr<Reporter> make_quiet_reporter() { return std::make_unique<QuietReporter>(); }

void print_summary(std::ostream& out, const Totals& t, const std::vector<FileResult>& results) {
  auto row = [&](const char* name, size_t n, std::optional<uint64_t> bytes) {
    std::string line = fmt::format("{:<15} {:>6}", name, n);
    if (bytes && n > 0) line += fmt::format(" {:>11}", format_bytes(*bytes));
    out << line << "\n";
  };
  out << fmt::format("{:<15} {:>6} {:>11}\n", "", "files", "size");
  row("submitted", t.submitted, t.submitted_bytes);
  row("already there", t.already_there, t.already_there_bytes);
  row("skipped", t.skipped, std::nullopt);
  row("failed", t.failed, std::nullopt);
  out << fmt::format("sent {} in {:.1f} s\n", format_bytes(t.bytes_sent), t.seconds);
  if (t.submitted == 0 && t.already_there > 0) {
    out << fmt::format("nothing new: {} already on the server\n", t.already_there);
  } else if (t.submitted == 0 && t.failed == 0) {
    out << "nothing to submit\n";
  }
  for (Outcome o : {Outcome::kSkipped, Outcome::kFailed}) {
    bool header = false;
    for (const auto& r : results) {
      if (r.outcome != o) continue;
      if (!header) {
        out << (o == Outcome::kSkipped ? "\nskipped:\n" : "\nfailed:\n");
        header = true;
      }
      out << "  " << r.label << ": " << r.reason << "\n";
    }
  }
  bool header = false;
  for (const auto& r : results) {
    if (r.reason.empty() || r.outcome == Outcome::kSkipped || r.outcome == Outcome::kFailed) {
      continue;
    }
    if (!header) {
      out << "\nnotes:\n";
      header = true;
    }
    out << "  " << r.label << ": " << r.reason << "\n";
  }
}

}  // namespace cw::client
