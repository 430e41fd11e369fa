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

// Deepest nesting a request body may have. Real bodies nest three levels; nlohmann_json's
// merge_patch (PATCH) and comparisons recurse once per level, so a 1 MiB body of `{"a":` would
// overflow the stack of the thread that handles it.
inline constexpr int kMaxJsonDepth = 32;

// 415 unless Content-Type is application/json (parameters allowed); 400 on a syntax error;
// 422 when the top level is not an object or nests deeper than kMaxJsonDepth.
Result<nlohmann::json> parse_json_object(const Request& request);

// True when arrays and objects in `doc` nest deeper than `max_depth` (a scalar has depth 0,
// `{}` and `[]` depth 1). Iterative: safe on any document nlohmann_json parsed.
bool nested_deeper_than(const nlohmann::json& doc, int max_depth);

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
