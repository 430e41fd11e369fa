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

// A text field as it goes into a CSV line: quoted when it contains a comma, quote, CR or LF, or
// starts with a character a spreadsheet would read as the start of a formula (=, +, -, @, TAB,
// CR): those get a leading apostrophe inside the quotes (OWASP's CSV-injection rule). Every text
// field is neutralised, whatever follows the first character ("-1+2" and "-3" included): a text
// column can hold anything a user typed.
std::string csv_field(std::string_view value);

// A field the writer's schema declares numeric (a number it formatted itself, such as -12.5):
// written as it is, never neutralised (quoted only if it somehow holds a comma, quote, CR or LF).
std::string csv_number(std::string_view value);

}  // namespace cw
