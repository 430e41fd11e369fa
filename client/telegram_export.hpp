// Telegram Desktop's "Export chat history" (JSON) read into submissions: which messages carry a
// video, with what context, and which are left out and why.
//
// Input: result.json of a single-chat export ({name, type, id, messages}) or of a whole-account
// export (chats.list and left_chats.list of such objects). A message is a video when its
// media_type is video_file, video_message or animation, or it has a `file` with a video/* MIME
// type and no media_type (a video sent as a document). Stickers never count.
//
// Each video becomes submission metadata:
//   platform     "telegram"
//   source_url   https://t.me/<username>/<message id> when the chat's username is known
//                (--channel-username; the export does not contain it), else absent (null)
//   posted_at    date_unixtime as UTC. `date` is never read: it is the exporting computer's
//                local time without an offset. No date_unixtime: no posted_at (and a note).
//   author       `author` (a channel's post signature), else `from`
//   description  `text` flattened (a string, or strings and {type, text} entities; a
//                text_link keeps its target as "text (href)"), at most 20,000 bytes
//   tags         tg.chat_id=<id>, tg.chat=<name>, tg.message_id=<id>, and when present
//                tg.forwarded_from=<name> (hidden: "(hidden)") and tg.edited=<RFC 3339 UTC>.
//                Tags, not new fields: the submission has no free-form field, tags are stored,
//                shown and audited with it, and the description stays the post's own words
//                (the gazetteer hints read it). A value over 64 bytes is cut at a character
//                boundary and ends in "…".
// A `file` that is a placeholder ("(File not included. …)", "(File exceeds maximum size. …)",
// "(File unavailable, …)") is skipped with the reason; a path that is absolute or climbs out of
// the export folder ("..") is refused (an export must not make the client read other files).
//
// Pure functions of their inputs (no file system except read_telegram_export), thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace cw::client {

struct TelegramChat {
  int64_t id = 0;
  std::string name;      // "" when the export has none (saved messages, deleted accounts)
  std::string type;      // public_channel, private_channel, personal_chat, …
  std::string username;  // from --channel-username; "" when unknown
};

struct TelegramItem {
  size_t chat = 0;  // index into TelegramPlan::chats
  int64_t message_id = 0;
  std::string file;                // relative to the export folder, as result.json has it
  nlohmann::json metadata;         // submission metadata (see above)
  std::vector<std::string> notes;  // what had to be adjusted (text cut, no date_unixtime)
};

struct TelegramLeftOut {
  size_t chat = 0;
  int64_t message_id = 0;
  std::string file;    // as result.json has it
  std::string reason;  // for people: why it is not submitted
};

struct TelegramPlan {
  std::vector<TelegramChat> chats;
  std::vector<TelegramItem> items;       // videos to submit, in export order
  std::vector<TelegramLeftOut> skipped;  // placeholders: the export did not include the file
  std::vector<TelegramLeftOut> refused;  // malformed entries: counted as failures
  size_t messages = 0;                   // messages read, of every kind
};

// --channel-username values: "NAME", "@NAME" or "https://t.me/NAME" for the only chat of the
// export, "CHAT_ID=NAME" for one chat of many. Usernames are 4 to 32 of [A-Za-z0-9_].
// kInvalidArgument (field "--channel-username") for a malformed value, a plain NAME with several
// chats, or a CHAT_ID that is not in the export.
Result<TelegramPlan> plan_telegram_export(const nlohmann::json& root,
                                          const std::vector<std::string>& channel_usernames);

// Reads DIR/result.json (repairing Telegram's "\xNN" escapes of control characters, which are
// not JSON) and plans it. kInvalidArgument when the file is missing or is not an export.
Result<TelegramPlan> read_telegram_export(const std::string& dir,
                                          const std::vector<std::string>& channel_usernames);

// The pieces, for tests.
std::string flatten_telegram_text(const nlohmann::json& text);
bool is_telegram_placeholder(const std::string& file);
// Why a placeholder was left out, in words.
std::string placeholder_reason(const std::string& file);
// "\x0A" inside JSON strings -> "\u000A"; everything else untouched.
std::string repair_telegram_json(const std::string& text);
// "telegram:<chat id>:<message id>:<sha256>": the Idempotency-Key of a message's file.
std::string telegram_idempotency_key(int64_t chat_id, int64_t message_id,
                                     const std::string& sha256);
// `s` cut to at most `max_bytes` at a UTF-8 character boundary, ending in "…" when cut.
// REQUIRES: max_bytes >= 3.
std::string cut_utf8(const std::string& s, size_t max_bytes);

}  // namespace cw::client
