#ifndef COHORTLINK_LINKAGE_STORE_AUDIT_CHECKPOINT_H_
#define COHORTLINK_LINKAGE_STORE_AUDIT_CHECKPOINT_H_

// The access log's checkpoint, kept outside the database (beside it in the
// data directory): how many entries were acknowledged and the leaf hash of
// the last, the last signed tree head (size and root), and the fingerprint
// of the key that signed it. At start the server compares what the database
// holds with it, so a truncated or deleted write-ahead log, a database
// swapped for an older copy, or a replaced signing key stops the server
// instead of passing unnoticed (docs/server.md, Failure modes).
//
// The file holds two fixed-size slots, written alternately with pwrite and
// fdatasync, each with a counter and a SHA-256 over its contents; the valid
// slot with the higher counter is current. A write torn by a crash leaves
// the other slot intact.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace cohortlink::store {

struct CheckpointState {
  uint64_t log_size = 0;        // entries acknowledged
  std::string last_leaf;        // leaf hash of entry log_size - 1 (32 bytes)
  uint64_t head_size = 0;       // the last signed tree head's size
  std::string head_root;        // and root (32 bytes; empty before the first)
  std::string key_fingerprint;  // SHA-256 of the signing key's public PEM
};

// Not thread-safe: AuditLog serialises its use.
class AuditCheckpoint {
 public:
  // Opens the checkpoint at `path`, creating an empty one (mode 0600) when
  // absent. DATA_LOSS when the file exists but neither slot is valid.
  static absl::StatusOr<std::unique_ptr<AuditCheckpoint>> Open(
      const std::string& path);
  ~AuditCheckpoint();
  AuditCheckpoint(const AuditCheckpoint&) = delete;
  AuditCheckpoint& operator=(const AuditCheckpoint&) = delete;

  // False when Open created the file (a new data directory, or one whose
  // checkpoint was removed).
  bool existed() const { return existed_; }
  const std::string& path() const { return path_; }
  const CheckpointState& state() const { return state_; }
  // Writes `state` durably to the older slot.
  absl::Status Save(const CheckpointState& state);

 private:
  AuditCheckpoint(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_;
  bool existed_ = false;
  uint64_t counter_ = 0;
  CheckpointState state_;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_AUDIT_CHECKPOINT_H_
