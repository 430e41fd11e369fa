// End to end: `convoywatch submit` against a real `convoywatch serve` — a Telegram Desktop
// export made here with ffmpeg videos (a public channel and a private chat, plain, entity and
// Cyrillic text, a missing file, a placeholder, a forwarded post, a repost of the same bytes),
// a second run that sends nothing, a connection cut mid-file by a proxy (resumed in the same run,
// and by a later run after the client gave up), folders, the progress display on a
// pseudo-terminal (under script(1)) and JSON lines without one.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::vector<json> json_lines(const std::string& out) {
  std::vector<json> events;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto e = json::parse(line, nullptr, false);
    EXPECT_TRUE(e.is_object()) << "not a JSON line: " << line;
    if (e.is_object()) events.push_back(e);
  }
  return events;
}

std::vector<json> of_kind(const std::vector<json>& events, const std::string& kind) {
  std::vector<json> out;
  for (const auto& e : events) {
    if (e["event"] == kind) out.push_back(e);
  }
  return out;
}

// The result event of the message `id` (-1 when the run had none).
json result_of(const std::vector<json>& events, int64_t message_id) {
  for (const auto& e : of_kind(events, "result")) {
    if (e.value("message_id", int64_t{-1}) == message_id) return e;
  }
  return json();
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = {{"CONVOYWATCH_DATABASE_URL", db_.url()}};
    auto m = run_convoywatch({"migrate"}, env_);
    ASSERT_EQ(m.exit_code, 0) << m.err;
    alice_ = add_user(env_, "alice", "Bellingcat", "contributor");
    olga_ = add_user(env_, "olga", "The Insider", "contributor");
    server_ = std::make_unique<ServerProcess>(env_);
  }

  std::string base() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  std::map<std::string, std::string> auth(const std::string& token) const {
    return {{"Authorization", "Bearer " + token}};
  }

  // The client as an investigator runs it: its own HOME, state and config folders, the token in
  // the environment. `server` defaults to the real server.
  CommandResult submit(std::vector<std::string> args, const std::string& server = "") {
    std::vector<std::string> argv = {"submit", "--server", server.empty() ? base() : server};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_convoywatch(argv, client_env());
  }
  std::map<std::string, std::string> client_env() const {
    return {{"HOME", home_.path().string()},
            {"XDG_STATE_HOME", (home_ / "state").string()},
            {"XDG_CONFIG_HOME", (home_ / "config").string()},
            {"CONVOYWATCH_TOKEN", alice_}};
  }
  std::string state_file() const { return (home_ / "state/convoywatch/uploads.json").string(); }
  size_t state_entries() const {
    auto doc = json::parse(read_file(state_file()), nullptr, false);
    return doc.is_object() ? doc["uploads"].size() : 0;
  }

  json get(const std::string& path, const std::string& token) const {
    auto r = http_request(server_->port(), "GET", path, auth(token));
    EXPECT_EQ(r.status, 200) << path << r.body;
    return r.json();
  }
  std::vector<json> telegram_submissions() const {
    auto page = get("/api/v1/submissions?platform=telegram&limit=100", alice_);
    return page["items"].get<std::vector<json>>();
  }
  std::string stored_path(const std::string& sha) const {
    return server_->media_root() + "/sha256/" + sha.substr(0, 2) + "/" + sha.substr(2, 2) + "/" +
           sha;
  }

  TestDatabase db_{"cw_geo_template"};  // migrated, geodata loaded
  TempDir home_;
  TempDir work_;
  std::map<std::string, std::string> env_;
  std::string alice_, olga_;
  std::unique_ptr<ServerProcess> server_;
};

// An account export ("Export Telegram data", JSON) of a public channel and a private chat, as
// Telegram Desktop writes it: `date` in the exporting computer's local time (here UTC+3),
// date_unixtime the truth; files under chats/chat_NN/video_files.
struct Export {
  std::string dir;
  std::string sha_a, sha_b, sha_c;
};

Export make_export(const TempDir& work) {
  Export e;
  e.dir = work.out("Telegram Desktop/DataExport_2022-02-20");
  fs::create_directories(e.dir + "/chats/chat_01/video_files");
  fs::create_directories(e.dir + "/chats/chat_02/video_files");
  std::string a = make_video(e.dir + "/chats/chat_01/video_files", "IMG_0042.MP4",
                             {"-f", "lavfi", "-i", "testsrc=duration=2:size=320x240:rate=25",
                              "-c:v", "libx264", "-pix_fmt", "yuv420p"});
  std::string b = make_video(e.dir + "/chats/chat_01/video_files", "convoy_night.mp4",
                             {"-f", "lavfi", "-i", "smptebars=duration=2:size=320x240:rate=25",
                              "-c:v", "libx264", "-pix_fmt", "yuv420p"});
  std::string c = make_video(e.dir + "/chats/chat_02/video_files", "forwarded.mp4",
                             {"-f", "lavfi", "-i", "testsrc2=duration=2:size=320x240:rate=25",
                              "-c:v", "libx264", "-pix_fmt", "yuv420p"});
  // The same clip posted again in the private chat: the same bytes under another name.
  fs::copy_file(a, e.dir + "/chats/chat_02/video_files/repost.mp4");
  e.sha_a = sha256_of_file(a);
  e.sha_b = sha256_of_file(b);
  e.sha_c = sha256_of_file(c);
  json channel = {{"name", "Колонна Белгород"},
                  {"type", "public_channel"},
                  {"id", 1660000001},
                  {"messages", json::parse(R"js([
        {"id": 100, "type": "service", "date": "2022-02-15T10:00:00", "date_unixtime": "1644908400",
         "actor": "Колонна Белгород", "actor_id": "channel1660000001", "action": "create_channel",
         "title": "Колонна Белгород", "text": "", "text_entities": []},
        {"id": 101, "type": "message", "date": "2022-02-16T09:05:00", "date_unixtime": "1644991500",
         "from": "Колонна Белгород", "from_id": "channel1660000001",
         "file": "chats/chat_01/video_files/IMG_0042.MP4", "thumbnail": "chats/chat_01/video_files/IMG_0042.MP4_thumb.jpg",
         "media_type": "video_file", "mime_type": "video/mp4", "duration_seconds": 2, "width": 320, "height": 240,
         "text": "Колонна техники идёт к Белгороду", "text_entities": [{"type": "plain", "text": "Колонна техники идёт к Белгороду"}]},
        {"id": 102, "type": "message", "date": "2022-02-16T23:40:00", "date_unixtime": "1645044000",
         "edited": "2022-02-17T00:10:00", "edited_unixtime": "1645045800",
         "from": "Колонна Белгород", "from_id": "channel1660000001", "author": "Админ",
         "file": "chats/chat_01/video_files/convoy_night.mp4", "media_type": "video_file", "mime_type": "video/mp4",
         "text": ["Night convoy on the M-2, ", {"type": "text_link", "text": "original", "href": "https://t.me/source_chan/555"},
                  " ", {"type": "hashtag", "text": "#Belgorod"}]},
        {"id": 103, "type": "message", "date": "2022-02-17T08:00:00", "date_unixtime": "1645074000",
         "from": "Колонна Белгород", "file": "chats/chat_01/video_files/gone.mp4",
         "media_type": "video_file", "mime_type": "video/mp4", "text": "deleted from disk after the export"},
        {"id": 104, "type": "message", "date": "2022-02-17T09:00:00", "date_unixtime": "1645077600",
         "from": "Колонна Белгород",
         "file": "(File exceeds maximum size. Change data exporting settings to download.)",
         "media_type": "video_file", "mime_type": "video/mp4", "text": "a long video"},
        {"id": 105, "type": "message", "date": "2022-02-17T10:00:00", "date_unixtime": "1645081200",
         "from": "Колонна Белгород", "photo": "chats/chat_01/photos/photo_1.jpg", "width": 10, "height": 10,
         "text": "a photo, not a video"}
       ])js")}};
  json chat = {{"name", "Олег Петров"},
               {"type", "personal_chat"},
               {"id", 5550001},
               {"messages", json::parse(R"([
        {"id": 7, "type": "message", "date": "2022-02-18T12:00:00", "date_unixtime": "1645174800",
         "from": "Олег Петров", "from_id": "user5550001", "forwarded_from": "Военный Осведомитель",
         "file": "chats/chat_02/video_files/forwarded.mp4", "media_type": "video_file",
         "mime_type": "video/mp4", "text": "смотри, у Шебекино"},
        {"id": 8, "type": "message", "date": "2022-02-18T12:05:00", "date_unixtime": "1645175100",
         "from": "Олег Петров", "from_id": "user5550001",
         "file": "chats/chat_02/video_files/repost.mp4", "media_type": "video_file",
         "mime_type": "video/mp4", "text": "то же видео"}
       ])")}};
  json root = {{"about", "Here is the data you requested."},
               {"personal_information", {{"user_id", 1}, {"first_name", "Investigator"}}},
               {"chats",
                {{"about", "This page lists all chats from this export."},
                 {"list", json::array({channel, chat})}}}};
  write_file(e.dir + "/result.json", root.dump(1));
  return e;
}

TEST_F(ClientTest, TelegramExportIsSubmittedOnceWithItsProvenance) {
  Export ex = make_export(work_);
  auto run = submit({"--telegram-export", ex.dir, "--channel-username",
                     "1660000001=kolonna_belgorod", "--tag", "belgorod-2022", "--json"});
  // The missing file is a failure: the run says so with its exit status.
  EXPECT_EQ(run.exit_code, 1) << run.out << run.err << server_->log();
  auto events = json_lines(run.out);
  ASSERT_FALSE(events.empty()) << run.err;
  EXPECT_EQ(events.front()["event"], "plan");
  EXPECT_EQ(events.back()["event"], "summary");
  EXPECT_EQ(events.back()["submitted"], 4) << run.out;
  EXPECT_EQ(events.back()["already_there"], 0);
  EXPECT_EQ(events.back()["skipped"], 1);
  EXPECT_EQ(events.back()["failed"], 1);

  EXPECT_EQ(result_of(events, 101)["status"], "submitted");
  EXPECT_EQ(result_of(events, 101)["sha256"], ex.sha_a);
  EXPECT_GT(result_of(events, 101)["sent"].get<uint64_t>(), 0u);
  EXPECT_EQ(result_of(events, 102)["status"], "submitted");
  EXPECT_EQ(result_of(events, 103)["status"], "failed");
  EXPECT_NE(result_of(events, 103)["reason"].get<std::string>().find("missing"), std::string::npos);
  EXPECT_EQ(result_of(events, 104)["status"], "skipped");
  EXPECT_NE(result_of(events, 104)["reason"].get<std::string>().find("size limit"),
            std::string::npos);
  EXPECT_EQ(result_of(events, 7)["status"], "submitted");
  // The repost's bytes were on the server already: a submission, nothing sent.
  EXPECT_EQ(result_of(events, 8)["status"], "submitted");
  EXPECT_EQ(result_of(events, 8)["sent"], 0);
  EXPECT_EQ(result_of(events, 105), json()) << "a photo is not footage";
  EXPECT_EQ(state_entries(), 0u) << read_file(state_file());

  auto subs = telegram_submissions();
  ASSERT_EQ(subs.size(), 4u);
  std::map<std::string, json> by_message;
  for (const auto& s : subs) {
    for (const auto& t : s["tags"]) {
      std::string tag = t;
      if (tag.rfind("tg.message_id=", 0) == 0) by_message[tag.substr(14)] = s;
    }
  }
  ASSERT_EQ(by_message.size(), 4u);
  const json& p101 = by_message["101"];
  EXPECT_EQ(p101["source_url"], "https://t.me/kolonna_belgorod/101");
  EXPECT_EQ(p101["posted_at"], "2022-02-16T06:05:00Z") << "date_unixtime, not the local date";
  EXPECT_EQ(p101["author"], "Колонна Белгород");
  EXPECT_EQ(p101["description"], "Колонна техники идёт к Белгороду");
  EXPECT_EQ(p101["platform"], "telegram");
  EXPECT_EQ(p101["media"]["sha256"], ex.sha_a);
  EXPECT_EQ(p101["original_filename"], "IMG_0042.MP4");
  EXPECT_EQ(p101["tags"], json::parse(R"(["tg.chat_id=1660000001", "tg.chat=Колонна Белгород",
      "tg.message_id=101", "belgorod-2022"])"));
  const json& p102 = by_message["102"];
  EXPECT_EQ(p102["author"], "Админ");
  EXPECT_EQ(p102["posted_at"], "2022-02-16T20:40:00Z");
  EXPECT_EQ(p102["description"],
            "Night convoy on the M-2, original (https://t.me/source_chan/555) #Belgorod");
  EXPECT_NE(std::find(p102["tags"].begin(), p102["tags"].end(), "tg.edited=2022-02-16T21:10:00Z"),
            p102["tags"].end())
      << p102["tags"];
  const json& p7 = by_message["7"];
  EXPECT_TRUE(p7["source_url"].is_null()) << "a private chat has no public link";
  EXPECT_EQ(p7["author"], "Олег Петров");
  EXPECT_EQ(p7["tags"], json::parse(R"(["tg.chat_id=5550001", "tg.chat=Олег Петров",
      "tg.message_id=7", "tg.forwarded_from=Военный Осведомитель", "belgorod-2022"])"));
  const json& p8 = by_message["8"];
  EXPECT_EQ(p8["media"]["sha256"], ex.sha_a);
  EXPECT_EQ(p8["exact_duplicate_of"], p101["id"]) << "the repost is linked to the first post";
  EXPECT_EQ(sha256_of_file(stored_path(ex.sha_c)), ex.sha_c);

  // A second run sends nothing and says so (the missing file still fails).
  auto again = submit({"--telegram-export", ex.dir, "--channel-username",
                       "1660000001=kolonna_belgorod", "--tag", "belgorod-2022"});
  EXPECT_EQ(again.exit_code, 1) << again.out << again.err;
  EXPECT_EQ(again.err, "") << "no progress display without a terminal";
  EXPECT_NE(again.out.find("already there        4"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("nothing new: 4 already on the server"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("sent 0 B"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("Колонна Белгород #103 gone.mp4: file missing from the export folder"),
            std::string::npos)
      << again.out;
  EXPECT_NE(again.out.find("Колонна Белгород #104: not in the export: larger than its size limit"),
            std::string::npos)
      << again.out;
  EXPECT_EQ(telegram_submissions().size(), 4u);

  // The file comes back: only it is submitted.
  fs::copy_file(ex.dir + "/chats/chat_02/video_files/forwarded.mp4",
                ex.dir + "/chats/chat_01/video_files/gone.mp4");
  auto third = submit({"--telegram-export", ex.dir, "--channel-username",
                       "1660000001=kolonna_belgorod", "--tag", "belgorod-2022", "--json"});
  EXPECT_EQ(third.exit_code, 0) << third.out << third.err;
  auto third_events = json_lines(third.out);
  EXPECT_EQ(third_events.back()["submitted"], 1);
  EXPECT_EQ(third_events.back()["already_there"], 4);
  EXPECT_EQ(telegram_submissions().size(), 5u);
}

TEST_F(ClientTest, ACutConnectionIsResumedInTheSameRun) {
  std::string file = big_mp4(work_.out("clips"), "convoy.mp4");
  uint64_t size = fs::file_size(file);
  std::string sha = sha256_of_file(file);
  CuttingProxy proxy(server_->port(), size / 3);
  auto run =
      submit({file, "--platform", "tiktok", "--author", "@convoy_watcher", "--json"}, proxy.url());
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << server_->log();
  EXPECT_EQ(proxy.cuts(), 1);
  auto events = json_lines(run.out);
  auto resumes = of_kind(events, "resume");
  ASSERT_GE(resumes.size(), 1u) << run.out;
  uint64_t offset = resumes.back()["offset"];
  EXPECT_GT(offset, 0u);
  EXPECT_LT(offset, size);
  auto results = of_kind(events, "result");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0]["status"], "submitted");
  EXPECT_EQ(results[0]["sha256"], sha);
  EXPECT_NE(server_->log().find("upload interrupted"), std::string::npos);
  EXPECT_EQ(sha256_of_file(stored_path(sha)), sha);
  auto sub = get(results[0]["submission"].get<std::string>(), alice_);
  EXPECT_EQ(sub["platform"], "tiktok");
  EXPECT_EQ(sub["author"], "@convoy_watcher");
  EXPECT_EQ(sub["original_filename"], "convoy.mp4");
  EXPECT_EQ(state_entries(), 0u);
}

TEST_F(ClientTest, ALaterRunResumesWhereTheLastOneGaveUp) {
  std::string file = big_mp4(work_.out("clips"), "convoy.mp4");
  uint64_t size = fs::file_size(file);
  std::string sha = sha256_of_file(file);
  // The network goes down at the cut and stays down: the client gives up, keeping the state.
  CuttingProxy proxy(server_->port(), size / 2, 1, /*down_after_cut=*/true);
  auto first = submit({file, "--json", "--retries", "2"}, proxy.url());
  EXPECT_EQ(first.exit_code, 1) << first.out << first.err;
  auto failed = of_kind(json_lines(first.out), "result");
  ASSERT_EQ(failed.size(), 1u) << first.out;
  EXPECT_EQ(failed[0]["status"], "failed");
  EXPECT_NE(failed[0]["reason"].get<std::string>().find("run again to resume"), std::string::npos)
      << failed[0];
  ASSERT_EQ(state_entries(), 1u);
  auto state = json::parse(read_file(state_file()));
  ASSERT_TRUE(state["uploads"].contains(sha)) << state;
  std::string upload_url = state["uploads"][sha]["upload_url"];
  std::string path = upload_url.substr(upload_url.find("/api/v1/uploads/"));
  auto head = http_request(server_->port(), "GET", path, auth(alice_));
  ASSERT_EQ(head.status, 200) << head.body;
  uint64_t on_server = std::stoull(head.header("upload-offset"));
  EXPECT_GT(on_server, 0u);
  EXPECT_LT(on_server, size);

  proxy.bring_up();
  auto second = submit({file, "--json"}, proxy.url());
  ASSERT_EQ(second.exit_code, 0) << second.out << second.err << server_->log();
  auto events = json_lines(second.out);
  auto resumes = of_kind(events, "resume");
  ASSERT_EQ(resumes.size(), 1u) << second.out;
  EXPECT_EQ(resumes[0]["offset"], on_server);
  EXPECT_EQ(resumes[0]["reason"], "from an earlier run");
  auto result = of_kind(events, "result").at(0);
  EXPECT_EQ(result["status"], "submitted");
  EXPECT_LE(result["sent"].get<uint64_t>(), size - on_server + 4096) << "only the rest was sent";
  EXPECT_EQ(sha256_of_file(stored_path(sha)), sha);
  EXPECT_EQ(state_entries(), 0u);
}

TEST_F(ClientTest, FoldersAndASecondRunThatSendsNothing) {
  std::string dir = work_.out("downloads");
  small_mp4(dir, "a.mp4");
  fs::create_directories(dir + "/nested");
  make_video(dir + "/nested", "b.webm",
             {"-f", "lavfi", "-i", "testsrc=duration=1:size=160x120:rate=10", "-c:v", "libvpx",
              "-b:v", "200k"});
  write_file(dir + "/notes.txt", "not a video");
  auto run = submit({dir, "--meta", R"({"platform": "other", "visibility": "org"})", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << server_->log();
  auto summary = of_kind(json_lines(run.out), "summary").at(0);
  EXPECT_EQ(summary["submitted"], 2) << run.out;
  auto page = get("/api/v1/submissions?platform=other", alice_);
  ASSERT_EQ(page["items"].size(), 2u);
  EXPECT_EQ(page["items"][0]["visibility"], "org");
  // Olga, of another organisation, does not see them, so for her they are new: sent again.
  auto again = submit({dir});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_NE(again.out.find("nothing new: 2 already on the server"), std::string::npos) << again.out;
  EXPECT_NE(again.out.find("sent 0 B"), std::string::npos) << again.out;
  auto hers = run_convoywatch({"submit", "--server", base(), "--token", olga_, dir, "--json"},
                              client_env());
  EXPECT_EQ(hers.exit_code, 0) << hers.out << hers.err;
  EXPECT_EQ(of_kind(json_lines(hers.out), "summary").at(0)["submitted"], 2) << hers.out;

  // Wrong use is exit 2 with a reason, before anything is sent.
  auto none = submit({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("give files or folders"), std::string::npos) << none.err;
  auto bad_token =
      run_convoywatch({"submit", "--server", base(), "--token", "cw_nope", dir}, client_env());
  EXPECT_EQ(bad_token.exit_code, 2);
  EXPECT_NE(bad_token.err.find("refused the token"), std::string::npos) << bad_token.err;
  auto no_server = run_convoywatch({"submit", dir}, {{"HOME", home_.path().string()}});
  EXPECT_EQ(no_server.exit_code, 2);
  EXPECT_NE(no_server.err.find("no server"), std::string::npos) << no_server.err;
  auto no_export = submit({"--telegram-export", dir});
  EXPECT_EQ(no_export.exit_code, 2);
  EXPECT_NE(no_export.err.find("result.json cannot be read"), std::string::npos) << no_export.err;
}

TEST_F(ClientTest, BadMetadataFailsEachFileWithTheServersReason) {
  std::string dir = work_.out("downloads");
  small_mp4(dir, "a.mp4");
  auto run = submit({dir + "/a.mp4", "--platform", "myspace", "--json"});
  EXPECT_EQ(run.exit_code, 1);
  auto result = of_kind(json_lines(run.out), "result").at(0);
  EXPECT_EQ(result["status"], "failed");
  EXPECT_NE(result["reason"].get<std::string>().find("metadata.platform"), std::string::npos)
      << result;
  EXPECT_EQ(result["sent"], 0) << "refused at creation, before any byte";
}

TEST_F(ClientTest, ProgressOnAPseudoTerminal) {
  std::string file = big_mp4(work_.out("clips"), "convoy.mp4");
  // A 4 MB/s uplink, so the upload lasts long enough to be drawn with a speed and an ETA.
  CuttingProxy slow(server_->port(), 0, 0, false, 4 << 20);
  std::string cmd;
  for (const auto& [k, v] : client_env()) cmd += k + "=" + shell_quote(v) + " ";
  cmd += shell_quote(CW_BINARY) + " submit --server " + shell_quote(slow.url()) + " " +
         shell_quote(file);
  auto run = run_command({"/usr/bin/script", "-q", "-e", "-c", cmd, "/dev/null"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  const std::string& screen = run.out;
  EXPECT_NE(screen.find("\x1b[1A\x1b[2K"), std::string::npos) << "live lines are redrawn";
  EXPECT_TRUE(std::regex_search(
      screen, std::regex(R"(uploading +\[[#-]+\] +[0-9.]+ [KM]iB / [0-9.]+ MiB)")))
      << screen;
  EXPECT_TRUE(std::regex_search(screen, std::regex(R"([0-9.]+ MiB/s +ETA +[0-9]+:[0-9]{2})")))
      << screen;
  EXPECT_TRUE(std::regex_search(screen, std::regex(R"(\[#+-*\])"))) << screen;
  EXPECT_TRUE(std::regex_search(screen, std::regex(R"(total +\[)"))) << screen;
  EXPECT_TRUE(std::regex_search(
      screen, std::regex(R"(submitted +.*convoy\.mp4 +[0-9.]+ MiB  /api/v1/submissions/1)")))
      << screen;
  EXPECT_NE(screen.find("submitted            1"), std::string::npos) << screen;

  // Without a terminal and without --json: nothing but the table.
  auto quiet = submit({file});
  EXPECT_EQ(quiet.exit_code, 0);
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.out.find('\x1b'), std::string::npos) << quiet.out;
  EXPECT_NE(quiet.out.find("already there        1"), std::string::npos) << quiet.out;
}

}  // namespace
}  // namespace cw::test
