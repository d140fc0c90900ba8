#include "util/names.h"

#include <string>

#include "gtest/gtest.h"

namespace cohortlink::util {
namespace {

TEST(NamesTest, TheNameRuleAcceptsOrdinaryNames) {
  for (const char* ok : {"police-main", "a", "0", "extract_2025.v1", "A.b-c"})
    EXPECT_TRUE(IsValidName(ok)) << ok;
  EXPECT_TRUE(IsValidName(std::string(128, 'a')));  // at the limit
}

TEST(NamesTest, TheNameRuleRefusesPathsControlsAndOverlongNames) {
  const std::string refused[] = {"",
                                 ".",
                                 "..",
                                 "../../etc/passwd",
                                 "a/b",
                                 std::string("a\0b", 3),
                                 "a\nb",
                                 "\x1b[31mred",
                                 "evil\xe2\x80\xaetxt",  // U+202E
                                 "-rf",
                                 "a b",
                                 std::string(129, 'a')};  // limit + 1
  for (const auto& name : refused) EXPECT_FALSE(IsValidName(name)) << name;
  absl::Status s = CheckName("extract_name", "a\x1b[2J");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message().find('\x1b'), std::string::npos) << s;
  EXPECT_NE(s.message().find("extract_name: 'a\\x1b[2J'"), std::string::npos)
      << s;
}

TEST(NamesTest, LabelsMayHoldAnyPrintableUtf8) {
  EXPECT_TRUE(IsValidLabel("", 64));
  EXPECT_TRUE(IsValidLabel("50+", 64));
  EXPECT_TRUE(IsValidLabel("Ynys M\xc3\xb4n", 64));
  EXPECT_TRUE(IsValidLabel(std::string(64, 'x'), 64));
  EXPECT_FALSE(IsValidLabel(std::string(65, 'x'), 64));
  EXPECT_FALSE(IsValidLabel("a\tb", 64));
  EXPECT_FALSE(IsValidLabel("\xe2\x80\xae", 64));
  EXPECT_FALSE(IsValidLabel("\xff", 64));
}

}  // namespace
}  // namespace cohortlink::util
