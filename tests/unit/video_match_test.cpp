// Video matching: synthetic signatures (same footage, a clip of the middle third, unrelated,
// mirrored, low-quality frames, threshold and clip-margin edges, a cut between samples found
// through extras, the large-video path against a brute-force oracle), candidate search through
// a HashIndex, real footage from opencv-doc (flipped and cut), and the vPDQ reference frame
// hashes under tests/data/threatexchange.
#include "pipeline/video_match.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "pipeline/duplicates.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kFrameMs = 40;

PdqHash random_hash(std::mt19937_64& rng) {
  PdqHash h;
  for (auto& w : h.words) w = static_cast<uint16_t>(rng());
  return h;
}

PdqHash flip_random_bits(const PdqHash& base, int count, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  std::iota(bits.begin(), bits.end(), 0);
  std::shuffle(bits.begin(), bits.end(), rng);
  PdqHash h = base;
  for (int i = 0; i < count; ++i)
    h.words[bits[i] >> 4] ^= static_cast<uint16_t>(1u << (bits[i] & 15));
  return h;
}

// A synthetic video: scenes of `per_scene` frames; each scene has its own random hash and every
// frame differs from it by 6 random bits (frames of one scene ~12 bits apart, scenes ~128).
VideoSignature synthetic_video(std::mt19937_64& rng, int frames, int per_scene = 10) {
  VideoSignature v;
  PdqHash scene;
  for (int i = 0; i < frames; ++i) {
    if (i % per_scene == 0) scene = random_hash(rng);
    v.push_back({i * kFrameMs, flip_random_bits(scene, 6, rng), 90, std::nullopt});
  }
  return v;
}

// Frames [first, last) of `v` as a re-encoded copy would hash them (6 more bits), with pts from
// `start_ms` on.
VideoSignature reencoded(const VideoSignature& v, std::mt19937_64& rng, std::size_t first = 0,
                         std::size_t last = SIZE_MAX, int64_t start_ms = 0) {
  VideoSignature out;
  last = std::min(last, v.size());
  for (std::size_t i = first; i < last; ++i) {
    out.push_back({start_ms + static_cast<int64_t>(i - first) * kFrameMs,
                   flip_random_bits(v[i].hash, 6, rng), v[i].quality, std::nullopt});
  }
  return out;
}

VideoSignature concat(VideoSignature a, const VideoSignature& b) {
  const int64_t shift = a.empty() ? 0 : a.back().pts_ms + kFrameMs;
  for (auto f : b) {
    f.pts_ms += shift;
    a.push_back(f);
  }
  return a;
}

// Bit count of a ^ b, word by word (pdq.hpp's hamming is the same, slower without POPCNT).
int distance64(const PdqHash& a, const PdqHash& b) {
  int d = 0;
  for (std::size_t i = 0; i < a.words.size(); i += 4) {
    uint64_t x = 0;
    uint64_t y = 0;
    std::memcpy(&x, &a.words[i], sizeof x);
    std::memcpy(&y, &b.words[i], sizeof y);
    d += std::popcount(x ^ y);
  }
  return d;
}

// vPDQ's rule written out pair by pair, with compare_videos' tie rule for the offset.
struct Oracle {
  double query_percent = 0;
  double compared_percent = 0;
  std::optional<int64_t> offset_ms;
};

Oracle brute_force(const VideoSignature& a, const VideoSignature& b) {
  std::vector<const SignatureFrame*> ua;
  std::vector<const SignatureFrame*> ub;
  for (const auto& f : a) {
    if (f.quality >= 50) ua.push_back(&f);
  }
  for (const auto& f : b) {
    if (f.quality >= 50) ub.push_back(&f);
  }
  Oracle o;
  if (ua.empty() || ub.empty()) return o;
  std::vector<char> b_found(ub.size(), 0);
  std::vector<int64_t> offsets;
  for (const auto* fa : ua) {
    int best = -1;
    int best_d = 0;
    for (std::size_t j = 0; j < ub.size(); ++j) {
      const int d = distance64(fa->hash, ub[j]->hash);
      if (d > 31) continue;
      b_found[j] = 1;
      if (best < 0 || d < best_d) {
        best = static_cast<int>(j);
        best_d = d;
      }
    }
    if (best >= 0) offsets.push_back(ub[best]->pts_ms - fa->pts_ms);
  }
  o.query_percent = 100.0 * static_cast<double>(offsets.size()) / static_cast<double>(ua.size());
  o.compared_percent = 100.0 * static_cast<double>(std::count(b_found.begin(), b_found.end(), 1)) /
                       static_cast<double>(ub.size());
  if (!offsets.empty()) {
    std::sort(offsets.begin(), offsets.end());
    o.offset_ms = offsets[(offsets.size() - 1) / 2];
  }
  return o;
}

void expect_agrees_with_oracle(const VideoSignature& a, const VideoSignature& b) {
  VideoMatchOptions direct_only;
  direct_only.try_mirrored = false;
  const VideoMatch m = compare_videos(a, b, direct_only);
  const Oracle o = brute_force(a, b);
  EXPECT_DOUBLE_EQ(m.query_percent, o.query_percent);
  EXPECT_DOUBLE_EQ(m.compared_percent, o.compared_percent);
  EXPECT_EQ(m.offset_ms, o.offset_ms);
}

TEST(VideoMatchTest, ReencodedCopyIsSameFootageWithItsOffset) {
  std::mt19937_64 rng(1);
  const VideoSignature a = synthetic_video(rng, 300);
  const VideoSignature b = reencoded(a, rng, 0, SIZE_MAX, 1000);  // b starts 1 s later
  const VideoMatch m = compare_videos(a, b);
  EXPECT_EQ(m.kind, MatchKind::kSameFootage);
  EXPECT_EQ(match_kind_label(m.kind), "same_footage");
  EXPECT_DOUBLE_EQ(m.query_percent, 100.0);
  EXPECT_DOUBLE_EQ(m.compared_percent, 100.0);
  EXPECT_EQ(m.query_frames, 300);
  EXPECT_EQ(m.compared_frames, 300);
  EXPECT_FALSE(m.mirrored);
  EXPECT_EQ(m.offset_ms, 1000);
  expect_agrees_with_oracle(a, b);
}

TEST(VideoMatchTest, MiddleThirdIsClipOfTheWhole) {
  std::mt19937_64 rng(2);
  const VideoSignature whole = synthetic_video(rng, 300);
  const VideoSignature clip = reencoded(whole, rng, 100, 200);

  const VideoMatch m = compare_videos(clip, whole);
  EXPECT_EQ(m.kind, MatchKind::kQueryIsClip);
  EXPECT_EQ(match_kind_label(m.kind), "clip_of");
  EXPECT_DOUBLE_EQ(m.query_percent, 100.0);
  EXPECT_NEAR(m.compared_percent, 100.0 / 3, 0.01);
  EXPECT_EQ(m.offset_ms, 100 * kFrameMs);  // the clip's 0 s is the whole's 4 s

  const VideoMatch reverse = compare_videos(whole, clip);
  EXPECT_EQ(reverse.kind, MatchKind::kComparedIsClip);
  EXPECT_NEAR(reverse.query_percent, 100.0 / 3, 0.01);
  EXPECT_DOUBLE_EQ(reverse.compared_percent, 100.0);
  EXPECT_EQ(reverse.offset_ms, -100 * kFrameMs);
  expect_agrees_with_oracle(clip, whole);
  expect_agrees_with_oracle(whole, clip);
}

TEST(VideoMatchTest, UnrelatedVideosDoNotMatch) {
  std::mt19937_64 rng(3);
  const VideoSignature a = synthetic_video(rng, 200);
  const VideoSignature b = synthetic_video(rng, 250);
  const VideoMatch m = compare_videos(a, b);
  EXPECT_EQ(m.kind, MatchKind::kNone);
  EXPECT_FALSE(m.matched());
  EXPECT_EQ(match_kind_label(m.kind), "none");
  EXPECT_DOUBLE_EQ(m.query_percent, 0.0);
  EXPECT_DOUBLE_EQ(m.compared_percent, 0.0);
  EXPECT_FALSE(m.offset_ms.has_value());
  EXPECT_FALSE(m.mirrored);
}

// The threshold and the clip rule at their edges, with the numbers they are documented with.
TEST(VideoMatchTest, ThresholdAndClipRuleEdges) {
  std::mt19937_64 rng(4);
  const VideoSignature a = synthetic_video(rng, 300);
  const VideoSignature other = synthetic_video(rng, 45);
  struct Case {
    const char* name;
    VideoSignature b;
    double threshold;
    MatchKind kind;
  };
  const Case cases[] = {
      // 255 of 300 frames shared each way: 85 % both → same footage at 80, nothing at 90.
      {"85/85 at 80", concat(reencoded(a, rng, 0, 255), other), 80, MatchKind::kSameFootage},
      {"85/85 at 90", concat(reencoded(a, rng, 0, 255), other), 90, MatchKind::kNone},
      // Names are query% / compared%.
      // b = the first 255 frames: all of b found (100 %), 85 % of a: a margin of 15 → clip.
      {"85/100", reencoded(a, rng, 0, 255), 80, MatchKind::kComparedIsClip},
      // b = the first 280 frames: 100 % against 93.3 %, a margin under 10 → same footage.
      {"93/100", reencoded(a, rng, 0, 280), 80, MatchKind::kSameFootage},
      // b = 200 frames of a and 30 others: 87 % of b found, 66.7 % of a → a match, but b is not
      // "all found" (< 95 %), so not a clip.
      {"67/87", concat(reencoded(a, rng, 0, 200), synthetic_video(rng, 30)), 80,
       MatchKind::kSameFootage},
      // b = a and 100 other frames: all of a found, 75 % of b → a is the clip.
      {"100/75", concat(reencoded(a, rng), synthetic_video(rng, 100)), 80, MatchKind::kQueryIsClip},
  };
  for (const auto& c : cases) {
    VideoMatchOptions options;
    options.threshold_percent = c.threshold;
    const VideoMatch m = compare_videos(a, c.b, options);
    EXPECT_EQ(m.kind, c.kind) << c.name << ": " << m.query_percent << " / " << m.compared_percent;
  }
}

TEST(VideoMatchTest, LowQualityFramesAreLeftOut) {
  std::mt19937_64 rng(5);
  VideoSignature a = synthetic_video(rng, 100);
  VideoSignature b = reencoded(a, rng);
  // 60 flat frames in b that match nothing: they do not count against b.
  for (int i = 0; i < 60; ++i) b.push_back({5000 + i * kFrameMs, random_hash(rng), 49, {}});
  const VideoMatch m = compare_videos(a, b);
  EXPECT_EQ(m.compared_frames, 100);
  EXPECT_DOUBLE_EQ(m.compared_percent, 100.0);
  EXPECT_EQ(m.kind, MatchKind::kSameFootage);

  // A video of nothing but low-quality frames matches nothing, not even itself.
  for (auto& f : a) f.quality = 20;
  const VideoMatch none = compare_videos(a, a);
  EXPECT_EQ(none.kind, MatchKind::kNone);
  EXPECT_EQ(none.query_frames, 0);
  EXPECT_DOUBLE_EQ(none.query_percent, 0.0);
}

TEST(VideoMatchTest, MirroredCopyIsFoundThroughMirroredHashes) {
  std::mt19937_64 rng(6);
  const VideoSignature a = synthetic_video(rng, 120);
  // What a flipped re-encode hashes to: the mirror of each frame, plus noise.
  VideoSignature flipped = reencoded(a, rng);
  for (auto& f : flipped) f.hash = flip_random_bits(approximate_mirror(f.hash), 4, rng);

  const VideoMatch m = compare_videos(a, flipped);
  EXPECT_TRUE(m.mirrored);
  EXPECT_EQ(m.kind, MatchKind::kSameFootage);
  EXPECT_DOUBLE_EQ(m.query_percent, 100.0);
  EXPECT_EQ(m.offset_ms, 0);

  VideoMatchOptions no_mirror;
  no_mirror.try_mirrored = false;
  EXPECT_EQ(compare_videos(a, flipped, no_mirror).kind, MatchKind::kNone);

  // A frame's own mirrored hash (from pdq_hash_dihedral) is used when present: here it is the
  // only way to find `target`, which is unrelated to approximate_mirror(a).
  VideoSignature with_own = a;
  VideoSignature target;
  for (auto& f : with_own) {
    f.mirrored = random_hash(rng);
    target.push_back({f.pts_ms, *f.mirrored, 90, {}});
  }
  const VideoMatch own = compare_videos(with_own, target);
  EXPECT_TRUE(own.mirrored);
  EXPECT_EQ(own.kind, MatchKind::kSameFootage);
  EXPECT_FALSE(compare_videos(a, target).matched());

  // A direct match is reported as such even when the mirror would match too.
  const VideoMatch direct = compare_videos(a, reencoded(a, rng));
  EXPECT_FALSE(direct.mirrored);
}

TEST(VideoMatchTest, ApproximateMirrorFlipsOddHorizontalFrequencies) {
  PdqHash zero;
  const PdqHash m = approximate_mirror(zero);
  for (int k = 0; k < 256; ++k) EXPECT_EQ(m.bit(k), (k & 15) % 2 == 0) << k;
  EXPECT_EQ(approximate_mirror(m), zero);
}

// Above 4 M frame pairs compare_videos indexes the compared video instead of scanning: the two
// must agree with the pair-by-pair rule, ties included (frozen frames give many).
TEST(VideoMatchTest, LargeVideosAgreeWithBruteForce) {
  std::mt19937_64 rng(7);
  VideoSignature a = synthetic_video(rng, 2100, 25);
  for (int i = 0; i < 40; ++i) a[1000 + i].hash = a[1000].hash;  // a frozen stretch: ties
  const VideoSignature b = concat(reencoded(a, rng, 700, 2100), synthetic_video(rng, 700));
  ASSERT_GT(a.size() * b.size(), std::size_t{4} << 20);
  expect_agrees_with_oracle(a, b);
  expect_agrees_with_oracle(b, a);
  const VideoMatch m = compare_videos(b, a);
  EXPECT_NEAR(m.query_percent, 100.0 * 1400 / 2100, 0.01);
  EXPECT_NEAR(m.compared_percent, 100.0 * 1400 / 2100, 0.01);
  EXPECT_EQ(m.offset_ms, 700 * kFrameMs);
  EXPECT_EQ(m.kind, MatchKind::kNone);  // 66.7 % each way
}

// ---------------------------------------------------------------------------------------------
// Candidate search through the index.

TEST(VideoMatchTest, FindMatchingMediaThroughIndex) {
  std::mt19937_64 rng(8);
  const VideoSignature original = synthetic_video(rng, 300);
  VideoSignature mirrored = reencoded(original, rng);
  for (auto& f : mirrored) f.hash = flip_random_bits(approximate_mirror(f.hash), 3, rng);
  std::map<int64_t, VideoSignature> stored = {
      {1, reencoded(original, rng)},            // same footage
      {2, reencoded(original, rng, 100, 200)},  // middle third
      {3, synthetic_video(rng, 300)},           // unrelated
      {4, mirrored},                            // flipped copy
      {5, reencoded(original, rng)},            // deleted after indexing
      {6, concat(reencoded(original, rng, 0, 20), synthetic_video(rng, 400))},  // 20 shared frames
  };
  HashIndex index;
  for (const auto& [id, sig] : stored) index_signature(index, id, sig);
  // The query's own frames are indexed already (as after its analysis): they must not count.
  const VideoSignature query = reencoded(original, rng);
  index_signature(index, 42, query);
  // Low-quality frames stay out of the index.
  VideoSignature flat = synthetic_video(rng, 10);
  for (auto& f : flat) f.quality = 10;
  index_signature(index, 7, flat);
  EXPECT_EQ(index.size(), 300u + 100 + 300 + 300 + 300 + 420 + 300);

  int loads = 0;
  const SignatureLoader load = [&](int64_t id) -> Result<VideoSignature> {
    ++loads;
    if (id == 5) return Error(Code::kNotFound, "media 5 was deleted");
    return stored.at(id);
  };
  auto found = find_matching_media(index, query, 42, load);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_EQ(found->size(), 3u);
  // Most overlap first: 1 and 4 at 100 % + 100 % (ties by media id), then the clip at 33 + 100.
  EXPECT_EQ((*found)[0].media_id, 1);
  EXPECT_EQ((*found)[0].match.kind, MatchKind::kSameFootage);
  EXPECT_FALSE((*found)[0].match.mirrored);
  EXPECT_EQ((*found)[0].votes, 300);
  EXPECT_EQ((*found)[1].media_id, 4);
  EXPECT_TRUE((*found)[1].match.mirrored);
  EXPECT_EQ((*found)[2].media_id, 2);
  EXPECT_EQ((*found)[2].match.kind, MatchKind::kComparedIsClip);
  EXPECT_EQ((*found)[2].match.offset_ms, -100 * kFrameMs);
  EXPECT_EQ((*found)[2].votes, 100);
  EXPECT_EQ(loads, 5);  // 1, 2, 4, 5, 6 had votes; 3 (unrelated), 7 and 42 none

  // Only the best-voted candidates are compared when capped.
  MatchSearchOptions capped;
  capped.max_candidates = 1;
  auto one = find_matching_media(index, query, 42, load, capped);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->size(), 1u);

  // Any other loader error ends the search with it.
  const SignatureLoader broken = [](int64_t) -> Result<VideoSignature> {
    return Error(Code::kUnavailable, "database down");
  };
  auto failed = find_matching_media(index, query, 42, broken);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), Code::kUnavailable);
}

// Fast footage cut half-way between two seconds: none of the copy's samples is near a sample of
// the source, each is near one of its extras, and the other way round. Extras are looked up, never
// counted, and never indexed; the stored form marks them.
TEST(VideoMatchTest, CopyCutBetweenSamplesIsFoundThroughExtras) {
  std::mt19937_64 rng(9);
  // 20 s; every frame (a sample each second, extras at +250, +500, +750 ms) its own picture.
  VideoSignature source;
  for (int64_t k = 0; k < 20; ++k) {
    for (int64_t part = 0; part < 4; ++part) {
      source.push_back({k * 1000 + part * 250, random_hash(rng), 90, std::nullopt, part != 0});
    }
  }
  // 10 s from 5.5 s: its samples are the source's +500 ms extras, its extras at +500 ms the
  // source's next samples, re-encoded.
  VideoSignature cut;
  for (std::size_t k = 0; k < 10; ++k) {
    const SignatureFrame& at = source[(5 + k) * 4 + 2];
    const SignatureFrame& next = source[(6 + k) * 4];
    cut.push_back({static_cast<int64_t>(k) * 1000, flip_random_bits(at.hash, 6, rng), 90,
                   std::nullopt, false});
    cut.push_back({static_cast<int64_t>(k) * 1000 + 500, flip_random_bits(next.hash, 6, rng), 90,
                   std::nullopt, true});
  }
  const VideoMatch m = compare_videos(cut, source);
  EXPECT_EQ(m.query_frames, 10);
  EXPECT_EQ(m.compared_frames, 20);
  EXPECT_DOUBLE_EQ(m.query_percent, 100.0);
  EXPECT_DOUBLE_EQ(m.compared_percent, 50.0);  // the source's samples at 6 … 15 s
  EXPECT_EQ(m.kind, MatchKind::kQueryIsClip);
  EXPECT_EQ(m.offset_ms, 5500);
  const VideoMatch back = compare_videos(source, cut);
  EXPECT_EQ(back.kind, MatchKind::kComparedIsClip);
  EXPECT_DOUBLE_EQ(back.query_percent, 50.0);

  // Samples alone: the cut's are all half a second from the source's.
  const auto samples_only = [](VideoSignature v) {
    std::erase_if(v, [](const SignatureFrame& f) { return f.extra; });
    return v;
  };
  const VideoMatch bare = compare_videos(samples_only(cut), samples_only(source));
  EXPECT_EQ(bare.kind, MatchKind::kNone);
  EXPECT_DOUBLE_EQ(bare.query_percent, 0.0);

  // The index keeps samples; the cut's extras find the source's samples.
  HashIndex index;
  index_signature(index, 1, source);
  EXPECT_EQ(index.size(), 20u);
  const SignatureLoader load = [&](int64_t) -> Result<VideoSignature> { return source; };
  auto found = find_matching_media(index, cut, std::nullopt, load);
  ASSERT_TRUE(found.ok()) << found.error().to_string();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].media_id, 1);
  EXPECT_EQ((*found)[0].votes, 10);
  EXPECT_EQ((*found)[0].match.kind, MatchKind::kQueryIsClip);

  // Stored: "extra": true marks them; rows written before extras existed are all samples.
  const nlohmann::json stored = nlohmann::json::parse(
      R"([{"pts_ms": 0, "pdq": ")" + source[0].hash.to_hex() +
      R"(", "quality": 90}, {"pts_ms": 250, "pdq": ")" + source[1].hash.to_hex() +
      R"(", "quality": 80, "extra": true}, {"pts_ms": 500, "pdq": ")" + source[2].hash.to_hex() +
      R"(", "quality": 70, "extra": "yes"}])");
  const VideoSignature parsed = signature_from_json(stored);
  ASSERT_EQ(parsed.size(), 3u);
  EXPECT_FALSE(parsed[0].extra);
  EXPECT_TRUE(parsed[1].extra);
  EXPECT_EQ(parsed[1].pts_ms, 250);
  EXPECT_EQ(parsed[1].quality, 80);
  EXPECT_EQ(parsed[1].hash, source[1].hash);
  EXPECT_FALSE(parsed[2].extra);  // not a boolean: a sample, as before
}

// ---------------------------------------------------------------------------------------------
// Real footage: Megamind.avi from Debian's opencv-doc (installed by scripts/setup).

const fs::path kMegamind = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";

struct RealFrames {
  VideoSignature original;
  VideoSignature flipped;  // hashes of the mirrored pictures, no `mirrored` field
  VideoSignature small;    // the pictures at half size
};

// Every fourth frame (68), hashed as the analysis does (native size).
const RealFrames& megamind() {
  static const RealFrames frames = [] {
    RealFrames r;
    cv::VideoCapture capture(kMegamind.string(), cv::CAP_FFMPEG);
    EXPECT_TRUE(capture.isOpened()) << kMegamind;
    cv::Mat frame;
    cv::Mat flipped;
    cv::Mat small;
    for (int n = 0; capture.read(frame); ++n) {
      if (n % 4 != 0) continue;
      const int64_t pts = n * 1000 * 125 / 2997;
      const PdqResult h = pdq_hash(frame, PdqScale::kNative);
      cv::flip(frame, flipped, 1);
      const PdqResult f = pdq_hash(flipped, PdqScale::kNative);
      cv::resize(frame, small, {frame.cols / 2, frame.rows / 2}, 0, 0, cv::INTER_AREA);
      const PdqResult s = pdq_hash(small, PdqScale::kNative);
      r.original.push_back({pts, h.hash, h.quality, {}});
      r.flipped.push_back({pts, f.hash, f.quality, {}});
      r.small.push_back({pts, s.hash, s.quality, {}});
    }
    return r;
  }();
  return frames;
}

TEST(VideoMatchRealTest, FlippedAndCutFootage) {
  ASSERT_TRUE(fs::exists(kMegamind))
      << kMegamind << " is missing: install opencv-doc (scripts/setup)";
  const RealFrames& r = megamind();
  ASSERT_GE(r.original.size(), 60u);

  const VideoMatch resized = compare_videos(r.small, r.original);
  std::cout << "  half size: " << resized.query_percent << " % / " << resized.compared_percent
            << " %\n";
  EXPECT_EQ(resized.kind, MatchKind::kSameFootage);
  EXPECT_FALSE(resized.mirrored);
  EXPECT_EQ(resized.offset_ms, 0);

  const VideoMatch flipped = compare_videos(r.original, r.flipped);
  std::cout << "  flipped: " << flipped.query_percent << " % / " << flipped.compared_percent
            << " %, mirrored " << flipped.mirrored << "\n";
  EXPECT_TRUE(flipped.mirrored);
  EXPECT_EQ(flipped.kind, MatchKind::kSameFootage);
  EXPECT_EQ(flipped.offset_ms, 0);

  // The middle third, at half size, from its own time 0.
  const std::size_t third = r.small.size() / 3;
  VideoSignature cut(r.small.begin() + static_cast<std::ptrdiff_t>(third),
                     r.small.begin() + static_cast<std::ptrdiff_t>(2 * third));
  const int64_t start = cut.front().pts_ms;
  for (auto& f : cut) f.pts_ms -= start;
  const VideoMatch clip = compare_videos(cut, r.original);
  std::cout << "  middle third: " << clip.query_percent << " % / " << clip.compared_percent
            << " %, offset " << clip.offset_ms.value_or(-1) << " ms (cut at " << start << " ms)\n";
  EXPECT_EQ(clip.kind, MatchKind::kQueryIsClip);
  ASSERT_TRUE(clip.offset_ms.has_value());
  EXPECT_NEAR(static_cast<double>(*clip.offset_ms), static_cast<double>(start), 100.0);
}

// ---------------------------------------------------------------------------------------------
// The vPDQ reference hashes (tests/data/threatexchange/vpdq,
// frame_number,quality,pdq_hex,timestamp_seconds) and the relations
// tests/data/threatexchange/README.md states for them.

// Copied from ThreatExchange with its licence (tests/data/threatexchange/README.md).
fs::path vectors_dir() { return fs::path(CW_SOURCE_DIR) / "tests" / "data" / "threatexchange"; }

VideoSignature load_reference(const std::string& name) {
  VideoSignature v;
  std::ifstream in(vectors_dir() / "vpdq" / (name + ".frames.txt"));
  EXPECT_TRUE(in) << name;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string number, quality, hex, seconds;
    if (!std::getline(fields, number, ',') || !std::getline(fields, quality, ',') ||
        !std::getline(fields, hex, ',') || !std::getline(fields, seconds, ',')) {
      continue;
    }
    auto hash = PdqHash::from_hex(hex);
    EXPECT_TRUE(hash.ok()) << line;
    if (!hash.ok()) continue;
    v.push_back({std::llround(std::stod(seconds) * 1000), *hash, std::stoi(quality), {}});
  }
  return v;
}

TEST(VideoMatchConformanceTest, VpdqReferenceRelations) {
  ASSERT_TRUE(fs::is_directory(vectors_dir() / "vpdq")) << (vectors_dir() / "vpdq").string();
  const VideoSignature orig = load_reference("chair-orig-22-sd-bar");
  const VideoSignature grey = load_reference("chair-22-sd-grey-bar");
  const VideoSignature cut = load_reference("chair-19-sd-bar");
  const VideoSignature door = load_reference("doorknob-hd-no-bar");

  const VideoMatch same = compare_videos(orig, grey);
  std::cout << "  orig ~ grey: " << same.query_percent << " % / " << same.compared_percent
            << " %\n";
  EXPECT_EQ(same.kind, MatchKind::kSameFootage);
  EXPECT_EQ(same.offset_ms, 0);

  const VideoMatch clip = compare_videos(cut, orig);
  std::cout << "  chair-19 in orig: " << clip.query_percent << " % / " << clip.compared_percent
            << " %, offset " << clip.offset_ms.value_or(-1) << " ms\n";
  EXPECT_EQ(clip.kind, MatchKind::kQueryIsClip);
  EXPECT_GE(clip.query_percent, 99.5);
  EXPECT_GE(clip.compared_percent, 78.0);
  EXPECT_LE(clip.compared_percent, 92.0);
  EXPECT_EQ(compare_videos(orig, cut).kind, MatchKind::kComparedIsClip);

  for (const auto* other : {&orig, &grey, &cut}) {
    const VideoMatch none = compare_videos(door, *other);
    EXPECT_EQ(none.kind, MatchKind::kNone) << none.query_percent << " / " << none.compared_percent;
    EXPECT_EQ(compare_videos(*other, door).kind, MatchKind::kNone);
  }

  // Through the index: the cut finds both chair videos and not the doorknob.
  HashIndex index;
  index_signature(index, 1, orig);
  index_signature(index, 2, grey);
  index_signature(index, 3, door);
  const std::map<int64_t, const VideoSignature*> by_id = {{1, &orig}, {2, &grey}, {3, &door}};
  auto found =
      find_matching_media(index, cut, std::nullopt,
                          [&](int64_t id) -> Result<VideoSignature> { return *by_id.at(id); });
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 2u);
  for (const auto& m : *found) {
    EXPECT_NE(m.media_id, 3);
    EXPECT_EQ(m.match.kind, MatchKind::kQueryIsClip) << m.media_id;
  }
}

}  // namespace
}  // namespace cw::pipeline
