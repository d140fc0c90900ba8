#ifndef COHORTLINK_LINKAGE_STORE_BACKUP_MANIFEST_H_
#define COHORTLINK_LINKAGE_STORE_BACKUP_MANIFEST_H_

// A backup directory (docs/operations.md, Backup and restore):
//   backup.json          the manifest (cohortlink.v1.BackupManifest, JSON)
//   db/...               the RocksDB checkpoint (encrypted when the
//                        database is)
//   DATA_KEY_CHECK       the data key's check value, when encrypted
//   audit-public.pem     the access log's public signing key
// The manifest lists every file with its size and SHA-256 and is signed
// with the access-log signing key. This part reads, writes and checks it
// without RocksDB, so the client can verify a backup too.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cohortlink/v1/admin.pb.h"

namespace cohortlink::store {

inline constexpr char kBackupManifestFile[] = "backup.json";
inline constexpr char kBackupPublicKeyFile[] = "audit-public.pem";
inline constexpr char kBackupKeyCheckFile[] = "DATA_KEY_CHECK";
inline constexpr char kBackupDbDir[] = "db";
inline constexpr uint32_t kBackupFormat = 1;
// Limits (docs/limits.md), checked before anything is read or allocated:
// the manifest's size, its file count, and a file path's length.
inline constexpr uint64_t kMaxManifestBytes = 16 << 20;
inline constexpr int kMaxBackupFiles = 100000;
inline constexpr size_t kMaxBackupPathBytes = 255;
// A streamed chunk of a backup file.
inline constexpr size_t kBackupChunkBytes = 1 << 20;

// OK for a path a backup may hold: relative, '/'-separated, at most two
// components (the top level, or directly under db/), of [A-Za-z0-9._-]
// without "." or ".." components. Anything else is INVALID_ARGUMENT, so a
// damaged or hostile manifest or stream cannot write outside the backup.
absl::Status CheckBackupPath(absl::string_view path);

// The bytes the manifest's signature covers.
std::string ManifestSignedBytes(const cohortlink::v1::BackupManifest& m);

// Reads and parses DIR/backup.json (strict JSON: unknown fields refused),
// and checks its format, file count and paths.
absl::StatusOr<cohortlink::v1::BackupManifest> ReadManifest(
    const std::string& dir);
// The same, of the text of a manifest (`what` names it in errors).
absl::StatusOr<cohortlink::v1::BackupManifest> ParseManifest(
    absl::string_view json, const std::string& what);
// Writes DIR/backup.json atomically.
absl::Status WriteManifest(const std::string& dir,
                           const cohortlink::v1::BackupManifest& m);

// SHA-256 of a file, hex, read in chunks.
absl::StatusOr<std::string> Sha256File(const std::string& path,
                                       uint64_t* size = nullptr);

// Checks a backup directory against its manifest: every listed file is
// there with its size and SHA-256, and the signature verifies under
// `public_key_pem` (empty: the backup's own audit-public.pem, which
// proves only that the files match the manifest; an auditor gives the key
// they hold). DATA_LOSS names the first file that differs;
// UNAUTHENTICATED for a bad signature.
absl::Status VerifyBackup(const std::string& dir,
                          const cohortlink::v1::BackupManifest& m,
                          const std::string& public_key_pem = "");

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_BACKUP_MANIFEST_H_
