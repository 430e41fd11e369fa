// Strict JSON body reading.
#include "server/json_body.hpp"

#include <fmt/format.h>
#include <boost/algorithm/string/predicate.hpp>

#include <cmath>
#include <utility>
#include <vector>

namespace cw::server {

Result<nlohmann::json> parse_json_object(const Request& request) {
  std::string_view type = request[http::field::content_type];
  std::string_view base = type.substr(0, type.find(';'));
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  if (!boost::algorithm::iequals(base, "application/json")) {
    return Error(Code::kUnsupportedMedia, "the body must be application/json", "Content-Type");
  }
  nlohmann::json doc = nlohmann::json::parse(request.body(), nullptr, false);
  if (doc.is_discarded())
    return Error(Code::kInvalidArgument, "the body is not valid JSON", "body");
  if (!doc.is_object())
    return Error(Code::kUnprocessable, "the body must be a JSON object", "body");
  if (nested_deeper_than(doc, kMaxJsonDepth)) {
    return Error(Code::kUnprocessable,
                 fmt::format("the body nests deeper than {} levels", kMaxJsonDepth), "body");
  }
  return doc;
}

bool nested_deeper_than(const nlohmann::json& doc, int max_depth) {
  std::vector<std::pair<const nlohmann::json*, int>> todo = {{&doc, 0}};
  while (!todo.empty()) {
    auto [j, depth] = todo.back();
    todo.pop_back();
    if (!j->is_structured()) continue;
    if (depth + 1 > max_depth) return true;
    for (const auto& child : *j) todo.emplace_back(&child, depth + 1);
  }
  return false;
}

const nlohmann::json* FieldReader::get(const std::string& name) {
  read_.insert(name);
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

const nlohmann::json* FieldReader::optional_value(const std::string& name) { return get(name); }

Error FieldReader::wrong_type(const std::string& name, const char* expected) const {
  return Error(Code::kUnprocessable, fmt::format("{} must be {}", field_name(name), expected),
               field_name(name));
}

Result<std::string> FieldReader::required_string(const std::string& name, size_t min_len,
                                                 size_t max_len) {
  auto v = optional_string(name, max_len);
  if (!v.ok()) return v.error();
  if (!v->has_value()) {
    return Error(Code::kUnprocessable, field_name(name) + " is required", field_name(name));
  }
  if ((*v)->size() < min_len) {
    return Error(Code::kUnprocessable, fmt::format("{} must not be empty", field_name(name)),
                 field_name(name));
  }
  return std::move(**v);
}

Result<std::optional<std::string>> FieldReader::optional_string(const std::string& name,
                                                                size_t max_len) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(name, "a string");
  std::string s = v->get<std::string>();
  // JSON can spell a NUL (the escape of U+0000); PostgreSQL text cannot hold one (libpq cuts
  // the value there, jsonb refuses it).
  if (s.find('\0') != std::string::npos) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must not contain a NUL character", field_name(name)),
                 field_name(name));
  }
  if (s.size() > max_len) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} is longer than {} bytes", field_name(name), max_len),
                 field_name(name));
  }
  return std::optional<std::string>(std::move(s));
}

Result<std::optional<int64_t>> FieldReader::optional_int(const std::string& name, int64_t min,
                                                         int64_t max) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return std::optional<int64_t>();
  if (!v->is_number_integer()) return wrong_type(name, "an integer");
  int64_t i = v->is_number_unsigned() && v->get<uint64_t>() > uint64_t(INT64_MAX)
                  ? INT64_MAX
                  : v->get<int64_t>();
  if (i < min || i > max) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must be between {} and {}", field_name(name), min, max),
                 field_name(name));
  }
  return std::optional<int64_t>(i);
}

Result<std::optional<double>> FieldReader::optional_number(const std::string& name, double min,
                                                           double max) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return std::optional<double>();
  if (!v->is_number()) return wrong_type(name, "a number");
  double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    return Error(Code::kUnprocessable,
                 fmt::format("{} must be between {} and {}", field_name(name), min, max),
                 field_name(name));
  }
  return std::optional<double>(d);
}

Result<std::optional<bool>> FieldReader::optional_bool(const std::string& name) {
  const nlohmann::json* v = get(name);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_boolean()) return wrong_type(name, "true or false");
  return std::optional<bool>(v->get<bool>());
}

Result<std::optional<std::string>> FieldReader::optional_enum(
    const std::string& name, const std::vector<std::string>& allowed) {
  auto v = optional_string(name, 200);
  if (!v.ok() || !v->has_value()) return v;
  for (const auto& a : allowed) {
    if (**v == a) return v;
  }
  std::string list;
  for (const auto& a : allowed) {
    if (!list.empty()) list += ", ";
    list += a;
  }
  return Error(Code::kUnprocessable, fmt::format("{} must be one of {}", field_name(name), list),
               field_name(name));
}

Status FieldReader::finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (read_.count(it.key()) == 0) {
      return Error(Code::kUnprocessable, fmt::format("unknown field {}", field_name(it.key())),
                   field_name(it.key()));
    }
  }
  return Status::Ok();
}

}  // namespace cw::server
