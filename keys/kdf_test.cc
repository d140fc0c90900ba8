#include "keys/kdf.h"

#include "gtest/gtest.h"
#include "util/text.h"

namespace cohortlink::keys {
namespace {

std::string Hex(absl::string_view s) { return util::HexEncode(s); }
std::string Unhex(absl::string_view s) { return *util::HexDecode(s); }

// RFC 5869 appendix A.1.
TEST(HkdfTest, Rfc5869Case1) {
  auto okm = Hkdf(HashAlgorithm::kSha256, std::string(22, '\x0b'),
                  Unhex("000102030405060708090a0b0c"),
                  Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(Hex(okm->view()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865");
}

// RFC 5869 appendix A.3: zero-length salt and info.
TEST(HkdfTest, Rfc5869Case3NoSaltNoInfo) {
  auto okm = Hkdf(HashAlgorithm::kSha256, std::string(22, '\x0b'), "", "", 42);
  ASSERT_TRUE(okm.ok()) << okm.status();
  EXPECT_EQ(Hex(okm->view()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8");
}

TEST(HkdfTest, RejectsOversizedOutput) {
  auto okm = Hkdf(HashAlgorithm::kSha256, "ikm", "", "", 255 * 32 + 1);
  EXPECT_EQ(okm.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Hkdf(HashAlgorithm::kSha256, "ikm", "", "", 255 * 32).ok());
}

// RFC 7914 section 12, third vector.
TEST(ScryptTest, Rfc7914Vector) {
  auto dk = Scrypt("password", "NaCl", 1024, 8, 16, 64);
  ASSERT_TRUE(dk.ok()) << dk.status();
  EXPECT_EQ(Hex(dk->view()),
            "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"
            "2eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640");
}

}  // namespace
}  // namespace cohortlink::keys
