// The progress display of `convoywatch submit` (client/progress.hpp): formatting, the speed
// meter, the JSON lines, the terminal lines and the summary table.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "client/progress.hpp"

namespace cw::client {
namespace {

using nlohmann::json;

TEST(ClientProgressTest, Formatting) {
  struct Bytes {
    uint64_t n;
    const char* text;
  };
  const Bytes kBytes[] = {{0, "0 B"},
                          {1023, "1023 B"},
                          {1024, "1.0 KiB"},
                          {1536, "1.5 KiB"},
                          {12 * 1048576 + 314573, "12.3 MiB"},
                          {1048575, "1.0 MiB"},
                          {uint64_t{3} << 30, "3.00 GiB"},
                          {uint64_t{15} << 30, "15.0 GiB"}};
  for (const auto& b : kBytes) EXPECT_EQ(format_bytes(b.n), b.text) << b.n;

  EXPECT_EQ(format_rate(-1), "--- B/s");
  EXPECT_EQ(format_rate(3.2 * 1048576), "3.2 MiB/s");
  EXPECT_EQ(format_rate(0), "0 B/s");

  struct Eta {
    double s;
    const char* text;
  };
  const Eta kEtas[] = {{-1, "--:--"},  {0, "0:00"},       {6.2, "0:07"},
                       {754, "12:34"}, {3723, "1:02:03"}, {100 * 3600, "--:--"}};
  for (const auto& e : kEtas) EXPECT_EQ(format_eta(e.s), e.text) << e.s;

  EXPECT_EQ(format_bar(0, 4), "[----]");
  EXPECT_EQ(format_bar(0.5, 4), "[##--]");
  EXPECT_EQ(format_bar(2, 4), "[####]");
  EXPECT_EQ(format_bar(-1, 2), "[--]");

  EXPECT_EQ(fit_left("video_files/clip.mp4", 40), "video_files/clip.mp4");
  EXPECT_EQ(fit_left("video_files/clip.mp4", 11), "...clip.mp4");
  EXPECT_EQ(fit_left("Колонна #4 видео.mp4", 12), "...видео.mp4");
  EXPECT_EQ(display_width(fit_left("Колонна #4 видео.mp4", 12)), 12u);
  EXPECT_EQ(fit_left("abcdef", 2), "..");
}

TEST(ClientProgressTest, RateMeterUsesAWindow) {
  RateMeter m(std::chrono::seconds(5));
  SteadyTime t0{};
  EXPECT_LT(m.rate(), 0);
  m.add(t0, 0);
  m.add(t0 + std::chrono::milliseconds(100), 1000);
  EXPECT_LT(m.rate(), 0) << "too short to tell";
  m.add(t0 + std::chrono::seconds(1), 1 << 20);
  EXPECT_NEAR(m.rate(), 1 << 20, 1);
  // Ten seconds later at a tenth of the speed: the old fast second has left the window.
  for (int s = 2; s <= 12; ++s) m.add(t0 + std::chrono::seconds(s), (1 << 20) + (s - 1) * 104858);
  EXPECT_NEAR(m.rate(), 104858, 2);
}

TEST(ClientProgressTest, JsonLinesAndTheSummary) {
  std::ostringstream out;
  auto r = make_json_reporter(out);
  r->plan(2, 300);
  FileResult f;
  f.label = f.path = "a.mp4";
  f.size = 200;
  r->file_start(1, f);
  r->phase("hashing");
  r->progress(200);
  r->hashed(std::string(64, 'f'));
  r->phase("uploading");
  r->progress(50);
  r->resumed(40, "cut");
  FileResult done = f;
  done.outcome = Outcome::kSubmitted;
  done.sent = 210;
  done.submission = "/api/v1/submissions/3";
  r->file_end(done);
  FileResult skipped;
  skipped.label = "Канал #5 (File not included)";
  skipped.path = "(File not included)";
  skipped.outcome = Outcome::kSkipped;
  skipped.reason = "not in the export";
  skipped.chat_id = 11;
  skipped.message_id = 5;
  r->file_start(2, skipped);
  r->file_end(skipped);
  Totals t;
  t.submitted = 1;
  t.skipped = 1;
  t.bytes_sent = 210;
  t.submitted_bytes = 200;
  r->finish(t);
  std::vector<json> events;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) {
    events.push_back(json::parse(line));  // every line is one JSON document
  }
  std::vector<std::string> kinds;
  for (const auto& e : events) kinds.push_back(e["event"]);
  // Hashing is not reported byte by byte; the first upload progress is, then at most one a second.
  EXPECT_EQ(kinds, (std::vector<std::string>{"plan", "file", "hashed", "progress", "resume",
                                             "result", "file", "result", "summary"}));
  EXPECT_EQ(events[3]["sent"], 50);
  EXPECT_EQ(events[3]["size"], 200);
  EXPECT_EQ(events[4]["offset"], 40);
  EXPECT_EQ(events[5]["status"], "submitted");
  EXPECT_EQ(events[5]["submission"], "/api/v1/submissions/3");
  EXPECT_EQ(events[7]["status"], "skipped");
  EXPECT_EQ(events[7]["chat_id"], 11);
  EXPECT_EQ(events[8]["bytes_sent"], 210);

  std::ostringstream table;
  print_summary(table, t, {done, skipped});
  EXPECT_NE(table.str().find("submitted            1       200 B"), std::string::npos)
      << table.str();
  EXPECT_NE(table.str().find("skipped:\n  Канал #5 (File not included): not in the export"),
            std::string::npos)
      << table.str();
  Totals again;
  again.already_there = 3;
  again.already_there_bytes = 3000;
  std::ostringstream second;
  print_summary(second, again, {});
  EXPECT_NE(second.str().find("nothing new"), std::string::npos) << second.str();
}

TEST(ClientProgressTest, TerminalLinesStayWithinTheWidth) {
  std::ostringstream out;
  auto r = make_tty_reporter(out, 60);
  r->plan(1, 1 << 20);
  FileResult f;
  f.label = f.path = "a/very/long/folder/name/that/goes/on/and/on/clip-from-the-border.mp4";
  f.size = 1 << 20;
  r->file_start(1, f);
  r->phase("uploading");
  r->progress(1 << 19);
  FileResult done = f;
  done.outcome = Outcome::kFailed;
  done.reason = "connection lost";
  r->file_end(done);
  r->finish(Totals{});
  std::string text = out.str();
  // Strip the cursor movements and look at what is printed on each line.
  std::string plain;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\x1b') {
      while (i < text.size() && !std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      continue;
    }
    plain += text[i];
  }
  std::istringstream lines(plain);
  bool saw_failed = false, saw_total = false;
  for (std::string line; std::getline(lines, line);) {
    EXPECT_LE(display_width(line), 59u) << line;
    saw_failed = saw_failed || line.find("FAILED") != std::string::npos;
    saw_total = saw_total || line.rfind("total", 0) == 0;
  }
  EXPECT_TRUE(saw_failed) << plain;
  EXPECT_TRUE(saw_total) << plain;
  EXPECT_NE(plain.find("uploading"), std::string::npos) << plain;
}

}  // namespace
}  // namespace cw::client
