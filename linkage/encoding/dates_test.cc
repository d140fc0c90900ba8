#include "linkage/encoding/dates.h"

#include "gtest/gtest.h"

namespace cohortlink::encoding {
namespace {

TEST(DatesTest, ParsesLikePythonStrptime) {
  EXPECT_EQ(*ParseDate("1963-12-13", "%Y-%m-%d"), (Date{1963, 12, 13}));
  EXPECT_EQ(*ParseDate("1963-1-5", "%Y-%m-%d"), (Date{1963, 1, 5}));
  EXPECT_EQ(*ParseDate(" 5/1/1999", "%d/%m/%Y"), (Date{1999, 1, 5}));
  EXPECT_EQ(*ParseDate("19800229", "%Y%m%d"), (Date{1980, 2, 29}));
  EXPECT_EQ(*ParseDate("12-MAR-1980", "%d-%b-%Y"), (Date{1980, 3, 12}));
  EXPECT_EQ(*ParseDate("1 march 80", "%d %B %y"), (Date{1980, 3, 1}));
  EXPECT_EQ(*ParseDate("01/02/68", "%d/%m/%y"), (Date{2068, 2, 1}));
  EXPECT_EQ(*ParseDate("01/02/69", "%d/%m/%y"), (Date{1969, 2, 1}));
  // Backtracking: "%m%d" over "112" is 11 then 2.
  EXPECT_EQ(*ParseDate("2000112", "%Y%m%d"), (Date{2000, 11, 2}));
}

TEST(DatesTest, RejectsImpossibleAndTrailingText) {
  EXPECT_FALSE(ParseDate("1981-02-29", "%Y-%m-%d").ok());
  EXPECT_FALSE(ParseDate("1980-13-01", "%Y-%m-%d").ok());
  EXPECT_FALSE(ParseDate("0000-01-01", "%Y-%m-%d").ok());
  EXPECT_FALSE(ParseDate("1980-01-01x", "%Y-%m-%d").ok());
  EXPECT_FALSE(ParseDate("80-01-01", "%Y-%m-%d").ok());
  EXPECT_FALSE(ParseDate("", "%Y-%m-%d").ok());
}

TEST(DatesTest, FormatsAndValidation) {
  EXPECT_EQ(FormatClkhashDate({123, 1, 12}), "1230112");
  EXPECT_EQ(FormatCompactDate({123, 1, 12}), "01230112");
  EXPECT_EQ(FormatIsoDate({2025, 3, 9}), "2025-03-09");
  EXPECT_TRUE(ValidateDateFormat("%d/%m/%Y").ok());
  EXPECT_NE(ValidateDateFormat("%H:%M").message().find("%H"),
            std::string::npos);
}

TEST(DatesTest, AgeAndDays) {
  EXPECT_EQ(DaysFromCivil({1970, 1, 1}), 0);
  EXPECT_EQ(DaysFromCivil({2000, 3, 1}), 11017);
  for (int64_t d = -800000; d <= 800000; d += 997) {
    EXPECT_EQ(DaysFromCivil(CivilFromDays(d)), d);
  }
  EXPECT_EQ(CivilFromDays(11016), (Date{2000, 2, 29}));
  EXPECT_EQ(AgeInYears({2000, 6, 15}, {2018, 6, 14}), 17);
  EXPECT_EQ(AgeInYears({2000, 6, 15}, {2018, 6, 15}), 18);
  EXPECT_EQ(AgeInYears({2000, 2, 29}, {2018, 2, 28}), 17);
}

}  // namespace
}  // namespace cohortlink::encoding
