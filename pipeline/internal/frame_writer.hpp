// Internal to pipeline/frames*.cpp: the writer thread's side of frame extraction. JobQueue is
// the bounded queue of decoded frames between a decoding thread and the writer thread (safe to
// use from both); Writer picks one frame a slot and writes it as JPEG, and keeps the signature.
// A Writer is used by one thread at a time (the writer thread, then, once it is joined, the
// caller). Errors are Status values: a failure to write, never a bad frame (that is a warning).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "common/error.hpp"
#include "pipeline/frames.hpp"
#include "pipeline/internal/frame_signature.hpp"
#include "pipeline/internal/frames_av.hpp"
#include "pipeline/jfif.hpp"
#include "pipeline/pdq.hpp"

namespace cw::pipeline::internal {

namespace fs = std::filesystem;

struct Candidate {
  FramePtr frame;
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  double sharpness = 0;
  cv::Mat tiny;
};

struct Kept {
  int64_t pts_ms = 0;
  FrameKind kind = FrameKind::kSample;
  int width = 0;
  int height = 0;
  double sharpness = 0;
  std::string file;  // as written; renamed at the end
  std::string thumb;
  cv::Mat thumb_image;
};

// A decoded frame the decoding thread hands to the writer thread.
struct Job {
  FramePtr frame;  // a new reference to the decoder's picture
  int64_t pts_ms = 0;
  std::optional<FrameKind> kind;  // set for a candidate for the kept frames
  cv::Mat tiny;                   // its 64×36 grey copy (candidates)
  bool signature = false;         // hash it for the signature, as a sample
  bool signature_extra = false;   // hash it for the signature, as an extra
  // Hashed already by the decoding thread (parallel decoding): the hash, nullopt when the frame
  // could not be converted. `frame` is then set only when the frame is a candidate.
  std::optional<std::optional<PdqResult>> hash;
};

// The bytes of the picture buffers `frame` references (0 for null).
int64_t picture_bytes(const AVFrame* frame);

// The bounded queue between the two threads. push() waits while it is full, pop() while it is
// empty; close() lets pop() drain what is left, abort() drops it and fails every push().
class JobQueue {
 public:
  // False when the queue was closed or aborted (the job is dropped).
  bool push(Job job);

  // False once the queue is closed and empty.
  bool pop(Job& job);

  void close();

  void abort();

 private:
  struct Entry {
    Job job;
    int64_t bytes = 0;
  };
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Entry> jobs_;
  int64_t bytes_ = 0;
  bool closed_ = false;
};

// The writer thread's side: picks one frame a slot, writes it, hashes the signature frames.
// Used by one thread at a time (the writer thread, then, once it is joined, the caller).
class Writer {
 public:
  Writer(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
         SharedWarnings& warnings);

  // One frame handed over. Returns an error only for a failure to write.
  Status take(Job job);

  // Removes the files written so far (an attempt that is given up).
  void remove_files();

  // Writes the last pending frame, renumbers the files and writes the contact sheet.
  Status finish(FramesResult& result);

 private:
  // Variance of the Laplacian of the grey picture (laplacian_variance).
  std::optional<double> sharpness(const AVFrame* frame);

  std::optional<PdqResult> hash(const AVFrame* frame);

  void add_to_signature(const PdqResult& pdq, int64_t pts_ms, bool extra);

  Status close_slot();

  // Halves the kept frames, keeping the better of each pair, and doubles the slot length.
  void thin();

  Status write_jpeg(const std::string& name, const cv::Mat& image);

  Status write_contact_sheet(const FramesResult& result);

  fs::path out_dir_;
  const FramesOptions& opt_;
  int rotation_;
  int64_t slot_ms_;
  SharedWarnings& warnings_;
  int written_ = 0;
  int dropped_duplicates_ = 0;
  std::optional<Candidate> pending_;
  int64_t pending_slot_ = 0;
  cv::Mat last_kept_tiny_;
  std::vector<Kept> kept_;
  std::vector<SignatureEntry> signature_;
  std::optional<PdqHash> last_signature_hash_;  // the last one kept, sample or extra
  FrameScanner scanner_;
  SignatureHasher hasher_;
  Scaler grey_scaler_;
  Scaler bgr_scaler_;
  JfifPicture jfif_;
  // Reused buffers (a fresh 1080p buffer a frame costs page faults).
  cv::Mat grey_storage_;
  cv::Mat bgr_;
  cv::Mat upright_;
};

}  // namespace cw::pipeline::internal
