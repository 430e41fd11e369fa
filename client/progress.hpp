// What `submit` tells the person (or the program) running it while it works.
//
// Three reporters behind one interface: on a terminal, three live lines (which file; its phase,
// bar, bytes, percent, speed and ETA; the same for all files) redrawn at most ten times a
// second, above which each finished file leaves one line, as curl, rsync and pip do (Debian
// packages no C++ progress-bar library, so this is kept small); with --json, one JSON object a
// line on stdout (events: plan, file, hashed, resume, progress at most once a second per file,
// result, summary); otherwise nothing until the summary.
//
// The formatting helpers and RateMeter are pure and take the time as an argument. Reporters are
// not thread-safe: the submit loop calls them from one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cw::client {

using SteadyTime = std::chrono::steady_clock::time_point;

// "0 B", "999 B", "1.0 KiB", "12.3 MiB", "1.50 GiB" (binary units, as curl and rsync -h).
std::string format_bytes(uint64_t bytes);
// "3.2 MiB/s"; "--- B/s" when unknown (negative).
std::string format_rate(double bytes_per_s);
// "0:07", "12:34", "1:02:03"; "--:--" when unknown (negative) or above 99 hours.
std::string format_eta(double seconds);
// "[#####-----]" of `width` characters inside the brackets. REQUIRES: width >= 1.
std::string format_bar(double fraction, size_t width);
// `s` shortened to at most `width` display columns (UTF-8 aware: one column per code point),
// keeping its end ("...ideo_files/clip.mp4"), since the file name is the end of a path.
std::string fit_left(const std::string& s, size_t width);
// Display columns of `s` (one per code point).
size_t display_width(const std::string& s);

// Speed over a sliding window of samples (default 5 s): bytes per second, or -1 until two
// samples at least 200 ms apart exist.
class RateMeter {
 public:
  explicit RateMeter(std::chrono::milliseconds window = std::chrono::seconds(5))
      : window_(window) {}
  void add(SteadyTime t, uint64_t total_bytes);
  double rate() const;
  void reset() { samples_.clear(); }

 private:
  std::chrono::milliseconds window_;
  std::deque<std::pair<SteadyTime, uint64_t>> samples_;
};

enum class Outcome { kSubmitted, kAlreadyThere, kSkipped, kFailed };
const char* outcome_name(Outcome o);  // "submitted", "already_there", "skipped", "failed"

// What happened to one file (or one left-out Telegram message).
struct FileResult {
  std::string label;  // what the person recognises: the path, or "chat #id path"
  std::string path;   // the file as given or as the export names it
  Outcome outcome = Outcome::kFailed;
  uint64_t size = 0;
  uint64_t sent = 0;  // bytes this run sent for it
  std::string sha256;
  std::string submission;  // "/api/v1/submissions/17"
  std::string reason;      // for skipped and failed, and a note for the others
  std::optional<int64_t> chat_id;
  std::optional<int64_t> message_id;
};

struct Totals {
  size_t submitted = 0;
  size_t already_there = 0;
  size_t skipped = 0;
  size_t failed = 0;
  uint64_t bytes_sent = 0;
  uint64_t submitted_bytes = 0;
  uint64_t already_there_bytes = 0;
  double seconds = 0;
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  // The work ahead: files to look at and their bytes.
  virtual void plan(size_t files, uint64_t bytes) = 0;
  // A file starts (index from 1).
  virtual void file_start(size_t index, const FileResult& file) = 0;
  // "hashing", "checking", "uploading", … for the current file.
  virtual void phase(const std::string& name) = 0;
  virtual void hashed(const std::string& sha256) = 0;
  // The upload of the current file goes on from `offset` (after a cut or from the state file).
  virtual void resumed(uint64_t offset, const std::string& why) = 0;
  // Bytes of the current file done in this phase (hashed, or on the server).
  virtual void progress(uint64_t done) = 0;
  virtual void file_end(const FileResult& result) = 0;
  virtual void finish(const Totals& totals) = 0;
};

// Live lines on a terminal; `columns` is the terminal width (0: 80).
std::unique_ptr<Reporter> make_tty_reporter(std::ostream& out, size_t columns);
// JSON lines.
std::unique_ptr<Reporter> make_json_reporter(std::ostream& out);
// Nothing at all.
std::unique_ptr<Reporter> make_quiet_reporter();

// The closing table: counts and sizes per outcome, then the reason of each file skipped or
// failed, then the notes of the others. A second run with nothing new says so.
void print_summary(std::ostream& out, const Totals& totals, const std::vector<FileResult>& results);

}  // namespace cw::client
