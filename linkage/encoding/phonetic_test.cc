#include "linkage/encoding/phonetic.h"

#include "gtest/gtest.h"

namespace cohortlink::encoding {
namespace {

TEST(SoundexTest, NationalArchivesExamples) {
  EXPECT_EQ(Soundex("Robert"), "R163");
  EXPECT_EQ(Soundex("Rupert"), "R163");
  EXPECT_EQ(Soundex("Rubin"), "R150");
  EXPECT_EQ(Soundex("Ashcraft"), "A261");  // H does not separate S and C
  EXPECT_EQ(Soundex("Ashcroft"), "A261");
  EXPECT_EQ(Soundex("Tymczak"), "T522");
  EXPECT_EQ(Soundex("Pfister"), "P236");
  EXPECT_EQ(Soundex("Honeyman"), "H555");
  EXPECT_EQ(Soundex("O'Brien"), "O165");
  EXPECT_EQ(Soundex(""), "");
  EXPECT_EQ(Soundex("Zo\xC3\xAB"), "Z000");  // "Zoë" folds to ZOE
}

TEST(NysiisTest, KnownCodes) {
  EXPECT_EQ(Nysiis("Macintosh"), "MCANT");
  EXPECT_EQ(Nysiis("Knuth"), "NAT");
  EXPECT_EQ(Nysiis("Brown"), "BRAN");
  EXPECT_EQ(Nysiis("Phillips"), "FALAP");
  EXPECT_EQ(Nysiis("Schmidt"), "SNAD");  // SCH -> SSS, repeats collapse
  EXPECT_EQ(Nysiis("Johnson"), Nysiis("Jonson"));
  EXPECT_EQ(Nysiis(""), "");
}

TEST(DoubleMetaphoneTest, PhilipsExamples) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(DoubleMetaphone("Smith"), (P{"SM0", "XMT"}));
  EXPECT_EQ(DoubleMetaphone("Schmidt"), (P{"XMT", "SMT"}));
  EXPECT_EQ(DoubleMetaphone("Thompson"), (P{"TMPS", "TMPS"}));
  EXPECT_EQ(DoubleMetaphone("Jose"), (P{"HS", "HS"}));
  EXPECT_EQ(DoubleMetaphone("Cabrillo"), (P{"KPRL", "KPR"}));
  EXPECT_EQ(DoubleMetaphone("Gallegos"), (P{"KLKS", "KKS"}));
  EXPECT_EQ(DoubleMetaphone("Thumb"), (P{"0M", "TM"}));
  EXPECT_EQ(DoubleMetaphone("Knight"), (P{"NT", "NT"}));
  EXPECT_EQ(DoubleMetaphone("Jones"), (P{"JNS", "ANS"}));
  EXPECT_EQ(DoubleMetaphone("Williams"), (P{"ALMS", "FLMS"}));
  EXPECT_EQ(DoubleMetaphone("Xavier").first, "SF");
  EXPECT_EQ(DoubleMetaphone("Caesar").first, "SSR");
  // Spelling variants meet on at least one code.
  auto a = DoubleMetaphone("Stephen"), b = DoubleMetaphone("Steven");
  EXPECT_EQ(a.first, b.first);
  EXPECT_EQ(DoubleMetaphone(""), (P{"", ""}));
}

}  // namespace
}  // namespace cohortlink::encoding
