// The "metadata + file" multipart sink shared by submissions and imagery uploads.
#include "server/metadata_file_upload.hpp"

#include <fmt/format.h>

#include <utility>

namespace cw::server {

MetadataFileUpload::MetadataFileUpload(std::string boundary, const store::MediaStore& media,
                                       int64_t max_bytes, Wording wording)
    : parser_(boundary, *this), media_(media), max_bytes_(max_bytes), wording_(wording) {}

Status MetadataFileUpload::write(std::string_view chunk) { return parser_.feed(chunk); }

Status MetadataFileUpload::on_part_begin(const PartHeaders& h) {
  part_ = h.name;
  if (h.name == "metadata") {
    if (have_metadata_) return Error(Code::kUnprocessable, "metadata sent twice", "metadata");
    have_metadata_ = true;
    return Status::Ok();
  }
  if (h.name == "file") {
    if (writer_) {
      return Error(Code::kUnprocessable, fmt::format("only one file per {}", wording_.upload),
                   "file");
    }
    filename_ = h.filename.value_or("");
    auto w = media_.begin_write();
    if (!w.ok()) return w.error();
    writer_ = std::move(w.value());
    return Status::Ok();
  }
  return Error(Code::kUnprocessable,
               "unknown form part " + h.name + " (expected metadata and file)", h.name);
}

Status MetadataFileUpload::on_part_data(std::string_view data) {
  if (part_ == "metadata") {
    if (metadata_.size() + data.size() > kMaxMetadataBytes) {
      return Error(Code::kPayloadTooLarge, "the metadata part is larger than 64 KiB", "metadata");
    }
    metadata_.append(data);
    return Status::Ok();
  }
  if (writer_->size() + data.size() > static_cast<uint64_t>(max_bytes_)) {
    writer_->abort();
    return Error(Code::kPayloadTooLarge,
                 fmt::format("the {} is larger than the server accepts ({} bytes)", wording_.file,
                             max_bytes_),
                 "file");
  }
  if (Status s = writer_->write(data); !s.ok()) return s;
  return on_file_data();
}

Status MetadataFileUpload::on_part_end() {
  if (part_ == "file") {
    file_done_ = true;
    return on_file_end();
  }
  return Status::Ok();
}

}  // namespace cw::server
