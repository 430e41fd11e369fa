// CW_FUZZ_CHECK's failure path (fuzz.hpp).
#include <fmt/format.h>

#include "fuzz/fuzz.hpp"

namespace cw::fuzz {

void check_failed(const char* condition, const char* file, int line) {
  throw CheckFailure(fmt::format("{}:{}: {}", file, line, condition));
}

}  // namespace cw::fuzz
