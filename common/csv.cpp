#include "common/csv.hpp"

namespace cw {

std::vector<std::string> csv_split(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

namespace {

std::string quoted(std::string_view value, bool formula) {
  bool quote = formula || value.find_first_of(",\"\r\n") != std::string_view::npos;
  if (!quote) return std::string(value);
  std::string out = "\"";
  if (formula) out += '\'';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

}  // namespace

std::string csv_field(std::string_view value) {
  bool formula = !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                                    value[0] == '@' || value[0] == '\t' || value[0] == '\r');
  return quoted(value, formula);
}

std::string csv_number(std::string_view value) { return quoted(value, false); }

}  // namespace cw
