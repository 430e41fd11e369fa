// `convoywatch submit`'s pure helpers (client/submit.hpp): metadata from the options and from
// a Telegram message, and the walk of folders for videos.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "client/submit.hpp"
#include "tests/support/fixtures.hpp"

namespace cw::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(ClientSubmitTest, MetadataFromOptions) {
  SubmitOptions o;
  o.meta_json = R"({"platform": "tiktok", "tags": ["a"], "claimed_location": "Белгород"})";
  o.author = "@someone";
  o.tags = {"b"};
  auto m = metadata_from_options(o);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(*m, json::parse(R"({"platform": "tiktok", "tags": ["a", "b"],
      "claimed_location": "Белгород", "author": "@someone"})"));
  o.platform = "x";
  EXPECT_EQ((*metadata_from_options(o))["platform"], "x");
  o.meta_json = "[1]";
  EXPECT_FALSE(metadata_from_options(o).ok());
  o.meta_json = "{";
  EXPECT_EQ(metadata_from_options(o).error().field(), "--meta");

  json from_export = json::parse(R"({"platform": "telegram", "tags": ["tg.chat_id=1"]})");
  auto merged = merge_telegram_metadata(
      from_export, json::parse(R"({"tags": ["convoy", "tg.chat_id=1"], "visibility": "org"})"));
  ASSERT_TRUE(merged.ok());
  EXPECT_EQ(*merged, json::parse(R"({"platform": "telegram", "tags": ["tg.chat_id=1", "convoy"],
      "visibility": "org"})"));
  for (const char* key : {"platform", "source_url", "posted_at", "author", "description"}) {
    auto refused = merge_telegram_metadata(from_export, json{{key, "x"}});
    ASSERT_FALSE(refused.ok()) << key;
    EXPECT_EQ(refused.error().field(), key);
  }
}

TEST(ClientSubmitTest, FoldersGiveTheirVideosSortedAndFilesAreTakenAsGiven) {
  test::TempDir dir;
  write(dir / "b/2.MP4", "x");
  write(dir / "b/1.webm", "x");
  write(dir / "b/notes.txt", "x");
  write(dir / "b/.hidden/3.mp4", "x");
  write(dir / "b/.4.mp4", "x");
  write(dir / "b/deeper/5.mov", "x");
  write(dir / "clip.bin", "x");
  auto found =
      find_videos({(dir / "b").string(), (dir / "clip.bin").string(), (dir / "none.mp4").string()});
  std::vector<std::string> want = {(dir / "b/1.webm").string(), (dir / "b/2.MP4").string(),
                                   (dir / "b/deeper/5.mov").string(), (dir / "clip.bin").string()};
  EXPECT_EQ(found.files, want);
  EXPECT_EQ(found.missing, std::vector<std::string>{(dir / "none.mp4").string()});
  EXPECT_TRUE(has_video_extension("a.MkV"));
  EXPECT_FALSE(has_video_extension("a.jpg"));
}

}  // namespace
}  // namespace cw::client
