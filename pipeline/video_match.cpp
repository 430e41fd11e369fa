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

constexpr std::size_t kScanPairLimit = std::size_t{4} << 20;

using detail::distance;
using detail::pack;
using detail::PackedHash;

// Usable frames of one side of a comparison: all of them (samples and extras), and which are
// samples.
struct Side {
  std::vector<PackedHash> hashes;
  std::vector<int64_t> pts_ms;
  std::vector<int> samples;  // indices of the samples in hashes
};

Side usable_frames(const VideoSignature& signature, int min_quality, bool mirror) {
  Side side;
  for (const auto& f : signature) {
    if (f.quality < min_quality) continue;
    const PdqHash& h = mirror ? (f.mirrored ? *f.mirrored : approximate_mirror(f.hash)) : f.hash;
    if (!f.extra) side.samples.push_back(static_cast<int>(side.hashes.size()));
    side.hashes.push_back(pack(h));
    side.pts_ms.push_back(f.pts_ms);
  }
  return side;
}

// For every sample of `from`, the closest frame of `to` (sample or extra) within the radius, as an
// index into to.hashes; -1: none. The ties go to the lower index, so that the result does not
// depend on how candidates were enumerated.
using Partners = std::vector<int>;

void offer(Partners& best, std::vector<int>& best_distance, std::size_t s, int t, int d) {
  if (best[s] < 0 || d < best_distance[s] || (d == best_distance[s] && t < best[s])) {
    best[s] = t;
    best_distance[s] = d;
  }
}

CW_POPCNT_CLONES
Partners partners_by_scan(const Side& from, const Side& to, int radius) {
  Partners best(from.samples.size(), -1);
  std::vector<int> best_distance(from.samples.size(), 0);
  for (std::size_t s = 0; s < from.samples.size(); ++s) {
    const PackedHash& h = from.hashes[static_cast<std::size_t>(from.samples[s])];
    for (std::size_t t = 0; t < to.hashes.size(); ++t) {
      const int d = distance(h, to.hashes[t]);
      if (d <= radius) offer(best, best_distance, s, static_cast<int>(t), d);
    }
  }
  return best;
}

// The multi-index of hash_index.hpp for one call: per slot, the compared frames sorted by that
// slot's value (value << 32 | frame), probed at the query's value and its 16 one-bit neighbours.
// REQUIRES: radius ≤ HashIndex::kMaxRadius.
CW_POPCNT_CLONES
Partners partners_by_index(const Side& from, const Side& to, int radius) {
  constexpr int kSlots = 16;
  const auto slot_value = [](const PackedHash& h, int slot) -> uint64_t {
    return static_cast<uint16_t>(h.w[slot >> 2] >> (16 * (slot & 3)));
  };
  std::array<std::vector<uint64_t>, kSlots> slots;
  for (int s = 0; s < kSlots; ++s) {
    slots[s].reserve(to.hashes.size());
    for (std::size_t t = 0; t < to.hashes.size(); ++t) {
      slots[s].push_back(slot_value(to.hashes[t], s) << 32 | t);
    }
    std::sort(slots[s].begin(), slots[s].end());
  }
  Partners best(from.samples.size(), -1);
  std::vector<int> best_distance(from.samples.size(), 0);
  // seen[t] == f + 1 when frame t of `to` was already checked for sample f.
  std::vector<uint32_t> seen(to.hashes.size(), 0);
  const bool probe_neighbours = radius / kSlots >= 1;
  for (std::size_t f = 0; f < from.samples.size(); ++f) {
    const PackedHash& h = from.hashes[static_cast<std::size_t>(from.samples[f])];
    const auto stamp = static_cast<uint32_t>(f + 1);
    for (int s = 0; s < kSlots; ++s) {
      const uint64_t value = slot_value(h, s);
      for (int bit = -1; bit < (probe_neighbours ? 16 : 0); ++bit) {
        const uint64_t probe = bit < 0 ? value : value ^ (uint64_t{1} << bit);
        auto it = std::lower_bound(slots[s].begin(), slots[s].end(), probe << 32);
        for (; it != slots[s].end() && (*it >> 32) == probe; ++it) {
          const auto t = static_cast<uint32_t>(*it);
          if (seen[t] == stamp) continue;
          seen[t] = stamp;
          const int d = distance(h, to.hashes[t]);
          if (d <= radius) offer(best, best_distance, f, static_cast<int>(t), d);
        }
      }
    }
  }
  return best;
}

Partners partners(const Side& from, const Side& to, int radius) {
  const bool small =
      from.samples.size() * to.hashes.size() <= kScanPairLimit || radius > HashIndex::kMaxRadius;
  return small ? partners_by_scan(from, to, radius) : partners_by_index(from, to, radius);
}

VideoMatch classify(const Side& query, const Side& compared, const VideoMatchOptions& options) {
  VideoMatch m;
  m.query_frames = static_cast<int>(query.samples.size());
  m.compared_frames = static_cast<int>(compared.samples.size());
  if (query.samples.empty() || compared.samples.empty()) return m;
  const Partners found_in_compared = partners(query, compared, options.max_distance);
  const Partners found_in_query = partners(compared, query, options.max_distance);
  std::vector<int64_t> offsets;
  for (std::size_t q = 0; q < found_in_compared.size(); ++q) {
    const int c = found_in_compared[q];
    if (c >= 0) {
      offsets.push_back(compared.pts_ms[static_cast<std::size_t>(c)] -
                        query.pts_ms[static_cast<std::size_t>(query.samples[q])]);
    }
  }
  const auto compared_found =
      found_in_query.size() -
      static_cast<std::size_t>(std::count(found_in_query.begin(), found_in_query.end(), -1));
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
    // Samples only: the other side's frames, extras included, are what is looked up.
    if (f.quality >= min_quality && !f.extra) frames.push_back({f.pts_ms, f.hash});
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
