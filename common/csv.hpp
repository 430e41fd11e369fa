// CSV (RFC 4180) one line at a time: splitting a line into fields and quoting a field for output.
// Quoted fields may contain commas and doubled quotes, not line breaks (the files we read and
// write keep one record per line).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace cw {

// Fields of one line (without its line break). An unterminated quote ends with the line.
std::vector<std::string> csv_split(std::string_view line);

// The field as it goes into a CSV line: quoted when it contains a comma, quote, CR or LF, or
// starts with a character a spreadsheet would run as a formula (=, +, -, @): those get a
// leading apostrophe inside the quotes (OWASP's CSV-injection advice).
std::string csv_field(std::string_view value);

}  // namespace cw
