// CSV fields as exports write them: text neutralised against formula injection (OWASP's rule),
// numbers the schema declares numeric left as they are, and both read back by csv_split.
#include <gtest/gtest.h>

#include <string>

#include "common/csv.hpp"

namespace cw {
namespace {

struct Case {
  std::string value;
  std::string text;    // csv_field(value)
  std::string number;  // csv_number(value)
};

TEST(Csv, FieldsAreNeutralisedUnlessNumeric) {
  const Case cases[] = {
      {"", "", ""},
      {"plain", "plain", "plain"},
      {"Kharkiv oblast", "Kharkiv oblast", "Kharkiv oblast"},
      {"a,b", "\"a,b\"", "\"a,b\""},
      {"say \"hi\"", "\"say \"\"hi\"\"\"", "\"say \"\"hi\"\"\""},
      {"=1+1", "\"'=1+1\"", "=1+1"},
      {"=HYPERLINK(\"http://x\")", "\"'=HYPERLINK(\"\"http://x\"\")\"",
       "\"=HYPERLINK(\"\"http://x\"\")\""},
      {"+41 22", "\"'+41 22\"", "+41 22"},
      {"@SUM(A1)", "\"'@SUM(A1)\"", "@SUM(A1)"},
      {"-1+cmd|' /C calc'!A0", "\"'-1+cmd|' /C calc'!A0\"", "-1+cmd|' /C calc'!A0"},
      {"-2+3", "\"'-2+3\"", "-2+3"},
      // A leading minus in a text column is neutralised even when it looks like a number.
      {"-12.5", "\"'-12.5\"", "-12.5"},
      {"-.5", "\"'-.5\"", "-.5"},
      {"-", "\"'-\"", "-"},
      {"\t=1+1", "\"'\t=1+1\"", "\t=1+1"},
      {"\tleading tab", "\"'\tleading tab\"", "\tleading tab"},
      {"\r=1", "\"'\r=1\"", "\"\r=1\""},
      {"\n=1", "\"\n=1\"", "\"\n=1\""},
      {"a=1", "a=1", "a=1"},
      {"1-2", "1-2", "1-2"},
      {" =1", " =1", " =1"},
      {"12.5", "12.5", "12.5"},
      {"'=1", "'=1", "'=1"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(csv_field(c.value), c.text) << "csv_field of [" << c.value << "]";
    EXPECT_EQ(csv_number(c.value), c.number) << "csv_number of [" << c.value << "]";
  }
}

TEST(Csv, NeutralisedFieldsReadBackWithTheApostrophe) {
  for (const std::string value : {"=1+1", "+1", "-1+2", "@A1", "\tx", "a,\"b\""}) {
    std::string line = csv_field(value) + "," + csv_number("-3.25");
    auto fields = csv_split(line);
    ASSERT_EQ(fields.size(), 2u) << line;
    const bool neutralised = value[0] == '=' || value[0] == '+' || value[0] == '-' ||
                             value[0] == '@' || value[0] == '\t';
    EXPECT_EQ(fields[0], neutralised ? "'" + value : value) << line;
    EXPECT_EQ(fields[1], "-3.25");
  }
}

}  // namespace
}  // namespace cw
