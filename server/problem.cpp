// Problem documents and the Code -> HTTP status table.
#include "server/problem.hpp"

#include <unistd.h>

namespace cw::server {

http::status http_status(Code code) {
  switch (code) {
    case Code::kOk:
      return http::status::ok;
    case Code::kInvalidArgument:
      return http::status::bad_request;
    case Code::kUnauthenticated:
      return http::status::unauthorized;
    case Code::kForbidden:
      return http::status::forbidden;
    case Code::kNotFound:
      return http::status::not_found;
    case Code::kConflict:
      return http::status::conflict;
    case Code::kGone:
      return http::status::gone;
    case Code::kPreconditionFailed:
      return http::status::precondition_failed;
    case Code::kPayloadTooLarge:
      return http::status::payload_too_large;
    case Code::kUnsupportedMedia:
      return http::status::unsupported_media_type;
    case Code::kUnprocessable:
      return http::status::unprocessable_entity;
    case Code::kTooManyRequests:
      return http::status::too_many_requests;
    case Code::kUnavailable:
      return http::status::service_unavailable;
    case Code::kInsufficientStorage:
      return http::status::insufficient_storage;
    case Code::kInternal:
      return http::status::internal_server_error;
  }
  return http::status::internal_server_error;
}

FileSpan FileSpan::adopt(int fd, uint64_t offset, uint64_t length) {
  return FileSpan{std::shared_ptr<const int>(new int(fd),
                                             [](const int* p) {
                                               ::close(*p);
                                               delete p;
                                             }),
                  offset, length};
}

Reply Reply::json(http::status status, const nlohmann::json& body) {
  Reply r;
  r.status = status;
  r.headers.set(http::field::content_type, "application/json");
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply Reply::text(http::status status, std::string body, std::string content_type) {
  Reply r;
  r.status = status;
  r.headers.set(http::field::content_type, content_type);
  r.body = std::move(body);
  return r;
}

Reply Reply::empty(http::status status) {
  Reply r;
  r.status = status;
  return r;
}

Reply problem(http::status status, std::string detail, std::string field) {
  nlohmann::json doc = {
      {"type", "about:blank"},
      {"title", std::string(http::obsolete_reason(status))},
      {"status", static_cast<int>(status)},
      {"detail", std::move(detail)},
  };
  if (!field.empty()) doc["field"] = std::move(field);
  Reply r = Reply::json(status, doc);
  r.headers.set(http::field::content_type, "application/problem+json");
  if (status == http::status::service_unavailable) r.headers.set(http::field::retry_after, "5");
  return r;
}

Reply problem(const Error& error) {
  return problem(http_status(error.code()), error.detail(), error.field());
}

}  // namespace cw::server
