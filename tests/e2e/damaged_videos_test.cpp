// Hostile video, end to end: 500 damaged files made from real footage (opencv-doc's vtest.avi and
// Megamind.avi as H.264 MP4 with the index first, H.264 MOV with the index last, VP9 WebM and
// MJPEG AVI) go through a real `convoywatch serve` with two workers and the sandboxed analysis.
// The damage is the test's own, from a fixed seed: truncation, bit flips, zeroed or oversized
// MP4 boxes, swapped top-level boxes, overwritten, inserted and duplicated byte ranges, and
// truncation plus flips. Checks:
//   - every upload answers 201 or a 4xx problem (the server sniffs what it takes), never a 5xx;
//   - every analysis job of an accepted file ends `done` or `failed` with a reason, none stays
//     queued or running;
//   - every attempt, timed by polling the jobs table, stays within the sandbox's wall-clock limit;
//   - the server (and so its workers) never crashes: the same process answers /healthz at the
//     end;
//   - a failed analysis leaves no frame rows; a finished one has frames.
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/fixtures.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/test_db.hpp"

namespace cw::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kFiles = 500;
constexpr int kJobTimeoutS = 60;  // the sandbox's wall-clock limit in this test
constexpr const char* kData = "/usr/share/doc/opencv-doc/examples/data";

struct Source {
  std::string ext;
  std::string bytes;
  bool iso_bmff = false;  // MP4/MOV: boxes can be found and damaged
};

// A top-level or nested ISO BMFF box found by its type: where its header starts.
struct Box {
  size_t offset = 0;  // of the 4-byte size
  uint32_t size = 0;
};

uint32_t be32(const std::string& b, size_t at) {
  return static_cast<uint32_t>(static_cast<unsigned char>(b[at])) << 24 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

void put_be32(std::string& b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[at + static_cast<size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
}

// Boxes of the types the demuxer relies on, wherever they are (a search for the type with a
// plausible size before it).
std::vector<Box> known_boxes(const std::string& b) {
  static const char* kTypes[] = {"ftyp", "moov", "mvhd", "trak", "tkhd", "mdia", "mdhd",
                                 "hdlr", "minf", "stbl", "stsd", "stts", "stss", "stsc",
                                 "stsz", "stco", "co64", "avcC", "mdat", "udta", "edts"};
  std::vector<Box> boxes;
  for (const char* type : kTypes) {
    for (size_t at = b.find(type, 4); at != std::string::npos; at = b.find(type, at + 1)) {
      const uint32_t size = be32(b, at - 4);
      if (size >= 8 && at - 4 + size <= b.size()) boxes.push_back({at - 4, size});
    }
  }
  return boxes;
}

// The top-level boxes, in order; empty when the file does not parse as a sequence of boxes.
std::vector<Box> top_level_boxes(const std::string& b) {
  std::vector<Box> boxes;
  size_t at = 0;
  while (at + 8 <= b.size()) {
    const uint32_t size = be32(b, at);
    if (size < 8 || at + size > b.size()) return {};
    boxes.push_back({at, size});
    at += size;
  }
  return at == b.size() ? boxes : std::vector<Box>{};
}

// One damaged copy of `src`: the damage depends on `kind` (0-7) and the generator.
std::string damage(const Source& src, int kind, std::mt19937_64& rng) {
  std::string b = src.bytes;
  const auto pick = [&](size_t lo, size_t hi) {  // uniform in [lo, hi]
    return std::uniform_int_distribution<size_t>(lo, std::max(lo, hi))(rng);
  };
  const auto flip_bits = [&](int count) {
    for (int i = 0; i < count; ++i) {
      b[pick(0, b.size() - 1)] ^= static_cast<char>(1u << pick(0, 7));
    }
  };
  switch (kind) {
    case 0:  // truncated anywhere
      b.resize(pick(16, b.size() - 1));
      break;
    case 1:  // bit flips at random offsets
      flip_bits(static_cast<int>(pick(1, 48)));
      break;
    case 2: {  // a box the demuxer needs: size zeroed or made huge, or its payload zeroed
      const std::vector<Box> boxes = src.iso_bmff ? known_boxes(b) : std::vector<Box>{};
      if (boxes.empty()) {
        const size_t at = pick(0, b.size() - 64);
        std::fill_n(b.begin() + static_cast<std::ptrdiff_t>(at), pick(16, 64), '\0');
        break;
      }
      const Box& box = boxes[pick(0, boxes.size() - 1)];
      switch (pick(0, 2)) {
        case 0:
          put_be32(b, box.offset, 0);
          break;
        case 1:
          put_be32(b, box.offset, 0xFFFFFFF0u);
          break;
        default: {
          const size_t payload = box.size - 8;
          const size_t start = box.offset + 8 + pick(0, payload / 2);
          const size_t n = std::min<size_t>(pick(1, 64), box.offset + box.size - start);
          std::fill_n(b.begin() + static_cast<std::ptrdiff_t>(start), n, '\0');
        }
      }
      break;
    }
    case 3: {  // two top-level boxes swapped (the index after the data, or the other way round)
      const std::vector<Box> boxes = src.iso_bmff ? top_level_boxes(b) : std::vector<Box>{};
      if (boxes.size() >= 2) {
        const size_t i = pick(0, boxes.size() - 2);
        const size_t j = pick(i + 1, boxes.size() - 1);
        const std::string a = b.substr(boxes[i].offset, boxes[i].size);
        const std::string c = b.substr(boxes[j].offset, boxes[j].size);
        const std::string between = b.substr(boxes[i].offset + boxes[i].size,
                                             boxes[j].offset - boxes[i].offset - boxes[i].size);
        b = b.substr(0, boxes[i].offset) + c + between + a +
            b.substr(boxes[j].offset + boxes[j].size);
      } else {  // two ranges of the same length swapped
        const size_t n = pick(16, std::min<size_t>(4096, b.size() / 4));
        const size_t x = pick(0, b.size() / 2 - n);
        const size_t y = pick(b.size() / 2, b.size() - n);
        std::swap_ranges(b.begin() + static_cast<std::ptrdiff_t>(x),
                         b.begin() + static_cast<std::ptrdiff_t>(x + n),
                         b.begin() + static_cast<std::ptrdiff_t>(y));
      }
      break;
    }
    case 4: {  // a range overwritten with random bytes
      const size_t n = pick(1, 512);
      const size_t at = pick(0, b.size() - n);
      for (size_t i = 0; i < n; ++i) b[at + i] = static_cast<char>(pick(0, 255));
      break;
    }
    case 5: {  // random bytes inserted (every offset after them shifts)
      std::string junk(pick(1, 256), '\0');
      for (char& c : junk) c = static_cast<char>(pick(0, 255));
      b.insert(pick(0, b.size()), junk);
      break;
    }
    case 6: {  // a slice duplicated elsewhere
      const size_t n = pick(8, std::min<size_t>(8192, b.size() / 3));
      const size_t from = pick(0, b.size() - n);
      b.insert(pick(0, b.size()), b.substr(from, n));
      break;
    }
    default:  // truncated and flipped
      b.resize(pick(b.size() / 3, b.size() - 1));
      flip_bits(static_cast<int>(pick(1, 16)));
      break;
  }
  return b;
}

std::vector<Source> make_sources(const std::string& dir) {
  struct Recipe {
    std::string name;
    std::vector<std::string> args;
    bool iso_bmff;
  };
  const std::string vtest = std::string(kData) + "/vtest.avi";
  const std::string megamind = std::string(kData) + "/Megamind.avi";
  const std::vector<Recipe> recipes = {
      {"faststart.mp4",
       {"-i",        vtest,
        "-t",        "2",
        "-vf",       "scale=320:240",
        "-c:v",      "libx264",
        "-preset",   "veryfast",
        "-pix_fmt",  "yuv420p",
        "-g",        "12",
        "-metadata", "location=+50.5950+036.5872/",
        "-metadata", "creation_time=2022-02-16T06:05:00Z",
        "-movflags", "+faststart"},
       true},
      {"index-last.mov",
       {"-i", megamind, "-t", "2", "-vf", "scale=320:-2", "-c:v", "libx264", "-preset", "veryfast",
        "-pix_fmt", "yuv420p", "-bf", "2", "-g", "24"},
       true},
      {"vp9.webm",
       {"-i", vtest, "-t", "1", "-vf", "scale=160:120", "-c:v", "libvpx-vp9", "-b:v", "150k",
        "-deadline", "realtime", "-cpu-used", "8"},
       false},
      {"mjpeg.avi",
       {"-i", megamind, "-t", "1", "-vf", "scale=160:-2", "-c:v", "mjpeg", "-q:v", "5"},
       false},
  };
  std::vector<Source> sources;
  for (const Recipe& r : recipes) {
    const std::string path = make_video(dir, r.name, r.args);
    sources.push_back({fs::path(r.name).extension().string(), read_file(path), r.iso_bmff});
  }
  return sources;
}

// The analysis (process_media) jobs: id -> (state, attempts), from the jobs table.
std::map<int64_t, std::pair<std::string, int>> job_states(const TestDatabase& db) {
  std::map<int64_t, std::pair<std::string, int>> jobs;
  std::istringstream in(
      db.query_value("SELECT string_agg(id || ' ' || state || ' ' || attempts, ' ') FROM jobs "
                     "WHERE kind = 'process_media'"));
  int64_t id = 0;
  std::string state;
  int attempts = 0;
  while (in >> id >> state >> attempts) jobs[id] = {state, attempts};
  return jobs;
}

TEST(DamagedVideosTest, FiveHundredDamagedFilesEndDoneOrFailedAndNothingCrashes) {
  for (const char* f : {"vtest.avi", "Megamind.avi"}) {
    ASSERT_TRUE(fs::exists(std::string(kData) + "/" + f))
        << kData << "/" << f << " is missing: scripts/setup installs opencv-doc";
  }
  TestDatabase db{"cw_geo_template"};  // migrated, geodata loaded
  const std::map<std::string, std::string> env = {
      {"CONVOYWATCH_DATABASE_URL", db.url()},
      {"CONVOYWATCH_SERVER_RATE_LIMIT_PER_MINUTE", "0"},
      {"CONVOYWATCH_PIPELINE_WORKERS", "2"},
      {"CONVOYWATCH_PIPELINE_MAX_ATTEMPTS", "2"},
      {"CONVOYWATCH_PIPELINE_RETRY_BACKOFF_S", "1"},
      {"CONVOYWATCH_PIPELINE_POLL_INTERVAL_MS", "500"},
      {"CONVOYWATCH_PIPELINE_JOB_TIMEOUT_S", std::to_string(kJobTimeoutS)},
      {"CONVOYWATCH_PIPELINE_CPU_SECONDS", std::to_string(kJobTimeoutS)},
      {"CONVOYWATCH_PIPELINE_MAX_FRAMES", "8"}};
  ASSERT_EQ(run_convoywatch({"migrate"}, env).exit_code, 0);
  const auto add = run_convoywatch(
      {"user", "add", "--create-org", "--name", "d", "--org", "o", "--role", "analyst"}, env);
  ASSERT_EQ(add.exit_code, 0) << add.err;
  const std::string token = add.out.substr(0, 67);
  const std::string dir = make_temp_dir("cw-damaged-");
  const std::vector<Source> sources = make_sources(dir);

  ServerProcess server(env);
  std::map<std::string, std::string> headers = {
      {"Authorization", "Bearer " + token}, {"Content-Type", "multipart/form-data; boundary=B"}};
  std::mt19937_64 rng(20261202);
  std::map<int, int> statuses;
  std::set<std::string> accepted;  // distinct files taken
  for (int i = 0; i < kFiles; ++i) {
    const Source& src = sources[static_cast<size_t>(i) % sources.size()];
    const std::string bytes = damage(src, (i / static_cast<int>(sources.size())) % 8, rng);
    const std::string form = "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"d" +
                             std::to_string(i) + src.ext + "\"\r\n\r\n" + bytes + "\r\n--B--\r\n";
    const HttpResponse r =
        http_request(server.port(), "POST", "/api/v1/submissions", headers, form);
    ++statuses[r.status];
    ASSERT_LT(r.status, 500) << "upload " << i << ": " << r.body << server.log();
    ASSERT_TRUE(r.status == 201 || (r.status >= 400 && r.status < 500)) << r.status << r.body;
    if (r.status == 201) accepted.insert(bytes);
  }
  std::string summary;
  for (auto [status, n] : statuses)
    summary += std::to_string(status) + ": " + std::to_string(n) + " ";
  std::cout << "[ damaged  ] uploads by status: " << summary << "\n";
  ASSERT_GE(accepted.size(), 200u) << "too few damaged files get past the upload check to test "
                                      "the analysis: "
                                   << summary;

  // Follow every job: when each attempt was first seen running and when it stopped.
  std::map<std::pair<int64_t, int>, std::chrono::steady_clock::time_point> running_since;
  double longest_attempt_s = 0;
  const auto deadline = std::chrono::steady_clock::now() + 12min;
  std::map<int64_t, std::pair<std::string, int>> jobs;
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    jobs = job_states(db);
    bool open = jobs.size() < accepted.size();
    for (const auto& [id, sa] : jobs) {
      const auto& [state, attempts] = sa;
      const std::pair<int64_t, int> key{id, attempts};
      if (state == "running") {
        running_since.try_emplace(key, now);
      }
      for (auto it = running_since.begin(); it != running_since.end();) {
        if (it->first.first == id && (state != "running" || it->first.second != attempts)) {
          longest_attempt_s =
              std::max(longest_attempt_s, std::chrono::duration<double>(now - it->second).count());
          it = running_since.erase(it);
        } else {
          ++it;
        }
      }
      if (state == "queued" || state == "running") open = true;
    }
    if (!open) break;
    ASSERT_LT(now, deadline) << "jobs still open after 12 minutes: " << jobs.size() << " jobs";
    ASSERT_EQ(kill(server.pid(), 0), 0) << "the server died:\n" << server.log();
    std::this_thread::sleep_for(200ms);
  }

  EXPECT_EQ(jobs.size(), accepted.size()) << "one analysis job per distinct accepted file";
  std::map<std::string, int> reasons;
  int done = 0;
  for (const auto& [id, sa] : jobs) {
    if (sa.first == "done") {
      ++done;
      continue;
    }
    ASSERT_EQ(sa.first, "failed") << "job " << id;
    const std::string reason =
        db.query_value("SELECT last_error FROM jobs WHERE id = " + std::to_string(id));
    EXPECT_FALSE(reason.empty()) << "job " << id << " failed without a reason";
    ++reasons[reason.substr(0, reason.find(':'))];
  }
  std::cout << "[ damaged  ] " << jobs.size() << " analyses: " << done << " done, "
            << jobs.size() - static_cast<size_t>(done) << " failed; longest attempt "
            << longest_attempt_s << " s\n";
  for (const auto& [reason, n] : reasons)
    std::cout << "[ damaged  ]   " << n << " × " << reason << "\n";
  EXPECT_LE(longest_attempt_s, kJobTimeoutS + 10.0) << "an attempt outlived the sandbox limit";

  // Nothing half-written: a failed analysis has no frames, a finished one has some.
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs j JOIN frames f "
                           "ON f.media_sha256 = j.payload->>'sha256' "
                           "WHERE j.kind = 'process_media' AND j.state = 'failed'"),
            "0");
  EXPECT_EQ(db.query_value("SELECT count(*) FROM jobs j WHERE j.kind = 'process_media' AND "
                           "j.state = 'done' AND NOT EXISTS (SELECT 1 FROM frames f "
                           "WHERE f.media_sha256 = j.payload->>'sha256')"),
            "0");

  // The same server process still answers.
  ASSERT_EQ(kill(server.pid(), 0), 0) << server.log();
  EXPECT_EQ(http_request(server.port(), "GET", "/healthz", {}).status, 200);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace cw::test
