// List paging: `limit` (default 50, at most 500) and an opaque `cursor` naming where the next
// page starts. Lists are ordered by a unique integer key, so the cursor carries the last key.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "server/context.hpp"

namespace cw::server {

struct Page {
  int limit = 50;
  int64_t after = 0;  // key after which the page starts (0 = from the beginning)
};

// Decoded query parameters, as RequestContext::query holds them.
using QueryParams = std::multimap<std::string, std::string>;

// The value of `name` as RequestContext::query_param gives it, or nullopt.
std::optional<std::string> query_value(const QueryParams& query, const std::string& name);

// `limit` and `cursor`; 422 naming the parameter when either is malformed.
Result<Page> parse_page(const QueryParams& query);
inline Result<Page> parse_page(const RequestContext& ctx) { return parse_page(ctx.query); }
std::string encode_cursor(int64_t last_key);

// A positive integer id from a path or query parameter; `code` (404 for a path, 422 for a query
// parameter) with "<field> must be a positive integer id" otherwise.
Result<int64_t> positive_id(const std::string& text, const std::string& field, Code code);

// Query parameter `name`, when present, must be one of `allowed` (422 naming it otherwise);
// stored in *out.
Status query_enum(const QueryParams& query, const std::string& name,
                  const std::vector<std::string>& allowed, std::optional<std::string>* out);
inline Status query_enum(const RequestContext& ctx, const std::string& name,
                         const std::vector<std::string>& allowed, std::optional<std::string>* out) {
  return query_enum(ctx.query, name, allowed, out);
}

}  // namespace cw::server
