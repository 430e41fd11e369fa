#include "common/csv.hpp"

#include <cctype>

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

std::string csv_field(std::string_view value) {
  bool formula =
      !value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@');
  // Numbers such as -12.5 are data, not formulas.
  if (formula && value[0] == '-' && value.size() > 1 &&
      (std::isdigit(static_cast<unsigned char>(value[1])) || value[1] == '.')) {
    formula = false;
  }
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

}  // namespace cw
