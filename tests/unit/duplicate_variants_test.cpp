// Near-duplicate footage end to end: copies of real footage (Debian's opencv-doc sample videos,
// installed by scripts/setup; missing, the suite fails) made with the ffmpeg command — re-encoded
// at a low bit rate, scaled to 50 %, letterboxed to 16:9, padded, greyscale, a logo overlaid in a
// corner, mirrored, the middle third cut out, trimmed at both ends (speed kept) — are analysed by
// extract_frames (one PDQ hash a second, the default signature interval, plus the extras between
// them) and compared with compare_videos under the default VideoMatchOptions (distance 31,
// quality ≥ 50, 80 %). Every variant must match its source with
// the right kind; five unrelated videos must match neither each other nor any variant of another
// source, and the false-match rate over all those pairs is printed and recorded.
//
// Unrelated videos: opencv-doc has three distinct videos (vtest.avi, Megamind.avi, tree.avi;
// Megamind_bugy.avi is Megamind.avi again, at 30 fps with damaged frames, so it is left out).
// The other two are ffmpeg lavfi sources with real motion (a mandelbrot zoom, Conway's life), not
// other time ranges of vtest or tree: each is one fixed camera on one scene, the same footage
// rather than unrelated (measured: tree's 15-29 s match its first 15 s; vtest's 40-55 s come
// within 32 bits of its first 15 s, one bit from the match distance). Megamind is too short for
// two 10 s ranges that do not overlap.
//
// Sources are cut to 15 s at 384 px wide at most, so the suite stays fast in the Debug + ASan
// build; the variants are made from those cuts. The cuts start half-way between two seconds (see
// make_variants). A source whose seconds all look alike (tree) cannot have its cuts told from
// the whole: see repeats_itself.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "pipeline/frames.hpp"
#include "pipeline/pdq.hpp"
#include "pipeline/probe.hpp"
#include "pipeline/video_match.hpp"
#include "tests/support/fixtures.hpp"

namespace cw::pipeline {
namespace {

namespace fs = std::filesystem;

using test::ffmpeg;
using test::TempDir;

const fs::path kOpencvData = "/usr/share/doc/opencv-doc/examples/data";
const fs::path kLogo = kOpencvData / "opencv-logo.png";

const std::string kX264 = " -an -c:v libx264 -preset veryfast -pix_fmt yuv420p ";

struct Variant {
  std::string name;
  // compare_videos(variant, source).kind and .mirrored.
  MatchKind expected = MatchKind::kSameFootage;
  bool mirrored = false;
  VideoSignature signature;
};

struct Source {
  std::string name;
  VideoSignature signature;
  std::vector<Variant> variants;  // none for the lavfi sources
};

// Seconds for an ffmpeg command line.
std::string seconds(double s) {
  std::ostringstream out;
  out << s;
  return out.str();
}

// match_kind_label with the clip's side, for messages and comparisons.
std::string kind_name(MatchKind kind) {
  std::string name(match_kind_label(kind));
  if (kind == MatchKind::kQueryIsClip) name += " (query is the clip)";
  if (kind == MatchKind::kComparedIsClip) name += " (compared is the clip)";
  return name;
}

std::string describe(const VideoMatch& m) {
  std::ostringstream s;
  s << kind_name(m.kind) << ", query " << m.query_percent << " % of " << m.query_frames
    << ", compared " << m.compared_percent << " % of " << m.compared_frames
    << (m.mirrored ? ", mirrored" : "");
  if (m.offset_ms) s << ", offset " << *m.offset_ms << " ms";
  return s.str();
}

// The kind compare_videos(b, a) should give when compare_videos(a, b) gives `kind`.
MatchKind swapped(MatchKind kind) {
  if (kind == MatchKind::kQueryIsClip) return MatchKind::kComparedIsClip;
  if (kind == MatchKind::kComparedIsClip) return MatchKind::kQueryIsClip;
  return kind;
}

// The video's signature as extract_frames computes it (few frames: only the signature is used).
::testing::AssertionResult analyse(const TempDir& dir, const std::string& file,
                                   VideoSignature& signature) {
  FramesOptions options;
  options.max_frames = 4;
  const auto r = extract_frames((dir / file).string(), dir.out(file + ".frames"), options);
  if (!r.ok()) return ::testing::AssertionFailure() << file << ": " << r.error().to_string();
  signature.clear();
  for (const SignatureEntry& e : r->signature) {
    const auto hash = PdqHash::from_hex(e.pdq);
    if (!hash.ok()) return ::testing::AssertionFailure() << file << ": " << e.pdq;
    signature.push_back({e.pts_ms, *hash, e.quality, std::nullopt, e.extra});
  }
  return ::testing::AssertionSuccess();
}

// For each usable sample of `a`, "<pts>:<direct>/<mirrored>": the hamming distance to the nearest
// usable frame (sample or extra) of `b` of the sample and of its approximate mirror, to show how
// far a failed match was.
std::string nearest(const VideoSignature& a, const VideoSignature& b) {
  std::ostringstream s;
  for (const SignatureFrame& f : a) {
    if (f.quality < 50 || f.extra) continue;
    int best = 256;
    int best_mirrored = 256;
    for (const SignatureFrame& g : b) {
      if (g.quality < 50) continue;
      best = std::min(best, hamming(f.hash, g.hash));
      best_mirrored = std::min(best_mirrored, hamming(approximate_mirror(f.hash), g.hash));
    }
    s << f.pts_ms << ":" << best << "/" << best_mirrored << " ";
  }
  return s.str();
}

// The smallest hamming distance between a usable frame of `a` (or its approximate mirror) and a
// usable frame of `b`; 256 when either has none.
int closest_frames(const VideoSignature& a, const VideoSignature& b) {
  int best = 256;
  for (const SignatureFrame& f : a) {
    if (f.quality < 50) continue;
    for (const SignatureFrame& g : b) {
      if (g.quality < 50) continue;
      best = std::min({best, hamming(f.hash, g.hash), hamming(approximate_mirror(f.hash), g.hash)});
    }
  }
  return best;
}

// Usable samples (what the percentages count).
int usable(const VideoSignature& signature) {
  return static_cast<int>(
      std::count_if(signature.begin(), signature.end(),
                    [](const SignatureFrame& f) { return f.quality >= 50 && !f.extra; }));
}

// Frames of `signature` with pts in [from_ms, to_ms).
VideoSignature between(const VideoSignature& signature, double from_ms, double to_ms) {
  VideoSignature out;
  for (const SignatureFrame& f : signature) {
    const auto pts = static_cast<double>(f.pts_ms);
    if (pts >= from_ms && pts < to_ms) out.push_back(f);
  }
  return out;
}

class DuplicateVariants : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir;
    made_ = make_all();
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
    sources_.clear();
  }

  void SetUp() override { ASSERT_TRUE(made_); }

  static inline TempDir* dir_ = nullptr;
  static inline ::testing::AssertionResult made_ = ::testing::AssertionSuccess();
  static inline std::vector<Source> sources_;  // the real footage first, then the lavfi videos

 private:
  static ::testing::AssertionResult make_all() {
    for (const char* name : {"vtest.avi", "Megamind.avi", "tree.avi", "opencv-logo.png"}) {
      if (!fs::exists(kOpencvData / name)) {
        return ::testing::AssertionFailure()
               << (kOpencvData / name).string()
               << " is missing: run scripts/setup (installs opencv-doc)";
      }
    }
    // Every distinct video of opencv-doc, cut to 15 s at 384 px wide at most.
    std::vector<fs::path> videos;
    for (const auto& entry : fs::directory_iterator(kOpencvData)) {
      const std::string ext = entry.path().extension().string();
      if ((ext == ".avi" || ext == ".mp4") && entry.path().filename() != "Megamind_bugy.avi") {
        videos.push_back(entry.path());
      }
    }
    std::sort(videos.begin(), videos.end());
    std::vector<std::pair<std::string, std::string>> cuts;  // name, ffmpeg input and filters
    for (const fs::path& video : videos) {
      cuts.emplace_back(video.stem().string(),
                        "-i '" + video.string() + "' -t 15 -vf \"scale='min(384,iw)':-2\"");
    }
    const std::size_t real = cuts.size();
    cuts.emplace_back("mandelbrot", "-f lavfi -i mandelbrot=size=384x288:rate=10 -t 15");
    // Cells of 4×4 px, so that they survive the encoder.
    cuts.emplace_back("life",
                      "-f lavfi -i life=size=96x72:rate=10:seed=7:mold=10:ratio=0.3:"
                      "life_color=white:death_color=0x202020:mold_color=0x4060a0 -t 15 "
                      "-vf scale=384:288:flags=neighbor");
    for (std::size_t i = 0; i < cuts.size(); ++i) {
      const auto& [name, input] = cuts[i];
      Source source{name, {}, {}};
      const std::string file = name + ".mp4";
      if (auto made = ffmpeg(*dir_, input + kX264 + "-crf 20", file); !made) return made;
      if (auto done = analyse(*dir_, file, source.signature); !done) return done;
      if (i < real) {
        if (auto made = make_variants(file, source); !made) return made;
      }
      sources_.push_back(std::move(source));
    }
    return ::testing::AssertionSuccess();
  }

  static ::testing::AssertionResult make_variants(const std::string& file, Source& source) {
    const auto probed = probe_media((*dir_ / file).string());
    if (!probed.ok()) {
      return ::testing::AssertionFailure() << file << ": " << probed.error().to_string();
    }
    if (!probed->duration_s || *probed->duration_s < 9) {
      return ::testing::AssertionFailure() << file << ": not 9 s long";
    }
    const double d = *probed->duration_s;
    // The signature samples the first frame at or after each whole second of a file, so a cut's
    // samples are as far from its source's as its start is from a whole second (the extras
    // between samples are what they find). An editor cuts anywhere; the cuts here start half-way
    // between two seconds, the farthest they can be.
    const double third = std::floor(d / 3) + 0.5;
    const double trim_start = 2.5;
    const double trim_end = d - 1.5;
    const std::string in = "-i '" + (*dir_ / file).string() + "'";
    struct Spec {
      const char* name;
      std::string args;
      MatchKind expected;
      bool mirrored;
    };
    const Spec specs[] = {
        {"low_bit_rate", in + kX264 + "-b:v 40k", MatchKind::kSameFootage, false},
        {"half_size", in + " -vf 'scale=trunc(iw/4)*2:trunc(ih/4)*2'" + kX264,
         MatchKind::kSameFootage, false},
        {"letterbox_16x9",
         in +
             " -vf 'scale=640:360:force_original_aspect_ratio=decrease,"
             "pad=640:360:(ow-iw)/2:(oh-ih)/2:black'" +
             kX264,
         MatchKind::kSameFootage, false},
        // A uniform coloured border, wider on the left and at the bottom.
        {"padded", in + " -vf pad=iw+96:ih+64:64:16:color=0x2a5d8f" + kX264,
         MatchKind::kSameFootage, false},
        {"greyscale", in + " -vf format=gray,format=yuv420p" + kX264, MatchKind::kSameFootage,
         false},
        // OpenCV's logo, an eighth of the width (a broadcaster's bug), in the top right corner.
        {"logo",
         in + " -i '" + kLogo.string() +
             "' -filter_complex \"[1:v][0:v]scale2ref=w=main_w/8:h=ow/a[logo][base];"
             "[base][logo]overlay=W-w-8:8\"" +
             kX264,
         MatchKind::kSameFootage, false},
        {"mirrored", in + " -vf hflip" + kX264, MatchKind::kSameFootage, true},
        {"middle_third", in + " -ss " + seconds(third) + " -t " + seconds(d / 3) + kX264,
         MatchKind::kQueryIsClip, false},
        // The first 2.5 s and the last 1.5 s cut off, at the same speed.
        {"trimmed",
         in + " -ss " + seconds(trim_start) + " -t " + seconds(trim_end - trim_start) + kX264,
         MatchKind::kQueryIsClip, false},
    };
    for (const Spec& spec : specs) {
      Variant v{spec.name, spec.expected, spec.mirrored, {}};
      const std::string out = source.name + "-" + spec.name + ".mp4";
      if (auto made = ffmpeg(*dir_, spec.args, out); !made) return made;
      if (auto done = analyse(*dir_, out, v.signature); !done) return done;
      source.variants.push_back(std::move(v));
    }
    return ::testing::AssertionSuccess();
  }
};

// A fixed camera on a still scene (tree.avi) looks the same every second: when the first third
// of a source matches its last third, a cut of it cannot be told from the whole by its frames,
// and same_footage is accepted for its cuts (they must still match). Said on the output.
bool repeats_itself(const VideoSignature& signature) {
  if (signature.empty()) return false;
  const auto end = static_cast<double>(signature.back().pts_ms) + 1000;
  return compare_videos(between(signature, 0, end / 3), between(signature, end * 2 / 3, end))
      .matched();
}

TEST_F(DuplicateVariants, EveryVariantMatchesItsSource) {
  int real = 0;
  int passed = 0;
  int variants = 0;
  for (const Source& source : sources_) {
    if (source.variants.empty()) continue;
    ++real;
    SCOPED_TRACE(source.name);
    // Enough usable seconds that a share means something.
    ASSERT_GE(usable(source.signature), 8) << source.signature.size() << " hashes";
    const bool still = repeats_itself(source.signature);
    if (still) {
      std::cout << "  " << source.name
                << ": its first third matches its last third; its cuts may be same_footage\n";
    }
    for (const Variant& v : source.variants) {
      SCOPED_TRACE(v.name);
      const VideoMatch m = compare_videos(v.signature, source.signature);
      const VideoMatch back = compare_videos(source.signature, v.signature);
      MatchKind expected = v.expected;
      if (still && expected == MatchKind::kQueryIsClip && m.kind == MatchKind::kSameFootage) {
        expected = MatchKind::kSameFootage;
      }
      const bool pass = m.kind == expected && m.mirrored == v.mirrored &&
                        back.kind == swapped(expected) && back.mirrored == v.mirrored &&
                        usable(v.signature) >= 3;
      ++variants;
      if (pass) ++passed;
      std::cout << "  " << source.name << " / " << v.name << ": " << (pass ? "pass" : "FAIL")
                << " - " << describe(m) << "; source as query: " << describe(back) << "\n";
      RecordProperty(source.name + "." + v.name, (pass ? "pass: " : "FAIL: ") + describe(m));
      if (!pass) {
        std::cout << "    variant frame: distance to the nearest source frame (direct/mirrored): "
                  << nearest(v.signature, source.signature)
                  << "\n    source frame: to the nearest variant frame: "
                  << nearest(source.signature, v.signature) << "\n";
      }
      EXPECT_GE(usable(v.signature), 3) << v.signature.size() << " hashes";
      EXPECT_EQ(kind_name(m.kind), kind_name(expected)) << describe(m);
      EXPECT_EQ(m.mirrored, v.mirrored) << describe(m);
      EXPECT_EQ(kind_name(back.kind), kind_name(swapped(expected))) << describe(back);
      EXPECT_EQ(back.mirrored, v.mirrored) << describe(back);
    }
  }
  std::cout << "  variants matching their source as expected: " << passed << " / " << variants
            << "\n";
  RecordProperty("variants_passed", passed);
  RecordProperty("variants", variants);
  EXPECT_GE(real, 3) << "vtest, Megamind and tree at least";
}

TEST_F(DuplicateVariants, UnrelatedVideosDoNotMatch) {
  ASSERT_GE(sources_.size(), 5u);
  int pairs = 0;
  int false_matches = 0;
  double closest = -1;  // the highest share seen between unrelated videos
  std::string closest_pair;
  int nearest_bits = 257;  // the closest frames of unrelated videos, in bits
  std::string nearest_pair;
  // A pair matches when either way round matches (the mirrored hashes tried are the query's).
  const auto check = [&](const std::string& a_name, const VideoSignature& a,
                         const std::string& b_name, const VideoSignature& b) {
    const VideoMatch ab = compare_videos(a, b);
    const VideoMatch ba = compare_videos(b, a);
    ++pairs;
    if (const int bits = closest_frames(a, b); bits < nearest_bits) {
      nearest_bits = bits;
      nearest_pair = a_name + " ~ " + b_name;
    }
    for (const VideoMatch* m : {&ab, &ba}) {
      const double share = std::max(m->query_percent, m->compared_percent);
      if (share > closest) {
        closest = share;
        closest_pair =
            (m == &ab ? a_name + " ~ " + b_name : b_name + " ~ " + a_name) + ": " + describe(*m);
      }
    }
    if (ab.matched() || ba.matched()) {
      ++false_matches;
      ADD_FAILURE() << a_name << " matches " << b_name << ": " << describe(ab) << "; "
                    << describe(ba);
    }
  };
  for (std::size_t i = 0; i < sources_.size(); ++i) {
    const Source& u = sources_[i];
    EXPECT_GE(usable(u.signature), 8) << u.name;
    for (std::size_t j = i + 1; j < sources_.size(); ++j) {
      check(u.name, u.signature, sources_[j].name, sources_[j].signature);
    }
    for (std::size_t j = 0; j < sources_.size(); ++j) {
      if (j == i) continue;
      for (const Variant& v : sources_[j].variants) {
        check(u.name, u.signature, sources_[j].name + "/" + v.name, v.signature);
      }
    }
  }
  const double rate = pairs == 0 ? 0 : static_cast<double>(false_matches) / pairs;
  std::ostringstream text;
  text << false_matches << " / " << pairs << " = " << rate;
  std::cout << "  false-match rate: " << text.str()
            << "\n  closest unrelated pair: " << closest_pair
            << "\n  closest frames of unrelated videos: " << nearest_bits << " bits ("
            << nearest_pair << "; a match is within " << VideoMatchOptions{}.max_distance << ")\n";
  RecordProperty("false_match_rate", text.str());
  RecordProperty("closest_unrelated_pair", closest_pair);
  RecordProperty("closest_unrelated_frames_bits", nearest_bits);
  EXPECT_GT(pairs, 0);
  EXPECT_EQ(false_matches, 0);
}

}  // namespace
}  // namespace cw::pipeline
