#include "linkage/store/backup.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "keys/mac.h"
#include "linkage/store/audit_checkpoint.h"
#include "linkage/store/backup_manifest.h"
#include "linkage/store/extract_store.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {
namespace fs = std::filesystem;

namespace {

absl::Status FsError(const std::error_code& ec, absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", ec.message()));
}

// Copies `from` to `to` (which must not exist) in chunks, synced.
absl::Status CopyDurably(const std::string& from, const std::string& to,
                         unsigned mode) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", from));
  ASSIGN_OR_RETURN(auto out,
                   util::AtomicFile::Create(to, mode, /*overwrite=*/false));
  std::string buf(kBackupChunkBytes, '\0');
  while (in) {
    in.read(buf.data(), buf.size());
    if (in.gcount() <= 0) break;
    RETURN_IF_ERROR(out->Write(
        absl::string_view(buf.data(), static_cast<size_t>(in.gcount()))));
  }
  if (in.bad()) return absl::DataLossError(absl::StrCat("reading ", from));
  return out->Commit();
}

// The files of a backup directory, as backup paths, in a stable order.
absl::StatusOr<std::vector<std::string>> ListBackupFiles(
    const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory()) {
      if (name != kBackupDbDir)
        return absl::InternalError(absl::StrCat("unexpected directory ", name));
      for (const auto& d : fs::directory_iterator(e.path(), ec)) {
        if (!d.is_regular_file()) {
          return absl::InternalError(
              absl::StrCat("unexpected entry in the checkpoint: ",
                           d.path().filename().string()));
        }
        out.push_back(
            absl::StrCat(kBackupDbDir, "/", d.path().filename().string()));
      }
      if (ec) return FsError(ec, "list the checkpoint");
    } else {
      out.push_back(name);
    }
  }
  if (ec) return FsError(ec, absl::StrCat("list ", dir));
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<BackupSnapshot>> BackupSnapshot::Take(
    Store* store, AuditLog* log, cohortlink::v1::AuditEntry entry,
    const std::string& dir, const std::string& key_check_file,
    const keys::SigningKey& key, const std::string& server_version) {
  std::error_code ec;
  fs::remove_all(dir, ec);  // what a crashed backup left
  if (ec) return FsError(ec, absl::StrCat("remove ", dir));
  if (!fs::create_directory(dir, ec) || ec)
    return FsError(ec, absl::StrCat("create ", dir));
  auto snap = std::unique_ptr<BackupSnapshot>(new BackupSnapshot(dir));
  const std::string db_copy = absl::StrCat(dir, "/", kBackupDbDir);
  ASSIGN_OR_RETURN(CheckpointState cp,
                   log->AppendAndCopy(std::move(entry), [&] {
                     return store->Checkpoint(db_copy);
                   }));
  cohortlink::v1::BackupManifest& m = snap->manifest_;
  m.set_format(kBackupFormat);
  m.set_created(util::FormatUtc(absl::Now()));
  m.set_server_version(server_version);
  m.set_storage_format(kStorageFormat);
  m.set_access_log_entries(cp.log_size);
  m.set_access_log_last_leaf(util::HexEncode(cp.last_leaf));
  m.set_tree_head_size(cp.head_size);
  m.set_tree_head_root(util::HexEncode(cp.head_root));
  m.set_signing_key_sha256(util::HexEncode(key.fingerprint()));
  if (fs::exists(key_check_file, ec)) {
    m.set_encrypted_at_rest(true);
    RETURN_IF_ERROR(CopyDurably(
        key_check_file, absl::StrCat(dir, "/", kBackupKeyCheckFile), 0600));
  }
  {
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(
                                 absl::StrCat(dir, "/", kBackupPublicKeyFile),
                                 0644, /*overwrite=*/false));
    RETURN_IF_ERROR(f->Write(key.public_key_pem()));
    RETURN_IF_ERROR(f->Commit());
  }
  ASSIGN_OR_RETURN(std::vector<std::string> files, ListBackupFiles(dir));
  for (const std::string& path : files) {
    RETURN_IF_ERROR(CheckBackupPath(path));
    auto* f = m.add_files();
    f->set_path(path);
    uint64_t size = 0;
    ASSIGN_OR_RETURN(*f->mutable_sha256(),
                     Sha256File(absl::StrCat(dir, "/", path), &size));
    f->set_bytes(size);
  }
  m.add_keep_separately(absl::StrCat(
      "the access-log signing key (", kSigningKeyFile,
      " in the data directory): a restore needs it, and it must not sit "
      "with the backups, or whoever holds them can sign a changed log"));
  if (m.encrypted_at_rest()) {
    m.add_keep_separately(
        "the data key file (--data-key-file): the database files in this "
        "backup are encrypted with it and cannot be read without it");
  }
  m.add_keep_separately(
      "the CA key (ca-key.pem), offline: it issues and revokes every "
      "certificate");
  ASSIGN_OR_RETURN(std::string sig, key.Sign(ManifestSignedBytes(m)));
  m.set_signature(util::HexEncode(sig));
  return snap;
}

BackupSnapshot::~BackupSnapshot() {
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

absl::StatusOr<RestoreSummary> RestoreBackup(const std::string& backup_dir,
                                             const std::string& data_dir,
                                             const RestoreOptions& options) {
  ASSIGN_OR_RETURN(cohortlink::v1::BackupManifest m, ReadManifest(backup_dir));
  if (m.storage_format() > kStorageFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the backup's database is storage format ", m.storage_format(),
        ", newer than this build's (", kStorageFormat,
        "): restore it with the release that made it"));
  }
  if (options.signing_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--signing-key is required: the access-log signing key kept apart "
        "from the backups");
  }
  ASSIGN_OR_RETURN(auto key, keys::SigningKey::Load(options.signing_key_file));
  if (util::HexEncode(key->fingerprint()) != m.signing_key_sha256()) {
    return absl::FailedPreconditionError(absl::StrCat(
        options.signing_key_file,
        " is not the access-log signing key of the server this backup is "
        "from"));
  }
  RETURN_IF_ERROR(VerifyBackup(backup_dir, m, key->public_key_pem()));
  if (m.encrypted_at_rest() && options.data_key_file.empty()) {
    return absl::FailedPreconditionError(
        "the backup's database is encrypted: give its data key "
        "(--data-key-file or COHORTLINK_DATA_KEY_FILE)");
  }
  std::error_code ec;
  if (fs::exists(data_dir, ec) && !fs::is_empty(data_dir, ec)) {
    return absl::FailedPreconditionError(absl::StrCat(
        data_dir, " is not empty: restore into a new data directory"));
  }
  if (ec) return FsError(ec, absl::StrCat("inspect ", data_dir));
  const std::string staging = absl::StrCat(data_dir, ".restoring");
  fs::remove_all(staging, ec);
  if (ec) return FsError(ec, absl::StrCat("remove ", staging));
  fs::create_directories(staging + "/" + kDataDbDir, ec);
  if (ec) return FsError(ec, absl::StrCat("create ", staging));
  fs::permissions(staging, fs::perms::owner_all, ec);
  util::RemoveUnlessKept cleanup(staging);
  for (const auto& f : m.files()) {
    const bool is_public = f.path() == kBackupPublicKeyFile;
    RETURN_IF_ERROR(CopyDurably(absl::StrCat(backup_dir, "/", f.path()),
                                absl::StrCat(staging, "/", f.path()),
                                is_public ? 0644 : 0600));
  }
  // The copies are what the manifest lists (a disk between the check and
  // the copy could have changed them).
  {
    cohortlink::v1::BackupManifest copied = m;
    RETURN_IF_ERROR(VerifyBackup(staging, copied, key->public_key_pem()));
  }
  RETURN_IF_ERROR(CopyDurably(options.signing_key_file,
                              absl::StrCat(staging, "/", kSigningKeyFile),
                              0600));
  CheckpointState cp;
  cp.log_size = m.access_log_entries();
  ASSIGN_OR_RETURN(cp.last_leaf, util::HexDecode(m.access_log_last_leaf()));
  cp.head_size = m.tree_head_size();
  ASSIGN_OR_RETURN(cp.head_root, util::HexDecode(m.tree_head_root()));
  cp.key_fingerprint = key->fingerprint();
  const std::string cp_path = absl::StrCat(staging, "/", kAuditCheckpointFile);
  {
    ASSIGN_OR_RETURN(auto checkpoint, AuditCheckpoint::Open(cp_path));
    RETURN_IF_ERROR(checkpoint->Save(cp));
  }
  RestoreSummary summary;
  {
    // What the server checks at start: the database opens, and its access
    // log is the one the manifest describes.
    ASSIGN_OR_RETURN(auto db,
                     Store::Open(absl::StrCat(staging, "/", kDataDbDir),
                                 options.data_key_file));
    ASSIGN_OR_RETURN(auto log,
                     AuditLog::Create(
                         db.get(), [] { return absl::Now(); }, cp_path));
    std::vector<std::string> problems = log->CheckIntegrity(key->fingerprint());
    if (!problems.empty() || log->size() != cp.log_size) {
      return absl::DataLossError(absl::StrCat(
          "the restored database does not match the backup's manifest: ",
          problems.empty() ? "its access log has a different length"
                           : problems.front()));
    }
    summary.access_log_entries = log->size();
    ASSIGN_OR_RETURN(auto extracts,
                     ExtractStore::Create(db.get(), {}, nullptr));
    ASSIGN_OR_RETURN(auto all, extracts->List(""));
    summary.extracts = all.size();
    for (const auto& x : all) summary.records += x.records();
  }
  if (fs::exists(data_dir, ec)) fs::remove(data_dir, ec);  // empty
  if (ec) return FsError(ec, absl::StrCat("remove the empty ", data_dir));
  fs::rename(staging, data_dir, ec);
  if (ec) return FsError(ec, absl::StrCat("rename into ", data_dir));
  cleanup.Keep();
  return summary;
}

}  // namespace cohortlink::store
