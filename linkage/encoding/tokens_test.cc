#include "linkage/encoding/tokens.h"

#include "gtest/gtest.h"
#include "linkage/encoding/bloom.h"

namespace cohortlink::encoding {
namespace {

using V = std::vector<std::string>;

TEST(NGramsTest, MatchesClkhashDocumentation) {
  V out;
  NGrams("clkhash", 2, false, true, &out);
  EXPECT_EQ(out, (V{" c", "cl", "lk", "kh", "ha", "as", "sh", "h "}));
  NGrams("clkhash", 2, true, true, &out);
  EXPECT_EQ(out[0], "1  c");
  EXPECT_EQ(out[7], "8 h ");
  NGrams("", 2, false, true, &out);
  EXPECT_TRUE(out.empty());
  NGrams("ab", 1, true, true, &out);
  EXPECT_EQ(out, (V{"1 a", "2 b"}));
}

TEST(NGramsTest, CountsCodePointsNotBytes) {
  V out;
  NGrams("K\xC3\x89V", 2, false, true, &out);  // "KÉV"
  EXPECT_EQ(out, (V{" K", "K\xC3\x89", "\xC3\x89V", "V "}));
  NGrams("ab", 3, false, false, &out);
  EXPECT_TRUE(out.empty());
}

TEST(BitsPerTokenTest, SpreadsFeatureBitsLikeClkhash) {
  EXPECT_EQ(BitsPerToken(3, 0, 10), (std::vector<uint32_t>{4, 3, 3}));
  EXPECT_EQ(BitsPerToken(2, 7, 0), (std::vector<uint32_t>{7, 7}));
  EXPECT_TRUE(BitsPerToken(0, 0, 10).empty());
}

TEST(XorFoldTest, HalvesLengthAndXors) {
  std::string f = {'\x0f', '\xf0', '\x01', '\x01'};
  std::string folded = XorFold(f);
  ASSERT_EQ(folded.size(), 2u);
  EXPECT_EQ(folded[0], '\x0e');
  EXPECT_EQ(folded[1], '\xf1');
}

}  // namespace
}  // namespace cohortlink::encoding
