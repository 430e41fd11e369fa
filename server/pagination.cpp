// Cursor encoding: "k" + the last key in hex; opaque to clients, validated on the way in.
#include "server/pagination.hpp"

#include <fmt/format.h>
#include <algorithm>
#include <charconv>

namespace cw::server {

std::optional<std::string> query_value(const QueryParams& query, const std::string& name) {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

Result<Page> parse_page(const QueryParams& query) {
  Page page;
  if (auto limit = query_value(query, "limit")) {
    int v = 0;
    auto [p, ec] = std::from_chars(limit->data(), limit->data() + limit->size(), v);
    if (ec != std::errc() || p != limit->data() + limit->size() || v < 1 || v > 500) {
      return Error(Code::kUnprocessable, "limit must be an integer from 1 to 500", "limit");
    }
    page.limit = v;
  }
  if (auto cursor = query_value(query, "cursor"); cursor && !cursor->empty()) {
    int64_t v = 0;
    bool ok = cursor->size() > 1 && cursor->size() <= 17 && (*cursor)[0] == 'k';
    if (ok) {
      auto [p, ec] = std::from_chars(cursor->data() + 1, cursor->data() + cursor->size(), v, 16);
      ok = ec == std::errc() && p == cursor->data() + cursor->size() && v >= 0;
    }
    if (!ok) return Error(Code::kUnprocessable, "cursor is not one this server gave out", "cursor");
    page.after = v;
  }
  return page;
}

std::string encode_cursor(int64_t last_key) { return fmt::format("k{:x}", last_key); }

Result<int64_t> positive_id(const std::string& text, const std::string& field, Code code) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size() || v <= 0) {
    return Error(code, field + " must be a positive integer id", field);
  }
  return v;
}

Status query_enum(const QueryParams& query, const std::string& name,
                  const std::vector<std::string>& allowed, std::optional<std::string>* out) {
  auto v = query_value(query, name);
  if (!v) return Status::Ok();
  if (std::find(allowed.begin(), allowed.end(), *v) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Error(Code::kUnprocessable, name + " must be one of " + list, name);
  }
  *out = *v;
  return Status::Ok();
}

}  // namespace cw::server
