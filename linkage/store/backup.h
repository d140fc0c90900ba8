#ifndef COHORTLINK_LINKAGE_STORE_BACKUP_H_
#define COHORTLINK_LINKAGE_STORE_BACKUP_H_

// Backup of a serving database and restore into a new data directory
// (docs/operations.md, Backup and restore). The layout of a backup is in
// backup_manifest.h.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cohortlink/v1/admin.pb.h"
#include "cohortlink/v1/audit.pb.h"
#include "keys/signing.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/store.h"

namespace cohortlink::store {

// The server's data directory: the database and, beside it, the files
// that check it (docs/server.md, Data directory).
inline constexpr char kDataDbDir[] = "db";
inline constexpr char kAuditCheckpointFile[] = "access-log.checkpoint";
inline constexpr char kSigningKeyFile[] = "audit-signing.key";
inline constexpr char kPublicKeyFile[] = "audit-public.pem";

// A consistent copy of the database in a directory of the data directory,
// laid out as a backup, removed again when destroyed.
class BackupSnapshot {
 public:
  // Appends `entry` to the access log and, before any later entry,
  // checkpoints the database into `dir`/db (AuditLog::AppendAndCopy): the
  // copy holds the log up to and including `entry`. `dir` is removed
  // first if a crashed backup left it; it must be on the database's file
  // system. Beside the copy go the data key's check value (when
  // `key_check_file` exists) and the public signing key. The manifest is
  // signed with `key`.
  static absl::StatusOr<std::unique_ptr<BackupSnapshot>> Take(
      Store* store, AuditLog* log, cohortlink::v1::AuditEntry entry,
      const std::string& dir, const std::string& key_check_file,
      const keys::SigningKey& key, const std::string& server_version);
  ~BackupSnapshot();
  BackupSnapshot(const BackupSnapshot&) = delete;
  BackupSnapshot& operator=(const BackupSnapshot&) = delete;

  const std::string& dir() const { return dir_; }
  // Every file, with its size and SHA-256, and the signature.
  const cohortlink::v1::BackupManifest& manifest() const { return manifest_; }

 private:
  explicit BackupSnapshot(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  cohortlink::v1::BackupManifest manifest_;
};

struct RestoreOptions {
  // The access-log signing key (audit-signing.key), kept apart from the
  // backups; the manifest must be signed by it.
  std::string signing_key_file;
  // The data key, for a backup of an encrypted database.
  std::string data_key_file;
};

struct RestoreSummary {
  uint64_t access_log_entries = 0;
  uint64_t extracts = 0;
  uint64_t records = 0;
};

// Checks the backup in `backup_dir` (every file against the signed
// manifest, the signature against the signing key) and builds a data
// directory from it at `data_dir`, which must not exist or be empty: the
// database, the access-log checkpoint the manifest describes, the public
// key and the signing key. It is built beside `data_dir` and renamed into
// place only once the restored database opened and its access log agreed
// with the checkpoint; on any failure nothing is left at `data_dir`.
absl::StatusOr<RestoreSummary> RestoreBackup(const std::string& backup_dir,
                                             const std::string& data_dir,
                                             const RestoreOptions& options);

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_BACKUP_H_
