// Names of error codes, for logs and problem documents.
#include "common/error.hpp"

namespace cw {

const char* code_name(Code code) {
  switch (code) {
    case Code::kOk:
      return "ok";
    case Code::kInvalidArgument:
      return "invalid_argument";
    case Code::kUnauthenticated:
      return "unauthenticated";
    case Code::kForbidden:
      return "forbidden";
    case Code::kNotFound:
      return "not_found";
    case Code::kConflict:
      return "conflict";
    case Code::kGone:
      return "gone";
    case Code::kPreconditionFailed:
      return "precondition_failed";
    case Code::kPayloadTooLarge:
      return "payload_too_large";
    case Code::kUnsupportedMedia:
      return "unsupported_media_type";
    case Code::kUnprocessable:
      return "unprocessable";
    case Code::kTooManyRequests:
      return "too_many_requests";
    case Code::kUnavailable:
      return "unavailable";
    case Code::kInsufficientStorage:
      return "insufficient_storage";
    case Code::kInternal:
      return "internal";
  }
  return "unknown";
}

std::string Error::to_string() const {
  std::string s = code_name(code_);
  if (!field_.empty()) s += " (" + field_ + ")";
  s += ": " + detail_;
  return s;
}

}  // namespace cw
