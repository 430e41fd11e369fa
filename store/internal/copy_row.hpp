// Internal to store/: libpqxx 6.4's stream_to (COPY … FROM STDIN) takes a row as a std::tuple,
// not a container; as_tuple<N> turns the first N strings of a vector into one.
#pragma once

#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace cw::store {

// REQUIRES: v.size() >= N.
template <size_t N>
auto as_tuple(const std::vector<std::string>& v) {
  return [&]<size_t... I>(std::index_sequence<I...>) {
    return std::make_tuple(v[I]...);
  }(std::make_index_sequence<N>{});
}

}  // namespace cw::store
