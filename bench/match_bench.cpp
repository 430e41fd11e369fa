// cw_match_bench: the figures of bench/match.sh (see bench/README.md).
//   hash:  PDQ hashes per second on one core of 1080p and 720p frames: real pictures from
//          opencv-doc scaled to size beforehand, decoded BGR cv::Mat in memory, pdq_hash() with
//          PdqScale::kNative as the analysis hashes video frames. The time includes PDQ's own
//          BGR -> luminance conversion and everything after it; not decoding, not the scaling.
//   index: HashIndex::query latency at the match distance (31) over N stored hashes (random, with
//          planted neighbours), against HashIndex::linear_scan over the same data, and the index's
//          memory.
// Prints one line per measurement ("hash SIZE run K per_s X", "index N ..."); bench/match.sh turns
// them into the README block. Everything runs on the calling thread.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "pipeline/hash_index.hpp"
#include "pipeline/pdq.hpp"

namespace {

using cw::pipeline::HashIndex;
using cw::pipeline::IndexedFrame;
using cw::pipeline::IndexMatch;
using cw::pipeline::PdqHash;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the calling thread: on a shared machine, wall time also counts the slices other
// processes get; this does not.
double thread_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

struct Options {
  std::string images = "/usr/share/doc/opencv-doc/examples/data";
  int rounds = 5;
  double hash_seconds = 2.0;  // per timed run of one size
  std::vector<std::size_t> sizes = {1'000'000, 10'000'000};
  int queries = 2000;     // per round, index
  int scan_queries = 20;  // per round, linear scan
  bool hash = true;
  bool index = true;
};

// Photographs, not drawings: PDQ's cost does not depend on content, but keep it honest.
const char* const kPictures[] = {"baboon.jpg", "building.jpg", "fruits.jpg",       "home.jpg",
                                 "messi5.jpg", "orange.jpg",   "starry_night.jpg", "board.jpg"};

int bench_hash(const Options& o) {
  std::vector<cv::Mat> originals;
  for (const char* name : kPictures) {
    cv::Mat m = cv::imread(o.images + "/" + name, cv::IMREAD_COLOR);
    if (m.empty()) {
      std::cerr << "cw_match_bench: cannot read " << o.images << "/" << name
                << " (install opencv-doc)\n";
      return 1;
    }
    originals.push_back(std::move(m));
  }
  struct Size {
    const char* name;
    cv::Size size;
    std::vector<cv::Mat> frames;
  };
  std::vector<Size> sizes = {{"1080p", {1920, 1080}, {}}, {"720p", {1280, 720}, {}}};
  for (auto& s : sizes) {
    for (const auto& m : originals) {
      cv::Mat scaled;
      cv::resize(m, scaled, s.size, 0, 0, cv::INTER_LINEAR);
      s.frames.push_back(std::move(scaled));
    }
  }
  int quality_sum = 0;  // keeps the hashing from being optimised away
  for (int run = 1; run <= o.rounds; ++run) {
    for (auto& s : sizes) {
      // One untimed pass warms the caches and the allocator.
      for (const auto& f : s.frames)
        quality_sum += cw::pipeline::pdq_hash(f, cw::pipeline::PdqScale::kNative).quality;
      long hashes = 0;
      const auto start = Clock::now();
      const double cpu_start = thread_cpu_seconds();
      double elapsed = 0;
      do {
        for (const auto& f : s.frames) {
          quality_sum += cw::pipeline::pdq_hash(f, cw::pipeline::PdqScale::kNative).quality;
        }
        hashes += static_cast<long>(s.frames.size());
        elapsed = seconds_since(start);
      } while (elapsed < o.hash_seconds);
      const double cpu = thread_cpu_seconds() - cpu_start;
      std::printf("hash %s run %d per_s %.1f per_cpu_s %.1f hashes %ld seconds %.3f cpu_s %.3f\n",
                  s.name, run, static_cast<double>(hashes) / elapsed,
                  static_cast<double>(hashes) / cpu, hashes, elapsed, cpu);
      std::fflush(stdout);
    }
  }
  std::printf("hash pictures %zu quality_sum %d\n", originals.size(), quality_sum);
  return 0;
}

// VmRSS or VmHWM (the peak) of this process, in KiB.
long status_kib(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string key;
  long value = 0;
  while (status >> key) {
    if (key == field) {
      status >> value;
      return value;
    }
    status.ignore(1 << 10, '\n');
  }
  return 0;
}

PdqHash random_hash(std::mt19937_64& rng) {
  PdqHash h;
  for (auto& w : h.words) w = static_cast<uint16_t>(rng());
  return h;
}

PdqHash flip_bits(const PdqHash& base, int count, std::mt19937_64& rng) {
  PdqHash h = base;
  for (int flipped = 0; flipped < count;) {
    const int k = static_cast<int>(rng() & 255);
    const auto mask = static_cast<uint16_t>(1u << (k & 15));
    if ((h.words[k >> 4] ^ base.words[k >> 4]) & mask) continue;  // already flipped
    h.words[k >> 4] ^= mask;
    ++flipped;
  }
  return h;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// N stored hashes in media of 1000 frames (pts 40 ms apart), loaded as at start-up (add_media per
// media, then shrink_to_fit). 1 in 1000 is a "base" that gets 8 planted neighbours at random
// distances 1..31 and 2 decoys at 32..40 among the following entries; queries are bases (each
// finds its 9 frames) and fresh random hashes (find nothing), half and half.
int bench_index(const Options& o, std::size_t n) {
  std::mt19937_64 rng(n);
  const long rss_before = status_kib("VmRSS:");
  HashIndex index;
  index.reserve(n);
  std::vector<PdqHash> bases;
  const auto build_start = Clock::now();
  std::vector<IndexedFrame> media;
  constexpr std::size_t kFramesPerMedia = 1000;
  std::size_t stored = 0;
  int64_t media_id = 1;
  while (stored < n) {
    media.clear();
    while (media.size() < kFramesPerMedia && stored < n) {
      PdqHash h = random_hash(rng);
      if (stored % 1000 == 0 && stored + 11 <= n) {
        bases.push_back(h);
        media.push_back({static_cast<int64_t>(media.size()) * 40, h});
        for (int k = 0; k < 8; ++k) {
          media.push_back({static_cast<int64_t>(media.size()) * 40,
                           flip_bits(h, 1 + static_cast<int>(rng() % 31), rng)});
        }
        for (int k = 0; k < 2; ++k) {
          media.push_back({static_cast<int64_t>(media.size()) * 40,
                           flip_bits(h, 32 + static_cast<int>(rng() % 9), rng)});
        }
        stored += 11;
        continue;
      }
      media.push_back({static_cast<int64_t>(media.size()) * 40, h});
      ++stored;
    }
    index.add_media(media_id++, media);
  }
  index.shrink_to_fit();
  const double build_s = seconds_since(build_start);
  const long rss_after = status_kib("VmRSS:");
  std::printf(
      "index %zu build_s %.2f entries %zu memory_bytes %zu rss_growth_kib %ld hwm_kib %ld "
      "rss_before_kib %ld bases %zu\n",
      n, build_s, index.size(), index.memory_bytes(), rss_after - rss_before, status_kib("VmHWM:"),
      rss_before, bases.size());
  std::fflush(stdout);

  std::mt19937_64 pick(n + 1);
  // Untimed: the first queries after loading pay for cold caches and page tables.
  std::size_t warm_hits = 0;
  for (int q = 0; q < 200; ++q) warm_hits += index.query(random_hash(pick)).size();
  std::printf("index %zu warmup_queries 200 hits %zu\n", n, warm_hits);
  for (int round = 1; round <= o.rounds; ++round) {
    std::vector<PdqHash> queries;
    for (int q = 0; q < o.queries; ++q) {
      queries.push_back(q % 2 == 0 ? bases[pick() % bases.size()] : random_hash(pick));
    }
    std::vector<double> mih_us;
    std::vector<double> mih_cpu_us;
    std::size_t hits = 0;
    for (const auto& q : queries) {
      const auto start = Clock::now();
      const double cpu_start = thread_cpu_seconds();
      const auto found = index.query(q, HashIndex::kMaxRadius);
      mih_cpu_us.push_back((thread_cpu_seconds() - cpu_start) * 1e6);
      mih_us.push_back(seconds_since(start) * 1e6);
      hits += found.size();
    }
    std::vector<double> scan_us;
    int mismatches = 0;
    for (int q = 0; q < o.scan_queries; ++q) {
      const PdqHash& query = queries[static_cast<std::size_t>(q) * queries.size() /
                                     static_cast<std::size_t>(o.scan_queries)];
      const auto start = Clock::now();
      const auto found = index.linear_scan(query, HashIndex::kMaxRadius);
      scan_us.push_back(seconds_since(start) * 1e6);
      mismatches += found != index.query(query, HashIndex::kMaxRadius);
    }
    std::printf(
        "index %zu round %d queries %zu mih_median_us %.1f mih_p99_us %.1f mih_max_us %.1f "
        "mih_cpu_median_us %.1f mih_cpu_p99_us %.1f scan_queries %zu scan_median_us %.1f "
        "hits_per_query %.2f mismatches %d\n",
        n, round, mih_us.size(), percentile(mih_us, 0.5), percentile(mih_us, 0.99),
        percentile(mih_us, 1.0), percentile(mih_cpu_us, 0.5), percentile(mih_cpu_us, 0.99),
        scan_us.size(), percentile(scan_us, 0.5),
        static_cast<double>(hits) / static_cast<double>(queries.size()), mismatches);
    std::fflush(stdout);
    if (mismatches != 0) {
      std::cerr << "cw_match_bench: query and linear_scan disagree\n";
      return 1;
    }
  }
  return 0;
}

std::vector<std::size_t> parse_sizes(std::string_view text) {
  std::vector<std::size_t> sizes;
  while (!text.empty()) {
    const auto comma = text.find(',');
    sizes.push_back(std::stoull(std::string(text.substr(0, comma))));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  }
  return sizes;
}

void usage() {
  std::cerr
      << "usage: cw_match_bench [--only hash|index] [--rounds N] [--hash-seconds S]\n"
         "                      [--sizes N,N] [--queries N] [--scan-queries N] [--images DIR]\n";
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const bool has_value = i + 1 < argc;
    try {
      if (arg == "--only" && has_value) {
        const std::string_view what = argv[++i];
        o.hash = what == "hash";
        o.index = what == "index";
      } else if (arg == "--rounds" && has_value) {
        o.rounds = std::stoi(argv[++i]);
      } else if (arg == "--hash-seconds" && has_value) {
        o.hash_seconds = std::stod(argv[++i]);
      } else if (arg == "--sizes" && has_value) {
        o.sizes = parse_sizes(argv[++i]);
      } else if (arg == "--queries" && has_value) {
        o.queries = std::stoi(argv[++i]);
      } else if (arg == "--scan-queries" && has_value) {
        o.scan_queries = std::stoi(argv[++i]);
      } else if (arg == "--images" && has_value) {
        o.images = argv[++i];
      } else {
        usage();
        return 2;
      }
    } catch (const std::exception&) {
      usage();
      return 2;
    }
  }
  if (o.rounds < 1 || o.queries < 2 || o.scan_queries < 1 || o.hash_seconds <= 0) {
    usage();
    return 2;
  }
  if (o.hash && bench_hash(o) != 0) return 1;
  if (o.index) {
    for (const std::size_t n : o.sizes) {
      if (n < 1000 || bench_index(o, n) != 0) return 1;
    }
  }
  return 0;
}
