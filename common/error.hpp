// Errors as values (LevelDB's Status, with a field for input errors).
//
// Every expected failure — bad input, a missing row, a database that went away — is an Error
// with a Code. The Code maps to exactly one HTTP status, in one place (server/problem.cpp), so
// modules below server/ never think in HTTP. Result<T> carries either a value or an Error.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace cw {

enum class Code {
  kOk = 0,
  kInvalidArgument,      // malformed request (bad syntax, cut-short body)          -> 400
  kUnauthenticated,      // no or bad credentials                                   -> 401
  kForbidden,            // authenticated but not allowed                           -> 403
  kNotFound,             //                                                         -> 404
  kConflict,             // unique violation, state conflict                        -> 409
  kGone,                 // expired resource (tus uploads)                          -> 410
  kPreconditionFailed,   //                                                         -> 412
  kPayloadTooLarge,      //                                                         -> 413
  kUnsupportedMedia,     //                                                         -> 415
  kUnprocessable,        // well-formed but invalid values (names the field)        -> 422
  kTooManyRequests,      //                                                         -> 429
  kUnavailable,          // database or dependency down, retry later                -> 503
  kInsufficientStorage,  // disk full                                               -> 507
  kInternal,             // a bug or an unexpected environment failure              -> 500
};

const char* code_name(Code code);

class Error {
 public:
  Error(Code code, std::string detail, std::string field = {})
      : code_(code), detail_(std::move(detail)), field_(std::move(field)) {}

  Code code() const { return code_; }
  // Human-readable, safe to show to the client (never an exception text from a library).
  const std::string& detail() const { return detail_; }
  // The input field the error is about ("metadata.platform"), or empty.
  const std::string& field() const { return field_; }

  std::string to_string() const;

 private:
  Code code_;
  std::string detail_;
  std::string field_;
};

// A value or an Error. Result<void> is spelled Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok()
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // REQUIRES: !ok()
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit by design
  static Status Ok() { return Status(); }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  // REQUIRES: !ok()
  const Error& error() const {
    assert(!ok());
    return *error_;
  }

 private:
  std::optional<Error> error_;
};

}  // namespace cw
