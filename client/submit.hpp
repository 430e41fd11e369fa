// `convoywatch submit`: videos, folders of videos and Telegram Desktop exports sent to a running
// ConvoyWatch server over its public API.
//
// For each file: its SHA-256 first; bytes the server already holds (and the caller may see) are
// never sent again — a plain file is then "already there", a Telegram message gets its own
// submission of the stored bytes (POST /submissions with media_sha256). Otherwise a tus upload,
// whose URL is kept in the resume state (client/resume_state.hpp) until it completes, so a cut
// connection is resumed in the same run and a killed run is resumed by the next one. A Telegram
// message's submission carries Idempotency-Key telegram:<chat id>:<message id>:<sha256>, which
// makes a second run of the same export submit nothing.
//
// Exit status: 0 when nothing failed, 1 when a file failed (or the server could not be
// reached), 2 for wrong options or configuration (including a token the server refuses).
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace cw::client {

struct SubmitOptions {
  std::vector<std::string> paths;  // files and folders
  std::string telegram_export;     // folder with result.json
  std::vector<std::string> channel_usernames;
  // Submission metadata: --meta JSON, then the single flags over it.
  std::string meta_json;
  std::optional<std::string> platform;
  std::optional<std::string> source_url;
  std::optional<std::string> posted_at;
  std::optional<std::string> author;
  std::optional<std::string> description;
  std::optional<std::string> visibility;
  std::vector<std::string> tags;
  bool json = false;  // JSON lines on stdout instead of the terminal display and the table
  // Connection (client/client_config.hpp).
  std::string client_config;
  std::optional<std::string> server;
  std::optional<std::string> token;
  std::optional<int> retries;
};

// Where the run talks: the environment, the two output streams, and whether stderr is a
// terminal (and how wide).
struct SubmitIo {
  std::map<std::string, std::string> env;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
  bool tty = false;
  size_t columns = 0;

  // The process's: environ, std::cout, std::cerr, isatty(2) and TIOCGWINSZ.
  static SubmitIo from_process();
};

int run_submit(const SubmitOptions& options, const SubmitIo& io);

// The metadata the options give (--meta, then --platform etc. over it), not yet checked beyond
// being a JSON object with string flags: the server validates and names the field.
// kInvalidArgument (field "--meta") when --meta is not a JSON object.
Result<nlohmann::json> metadata_from_options(const SubmitOptions& options);

// A Telegram message's metadata with the person's additions: tags appended (no repeats),
// visibility and claimed_location taken. kInvalidArgument naming the field when the person set
// one that the export gives (platform, source_url, posted_at, author, description).
Result<nlohmann::json> merge_telegram_metadata(const nlohmann::json& from_export,
                                               const nlohmann::json& from_person);

// The video files under `paths`: files as given (whatever their name), folders walked
// recursively for names ending in a video extension (hidden entries left out), sorted; a path
// that does not exist is returned in `missing`.
struct FoundFiles {
  std::vector<std::string> files;
  std::vector<std::string> missing;
};
FoundFiles find_videos(const std::vector<std::string>& paths);
bool has_video_extension(const std::string& path);

}  // namespace cw::client
