// Strict JSON request bodies: the body must be a JSON object sent as application/json; fields
// are read by name with their types and ranges checked, and finish() rejects any field that was
// not read (unknown fields are errors, naming the field, so typos do not pass silently).
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "server/http.hpp"

namespace cw::server {

// 415 unless Content-Type is application/json (parameters allowed); 400 on a syntax error;
// 422 when the top level is not an object.
Result<nlohmann::json> parse_json_object(const Request& request);

class FieldReader {
 public:
  // `prefix` is prepended to field names in errors ("metadata.").
  FieldReader(const nlohmann::json& object, std::string prefix = {})
      : object_(object), prefix_(std::move(prefix)) {}

  Result<std::string> required_string(const std::string& name, size_t min_len, size_t max_len);
  Result<std::optional<std::string>> optional_string(const std::string& name, size_t max_len);
  Result<std::optional<int64_t>> optional_int(const std::string& name, int64_t min, int64_t max);
  Result<std::optional<double>> optional_number(const std::string& name, double min, double max);
  Result<std::optional<bool>> optional_bool(const std::string& name);
  // One of `allowed`.
  Result<std::optional<std::string>> optional_enum(const std::string& name,
                                                   const std::vector<std::string>& allowed);
  // The raw value, for nested objects; marks the field as read.
  const nlohmann::json* optional_value(const std::string& name);
  // Error naming the first field that no reader asked for.
  Status finish() const;

  std::string field_name(const std::string& name) const { return prefix_ + name; }

 private:
  const nlohmann::json* get(const std::string& name);
  Error wrong_type(const std::string& name, const char* expected) const;

  const nlohmann::json& object_;
  std::string prefix_;
  std::set<std::string> read_;
};

}  // namespace cw::server
