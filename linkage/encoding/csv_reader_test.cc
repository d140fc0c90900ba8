#include "linkage/encoding/csv_reader.h"

#include "gtest/gtest.h"

namespace cohortlink::encoding {
namespace {

std::vector<std::vector<std::string>> ReadAll(const std::string& text,
                                              CsvOptions opts = {}) {
  auto r = CsvReader::FromString(text, "t.csv", opts);
  std::vector<std::vector<std::string>> rows;
  CsvRow row;
  for (;;) {
    auto more = r->Next(&row);
    EXPECT_TRUE(more.ok()) << more.status();
    if (!more.ok() || !*more) break;
    rows.push_back(row.fields);
  }
  return rows;
}

absl::Status FirstError(const std::string& text) {
  auto r = CsvReader::FromString(text, "t.csv");
  CsvRow row;
  for (;;) {
    auto more = r->Next(&row);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

using Rows = std::vector<std::vector<std::string>>;

TEST(CsvReaderTest, PlainAndQuotedFields) {
  EXPECT_EQ(ReadAll("a,b,c\n1,2,3\n"),
            (Rows{{"a", "b", "c"}, {"1", "2", "3"}}));
  EXPECT_EQ(ReadAll("\"a,b\",\"say \"\"hi\"\"\",\n"),
            (Rows{{"a,b", "say \"hi\"", ""}}));
  EXPECT_EQ(ReadAll("x\r\ny\rz"), (Rows{{"x"}, {"y"}, {"z"}}));
  EXPECT_EQ(ReadAll("\"multi\nline\",2\n"), (Rows{{"multi\nline", "2"}}));
  EXPECT_EQ(ReadAll("o\"brien,x\n"), (Rows{{"o\"brien", "x"}}));  // as Python
}

TEST(CsvReaderTest, SkipsBomAndBlankLines) {
  EXPECT_EQ(ReadAll("\xEF\xBB\xBF"
                    "a\n\n\nb\n"),
            (Rows{{"a"}, {"b"}}));
}

TEST(CsvReaderTest, SkipInitialSpaceForFebrl) {
  CsvOptions o;
  o.skip_initial_space = true;
  EXPECT_EQ(ReadAll("rec-1, mary, smith\n", o),
            (Rows{{"rec-1", "mary", "smith"}}));
  EXPECT_EQ(ReadAll("rec-1, mary\n"), (Rows{{"rec-1", " mary"}}));
}

TEST(CsvReaderTest, ReportsLineOfEachRow) {
  auto r = CsvReader::FromString("h\n\"a\nb\"\nc\n", "t.csv");
  CsvRow row;
  ASSERT_TRUE(*r->Next(&row));
  EXPECT_EQ(row.line, 1u);
  ASSERT_TRUE(*r->Next(&row));
  EXPECT_EQ(row.line, 2u);
  ASSERT_TRUE(*r->Next(&row));
  EXPECT_EQ(row.line, 4u);
}

TEST(CsvReaderTest, MalformedInputNamesLineAndColumn) {
  EXPECT_EQ(FirstError("a,b\n\"x\"y,z\n").message(),
            "t.csv:2:4: unexpected character after closing quote (a quote "
            "inside a quoted field must be doubled)");
  EXPECT_EQ(FirstError("a\nb,\"open\n").message(),
            "t.csv:2:3: quoted field is not terminated before end of file");
}

}  // namespace
}  // namespace cohortlink::encoding
