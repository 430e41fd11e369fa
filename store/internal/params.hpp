// Internal to store/: how values cross to and from libpqxx, written once. Parameters go as text
// (or NULL); times travel as microseconds since the Unix epoch (`'epoch'::timestamptz + $n *
// interval '1 microsecond'` in, `extract(epoch FROM t) * 1000000` out), which keeps them exact
// and free of time-zone settings.
#pragma once

#include <fmt/format.h>
#include <pqxx/pqxx>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/time.hpp"

namespace cw::store {

// A parameter that is NULL when absent.
inline const char* nullable(const std::optional<std::string>& s) {
  return s ? s->c_str() : nullptr;
}

// Numbers as parameter text (doubles in their shortest exact form), nullopt stays NULL.
inline std::optional<std::string> number_text(const std::optional<double>& d) {
  if (!d) return std::nullopt;
  return fmt::format("{}", *d);
}
inline std::optional<std::string> number_text(const std::optional<int64_t>& i) {
  if (!i) return std::nullopt;
  return std::to_string(*i);
}

// Times as microseconds since the epoch, as parameter text.
inline std::string micros_text(TimePoint t) { return std::to_string(t.time_since_epoch().count()); }
inline std::optional<std::string> micros_text(const std::optional<TimePoint>& t) {
  if (!t) return std::nullopt;
  return micros_text(*t);
}
// A bbox (west, south, east, north) as the texts of four parameters; all null without one.
struct BboxText {
  std::optional<std::string> w, s, e, n;
};
inline BboxText bbox_text(const std::optional<std::array<double, 4>>& bbox) {
  if (!bbox) return {};
  return {fmt::format("{}", (*bbox)[0]), fmt::format("{}", (*bbox)[1]),
          fmt::format("{}", (*bbox)[2]), fmt::format("{}", (*bbox)[3])};
}

inline TimePoint from_micros(int64_t us) { return TimePoint(std::chrono::microseconds(us)); }

// A bigint[] parameter's text ("{1,2,3}") for `= ANY($1::bigint[])`.
inline std::string bigint_array(const std::vector<int64_t>& ids) {
  std::string text = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i != 0) text += ',';
    text += std::to_string(ids[i]);
  }
  text += '}';
  return text;
}

// Nullable columns.
inline std::optional<std::string> opt_string(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<std::string>();
}
inline std::optional<double> opt_double(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return f.as<double>();
}
inline std::optional<TimePoint> opt_micros(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return from_micros(f.as<int64_t>());
}

}  // namespace cw::store
