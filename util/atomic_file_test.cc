#include "util/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace cohortlink::util {
namespace {

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  int EntriesInDir() const {
    int n = 0;
    for (auto& e : fs::directory_iterator(dir_)) {
      (void)e;
      ++n;
    }
    return n;
  }
  TempDir tmp_{"atomic_file_test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(AtomicFileTest, CommitPublishesWithMode) {
  std::string path = (dir_ / "out.bin").string();
  auto f = AtomicFile::Create(path, 0600);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Write("hello world").ok());
  ASSERT_TRUE((*f)->WriteAt(0, "HELLO").ok());
  EXPECT_FALSE(fs::exists(path));
  ASSERT_TRUE((*f)->Commit().ok());
  EXPECT_EQ(*ReadFile(path), "HELLO world");
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(EntriesInDir(), 1);
}

TEST_F(AtomicFileTest, DestroyWithoutCommitLeavesNothing) {
  std::string path = (dir_ / "out.bin").string();
  {
    auto f = AtomicFile::Create(path);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("partial").ok());
  }
  EXPECT_EQ(EntriesInDir(), 0);
}

TEST_F(AtomicFileTest, RefusesToOverwriteWhenAsked) {
  std::string path = (dir_ / "secret").string();
  {
    auto f = AtomicFile::Create(path, 0600, /*overwrite=*/false);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("a").ok());
    ASSERT_TRUE((*f)->Commit().ok());
  }
  auto again = AtomicFile::Create(path, 0600, /*overwrite=*/false);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(*ReadFile(path), "a");
}

TEST_F(AtomicFileTest, MissingDirectoryIsAnError) {
  auto f = AtomicFile::Create((dir_ / "nope" / "x").string());
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(f.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink::util
