#ifndef COHORTLINK_UTIL_TEMP_DIR_H_
#define COHORTLINK_UTIL_TEMP_DIR_H_

// A fresh directory under $TMPDIR for one test, removed on destruction.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <string>

namespace cohortlink::util {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix) {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            (prefix + "_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  std::filesystem::path path_;
};

}  // namespace cohortlink::util

#endif  // COHORTLINK_UTIL_TEMP_DIR_H_
