#ifndef COHORTLINK_UTIL_ATOMIC_FILE_H_
#define COHORTLINK_UTIL_ATOMIC_FILE_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::util {

// An output file that appears at its final path only when Commit() succeeds.
//
// Data is written to a temporary file beside the target (same directory, so
// the final rename is atomic), flushed and fsync'd on Commit(), then renamed
// over the target. If the object is destroyed without a successful Commit()
// the temporary file is removed, so a failed or interrupted run never leaves
// a partial output behind.
//
// Not thread-safe: one writer at a time.
class AtomicFile {
 public:
  // Creates the temporary file. `mode` is applied to the final file (e.g.
  // 0600 for secrets). Fails if the directory is not writable, or, when
  // `overwrite` is false, if `path` already exists.
  static absl::StatusOr<std::unique_ptr<AtomicFile>> Create(
      std::string path, unsigned mode = 0644, bool overwrite = true);

  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  ~AtomicFile();

  [[nodiscard]] absl::Status Write(absl::string_view data);
  // Overwrites bytes already written at `offset` (used to patch headers).
  [[nodiscard]] absl::Status WriteAt(uint64_t offset, absl::string_view data);
  // Bytes written so far.
  uint64_t size() const { return size_; }

  // Flushes, fsyncs and renames into place. After success the object is
  // inert. On failure the temporary file is removed.
  [[nodiscard]] absl::Status Commit();

  // Removes the temporary file now (also done by the destructor).
  void Abandon();

  const std::string& path() const { return path_; }

 private:
  AtomicFile(std::string path, std::string tmp_path, std::FILE* file,
             unsigned mode, bool overwrite);

  std::string path_;
  std::string tmp_path_;
  std::FILE* file_;
  unsigned mode_;
  bool overwrite_;
  uint64_t size_ = 0;
  bool done_ = false;
};

// Removes a directory tree when it goes out of scope, unless Keep() was
// called: what a failed multi-file operation leaves is never mistaken for
// a finished one.
class RemoveUnlessKept {
 public:
  explicit RemoveUnlessKept(std::string dir) : dir_(std::move(dir)) {}
  ~RemoveUnlessKept();
  RemoveUnlessKept(const RemoveUnlessKept&) = delete;
  RemoveUnlessKept& operator=(const RemoveUnlessKept&) = delete;
  void Keep() { keep_ = true; }

 private:
  std::string dir_;
  bool keep_ = false;
};

// Reads a whole file. Errors name the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Converts an errno value into a status whose message names `what` (usually
// "<operation> <path>").
absl::Status ErrnoStatus(int err, absl::string_view what);

}  // namespace cohortlink::util

#endif  // COHORTLINK_UTIL_ATOMIC_FILE_H_
