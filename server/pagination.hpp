// List paging: `limit` (default 50, at most 500) and an opaque `cursor` naming where the next
// page starts. Lists are ordered by a unique integer key, so the cursor carries the last key.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "server/context.hpp"

namespace cw::server {

struct Page {
  int limit = 50;
  int64_t after = 0;  // key after which the page starts (0 = from the beginning)
};

Result<Page> parse_page(const RequestContext& ctx);
std::string encode_cursor(int64_t last_key);

}  // namespace cw::server
