#include "keys/signing.h"

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace cohortlink::keys {
namespace {

TEST(SigningTest, SignsVerifiesAndRefusesForgeries) {
  util::TempDir tmp("signing_test");
  auto key = SigningKey::LoadOrCreate(tmp.File("audit.key"));
  ASSERT_TRUE(key.ok()) << key.status();
  struct stat st;
  ASSERT_EQ(::stat(tmp.File("audit.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto sig = (*key)->Sign("tree head");
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->size(), 64u);
  EXPECT_TRUE(
      VerifySignature((*key)->public_key_pem(), "tree head", *sig).ok());
  EXPECT_EQ(VerifySignature((*key)->public_key_pem(), "tree heaD", *sig).code(),
            absl::StatusCode::kUnauthenticated);
  // The same file gives the same key; another key does not verify.
  auto again = SigningKey::LoadOrCreate(tmp.File("audit.key"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)->public_key_pem(), (*key)->public_key_pem());
  auto other = SigningKey::LoadOrCreate(tmp.File("other.key"));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(
      VerifySignature((*other)->public_key_pem(), "tree head", *sig).ok());
  EXPECT_EQ(VerifySignature("not a key", "x", *sig).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SigningTest, WorldReadableKeyIsRefused) {
  util::TempDir tmp("signing_test");
  ASSERT_TRUE(SigningKey::LoadOrCreate(tmp.File("k")).ok());
  ::chmod(tmp.File("k").c_str(), 0644);
  auto key = SigningKey::LoadOrCreate(tmp.File("k"));
  EXPECT_EQ(key.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink::keys
