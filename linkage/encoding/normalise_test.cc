#include "linkage/encoding/normalise.h"

#include "gtest/gtest.h"

namespace cohortlink::encoding {
namespace {

std::string Normalise(std::vector<std::string> names, const std::string& in) {
  std::vector<NormaliseStep> steps;
  for (const auto& n : names) steps.push_back(*ParseNormaliseStep(n));
  auto norm = Normaliser::Create(steps);
  EXPECT_TRUE(norm.ok());
  return (*norm)->Apply(in);
}

TEST(NormaliseTest, FoldRemovesDiacriticsAndCase) {
  EXPECT_EQ(Normalise({"fold"}, "Zo\xC3\xAB \xC3\x98'Brien"), "zoe o'brien");
  EXPECT_EQ(Normalise({"fold"}, "K\xC3\x89VIN"), "kevin");
  EXPECT_EQ(Normalise({"fold"},
                      "Stra\xC3\x9F"
                      "e"),
            "strasse");
  EXPECT_EQ(Normalise({"fold"}, "\xC5\x81ukasz"), "lukasz");  // Ł
  EXPECT_EQ(Normalise({"fold"}, "\xD0\x98\xD0\xB2\xD0\xB0\xD0\xBD"),
            "ivan");  // Иван
  EXPECT_EQ(Normalise({"fold"}, "SMITH"), "smith");
}

TEST(NormaliseTest, WhitespaceAndCharacterClasses) {
  EXPECT_EQ(Normalise({"collapse_space"}, "  mary   ann \t"), "mary ann");
  EXPECT_EQ(Normalise({"remove_space"}, " b s1  4dj "), "bs14dj");
  EXPECT_EQ(Normalise({"letters"}, "smith-jones 2nd"), "smith jones nd");
  EXPECT_EQ(Normalise({"alnum"}, "flat 3/a, high st."), "flat 3a high st");
  EXPECT_EQ(Normalise({"digits"}, "(0117) 496-0000"), "01174960000");
  EXPECT_EQ(Normalise({"trim", "first_word"}, " mary ann "), "mary");
}

TEST(NormaliseTest, NameParticlesTitlesAndSuffixes) {
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "Mr John Smith Jnr"),
            "john smith");
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "van der Berg"),
            "vanderberg");
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "O'Brien"), "obrien");
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "O Brien"), "obrien");
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "De La Cruz"), "delacruz");
  EXPECT_EQ(Normalise({"fold", "letters", "name"}, "Dr"),
            "dr");  // never empties
}

TEST(NormaliseTest, UkPostcodes) {
  EXPECT_EQ(NormalisePostcodeUk("bs14dj"), "BS1 4DJ");
  EXPECT_EQ(NormalisePostcodeUk(" ba2  3ab "), "BA2 3AB");
  EXPECT_EQ(NormalisePostcodeUk("SW1A1AA"), "SW1A 1AA");
  EXPECT_EQ(NormalisePostcodeUk("M11AE"), "M1 1AE");
  EXPECT_EQ(NormalisePostcodeUk("EC1V 9HX"), "EC1V 9HX");
  EXPECT_EQ(NormalisePostcodeUk("not known"), "NOTKNOWN");
}

TEST(NormaliseTest, Sex) {
  EXPECT_EQ(NormaliseSex("Male"), "m");
  EXPECT_EQ(NormaliseSex("F"), "f");
  EXPECT_EQ(NormaliseSex("2"), "f");
  EXPECT_EQ(NormaliseSex("indeterminate"), "x");
  EXPECT_EQ(NormaliseSex("unknown"), "");
}

TEST(NormaliseTest, UnknownStepIsAnError) {
  auto s = ParseNormaliseStep("soundex");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("known:"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink::encoding
