#include "keys/mac.h"

#include "gtest/gtest.h"
#include "keys/blake2b.h"
#include "keys/key_check.h"
#include "util/text.h"

namespace cohortlink::keys {
namespace {

std::string Hex(absl::string_view s) { return util::HexEncode(s); }

std::string HmacHex(HashAlgorithm h, absl::string_view key,
                    absl::string_view data) {
  auto mac = Hmac::Create(h, key);
  EXPECT_TRUE(mac.ok()) << mac.status();
  return Hex(*(*mac)->Compute(data));
}

// RFC 2202 test case 1 (SHA-1 and MD5) and RFC 4231 test case 2 (SHA-256).
TEST(HmacTest, KnownVectors) {
  EXPECT_EQ(HmacHex(HashAlgorithm::kSha1, std::string(20, '\x0b'), "Hi There"),
            "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(HmacHex(HashAlgorithm::kMd5, std::string(16, '\x0b'), "Hi There"),
            "9294727a3638bb1c13f48ef8158bfc9d");
  EXPECT_EQ(
      HmacHex(HashAlgorithm::kSha256, "Jefe", "what do ya want for nothing?"),
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, ReuseAndCloneGiveSameResults) {
  auto mac = Hmac::Create(HashAlgorithm::kSha1, "key");
  ASSERT_TRUE(mac.ok());
  std::string a = *(*mac)->Compute("one");
  std::string b = *(*mac)->Compute("two");
  EXPECT_NE(a, b);
  EXPECT_EQ(*(*mac)->Compute("one"), a);
  auto clone = (*mac)->Clone();
  ASSERT_TRUE(clone.ok());
  EXPECT_EQ(*(*clone)->Compute("two"), b);
}

// Expected values from Python's hashlib.blake2b (the reference clkhash uses).
TEST(Blake2bMacTest, KeyedKnownAnswers) {
  std::string key;
  for (int i = 0; i < 64; ++i) key.push_back(static_cast<char>(i));
  auto mac = Blake2bMac::Create(key, "");
  ASSERT_TRUE(mac.ok()) << mac.status();
  uint8_t out[64];
  ASSERT_TRUE((*mac)->Compute("", out).ok());
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<char*>(out), 64)),
            "10ebb67700b1868efb4417987acf4690ae9d972fb7a590c2f02871799aaa4786"
            "b5e996e8f0f4eb981fc214b005f42d2ff4233499391653df7aefcbc13fc51568");
  ASSERT_TRUE((*mac)->Compute(std::string(1, '\0'), out).ok());
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<char*>(out), 64)),
            "961f6dd1e4dd30f63901690c512e78e4b45e4742ed197c3c5e45c549fd25f2e4"
            "187b0bc9fe30492b16b0d0bc4ef9b0f34c7003fac09a5ef1532e69430234cebd");
}

TEST(Blake2bMacTest, SaltIsZeroPadded) {
  auto mac = Blake2bMac::Create(std::string(64, 'k'), "0");
  ASSERT_TRUE(mac.ok()) << mac.status();
  uint8_t out[64];
  ASSERT_TRUE((*mac)->Compute("tok", out).ok());
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<char*>(out), 64)),
            "bb68663352220a75b2378208ec522972fae373454b8059f9df4d92cba641f4da"
            "c9e95a0141d9dcf827b30f54ff0014a30411c1fe0204337850735b4c7e9617a7");
  auto mac12 = Blake2bMac::Create(std::string(64, 'k'), "12");
  ASSERT_TRUE(mac12.ok());
  ASSERT_TRUE((*mac12)->Compute("tok", out).ok());
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<char*>(out), 64)),
            "fa5fc56a67ac656b3c1fe58603ad067ffebf352d04c647a5f50afb4ede123370"
            "20945e3b90273aa4546e888ae78d2367bf4302c85cc9ce5325bb52e533019725");
}

// RFC 7693 appendix A: BLAKE2b-512("abc").
TEST(Blake2bTest, Rfc7693AppendixA) {
  uint8_t out[64];
  Blake2bKeyedState::Hash("abc", out);
  EXPECT_EQ(Hex(absl::string_view(reinterpret_cast<char*>(out), 64)),
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
            "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
}

// Messages longer than one block, against Python's hashlib.
TEST(Blake2bTest, MultiBlockKeyedMessages) {
  auto mac = Blake2bMac::Create(std::string(64, 'k'), "");
  ASSERT_TRUE(mac.ok());
  uint8_t out[64];
  ASSERT_TRUE((*mac)->Compute(std::string(128, 'x'), out).ok());
  EXPECT_EQ(
      Hex(absl::string_view(reinterpret_cast<char*>(out), 64)).substr(0, 32),
      "84e97532de6cbfeba8691e920ad5fb32");
  ASSERT_TRUE((*mac)->Compute(std::string(300, 'y'), out).ok());
  EXPECT_EQ(
      Hex(absl::string_view(reinterpret_cast<char*>(out), 64)).substr(0, 32),
      "55c38bb1b4b4547d655f84f8223f2898");
}

TEST(Sha256Test, Fips180Vector) {
  EXPECT_EQ(Hex(Sha256::Digest("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.Update("a");
  h.Update("bc");
  EXPECT_EQ(Hex(h.Finish()), Hex(Sha256::Digest("abc")));
}

TEST(KeyCheckValueTest, DependsOnSecretAndFingerprint) {
  auto a = KeyCheckValue("secret-one", "fingerprint-1");
  auto b = KeyCheckValue("secret-one", "fingerprint-1");
  auto c = KeyCheckValue("secret-two", "fingerprint-1");
  auto d = KeyCheckValue("secret-one", "fingerprint-2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), kKeyCheckValueSize);
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_NE(*a, *d);
}

}  // namespace
}  // namespace cohortlink::keys
