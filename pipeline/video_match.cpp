// compare_videos (vPDQ's rule, the clip_of / same_footage labels, mirrored copies, time offsets)
// and find_matching_media (candidates by votes from a HashIndex, then compare_videos).
#include "pipeline/video_match.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <map>
#include <set>
#include <utility>

namespace cw::pipeline {
namespace {

using detail::distance;
using detail::pack;
using detail::PackedHash;

// Usable frames of one side of a comparison.
struct Side {
  std::vector<PackedHash> hashes;
  std::vector<int64_t> pts_ms;
};

Side usable_frames(const VideoSignature& signature, int min_quality, bool mirror) {
  Side side;
  for (const auto& f : signature) {
    if (f.quality < min_quality) continue;
    const PdqHash& h = mirror ? (f.mirrored ? *f.mirrored : approximate_mirror(f.hash)) : f.hash;
    side.hashes.push_back(pack(h));
    side.pts_ms.push_back(f.pts_ms);
  }
  return side;
}

// For every query frame, the closest compared frame within the radius (-1: none), and for every
// compared frame whether some query frame is within the radius.
struct Partners {
  std::vector<int> best;
  std::vector<char> found;
};

// The ties among closest frames go to the lower index, so that the result does not depend on how
// candidates were enumerated.
void offer(Partners& p, std::vector<int>& best_distance, std::size_t q, int c, int d) {
  p.found[c] = 1;
  if (p.best[q] < 0 || d < best_distance[q] || (d == best_distance[q] && c < p.best[q])) {
    p.best[q] = c;
    best_distance[q] = d;
  }
}

CW_POPCNT_CLONES
Partners partners_by_scan(const Side& query, const Side& compared, int radius) {
  Partners p{std::vector<int>(query.hashes.size(), -1),
             std::vector<char>(compared.hashes.size(), 0)};
  std::vector<int> best_distance(query.hashes.size(), 0);
  for (std::size_t q = 0; q < query.hashes.size(); ++q) {
    for (std::size_t c = 0; c < compared.hashes.size(); ++c) {
      const int d = distance(query.hashes[q], compared.hashes[c]);
      if (d <= radius) offer(p, best_distance, q, static_cast<int>(c), d);
    }
  }
  return p;
}

// The multi-index of hash_index.hpp for one call: per slot, the compared frames sorted by that
// slot's value (value << 32 | frame), probed at the query's value and its 16 one-bit neighbours.
// REQUIRES: radius ≤ HashIndex::kMaxRadius.
CW_POPCNT_CLONES
Partners partners_by_index(const Side& query, const Side& compared, int radius) {
  constexpr int kSlots = 16;
  const auto slot_value = [](const PackedHash& h, int slot) -> uint64_t {
    return static_cast<uint16_t>(h.w[slot >> 2] >> (16 * (slot & 3)));
  };
  std::array<std::vector<uint64_t>, kSlots> slots;
  for (int s = 0; s < kSlots; ++s) {
    slots[s].reserve(compared.hashes.size());
    for (std::size_t c = 0; c < compared.hashes.size(); ++c) {
      slots[s].push_back(slot_value(compared.hashes[c], s) << 32 | c);
    }
    std::sort(slots[s].begin(), slots[s].end());
  }
  Partners p{std::vector<int>(query.hashes.size(), -1),
             std::vector<char>(compared.hashes.size(), 0)};
  std::vector<int> best_distance(query.hashes.size(), 0);
  // seen[c] == q + 1 when compared frame c was already checked for query frame q.
  std::vector<uint32_t> seen(compared.hashes.size(), 0);
  const bool probe_neighbours = radius / kSlots >= 1;
  for (std::size_t q = 0; q < query.hashes.size(); ++q) {
    const auto stamp = static_cast<uint32_t>(q + 1);
    for (int s = 0; s < kSlots; ++s) {
      const uint64_t value = slot_value(query.hashes[q], s);
      for (int bit = -1; bit < (probe_neighbours ? 16 : 0); ++bit) {
        const uint64_t probe = bit < 0 ? value : value ^ (uint64_t{1} << bit);
        auto it = std::lower_bound(slots[s].begin(), slots[s].end(), probe << 32);
        for (; it != slots[s].end() && (*it >> 32) == probe; ++it) {
          const auto c = static_cast<uint32_t>(*it);
          if (seen[c] == stamp) continue;
          seen[c] = stamp;
          const int d = distance(query.hashes[q], compared.hashes[c]);
          if (d <= radius) offer(p, best_distance, q, static_cast<int>(c), d);
        }
      }
    }
  }
  return p;
}

constexpr std::size_t kScanPairLimit = std::size_t{4} << 20;

VideoMatch classify(const Side& query, const Side& compared, const VideoMatchOptions& options) {
  VideoMatch m;
  m.query_frames = static_cast<int>(query.hashes.size());
  m.compared_frames = static_cast<int>(compared.hashes.size());
  if (query.hashes.empty() || compared.hashes.empty()) return m;
  const bool small = query.hashes.size() * compared.hashes.size() <= kScanPairLimit ||
                     options.max_distance > HashIndex::kMaxRadius;
  const Partners p = small ? partners_by_scan(query, compared, options.max_distance)
                           : partners_by_index(query, compared, options.max_distance);
  std::vector<int64_t> offsets;
  for (std::size_t q = 0; q < p.best.size(); ++q) {
    if (p.best[q] >= 0) offsets.push_back(compared.pts_ms[p.best[q]] - query.pts_ms[q]);
  }
  const auto compared_found = std::count(p.found.begin(), p.found.end(), char{1});
  m.query_percent = 100.0 * static_cast<double>(offsets.size()) / m.query_frames;
  m.compared_percent = 100.0 * static_cast<double>(compared_found) / m.compared_frames;
  if (!offsets.empty()) {
    // The lower middle for an even count: an offset some frame pair really has.
    const auto mid = offsets.begin() + static_cast<std::ptrdiff_t>((offsets.size() - 1) / 2);
    std::nth_element(offsets.begin(), mid, offsets.end());
    m.offset_ms = *mid;
  }
  const double hi = std::max(m.query_percent, m.compared_percent);
  if (hi < options.threshold_percent) return m;
  const auto is_clip = [&](double mine, double other) {
    return mine >= options.clip_full_percent && mine - other >= options.clip_margin_percent;
  };
  if (is_clip(m.query_percent, m.compared_percent)) {
    m.kind = MatchKind::kQueryIsClip;
  } else if (is_clip(m.compared_percent, m.query_percent)) {
    m.kind = MatchKind::kComparedIsClip;
  } else {
    m.kind = MatchKind::kSameFootage;
  }
  return m;
}

double overlap(const VideoMatch& m) { return m.query_percent + m.compared_percent; }

}  // namespace

PdqHash approximate_mirror(const PdqHash& hash) {
  PdqHash mirrored = hash;
  for (auto& w : mirrored.words) w ^= 0x5555;
  return mirrored;
}

std::string_view match_kind_label(MatchKind kind) {
  switch (kind) {
    case MatchKind::kNone:
      return "none";
    case MatchKind::kSameFootage:
      return "same_footage";
    case MatchKind::kQueryIsClip:
    case MatchKind::kComparedIsClip:
      return "clip_of";
  }
  return "none";
}

VideoMatch compare_videos(const VideoSignature& query, const VideoSignature& compared,
                          const VideoMatchOptions& options) {
  const Side b = usable_frames(compared, options.min_quality, false);
  VideoMatch direct = classify(usable_frames(query, options.min_quality, false), b, options);
  if (direct.matched() || !options.try_mirrored) return direct;
  VideoMatch mirrored = classify(usable_frames(query, options.min_quality, true), b, options);
  if (!mirrored.matched()) return direct;
  mirrored.mirrored = true;
  return mirrored;
}

void index_signature(HashIndex& index, int64_t media_id, const VideoSignature& signature,
                     int min_quality) {
  std::vector<IndexedFrame> frames;
  frames.reserve(signature.size());
  for (const auto& f : signature) {
    if (f.quality >= min_quality) frames.push_back({f.pts_ms, f.hash});
  }
  index.replace_media(media_id, frames);
}

Result<std::vector<MediaMatch>> find_matching_media(const HashIndex& index,
                                                    const VideoSignature& query,
                                                    std::optional<int64_t> query_media_id,
                                                    const SignatureLoader& load,
                                                    const MatchSearchOptions& options) {
  const VideoMatchOptions& mo = options.match;
  std::map<int64_t, int> votes;
  std::set<int64_t> found_by_frame;
  const PdqHash* previous = nullptr;
  for (const auto& f : query) {
    if (f.quality < mo.min_quality) continue;
    // Frozen frames repeat the same hash: one lookup for the run (it gets the run's votes).
    if (previous == nullptr || !(*previous == f.hash)) {
      found_by_frame.clear();
      for (const auto& hit : index.query(f.hash, mo.max_distance, query_media_id)) {
        found_by_frame.insert(hit.media_id);
      }
      if (mo.try_mirrored) {
        const PdqHash mirror = f.mirrored ? *f.mirrored : approximate_mirror(f.hash);
        for (const auto& hit : index.query(mirror, mo.max_distance, query_media_id)) {
          found_by_frame.insert(hit.media_id);
        }
      }
      previous = &f.hash;
    }
    for (const int64_t media : found_by_frame) ++votes[media];
  }

  std::vector<std::pair<int64_t, int>> ranked(votes.begin(), votes.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (ranked.size() > options.max_candidates) ranked.resize(options.max_candidates);

  std::vector<MediaMatch> matches;
  for (const auto& [media_id, count] : ranked) {
    Result<VideoSignature> candidate = load(media_id);
    if (!candidate.ok()) {
      if (candidate.error().code() == Code::kNotFound) continue;
      return candidate.error();
    }
    VideoMatch m = compare_videos(query, *candidate, mo);
    if (m.matched()) matches.push_back({media_id, count, m});
  }
  std::sort(matches.begin(), matches.end(), [](const MediaMatch& a, const MediaMatch& b) {
    const double sa = overlap(a.match);
    const double sb = overlap(b.match);
    return sa != sb ? sa > sb : a.media_id < b.media_id;
  });
  return matches;
}

}  // namespace cw::pipeline
