#include "server/admin_service.h"

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "linkage/store/backup.h"
#include "linkage/store/backup_manifest.h"
#include "server/call.h"

namespace cohortlink::server {

std::string AdminService::SnapshotDir(const std::string& data_dir) {
  return data_dir + "/backup-in-progress";
}

void AdminService::RemoveLeftovers(const std::string& data_dir) {
  std::error_code ec;
  std::filesystem::remove_all(SnapshotDir(data_dir), ec);
}

namespace {

// Sends every file of `snap` in chunks, then its manifest.
absl::Status Send(const store::BackupSnapshot& snap,
                  grpc::ServerWriter<cohortlink::v1::BackupChunk>* writer) {
  std::string buf(store::kBackupChunkBytes, '\0');
  for (const auto& f : snap.manifest().files()) {
    const std::string path = absl::StrCat(snap.dir(), "/", f.path());
    std::ifstream in(path, std::ios::binary);
    if (!in) return absl::InternalError(absl::StrCat("cannot read ", path));
    bool first = true;
    uint64_t sent = 0;
    while (first || sent < f.bytes()) {
      // Never past the size the manifest gives (the copy's files are
      // immutable; this keeps the stream to what was hashed).
      in.read(buf.data(), static_cast<std::streamsize>(std::min<uint64_t>(
                              buf.size(), f.bytes() - sent)));
      const auto n =
          static_cast<size_t>(std::max<std::streamsize>(0, in.gcount()));
      if (in.bad() || (n == 0 && sent < f.bytes())) {
        return absl::DataLossError(absl::StrCat("reading ", path));
      }
      cohortlink::v1::BackupChunk chunk;
      if (first) {
        chunk.set_path(f.path());
        chunk.set_size(f.bytes());
      }
      chunk.set_data(buf.data(), n);
      sent += n;
      first = false;
      if (!writer->Write(chunk))
        return absl::CancelledError("the client went away during the backup");
    }
  }
  cohortlink::v1::BackupChunk last;
  *last.mutable_manifest() = snap.manifest();
  if (!writer->Write(last))
    return absl::CancelledError("the client went away during the backup");
  return absl::OkStatus();
}

}  // namespace

grpc::Status AdminService::CreateBackup(
    grpc::ServerContext* ctx, const cohortlink::v1::CreateBackupRequest*,
    grpc::ServerWriter<cohortlink::v1::BackupChunk>* writer) {
  Call call(ctx, config_, audit_, Method::kCreateBackup, "database");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  if (!backup_mu_.TryLock()) {
    return call.Finish(absl::ResourceExhaustedError(
        "a backup is already being taken; try again when it has finished"));
  }
  grpc::Status result = Backup(&call, writer);
  backup_mu_.Unlock();
  return result;
}

grpc::Status AdminService::Backup(
    Call* call, grpc::ServerWriter<cohortlink::v1::BackupChunk>* writer) {
  // The copy holds its own entry: this backup, by this admin.
  cohortlink::v1::AuditEntry entry = call->entry();
  entry.set_code(0);
  entry.set_message("backup: consistent copy of the database taken");
  auto snap = store::BackupSnapshot::Take(
      store_, audit_, std::move(entry), SnapshotDir(config_->data_dir),
      config_->data_dir + "/" + store::kBackupKeyCheckFile, *key_,
      COHORTLINK_VERSION);
  if (!snap.ok()) return call->Finish(snap.status());
  absl::Status s = Send(**snap, writer);
  if (!s.ok()) {
    call->entry().set_message("backup: sending the copy failed");
    return call->Finish(s);
  }
  return call->Finish(absl::OkStatus(), /*already_audited=*/true);
}

}  // namespace cohortlink::server
