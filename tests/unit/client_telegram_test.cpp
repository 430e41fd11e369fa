// Telegram Desktop export parsing (client/telegram_export.hpp): one table of messages and what
// each becomes, then the export shapes, usernames, text flattening and the JSON repair.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "client/telegram_export.hpp"

namespace cw::client {
namespace {

using nlohmann::json;

// A single-chat export of a public channel around `message`.
json channel_export(const json& message) {
  return {{"name", "Колонна Z"},
          {"type", "public_channel"},
          {"id", 1660000001},
          {"messages", json::array({message})}};
}

enum class Kind { kItem, kSkipped, kRefused, kIgnored };

struct MessageCase {
  const char* name;
  const char* message;  // JSON of one message
  Kind kind;
  const char* expected;   // kItem: the whole metadata JSON; else a piece of the reason
  const char* note = "";  // kItem: a piece of the first note, "" for none
};

// date 2022-02-16T09:05:00 is the exporting computer's local time (UTC+3); date_unixtime
// 1644991500 is 2022-02-16T06:05:00Z, the only one that may be used.
const MessageCase kMessages[] = {
    {"plain text video_file",
     R"js({"id": 42, "type": "message", "date": "2022-02-16T09:05:00", "date_unixtime": "1644991500",
         "from": "Колонна Z", "from_id": "channel1660000001", "file": "video_files/a.mp4",
         "media_type": "video_file", "mime_type": "video/mp4", "text": "Колонна у Белгорода"})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/42",
         "posted_at": "2022-02-16T06:05:00Z", "author": "Колонна Z",
         "description": "Колонна у Белгорода",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=42"]})js"},
    {"entities keep link targets",
     R"js({"id": 43, "type": "message", "date_unixtime": "1644991500", "from": "Колонна Z",
         "file": "video_files/b.mp4", "media_type": "video_file",
         "text": ["Source: ", {"type": "text_link", "text": "here", "href": "https://t.me/other/7"},
                  ", map ", {"type": "link", "text": "https://maps.example.org/x"}, " ",
                  {"type": "bold", "text": "TANKS"}, " ", {"type": "mention", "text": "@watcher"},
                  " ", {"type": "hashtag", "text": "#belgorod"}]})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/43",
         "posted_at": "2022-02-16T06:05:00Z", "author": "Колонна Z",
         "description": "Source: here (https://t.me/other/7), map https://maps.example.org/x TANKS @watcher #belgorod",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=43"]})js"},
    {"signature wins over from; forwarded and edited become tags",
     R"js({"id": 44, "type": "message", "date_unixtime": 1644991500, "edited": "2022-02-16T10:00:00",
         "edited_unixtime": "1644994800", "from": "Колонна Z", "author": "Иван",
         "forwarded_from": "Белгород Онлайн", "file": "video_files/c.mp4",
         "media_type": "video_file", "text": ""})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/44",
         "posted_at": "2022-02-16T06:05:00Z", "author": "Иван",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=44",
                  "tg.forwarded_from=Белгород Онлайн", "tg.edited=2022-02-16T07:00:00Z"]})js"},
    {"forwarded from a hidden account",
     R"js({"id": 45, "type": "message", "date_unixtime": "1644991500", "forwarded_from": null,
         "file": "video_files/d.mp4", "media_type": "video_message"})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/45",
         "posted_at": "2022-02-16T06:05:00Z",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=45",
                  "tg.forwarded_from=(hidden)"]})js"},
    {"a video sent as a document", R"js({"id": 46, "type": "message", "date_unixtime": "1644991500",
         "file": "files/e.mov", "mime_type": "video/quicktime"})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/46",
         "posted_at": "2022-02-16T06:05:00Z",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=46"]})js"},
    {"an animation counts", R"js({"id": 47, "type": "message", "date_unixtime": "1644991500",
         "file": "video_files/f.mp4", "media_type": "animation", "mime_type": "video/mp4"})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/47",
         "posted_at": "2022-02-16T06:05:00Z",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=47"]})js"},
    {"no date_unixtime: no posted_at, never the local date",
     R"js({"id": 48, "type": "message", "date": "2022-02-16T09:05:00",
         "file": "video_files/g.mp4", "media_type": "video_file"})js",
     Kind::kItem,
     R"js({"platform": "telegram", "source_url": "https://t.me/kolonna_z/48",
         "tags": ["tg.chat_id=1660000001", "tg.chat=Колонна Z", "tg.message_id=48"]})js",
     "no usable date_unixtime"},
    {"file not included", R"js({"id": 50, "type": "message", "date_unixtime": "1644991500",
         "file": "(File not included. Change data exporting settings to download.)",
         "media_type": "video_file"})js",
     Kind::kSkipped, "settings left videos out"},
    {"file too large", R"js({"id": 51, "type": "message", "date_unixtime": "1644991500",
         "file": "(File exceeds maximum size. Change data exporting settings to download.)",
         "media_type": "video_file"})js",
     Kind::kSkipped, "larger than its size limit"},
    {"file unavailable", R"js({"id": 52, "type": "message", "date_unixtime": "1644991500",
         "file": "(File unavailable, please try again later)", "media_type": "video_file"})js",
     Kind::kSkipped, "did not deliver"},
    {"a path out of the export", R"js({"id": 53, "type": "message", "date_unixtime": "1644991500",
         "file": "../../.ssh/id_rsa", "media_type": "video_file"})js",
     Kind::kRefused, "leaves the export folder"},
    {"an absolute path", R"js({"id": 54, "type": "message", "date_unixtime": "1644991500",
         "file": "/etc/passwd", "media_type": "video_file"})js",
     Kind::kRefused, "leaves the export folder"},
    {"a video without an id", R"js({"type": "message", "date_unixtime": "1644991500",
         "file": "video_files/h.mp4", "media_type": "video_file"})js",
     Kind::kRefused, "no id"},
    {"a video sticker is not footage", R"js({"id": 55, "type": "message",
         "file": "stickers/s.webm", "media_type": "sticker", "mime_type": "video/webm"})js",
     Kind::kIgnored, ""},
    {"a voice message", R"js({"id": 56, "type": "message", "file": "voice/v.ogg",
         "media_type": "voice_message", "mime_type": "audio/ogg"})js",
     Kind::kIgnored, ""},
    {"a photo", R"js({"id": 57, "type": "message", "photo": "photos/p.jpg", "width": 10,
         "height": 10})js",
     Kind::kIgnored, ""},
    {"a PDF document", R"js({"id": 58, "type": "message", "file": "files/x.pdf",
         "mime_type": "application/pdf"})js",
     Kind::kIgnored, ""},
    {"a service message", R"js({"id": 59, "type": "service", "action": "pin_message",
         "file": "video_files/i.mp4", "media_type": "video_file"})js",
     Kind::kIgnored, ""},
};

TEST(ClientTelegramTest, MessagesBecomeSubmissionsOrAreLeftOut) {
  for (const MessageCase& c : kMessages) {
    SCOPED_TRACE(c.name);
    json message = json::parse(c.message);
    auto plan = plan_telegram_export(channel_export(message), {"@kolonna_z"});
    ASSERT_TRUE(plan.ok()) << plan.error().detail();
    EXPECT_EQ(plan->messages, 1u);
    switch (c.kind) {
      case Kind::kItem: {
        ASSERT_EQ(plan->items.size(), 1u);
        EXPECT_TRUE(plan->skipped.empty() && plan->refused.empty());
        const TelegramItem& item = plan->items[0];
        EXPECT_EQ(item.metadata, json::parse(c.expected)) << item.metadata.dump();
        EXPECT_EQ(item.file, message["file"].get<std::string>());
        EXPECT_EQ(item.message_id, message["id"].get<int64_t>());
        if (std::string(c.note).empty()) {
          EXPECT_TRUE(item.notes.empty());
        } else {
          ASSERT_FALSE(item.notes.empty());
          EXPECT_NE(item.notes[0].find(c.note), std::string::npos) << item.notes[0];
        }
        break;
      }
      case Kind::kSkipped:
      case Kind::kRefused: {
        const auto& list = c.kind == Kind::kSkipped ? plan->skipped : plan->refused;
        EXPECT_TRUE(plan->items.empty());
        ASSERT_EQ(list.size(), 1u);
        EXPECT_NE(list[0].reason.find(c.expected), std::string::npos) << list[0].reason;
        EXPECT_EQ(list[0].file, message["file"].get<std::string>());
        break;
      }
      case Kind::kIgnored:
        EXPECT_TRUE(plan->items.empty() && plan->skipped.empty() && plan->refused.empty());
        break;
    }
  }
}

TEST(ClientTelegramTest, WithoutAUsernameThereIsNoSourceUrl) {
  json msg = json::parse(R"js({"id": 7, "type": "message", "date_unixtime": "1644991500",
      "from": "Олег", "file": "video_files/a.mp4", "media_type": "video_file", "text": "x"})js");
  json chat = {{"name", "Олег"},
               {"type", "personal_chat"},
               {"id", 5550001},
               {"messages", json::array({msg})}};
  auto plan = plan_telegram_export(chat, {});
  ASSERT_TRUE(plan.ok());
  ASSERT_EQ(plan->items.size(), 1u);
  EXPECT_FALSE(plan->items[0].metadata.contains("source_url"));
  EXPECT_EQ(plan->items[0].metadata["tags"][0], "tg.chat_id=5550001");
  EXPECT_EQ(plan->chats[0].type, "personal_chat");
}

TEST(ClientTelegramTest, AccountExportsReadEveryChatAndTakeUsernamesById) {
  json video = json::parse(R"js({"id": 3, "type": "message", "date_unixtime": "1644991500",
      "file": "chats/chat_01/video_files/a.mp4", "media_type": "video_file"})js");
  json root = {{"about", "Here is the data you requested."},
               {"chats",
                {{"about", "…"},
                 {"list",
                  {{{"name", "Канал"},
                    {"type", "public_channel"},
                    {"id", 11},
                    {"messages", json::array({video})}},
                   {{"name", "Друг"},
                    {"type", "personal_chat"},
                    {"id", 22},
                    {"messages", json::array({video})}}}}}},
               {"left_chats",
                {{"about", "…"},
                 {"list",
                  {{{"name", "Старый"},
                    {"type", "public_supergroup"},
                    {"id", 33},
                    {"messages", json::array({video})}}}}}}};
  auto plan = plan_telegram_export(root, {"11=kanal_news", "33=https://t.me/stary_chat"});
  ASSERT_TRUE(plan.ok()) << plan.error().detail();
  ASSERT_EQ(plan->chats.size(), 3u);
  ASSERT_EQ(plan->items.size(), 3u);
  EXPECT_EQ(plan->items[0].metadata["source_url"], "https://t.me/kanal_news/3");
  EXPECT_FALSE(plan->items[1].metadata.contains("source_url"));
  EXPECT_EQ(plan->items[2].metadata["source_url"], "https://t.me/stary_chat/3");
  EXPECT_EQ(plan->messages, 3u);

  struct BadUsername {
    std::vector<std::string> values;
    const char* why;
  };
  const BadUsername kBad[] = {
      {{"kanal_news"}, "has 3 chats"},
      {{"44=kanal_news"}, "no chat with id 44"},
      {{"11=ab"}, "4 to 32"},
      {{"11=kanal-news"}, "4 to 32"},
  };
  for (const auto& b : kBad) {
    auto bad = plan_telegram_export(root, b.values);
    ASSERT_FALSE(bad.ok()) << b.why;
    EXPECT_NE(bad.error().detail().find(b.why), std::string::npos) << bad.error().detail();
    EXPECT_EQ(bad.error().field(), "--channel-username");
  }
}

TEST(ClientTelegramTest, WhatIsNotAnExportIsRefused) {
  const char* kNotExports[] = {
      R"js([1, 2])js", R"js({"name": "x"})js", R"js({"chats": {"list": 3}})js",
      R"js({"name": "x", "id": 1, "messages": {}})js", R"js({"name": "x", "messages": []})js"};
  for (const char* text : kNotExports) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(plan_telegram_export(json::parse(text), {}).ok());
  }
}

TEST(ClientTelegramTest, FlattenText) {
  struct Case {
    const char* text;
    const char* flat;
  };
  const Case kCases[] = {
      {R"js("просто текст")js", "просто текст"},
      {R"js([])js", ""},
      {R"js(["a", {"type": "bold", "text": "b"}, "c"])js", "abc"},
      {R"js([{"type": "text_link", "text": "https://x.org", "href": "https://x.org"}])js",
       "https://x.org"},
      {R"js([{"type": "text_link", "text": "пост", "href": "https://t.me/c/1/2"}])js",
       "пост (https://t.me/c/1/2)"},
      {R"js([{"type": "mention_name", "text": "Иван", "user_id": 5}])js", "Иван"},
      {R"js([{"type": "plain", "text": "from text_entities"}])js", "from text_entities"},
      {R"js([3, null, {"type": "bold"}])js", ""},
      {R"js(17)js", ""},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(flatten_telegram_text(json::parse(c.text)), c.flat) << c.text;
  }
}

TEST(ClientTelegramTest, LongValuesAreCutAtCharacterBoundaries) {
  std::string cyrillic;
  for (int i = 0; i < 40; ++i) cyrillic += "Ж";  // 2 bytes each
  json msg = {{"id", 9},
              {"type", "message"},
              {"date_unixtime", "1644991500"},
              {"forwarded_from", cyrillic},
              {"file", "v/a.mp4"},
              {"media_type", "video_file"},
              {"text", std::string(25000, 'a')}};
  json chat = {
      {"name", cyrillic}, {"type", "private_channel"}, {"id", 1}, {"messages", json::array({msg})}};
  auto plan = plan_telegram_export(chat, {});
  ASSERT_TRUE(plan.ok());
  const json& m = plan->items.at(0).metadata;
  for (const auto& t : m["tags"]) {
    EXPECT_LE(t.get<std::string>().size(), 64u) << t;
  }
  std::string fwd = m["tags"][3];
  EXPECT_EQ(fwd.rfind("tg.forwarded_from=ЖЖЖ", 0), 0u) << fwd;
  EXPECT_EQ(fwd.substr(fwd.size() - 3), "\xE2\x80\xA6");
  EXPECT_LE(m["description"].get<std::string>().size(), 20000u);
  ASSERT_FALSE(plan->items[0].notes.empty());
  EXPECT_NE(plan->items[0].notes[0].find("25000"), std::string::npos);

  EXPECT_EQ(cut_utf8("short", 64), "short");
  EXPECT_EQ(cut_utf8("ЖЖЖЖ", 7), "ЖЖ\xE2\x80\xA6");  // 2 + 2 + 3 bytes: a third Ж makes 9
  EXPECT_EQ(cut_utf8("ЖЖЖЖ", 6), "Ж\xE2\x80\xA6");
  EXPECT_EQ(cut_utf8("abcdefgh", 6), "abc\xE2\x80\xA6");
}

TEST(ClientTelegramTest, RepairsTelegramControlCharacterEscapes) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case kCases[] = {
      {R"js({"text": "a\x0Ab"})js", R"js({"text": "a\u000Ab"})js"},
      {R"js({"text": "a\\x41"})js", R"js({"text": "a\\x41"})js"},  // an escaped backslash, then x41
      {R"js({"text": "\"\x1f\""})js", R"js({"text": "\"\u001f\""})js"},
      {R"js({"x": 1})js", R"js({"x": 1})js"},
      {R"js({"text": "\xZZ"})js",
       R"js({"text": "\xZZ"})js"},  // not hex: left for the parser to refuse
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(repair_telegram_json(c.in), c.out) << c.in;
  }
  auto doc = json::parse(repair_telegram_json(R"js({"text": "line\x0Anext"})js"));
  EXPECT_EQ(doc["text"], "line\nnext");
}

TEST(ClientTelegramTest, IdempotencyKeyIsChatMessageAndHash) {
  std::string sha(64, 'a');
  EXPECT_EQ(telegram_idempotency_key(1660000001, 42, sha), "telegram:1660000001:42:" + sha);
  EXPECT_LE(telegram_idempotency_key(INT64_MAX, INT64_MAX, sha).size(), 200u);
}

}  // namespace
}  // namespace cw::client
