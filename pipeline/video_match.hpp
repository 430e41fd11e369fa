// Video-to-video matching by PDQ frame hashes, with vPDQ's rule (ThreatExchange vpdq): only frames
// of quality ≥ 50 count; a frame is found in the other video when some frame of it is within
// hamming distance 31; query% and compared% are the shares of each video's frames found in the
// other, and two videos match when either share reaches the threshold (80 % by default).
// The frames counted are the samples (one a second by default, frames.hpp); each is looked for
// among all the other video's frames, its samples and its extras (hashes of the differing frames
// between samples). A copy cut at a fraction of a second samples other instants than its source:
// its samples then find the source's extras near the same instants, and the other way round.
//
// compare_videos() is a pure function of two signatures. find_matching_media() asks a HashIndex
// which stored media share frames with a query video, then compares the query with each of them;
// the caller supplies their signatures (from the database) through a callback. Nothing here
// keeps state; thread safety is HashIndex's (see hash_index.hpp).
//
// Labels (precise rule in VideoMatchOptions):
//   same_footage  both videos show mostly the same frames (re-encodes, resizes, greyscale copies);
//   clip_of       one video's frames are (nearly) all found in the other and clearly fewer of the
//                 other's are found back: the first is a cut of the second. MatchKind says which.
// Mirrored copies: when the frames do not match as they are, the query's left-right mirrored
// hashes are tried (SignatureFrame::mirrored, else approximate_mirror()); `mirrored` says so.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

#include "common/error.hpp"
#include "pipeline/hash_index.hpp"
#include "pipeline/pdq.hpp"

namespace cw::pipeline {

struct SignatureFrame {
  int64_t pts_ms = 0;
  PdqHash hash;
  int quality = 0;  // PDQ quality 0..100
  // The hash of the left-right mirrored frame, Dihedral::kFlipY of pdq_hash_dihedral(), when the
  // analysis kept it. Without it, matching uses approximate_mirror(hash).
  std::optional<PdqHash> mirrored;
  // An extra (SignatureEntry::extra): looked for, never counted in the percentages, not indexed.
  bool extra = false;
};

// A video's frame hashes, in any order (normally by pts).
using VideoSignature = std::vector<SignatureFrame>;

// The hash of the left-right mirrored picture, derived from the hash alone. Mirroring negates the
// DCT coefficients of odd horizontal frequency (bits whose index within a word is even); PDQ
// thresholds at the median, which is near zero, so most of those bits flip. Measured on the
// opencv-doc sample pictures (180 hashes of quality ≥ 50 at 1280×720 and 640×360): 10 bits from
// the hash of the really mirrored picture (median; 90th percentile 18), against 6 (12) for
// pdq_hash_dihedral's exact kFlipY. Well inside the match distance, so hashes stored without
// their mirror still find mirrored copies, at the cost of a few bits.
PdqHash approximate_mirror(const PdqHash& hash);

enum class MatchKind {
  kNone,            // not a match
  kSameFootage,     // same_footage
  kQueryIsClip,     // clip_of: the query video is a cut of the compared one
  kComparedIsClip,  // clip_of: the compared video is a cut of the query
};

// "none", "same_footage" or "clip_of" (both clip kinds).
std::string_view match_kind_label(MatchKind kind);

struct VideoMatchOptions {
  int min_quality = 50;   // frames below this are left out on both sides
  int max_distance = 31;  // a frame is found when some frame of the other is this close
  // Match when max(query%, compared%) ≥ threshold_percent (the config's match threshold).
  double threshold_percent = 80.0;
  // Among matches, the side with the higher share is a clip of the other when its share is at
  // least clip_full_percent ("all found", less a few frames lost to re-encoding) and the other's
  // is lower by at least clip_margin_percent ("and the other's are not"). Otherwise
  // same_footage. Ties never make a clip.
  double clip_full_percent = 95.0;
  double clip_margin_percent = 10.0;
  // Try the query's mirrored hashes when the direct comparison does not match.
  bool try_mirrored = true;
};

struct VideoMatch {
  MatchKind kind = MatchKind::kNone;
  // Shares of usable samples found among the other video's frames, 0..100. 0 when either side
  // has no usable sample. For a mirrored match, the shares of the mirrored comparison.
  double query_percent = 0;
  double compared_percent = 0;
  int query_frames = 0;  // usable samples (quality ≥ min_quality, not extras)
  int compared_frames = 0;
  // True when only the query's mirrored hashes matched.
  bool mirrored = false;
  // Median over the query's found samples of (pts of its closest compared frame − its pts): a
  // frame at time t of the query is at t + offset_ms in the compared video. Empty when no frame
  // was found.
  std::optional<int64_t> offset_ms;

  bool matched() const { return kind != MatchKind::kNone; }
};

// Compares two videos by vPDQ's rule (see above). Cost: O(n·m) distance computations (samples of
// one side × all frames of the other, both ways) for small videos; above 4 M frame pairs, a
// per-call multi-index over the other side (as HashIndex) instead.
VideoMatch compare_videos(const VideoSignature& query, const VideoSignature& compared,
                          const VideoMatchOptions& options = {});

// Puts a media's usable samples into the index, replacing any it had (after an analysis). Extras
// are left out: a query looks up its extras as well, which finds the samples of a stored copy
// cut at other instants.
void index_signature(HashIndex& index, int64_t media_id, const VideoSignature& signature,
                     int min_quality = 50);

struct MediaMatch {
  int64_t media_id = 0;
  // Usable query frames (samples and extras) that have a sample of this media within
  // max_distance (directly or mirrored): how candidates were ranked.
  int votes = 0;
  VideoMatch match;
};

// The signature of a stored media. kNotFound (deleted since it was indexed) skips the candidate;
// any other error ends the search with that error.
using SignatureLoader = std::function<Result<VideoSignature>(int64_t media_id)>;

struct MatchSearchOptions {
  VideoMatchOptions match;
  // At most this many candidates, those with the most votes, are compared. Every media that
  // would match has at least one vote, so only this cap can drop a match.
  std::size_t max_candidates = 64;
};

// Media in `index` that match `query`: each usable query frame, extras too (and its mirror, when
// try_mirrored) is looked up within max_distance; every media found gets a vote per query frame;
// the candidates are loaded and compared with compare_videos(query, candidate). Returns the
// matches only, most overlap first (higher query% + compared%, then lower media id).
// `query_media_id` is left out of the candidates (the query's own frames may be indexed already).
Result<std::vector<MediaMatch>> find_matching_media(const HashIndex& index,
                                                    const VideoSignature& query,
                                                    std::optional<int64_t> query_media_id,
                                                    const SignatureLoader& load,
                                                    const MatchSearchOptions& options = {});

}  // namespace cw::pipeline
