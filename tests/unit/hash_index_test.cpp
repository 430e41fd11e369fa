// HashIndex: answers equal a linear scan (the oracle) on random hashes with planted neighbours at
// every distance 0..31 and decoys at 32 and beyond, including the pigeonhole's worst case (bits
// spread over all 16 slots); removal, replacement, reuse of freed positions; concurrent readers.
#include "pipeline/hash_index.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <thread>
#include <vector>

namespace cw::pipeline {
namespace {

PdqHash random_hash(std::mt19937_64& rng) {
  PdqHash h;
  for (auto& w : h.words) w = static_cast<uint16_t>(rng());
  return h;
}

// `base` with `distance` bits flipped at random places.
PdqHash flip_random_bits(const PdqHash& base, int distance, std::mt19937_64& rng) {
  std::vector<int> bits(256);
  std::iota(bits.begin(), bits.end(), 0);
  std::shuffle(bits.begin(), bits.end(), rng);
  PdqHash h = base;
  for (int i = 0; i < distance; ++i)
    h.words[bits[i] >> 4] ^= static_cast<uint16_t>(1u << (bits[i] & 15));
  return h;
}

// `base` with `distance` bits flipped spread as evenly as possible over the 16 slots: at 31, one
// slot differs by one bit and fifteen by two, so exactly one slot's one-bit probe can find it; at
// 32 every slot differs by two and no probe may find it.
PdqHash flip_spread_bits(const PdqHash& base, int distance) {
  PdqHash h = base;
  for (int i = 0; i < distance; ++i) {
    const int slot = i % 16;
    const int bit = (i / 16) * 4 + slot % 4;  // round r flips bits 4r..4r+3 of the slots
    h.words[slot] ^= static_cast<uint16_t>(1u << bit);
  }
  return h;
}

struct Planted {
  PdqHash query;
  std::vector<int64_t> near_media;  // media whose only entry is within 31 of query
};

TEST(HashIndexTest, QueryEqualsLinearScanWithPlantedNeighbours) {
  std::mt19937_64 rng(20240611);
  HashIndex index;
  // Background: 20,000 random hashes in 40 media, as a few long videos would give.
  for (int i = 0; i < 20000; ++i) index.add(1 + i % 40, int64_t{33} * i, random_hash(rng));
  // 60 query points, each with one neighbour at every distance 0..31 (random bits, and spread
  // bits from 16 up) and decoys at 32..40; each planted entry has its own media id.
  std::vector<Planted> planted;
  int64_t next_media = 1000;
  for (int q = 0; q < 60; ++q) {
    Planted p{random_hash(rng), {}};
    for (int d = 0; d <= 31; ++d) {
      p.near_media.push_back(next_media);
      index.add(next_media++, d, flip_random_bits(p.query, d, rng));
      if (d >= 16) {
        p.near_media.push_back(next_media);
        index.add(next_media++, d, flip_spread_bits(p.query, d));
      }
    }
    for (int d = 32; d <= 40; ++d) {
      index.add(next_media++, d, flip_random_bits(p.query, d, rng));
      index.add(next_media++, d, flip_spread_bits(p.query, d));
    }
    planted.push_back(std::move(p));
  }
  ASSERT_EQ(index.size(), 20000u + 60u * (32 + 16 + 18));

  for (const auto& p : planted) {
    for (int radius : {0, 1, 7, 15, 16, 17, 30, 31}) {
      const auto fast = index.query(p.query, radius);
      const auto slow = index.linear_scan(p.query, radius);
      ASSERT_EQ(fast, slow) << "radius " << radius;
      for (const auto& m : fast) EXPECT_LE(m.distance, radius);
    }
    // At the match distance every planted neighbour is found (the spread one at 31 included) and
    // no decoy is; a random background hash is 128 bits away, never within 31.
    const auto at31 = index.query(p.query, 31);
    ASSERT_EQ(at31.size(), p.near_media.size());
    for (std::size_t i = 0; i < at31.size(); ++i) {
      EXPECT_NE(std::find(p.near_media.begin(), p.near_media.end(), at31[i].media_id),
                p.near_media.end());
      if (i > 0) {
        EXPECT_LE(at31[i - 1].distance, at31[i].distance);
      }
      EXPECT_EQ(at31[i].pts_ms, at31[i].distance);  // planted with pts = distance
    }
    // Excluding a media drops exactly its entries.
    const int64_t excluded = p.near_media[5];
    const auto without = index.query(p.query, 31, excluded);
    EXPECT_EQ(without.size(), at31.size() - 1);
    EXPECT_EQ(without, index.linear_scan(p.query, 31, excluded));
  }
}

TEST(HashIndexTest, RadiusOutsidePigeonholeRangeFallsBackToScan) {
  std::mt19937_64 rng(7);
  HashIndex index;
  const PdqHash q = random_hash(rng);
  for (int d = 0; d <= 60; ++d) index.add(d, 0, flip_spread_bits(q, d));
  EXPECT_TRUE(index.query(q, -1).empty());
  EXPECT_EQ(index.query(q, 0).size(), 1u);
  const auto wide = index.query(q, 45);
  EXPECT_EQ(wide.size(), 46u);
  EXPECT_EQ(wide, index.linear_scan(q, 45));
}

TEST(HashIndexTest, RemoveMediaDropsItsEntriesAndFreesPositionsForReuse) {
  std::mt19937_64 rng(99);
  HashIndex index;
  const PdqHash q = random_hash(rng);
  std::vector<IndexedFrame> video_a;
  std::vector<IndexedFrame> video_b;
  for (int i = 0; i < 50; ++i) {
    video_a.push_back({i * 40, flip_random_bits(q, i % 20, rng)});
    video_b.push_back({i * 40, flip_random_bits(q, 5 + i % 20, rng)});
  }
  index.add_media(1, video_a);
  index.add_media(2, video_b);
  for (int i = 0; i < 1000; ++i) index.add(3, i, random_hash(rng));
  ASSERT_EQ(index.size(), 1100u);

  EXPECT_EQ(index.remove_media(1), 50u);
  EXPECT_EQ(index.remove_media(1), 0u);
  EXPECT_EQ(index.remove_media(12345), 0u);
  EXPECT_EQ(index.size(), 1050u);
  auto hits = index.query(q, 31);
  EXPECT_EQ(hits.size(), 50u);
  for (const auto& m : hits) EXPECT_EQ(m.media_id, 2);
  EXPECT_EQ(hits, index.linear_scan(q, 31));  // the scan skips the freed positions too

  // Re-analysis: media 2 gets new frames, now far from q; media 1 comes back in the freed places.
  std::vector<IndexedFrame> video_b_again;
  for (int i = 0; i < 30; ++i) video_b_again.push_back({i, random_hash(rng)});
  index.replace_media(2, video_b_again);
  index.add_media(1, video_a);
  EXPECT_EQ(index.size(), 1080u);
  hits = index.query(q, 31);
  EXPECT_EQ(hits.size(), 50u);
  for (const auto& m : hits) EXPECT_EQ(m.media_id, 1);
  EXPECT_EQ(hits, index.linear_scan(q, 31));
  EXPECT_EQ(index.query(video_b_again[7].hash, 0).at(0).media_id, 2);
  EXPECT_EQ(index.query(video_b_again[7].hash, 0).at(0).pts_ms, 7);
}

TEST(HashIndexTest, ShrinkToFitKeepsAnswers) {
  std::mt19937_64 rng(5);
  HashIndex index;
  index.reserve(5000);
  std::vector<PdqHash> stored;
  for (int i = 0; i < 5000; ++i) {
    stored.push_back(random_hash(rng));
    index.add(i / 100, i, stored.back());
  }
  const std::size_t before = index.memory_bytes();
  index.shrink_to_fit();
  EXPECT_LE(index.memory_bytes(), before);
  // The 25 MB of bucket headers are there whatever is stored; the entries add about 112 B each.
  EXPECT_LT(index.memory_bytes(), (std::size_t{26} << 20) + 5000 * 112);
  for (int i = 0; i < 5000; i += 97) {
    const auto hits = index.query(stored[i], 31);
    ASSERT_FALSE(hits.empty());
    EXPECT_EQ(hits[0].pts_ms, i);
    EXPECT_EQ(hits[0].distance, 0);
  }
}

// Readers query while a writer adds and removes; every answer must be one a linear scan could
// have given at some moment: here, all hits belong to media whose frames are all near q.
TEST(HashIndexTest, ReadersQueryWhileWriterChangesTheIndex) {
  std::mt19937_64 rng(11);
  HashIndex index;
  const PdqHash q = random_hash(rng);
  for (int i = 0; i < 2000; ++i) index.add(0, i, random_hash(rng));
  std::vector<std::vector<IndexedFrame>> videos(20);
  for (auto& v : videos) {
    for (int i = 0; i < 25; ++i) v.push_back({i, flip_random_bits(q, i, rng)});
  }
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<long> queries{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (!done.load()) {
        const auto hits = index.query(q, 31);
        // Media are replaced whole under one lock: a reader sees 0 or 25 frames of each.
        std::vector<int> per_media(videos.size() + 1, 0);
        for (const auto& m : hits) {
          if (m.media_id < 1 || m.media_id > static_cast<int64_t>(videos.size())) {
            ++bad;
          } else {
            ++per_media[m.media_id];
          }
        }
        for (int n : per_media) bad += (n != 0 && n != 25);
        ++queries;
      }
    });
  }
  for (int round = 0; round < 200; ++round) {
    const auto k = static_cast<std::size_t>(round) % videos.size();
    if (round % 3 == 2) {
      index.remove_media(static_cast<int64_t>(k) + 1);
    } else {
      index.replace_media(static_cast<int64_t>(k) + 1, videos[k]);
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(queries.load(), 0);
  EXPECT_EQ(index.query(q, 31), index.linear_scan(q, 31));
}

}  // namespace
}  // namespace cw::pipeline
