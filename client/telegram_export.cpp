// Telegram Desktop JSON exports: chats, video messages, their metadata and what is left out.
#include "client/telegram_export.hpp"

#include <fmt/format.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/time.hpp"
#include "common/utf8.hpp"

namespace cw::client {

namespace {

constexpr size_t kMaxTag = 64;             // server: tags are 1 to 64 bytes
constexpr size_t kMaxAuthor = 200;         // server: author is at most 200 bytes
constexpr size_t kMaxDescription = 20000;  // server: description is at most 20,000 bytes

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A JSON integer, or a string of digits (Telegram writes ids as numbers and unix times as
// strings).
std::optional<int64_t> as_int(const nlohmann::json& v) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    int64_t n = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && ec == std::errc() && p == s.data() + s.size()) return n;
  }
  return std::nullopt;
}

std::string string_or_empty(const nlohmann::json& msg, const char* key) {
  auto it = msg.find(key);
  if (it == msg.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

// Seconds since 1970 (UTC) as RFC 3339; nullopt outside 1990..2100 (not a post's date).
std::optional<std::string> unix_time_text(const nlohmann::json& v) {
  auto secs = as_int(v);
  if (!secs || *secs < 631152000 || *secs > 4102444800) return std::nullopt;
  return format_rfc3339(TimePoint(std::chrono::seconds(*secs)));
}

bool video_message(const nlohmann::json& msg) {
  std::string media_type = string_or_empty(msg, "media_type");
  if (media_type == "video_file" || media_type == "video_message" || media_type == "animation") {
    return true;
  }
  if (!media_type.empty()) return false;  // stickers, voice and audio files
  return string_or_empty(msg, "mime_type").rfind("video/", 0) == 0;
}

// A relative path inside the export folder: no absolute path, no "..", no NUL.
bool safe_relative_path(const std::string& file) {
  if (file.empty() || file.front() == '/' || file.find('\0') != std::string::npos) return false;
  std::filesystem::path p(file);
  for (const auto& part : p) {
    if (part == "..") return false;
  }
  return true;
}

std::string tag(const std::string& key, const std::string& value) {
  return cut_utf8("tg." + key + "=" + value, kMaxTag);
}

// Username from "NAME", "@NAME", "t.me/NAME" or "https://t.me/NAME".
Result<std::string> clean_username(std::string v) {
  for (const char* prefix : {"https://t.me/", "http://t.me/", "t.me/", "@"}) {
    if (v.rfind(prefix, 0) == 0) {
      v = v.substr(std::string(prefix).size());
      break;
    }
  }
  while (!v.empty() && v.back() == '/') v.pop_back();
  bool ok = v.size() >= 4 && v.size() <= 32;
  for (char c : v) {
    ok = ok &&
         ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_');
  }
  if (!ok) {
    return Error(Code::kInvalidArgument,
                 "a Telegram username is 4 to 32 letters, digits or underscores, got \"" + v + "\"",
                 "--channel-username");
  }
  return v;
}

Status apply_usernames(const std::vector<std::string>& values, std::vector<TelegramChat>& chats) {
  for (const std::string& value : values) {
    size_t eq = value.find('=');
    if (eq == std::string::npos) {
      if (chats.size() != 1) {
        return Error(Code::kInvalidArgument,
                     fmt::format("the export has {} chats: say which one with "
                                 "--channel-username CHAT_ID=NAME",
                                 chats.size()),
                     "--channel-username");
      }
      auto name = clean_username(value);
      if (!name.ok()) return name.error();
      chats.front().username = *name;
      continue;
    }
    auto id = as_int(nlohmann::json(value.substr(0, eq)));
    auto name = clean_username(value.substr(eq + 1));
    if (!name.ok()) return name.error();
    bool found = false;
    for (TelegramChat& c : chats) {
      if (id && c.id == *id) {
        c.username = *name;
        found = true;
      }
    }
    if (!found) {
      return Error(Code::kInvalidArgument,
                   "no chat with id " + value.substr(0, eq) + " in the export",
                   "--channel-username");
    }
  }
  return Status::Ok();
}

void plan_message(const nlohmann::json& msg, size_t chat_index, const TelegramChat& chat,
                  TelegramPlan& plan) {
  if (!msg.is_object() || string_or_empty(msg, "type") != "message") return;
  auto file_it = msg.find("file");
  if (file_it == msg.end() || !file_it->is_string() || !video_message(msg)) return;
  std::string file = file_it->get<std::string>();
  auto id = msg.contains("id") ? as_int(msg["id"]) : std::nullopt;
  if (!id) {
    plan.refused.push_back({chat_index, 0, file, "the message has no id"});
    return;
  }
  if (is_telegram_placeholder(file)) {
    plan.skipped.push_back({chat_index, *id, file, placeholder_reason(file)});
    return;
  }
  if (!safe_relative_path(file)) {
    plan.refused.push_back(
        {chat_index, *id, file, "the file's path leaves the export folder; it was not read"});
    return;
  }
  TelegramItem item;
  item.chat = chat_index;
  item.message_id = *id;
  item.file = file;
  nlohmann::json m = {{"platform", "telegram"}};
  if (!chat.username.empty()) {
    m["source_url"] = fmt::format("https://t.me/{}/{}", chat.username, *id);
  }
  if (auto posted =
          msg.contains("date_unixtime") ? unix_time_text(msg["date_unixtime"]) : std::nullopt) {
    m["posted_at"] = *posted;
  } else {
    item.notes.push_back("no usable date_unixtime: posted_at left empty");
  }
  std::string author = string_or_empty(msg, "author");
  if (author.empty()) author = string_or_empty(msg, "from");
  if (!author.empty()) m["author"] = cut_utf8(author, kMaxAuthor);
  std::string text;
  if (msg.contains("text")) {
    text = flatten_telegram_text(msg["text"]);
  } else if (msg.contains("text_entities")) {
    text = flatten_telegram_text(msg["text_entities"]);
  }
  if (text.size() > kMaxDescription) {
    item.notes.push_back(fmt::format("text cut from {} to {} bytes", text.size(), kMaxDescription));
    text = cut_utf8(text, kMaxDescription);
  }
  if (!text.empty()) m["description"] = text;
  nlohmann::json tags = nlohmann::json::array();
  tags.push_back(tag("chat_id", std::to_string(chat.id)));
  if (!chat.name.empty()) tags.push_back(tag("chat", chat.name));
  tags.push_back(tag("message_id", std::to_string(*id)));
  if (auto fwd = msg.find("forwarded_from"); fwd != msg.end()) {
    std::string from = fwd->is_string() ? fwd->get<std::string>() : "";
    tags.push_back(tag("forwarded_from", from.empty() ? "(hidden)" : from));
  }
  if (auto edited =
          msg.contains("edited_unixtime") ? unix_time_text(msg["edited_unixtime"]) : std::nullopt) {
    tags.push_back(tag("edited", *edited));
  }
  m["tags"] = tags;
  item.metadata = std::move(m);
  plan.items.push_back(std::move(item));
}

Status plan_chat(const nlohmann::json& chat_doc, TelegramPlan& plan) {
  if (!chat_doc.is_object()) {
    return Error(Code::kInvalidArgument, "a chat of the export is not an object", "result.json");
  }
  TelegramChat chat;
  auto id = chat_doc.contains("id") ? as_int(chat_doc["id"]) : std::nullopt;
  if (!id) return Error(Code::kInvalidArgument, "a chat of the export has no id", "result.json");
  chat.id = *id;
  chat.name = string_or_empty(chat_doc, "name");
  chat.type = string_or_empty(chat_doc, "type");
  plan.chats.push_back(chat);
  return Status::Ok();
}

}  // namespace

std::string cut_utf8(const std::string& s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  const std::string ellipsis = "\xE2\x80\xA6";  // …
  size_t keep = 0;
  while (keep < s.size()) {
    size_t n = utf8_sequence_length(s, keep);
    if (n == 0) n = 1;  // not UTF-8: cut by bytes
    if (keep + n + ellipsis.size() > max_bytes) break;
    keep += n;
  }
  return s.substr(0, keep) + ellipsis;
}

std::string flatten_telegram_text(const nlohmann::json& text) {
  if (text.is_string()) return text.get<std::string>();
  if (!text.is_array()) return "";
  std::string out;
  for (const auto& part : text) {
    if (part.is_string()) {
      out += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) continue;
    std::string t = string_or_empty(part, "text");
    std::string href = string_or_empty(part, "href");
    out += t;
    // A link shown as words keeps where it pointed: often the original post or a map.
    if (string_or_empty(part, "type") == "text_link" && !href.empty() && href != t) {
      out += " (" + href + ")";
    }
  }
  return out;
}

bool is_telegram_placeholder(const std::string& file) {
  return file.size() >= 2 && file.front() == '(' && file.back() == ')';
}

std::string placeholder_reason(const std::string& file) {
  if (file.find("exceeds maximum size") != std::string::npos) {
    return "not in the export: larger than its size limit (raise it in Telegram Desktop's "
           "export settings)";
  }
  if (file.find("not included") != std::string::npos) {
    return "not in the export: its settings left videos out";
  }
  if (file.find("unavailable") != std::string::npos) {
    return "not in the export: Telegram did not deliver the file (export again)";
  }
  return "not in the export: " + file;
}

std::string repair_telegram_json(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (!in_string) {
      if (c == '"') in_string = true;
      out += c;
      continue;
    }
    if (c == '"') {
      in_string = false;
      out += c;
    } else if (c == '\\' && i + 1 < text.size()) {
      if (text[i + 1] == 'x' && i + 3 < text.size() && is_hex(text[i + 2]) && is_hex(text[i + 3])) {
        out += "\\u00";
        out += text[i + 2];
        out += text[i + 3];
        i += 3;
      } else {
        out += c;
        out += text[i + 1];
        ++i;
      }
    } else {
      out += c;
    }
  }
  return out;
}

std::string telegram_idempotency_key(int64_t chat_id, int64_t message_id,
                                     const std::string& sha256) {
  return fmt::format("telegram:{}:{}:{}", chat_id, message_id, sha256);
}

Result<TelegramPlan> plan_telegram_export(const nlohmann::json& root,
                                          const std::vector<std::string>& channel_usernames) {
  if (!root.is_object()) {
    return Error(Code::kInvalidArgument, "result.json is not a JSON object", "result.json");
  }
  TelegramPlan plan;
  std::vector<const nlohmann::json*> chat_docs;
  if (root.contains("messages")) {
    chat_docs.push_back(&root);
  } else {
    for (const char* list : {"chats", "left_chats"}) {
      if (!root.contains(list)) continue;
      const auto& holder = root[list];
      if (!holder.is_object() || !holder.contains("list") || !holder["list"].is_array()) {
        return Error(Code::kInvalidArgument,
                     std::string(list) + " in result.json has no list of chats", "result.json");
      }
      for (const auto& c : holder["list"]) chat_docs.push_back(&c);
    }
    if (chat_docs.empty() && !root.contains("chats")) {
      return Error(Code::kInvalidArgument,
                   "result.json is not a Telegram Desktop export (no messages, no chats.list)",
                   "result.json");
    }
  }
  for (const nlohmann::json* c : chat_docs) {
    if (Status s = plan_chat(*c, plan); !s.ok()) return s.error();
  }
  if (Status s = apply_usernames(channel_usernames, plan.chats); !s.ok()) return s.error();
  for (size_t i = 0; i < chat_docs.size(); ++i) {
    const nlohmann::json& doc = *chat_docs[i];
    if (!doc.contains("messages")) continue;
    if (!doc["messages"].is_array()) {
      return Error(Code::kInvalidArgument,
                   fmt::format("the messages of chat {} are not a list", plan.chats[i].id),
                   "result.json");
    }
    for (const auto& msg : doc["messages"]) {
      ++plan.messages;
      plan_message(msg, i, plan.chats[i], plan);
    }
  }
  return plan;
}

Result<TelegramPlan> read_telegram_export(const std::string& dir,
                                          const std::vector<std::string>& channel_usernames) {
  std::string path = dir + "/result.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Error(Code::kInvalidArgument,
                 path +
                     " cannot be read: point --telegram-export at the folder Telegram "
                     "Desktop exported (JSON format)",
                 "--telegram-export");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  auto root = nlohmann::json::parse(repair_telegram_json(ss.str()), nullptr, false);
  if (root.is_discarded()) {
    return Error(Code::kInvalidArgument,
                 path + " is not JSON (was the export made in HTML format?)", "--telegram-export");
  }
  return plan_telegram_export(root, channel_usernames);
}

}  // namespace cw::client
