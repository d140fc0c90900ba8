#include "util/text.h"

#include "gtest/gtest.h"

namespace cohortlink::util {
namespace {

TEST(TextTest, HexRoundTrip) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x10", 3)), "00ff10");
  EXPECT_EQ(*HexDecode("00ff10"), std::string("\x00\xff\x10", 3));
  EXPECT_FALSE(HexDecode("0").ok());
  EXPECT_FALSE(HexDecode("zz").ok());
}

TEST(TextTest, Base64MatchesRfc4648) {
  // RFC 4648 section 10 test vectors.
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(*Base64Decode("Zm9vYg=="), "foob");
  EXPECT_FALSE(Base64Decode("Zm9vYg=").ok());
}

TEST(TextTest, Base64UrlHasNoPadding) {
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(TextTest, FormatUtc) {
  absl::Time t = absl::FromUnixMillis(1'750'000'000'123);
  EXPECT_EQ(FormatUtc(t), "2025-06-15T15:06:40Z");
  EXPECT_EQ(FormatUtc(t, /*millis=*/true), "2025-06-15T15:06:40.123Z");
}

TEST(TextTest, PrintableEscapesControlBidiAndBadBytes) {
  EXPECT_EQ(Printable("police-main_2025.v1"), "police-main_2025.v1");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");  // é passes
  EXPECT_EQ(Printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(Printable(std::string("a\0b", 3)), "a\\x00b");
  EXPECT_EQ(Printable("\x1b[31mred"), "\\x1b[31mred");
  EXPECT_EQ(Printable("x\xe2\x80\xaey"), "x\\u{202e}y");  // RLO
  EXPECT_EQ(Printable("\xc2\x9b"), "\\x9b");              // C1 CSI
  EXPECT_EQ(Printable("\xff\xc3"), "\\xff\\xc3");         // not UTF-8
  EXPECT_EQ(Printable("\xc0\xaf"), "\\xc0\\xaf");         // overlong
  EXPECT_EQ(Printable("a\\b"), "a\\\\b");
}

TEST(TextTest, FixedWidthRoundTrip) {
  std::string s;
  PutFixed32(&s, 0x01020304u);
  PutFixed64(&s, 0x1122334455667788ull);
  ASSERT_EQ(s.size(), 12u);
  EXPECT_EQ(s[0], 0x04);
  EXPECT_EQ(DecodeFixed32(s.data()), 0x01020304u);
  EXPECT_EQ(DecodeFixed64(s.data() + 4), 0x1122334455667788ull);
}

}  // namespace
}  // namespace cohortlink::util
