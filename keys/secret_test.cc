#include "keys/secret.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace cohortlink::keys {
namespace {

namespace fs = std::filesystem;

class SecretFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  util::TempDir tmp_{"secret_test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(SecretFileTest, IgnoresExactlyOneTrailingNewline) {
  EXPECT_EQ(LoadSecretFile(Write("a", "chicken\n"))->view(), "chicken");
  EXPECT_EQ(LoadSecretFile(Write("b", "chicken\r\n"))->view(), "chicken");
  EXPECT_EQ(LoadSecretFile(Write("c", "chicken\n\n"))->view(), "chicken\n");
  EXPECT_EQ(LoadSecretFile(Write("d", "chicken"))->view(), "chicken");
}

TEST_F(SecretFileTest, EmptyAndMissingAreErrorsWithoutContents) {
  auto empty = LoadSecretFile(Write("e", "\n"));
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(empty.status().message().find("is empty"), std::string::npos);
  auto missing = LoadSecretFile((dir_ / "missing").string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(SecretFileTest, GeneratedSecretIs256BitsBase64UrlMode0600) {
  auto s = GenerateSecret();
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->size(), 43u);
  for (char c : s->view()) {
    EXPECT_TRUE(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_');
  }
  auto other = GenerateSecret();
  EXPECT_NE(s->view(), other->view());

  std::string path = (dir_ / "linkage.secret").string();
  ASSERT_TRUE(WriteSecretFile(path, *s).ok());
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(LoadSecretFile(path)->view(), s->view());
  EXPECT_EQ(WriteSecretFile(path, *other).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(LoadSecretFile(path)->view(), s->view());
}

TEST(SecretBytesTest, MoveWipesSource) {
  SecretBytes a(std::string("abc"));
  SecretBytes b(std::move(a));
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): defined state
  EXPECT_EQ(b.view(), "abc");
}

TEST(ConstantTimeEqualsTest, Basics) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
}

}  // namespace
}  // namespace cohortlink::keys
