// List paging: `limit` (default 50, at most 500) and an opaque `cursor` naming where the next
// page starts. Lists are ordered by a unique integer key, so the cursor carries the last key.
#pragma once

#include <cstdint>
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

Result<Page> parse_page(const RequestContext& ctx);
std::string encode_cursor(int64_t last_key);

// A positive integer id from a path or query parameter; `code` (404 for a path, 422 for a query
// parameter) with "<field> must be a positive integer id" otherwise.
Result<int64_t> positive_id(const std::string& text, const std::string& field, Code code);

// Query parameter `name`, when present, must be one of `allowed` (422 naming it otherwise);
// stored in *out.
Status query_enum(const RequestContext& ctx, const std::string& name,
                  const std::vector<std::string>& allowed, std::optional<std::string>* out);

}  // namespace cw::server
