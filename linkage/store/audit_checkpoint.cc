#include "linkage/store/audit_checkpoint.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "keys/mac.h"
#include "linkage/store/store.h"
#include "util/status_macros.h"

namespace cohortlink::store {
namespace {

constexpr char kMagic[] = "CLCKPT01";  // 8 bytes, the format version in it
constexpr size_t kBody = 8 + 8 + 8 + 32 + 8 + 32 + 32;
constexpr size_t kSlot = kBody + 32;  // body + SHA-256 of the body

std::string Fixed(absl::string_view s, size_t n) {
  std::string out(s.substr(0, n));
  out.resize(n, '\0');
  return out;
}

std::string Encode(uint64_t counter, const CheckpointState& st) {
  std::string b(kMagic, 8);
  AppendBigEndian64(counter, &b);
  AppendBigEndian64(st.log_size, &b);
  b += Fixed(st.last_leaf, 32);
  AppendBigEndian64(st.head_size, &b);
  b += Fixed(st.head_root, 32);
  b += Fixed(st.key_fingerprint, 32);
  b += keys::Sha256::Digest(b);
  return b;
}

// The slot's counter and state, or false when it is not a valid slot.
bool Decode(absl::string_view b, uint64_t* counter, CheckpointState* st) {
  if (b.size() != kSlot || b.substr(0, 8) != absl::string_view(kMagic, 8) ||
      keys::Sha256::Digest(b.substr(0, kBody)) != b.substr(kBody))
    return false;
  auto trimmed = [](absl::string_view h) {
    return h == std::string(32, '\0') ? std::string() : std::string(h);
  };
  *counter = ReadBigEndian64(b.substr(8, 8));
  st->log_size = ReadBigEndian64(b.substr(16, 8));
  st->last_leaf = trimmed(b.substr(24, 32));
  st->head_size = ReadBigEndian64(b.substr(56, 8));
  st->head_root = trimmed(b.substr(64, 32));
  st->key_fingerprint = trimmed(b.substr(96, 32));
  return true;
}

absl::Status Errno(absl::string_view what, const std::string& path) {
  int e = errno;
  std::string msg = absl::StrCat(what, " ", path, ": ", std::strerror(e));
  if (e == ENOSPC || e == EDQUOT) return absl::ResourceExhaustedError(msg);
  if (e == EACCES || e == EPERM) return absl::PermissionDeniedError(msg);
  return absl::InternalError(msg);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditCheckpoint>> AuditCheckpoint::Open(
    const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  bool existed = fd >= 0;
  if (fd < 0 && errno == ENOENT)
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("cannot open the access-log checkpoint", path);
  auto cp = std::unique_ptr<AuditCheckpoint>(new AuditCheckpoint(path, fd));
  cp->existed_ = existed;
  if (!existed) {
    // Both slots, then the directory entry, durably.
    RETURN_IF_ERROR(cp->Save(CheckpointState{}));
    RETURN_IF_ERROR(cp->Save(CheckpointState{}));
    std::string dir = path.substr(0, path.find_last_of('/') + 1);
    int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
    return cp;
  }
  std::string buf(2 * kSlot, '\0');
  ssize_t n = ::pread(fd, buf.data(), buf.size(), 0);
  if (n < 0) return Errno("cannot read the access-log checkpoint", path);
  buf.resize(static_cast<size_t>(n));
  bool found = false;
  for (size_t slot = 0; slot < 2 && (slot + 1) * kSlot <= buf.size(); ++slot) {
    uint64_t counter;
    CheckpointState st;
    if (Decode(absl::string_view(buf).substr(slot * kSlot, kSlot), &counter,
               &st) &&
        (!found || counter > cp->counter_)) {
      found = true;
      cp->counter_ = counter;
      cp->state_ = std::move(st);
    }
  }
  if (!found) {
    return absl::DataLossError(absl::StrCat(
        "the access-log checkpoint ", path,
        " is damaged (neither copy is valid); restore the data directory "
        "from a backup, or see docs/server.md, Failure modes"));
  }
  return cp;
}

AuditCheckpoint::~AuditCheckpoint() { ::close(fd_); }

absl::Status AuditCheckpoint::Save(const CheckpointState& state) {
  const uint64_t counter = counter_ + 1;
  const std::string slot = Encode(counter, state);
  const off_t offset = static_cast<off_t>((counter % 2) * kSlot);
  ssize_t n = ::pwrite(fd_, slot.data(), slot.size(), offset);
  if (n != static_cast<ssize_t>(slot.size())) {
    if (n >= 0) errno = ENOSPC;
    return Errno("cannot write the access-log checkpoint", path_);
  }
  if (::fdatasync(fd_) != 0)
    return Errno("cannot sync the access-log checkpoint", path_);
  counter_ = counter;
  state_ = state;
  return absl::OkStatus();
}

}  // namespace cohortlink::store
