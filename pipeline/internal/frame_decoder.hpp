// Internal to pipeline/frames*.cpp: the decoding side of frame extraction. Extractor scores
// every decoded frame and hands the ones worth a look to a Writer on its own thread;
// ParallelDecoder decodes chunks of the timeline on several threads and hands the frames over in
// order. Both are used from one thread (the one that decodes in order, or the one that runs the
// ParallelDecoder); their threads are their own. Errors are Status values (a failure to write);
// a file that cannot be decoded in parallel is an outcome (kAbandoned), not an error.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <opencv2/core.hpp>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
}

#include "common/error.hpp"
#include "pipeline/frames.hpp"
#include "pipeline/internal/frame_signature.hpp"
#include "pipeline/internal/frame_writer.hpp"
#include "pipeline/internal/frames_av.hpp"
#include "pipeline/media_input.hpp"
#include "pipeline/pdq.hpp"

namespace cw::pipeline::internal {

// Whether a picture of this size is one frames are taken from (larger ones are skipped).
bool valid_size(int width, int height);

// A decoded frame as the decoding side describes it, in presentation order.
struct Decoded {
  int64_t pts_ms = 0;  // from the start of the stream, ≥ 0
  int width = 0;
  int height = 0;
  bool keyframe = false;
  cv::Mat tiny;    // the 64×36 grey copy; empty when it could not be made (or the size is bad)
  FramePtr frame;  // parallel decoding: a reference to the picture when it may be picked
  // Parallel decoding: the signature hash, when the frame may be a signature sample or extra
  // (nullopt inside: it could not be converted).
  std::optional<std::optional<PdqResult>> hash;
};

// The frame's description; `scan` = its scan (FrameScanner), nullopt when it has none.
Decoded describe(const AVFrame* frame, int64_t pts_ms, FrameScanner& scanner,
                 std::optional<GreyPicture>& scan);

// Scores every decoded frame (on the decoding thread, or the thread that receives the frames of
// parallel decoding), picks the ones worth a look and hands them to the Writer on its own thread.
class Extractor {
 public:
  // FFmpeg's messages on the writer thread (swscale's) join `log` once the writer is done.
  Extractor(fs::path out_dir, const FramesOptions& options, int rotation, int64_t slot_ms,
            Warnings& warnings, media::LogCollector& log);

  Extractor(const Extractor&) = delete;
  Extractor& operator=(const Extractor&) = delete;
  ~Extractor();

  // The next decoded frame. `live` is the decoder's frame when decoding in order (a reference is
  // taken when it is picked); with parallel decoding it is null and d.frame is the reference.
  // Returns an error only for a failure to write (the writer's).
  Status take(Decoded d, const AVFrame* live);

  // Gives up: stops the writer and removes the files it wrote. Nothing may be called afterwards.
  void discard();

  // Waits until the writer thread has taken every frame handed over; its error, if it failed.
  // add() must not be called afterwards.
  Status wait();

  // Writes the last pending frame, renumbers the files and writes the contact sheet.
  // REQUIRES: wait() returned Ok.
  Status finish(FramesResult& result);

  int64_t decoded() const;

 private:
  void run_writer();

  const FramesOptions& opt_;
  SharedWarnings warnings_;
  media::LogCollector& log_;
  media::LogCollector writer_log_;  // the writer thread's, read after the join
  int64_t next_sample_ms_ = 0;
  int64_t next_signature_ms_ = 0;
  int64_t next_extra_ms_ = 0;
  int64_t last_pts_ms_ = 0;
  int64_t decoded_ = 0;
  cv::Mat previous_tiny_;
  std::deque<double> recent_scores_;
  JobQueue queue_;
  Status writer_status_;
  Writer writer_;
  std::thread thread_;  // last: starts once everything it uses is built
};

// A piece of the timeline for one decoding thread. Chunk 0 starts at the beginning; the others
// seek to a keyframe of the container's index (seek_ts, in the stream's time base) and start at
// the first keyframe they decode at or after lower_ms (the index time less kChunkMarginMs, as
// index times may be decoding times, and seeks may land earlier). A chunk ends where the next
// one starts; before lower_ms of the next chunk, its thread need not know where that is.
struct Chunk {
  int64_t seek_ts = 0;
  int64_t lower_ms = 0;
};

// Decoding threads for `options` (its decode_threads, or one a core), at most four.
int decode_threads(const FramesOptions& options);

// The chunks of the timeline, from the keyframes of the container's index (MP4, Matroska, AVI
// have one; MPEG-TS has none); empty when there are fewer than two.
std::vector<Chunk> plan_chunks(AVStream* st, int64_t start, int64_t duration_ms, int threads);

// Opens the decoder of the stream. threads: FFmpeg's thread_count (0: one per core).
Result<CodecPtr> open_decoder(const AVStream* st, const AVCodec* codec, bool keyframes_only,
                              int threads, const media::MediaInput& input);

enum class ParallelOutcome {
  kDone,       // every frame was handed over
  kAbandoned,  // the file is not regular enough: decode it in order instead (nothing was kept)
  kFailed,     // `take` failed
};

// Decodes the chunks on `threads` threads, each with its own input and a single-threaded decoder,
// and hands every decoded frame, in presentation order, to the calling thread. A thread keeps a
// reference only to the frames the Extractor may pick: keyframes, the first frame of a chunk and
// of each sample interval, and frames that differ from the previous one by at least
// scene_threshold — what it can tell without the frames before its chunk. The first frame of a
// chunk and of each signature or signature extra interval it hashes (SignatureHasher) and hands
// over the hash, not the picture.
// The file must decode cleanly: a decoding error, a message from FFmpeg, a timestamp that does not
// rise or a chunk without a keyframe abandons the attempt, and the caller decodes the file in
// order, as it always did, with the warnings that belong to it.
class ParallelDecoder {
 public:
  ParallelDecoder(std::string path, const media::OpenOptions& open_options, int stream_index,
                  std::vector<Chunk> chunks, int threads, const FramesOptions& options,
                  int rotation);

  // Runs the threads; `take` gets the frames on the calling thread. On kFailed, *error is set.
  ParallelOutcome run(const std::function<Status(Decoded)>& take, Status* error);

 private:
  ParallelOutcome hand_over(const std::function<Status(Decoded)>& take, Status* error,
                            std::vector<std::thread>& threads);

  struct ChunkState {
    std::deque<Decoded> records;
    bool done = false;
    std::optional<int64_t> start_pts;  // of the chunk's first keyframe (stream time base)
  };

  // One thread's input.
  struct Source {
    explicit Source(int rotation) : hasher(rotation) {}
    std::unique_ptr<media::MediaInput> input;
    AVStream* st = nullptr;
    const AVCodec* codec = nullptr;
    int64_t start = 0;
    bool matroska = false;
    CodecPtr decoder;
    PacketPtr packet;
    FramePtr frame;
    FrameScanner scanner;
    std::optional<GreyPicture> scan;
    SignatureHasher hasher;
  };

  void abandon();

  bool open(Source& src, media::LogCollector& log);

  void work();

  void work_or_throw();

  // Whether chunk c (not the last) can stop decoding in front of src.packet: an H.264 IDR
  // picture at or after the start of chunk c + 1, which that chunk decodes. Otherwise the chunk
  // decodes on until a frame at or after that start comes out, which costs that keyframe and a
  // frame or two more (~25 ms a chunk for 1080p). Learns end_pts (waiting for chunk c + 1 to
  // start) once a keyframe is near it.
  bool ends_before(const Source& src, int c, std::optional<int64_t>& end_pts);

  std::optional<int64_t> wait_for_start(int c);

  // Decodes chunk c into state_[c]. False: abandon.
  bool decode_chunk(Source& src, int c);

  const std::string path_;
  const media::OpenOptions open_options_;
  const int stream_index_;
  const std::vector<Chunk> chunks_;
  const int threads_;
  const FramesOptions& opt_;
  const int rotation_;
  std::atomic<int64_t> packets_{0};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<ChunkState> state_;  // guarded by mutex_
  int consumer_chunk_ = 0;         // guarded by mutex_
  int next_chunk_ = 0;             // the next chunk a thread takes; guarded by mutex_
  int64_t held_bytes_ = 0;         // pictures in state_[].records; guarded by mutex_
  bool abandoned_ = false;         // guarded by mutex_
};

}  // namespace cw::pipeline::internal
