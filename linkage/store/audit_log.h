#ifndef COHORTLINK_LINKAGE_STORE_AUDIT_LOG_H_
#define COHORTLINK_LINKAGE_STORE_AUDIT_LOG_H_

#include <functional>
#include <memory>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cohortlink/v1/audit.pb.h"
#include "keys/merkle.h"
#include "linkage/store/audit_checkpoint.h"
#include "linkage/store/store.h"

namespace cohortlink::store {

// The size of what the access log stores and serves (docs/limits.md).
// Every entry is bounded as it is appended: a query's specification above
// kMaxQueryBytes is kept as its first kQueryPrefixBytes and its SHA-256,
// and any other text field is cut at kMaxFieldBytes. A page of entries
// stops at kMaxPageBytes.
inline constexpr size_t kMaxQueryBytes = 8 << 10;
inline constexpr size_t kQueryPrefixBytes = 4 << 10;
inline constexpr size_t kMaxFieldBytes = 1 << 10;
inline constexpr uint64_t kMaxPageBytes = 4 << 20;

// `entry` within those bounds (fields cut at a UTF-8 character boundary).
void BoundAuditEntry(cohortlink::v1::AuditEntry* entry);

// The append-only access log in the `audit` column family, keyed by
// big-endian sequence number. Thread-safe: appends are serialised, and a
// sequence number is used only by an entry that was written, so the
// sequence has no gaps.
//
// With a checkpoint (audit_checkpoint.h), every append also records the
// acknowledged size and last leaf outside the database before it returns,
// and every signed tree head its size, root and key; CheckIntegrity()
// compares the database with it at start.
class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Create(
      Store* store,
      std::function<absl::Time()> now = [] { return absl::Now(); },
      std::string checkpoint_path = "");

  // Sets the entry's sequence and time, adds it to `batch` (the change it
  // records, or an empty batch for a call that changed nothing) and writes
  // the batch with `sync`. Either both the change and its entry are stored,
  // or neither.
  absl::Status Write(cohortlink::v1::AuditEntry entry,
                     rocksdb::WriteBatch* batch, bool sync = true);
  // Appends `entry` and, before any later entry can be appended, runs
  // `copy` (a checkpoint of the database for a backup), so that the copy
  // holds exactly the log up to and including `entry`. Returns the
  // checkpoint state that matches the copy: its size, last leaf and the
  // last signed tree head within it. Appends wait while `copy` runs.
  absl::StatusOr<CheckpointState> AppendAndCopy(
      cohortlink::v1::AuditEntry entry, absl::FunctionRef<absl::Status()> copy);
  // Convenience for calls that change nothing.
  absl::Status Append(cohortlink::v1::AuditEntry entry);

  uint64_t size() const;

  // What differs between the log found and its checkpoint, one sentence
  // each; empty when they agree (or there is no checkpoint). A log shorter
  // than acknowledged, an entry or signed root that changed, a missing or
  // different signing key (`key_fingerprint`: SHA-256 of the key's public
  // PEM, empty when there is no key file), or a non-empty log without a
  // checkpoint.
  std::vector<std::string> CheckIntegrity(
      absl::string_view key_fingerprint) const;
  // Makes the log as found, signed by `key_fingerprint`, the checkpoint
  // (the operator accepted it), and appends `entry` recording that.
  absl::Status AcceptState(absl::string_view key_fingerprint,
                           cohortlink::v1::AuditEntry entry);

  // Stores a signed tree head as the latest (synced) and in the checkpoint.
  absl::Status StoreTreeHead(const cohortlink::v1::SignedTreeHead& sth,
                             absl::string_view key_fingerprint);

  // The Merkle tree over the entries (RFC 6962; each leaf is an entry's
  // stored bytes).
  struct TreeHead {
    uint64_t size = 0;
    std::string root;
  };
  TreeHead Head() const;
  absl::StatusOr<std::vector<std::string>> InclusionProof(uint64_t index,
                                                          uint64_t size) const;
  absl::StatusOr<std::vector<std::string>> ConsistencyProof(
      uint64_t first, uint64_t second) const;
  // Entries as stored (the bytes the leaves hash): at most `limit` of
  // them, and no more once `max_bytes` are read (but always at least one).
  absl::StatusOr<std::vector<std::string>> ReadRaw(
      uint64_t from, uint64_t limit, uint64_t max_bytes = kMaxPageBytes) const;
  // Entries [from, from + limit), in order.
  absl::StatusOr<std::vector<cohortlink::v1::AuditEntry>> Read(
      uint64_t from, uint64_t limit) const;

 private:
  absl::Status WriteLocked(cohortlink::v1::AuditEntry entry,
                           rocksdb::WriteBatch* batch, bool sync)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  AuditLog(Store* store, std::function<absl::Time()> now)
      : store_(store), now_(std::move(now)) {}
  Store* store_;
  std::function<absl::Time()> now_;
  mutable absl::Mutex mu_;
  std::unique_ptr<AuditCheckpoint> checkpoint_ ABSL_GUARDED_BY(mu_);
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  keys::MerkleLog tree_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_AUDIT_LOG_H_
