// The multipart/form-data body "metadata + file" that POST /submissions and POST /imagery take:
// a `metadata` part (JSON, collected, at most kMaxMetadataBytes) and a `file` part that streams
// into a temp file of the evidence store, at most `max_bytes`. Other parts, a second metadata or
// a second file are refused (422 naming the part). Nothing is kept unless the subclass's
// finish() commits the writer: the MediaWriter removes its temp file when it is destroyed
// uncommitted.
//
// A subclass implements finish() (BodySink) and may look at the file as it arrives
// (on_file_data, on_file_end). One request's object, used by its session's thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.hpp"
#include "server/multipart.hpp"
#include "server/router.hpp"
#include "store/media_store.hpp"

namespace cw::server {

inline constexpr size_t kMaxMetadataBytes = 64 * 1024;

class MetadataFileUpload : public BodySink, public MultipartHandler {
 public:
  // What the refusals call the upload and its file: "submission" and "video" give "only one
  // file per submission" and "the video is larger than the server accepts (N bytes)".
  struct Wording {
    std::string_view upload;
    std::string_view file;
  };

  MetadataFileUpload(std::string boundary, const store::MediaStore& media, int64_t max_bytes,
                     Wording wording);

  Status write(std::string_view chunk) final;
  Status on_part_begin(const PartHeaders& h) final;
  Status on_part_data(std::string_view data) final;
  Status on_part_end() final;

 protected:
  // After each piece of the file was written. An error ends the upload.
  virtual Status on_file_data() { return Status::Ok(); }
  // When the file part has ended.
  virtual Status on_file_end() { return Status::Ok(); }

  // The end of the body: an error when the multipart framing is not complete.
  Status finish_body() { return parser_.finish(); }

  // Null until a file part began.
  store::MediaWriter* writer() const { return writer_.get(); }
  bool file_done() const { return file_done_; }
  bool have_metadata() const { return have_metadata_; }
  const std::string& metadata() const { return metadata_; }
  const std::string& filename() const { return filename_; }

 private:
  MultipartParser parser_;
  const store::MediaStore& media_;
  int64_t max_bytes_;
  Wording wording_;
  std::string part_;
  bool have_metadata_ = false;
  std::string metadata_;
  std::unique_ptr<store::MediaWriter> writer_;
  std::string filename_;
  bool file_done_ = false;
};

}  // namespace cw::server
