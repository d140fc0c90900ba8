#include "util/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace cohortlink::util {

absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case ENOSPC:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::StatusOr<std::unique_ptr<AtomicFile>> AtomicFile::Create(std::string path,
                                                               unsigned mode,
                                                               bool overwrite) {
  if (!overwrite && ::access(path.c_str(), F_OK) == 0) {
    return absl::AlreadyExistsError(
        absl::StrCat(path, ": already exists (refusing to overwrite)"));
  }
  std::string dir = ".";
  std::string base = path;
  if (auto slash = path.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path.substr(0, slash);
    base = path.substr(slash + 1);
  }
  std::string tmpl = absl::StrCat(dir, "/.", base, ".tmp-XXXXXX");
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) return ErrnoStatus(errno, absl::StrCat("create ", path));
  // Restrictive until committed; the final mode is applied before rename.
  ::fchmod(fd, 0600);
  std::FILE* f = ::fdopen(fd, "w+b");
  if (f == nullptr) {
    int err = errno;
    ::close(fd);
    ::unlink(tmpl.c_str());
    return ErrnoStatus(err, absl::StrCat("open ", path));
  }
  return std::unique_ptr<AtomicFile>(
      new AtomicFile(std::move(path), std::move(tmpl), f, mode, overwrite));
}

AtomicFile::AtomicFile(std::string path, std::string tmp_path, std::FILE* file,
                       unsigned mode, bool overwrite)
    : path_(std::move(path)),
      tmp_path_(std::move(tmp_path)),
      file_(file),
      mode_(mode),
      overwrite_(overwrite) {}

AtomicFile::~AtomicFile() { Abandon(); }

void AtomicFile::Abandon() {
  if (done_) return;
  done_ = true;
  if (file_ != nullptr) std::fclose(file_);
  file_ = nullptr;
  ::unlink(tmp_path_.c_str());
}

absl::Status AtomicFile::Write(absl::string_view data) {
  if (done_) return absl::FailedPreconditionError("file already closed");
  if (!data.empty() &&
      std::fwrite(data.data(), 1, data.size(), file_) != data.size()) {
    return ErrnoStatus(errno, absl::StrCat("write ", path_));
  }
  size_ += data.size();
  return absl::OkStatus();
}

absl::Status AtomicFile::WriteAt(uint64_t offset, absl::string_view data) {
  if (done_) return absl::FailedPreconditionError("file already closed");
  if (offset + data.size() > size_) {
    return absl::OutOfRangeError("WriteAt past the end of written data");
  }
  if (std::fflush(file_) != 0 ||
      ::pwrite(::fileno(file_), data.data(), data.size(),
               static_cast<off_t>(offset)) !=
          static_cast<ssize_t>(data.size())) {
    return ErrnoStatus(errno, absl::StrCat("write ", path_));
  }
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit() {
  if (done_) return absl::FailedPreconditionError("file already closed");
  int fd = ::fileno(file_);
  absl::Status status;
  if (std::fflush(file_) != 0 || ::fsync(fd) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("write ", path_));
  } else if (::fchmod(fd, mode_) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("chmod ", path_));
  } else if (!overwrite_ && ::access(path_.c_str(), F_OK) == 0) {
    status = absl::AlreadyExistsError(
        absl::StrCat(path_, ": already exists (refusing to overwrite)"));
  } else if (::rename(tmp_path_.c_str(), path_.c_str()) != 0) {
    status = ErrnoStatus(errno, absl::StrCat("rename to ", path_));
  }
  if (!status.ok()) {
    Abandon();
    return status;
  }
  std::fclose(file_);
  file_ = nullptr;
  done_ = true;
  // Make the rename itself durable.
  std::string dir = ".";
  if (auto slash = path_.rfind('/'); slash != std::string::npos) {
    dir = slash == 0 ? "/" : path_.substr(0, slash);
  }
  if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY); dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoStatus(errno, absl::StrCat("cannot read ", path));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return ErrnoStatus(errno, absl::StrCat("cannot read ", path));
  return ss.str();
}

RemoveUnlessKept::~RemoveUnlessKept() {
  if (keep_) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace cohortlink::util
