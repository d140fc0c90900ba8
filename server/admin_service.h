#ifndef COHORTLINK_SERVER_ADMIN_SERVICE_H_
#define COHORTLINK_SERVER_ADMIN_SERVICE_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "cohortlink/v1/admin.grpc.pb.h"
#include "keys/signing.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/store.h"
#include "server/call.h"
#include "server/config.h"

namespace cohortlink::server {

// gRPC adapter for cohortlink.v1.AdminService (role admin): backups of the
// serving database. One backup at a time; a second is refused with
// RESOURCE_EXHAUSTED. Every call leaves an audit entry; a backup's own
// entry is inside the copy it sends.
class AdminService final : public cohortlink::v1::AdminService::Service {
 public:
  AdminService(const ServerConfig* config, store::Store* store,
               store::AuditLog* audit, const keys::SigningKey* key)
      : config_(config), store_(store), audit_(audit), key_(key) {}

  grpc::Status CreateBackup(
      grpc::ServerContext* ctx, const cohortlink::v1::CreateBackupRequest* req,
      grpc::ServerWriter<cohortlink::v1::BackupChunk>* writer) override;

  // Where a backup's copy is made while it is sent (inside the data
  // directory, on the database's file system). A copy left by a crash is
  // removed by the next backup, or at start (RemoveLeftovers).
  static std::string SnapshotDir(const std::string& data_dir);
  static void RemoveLeftovers(const std::string& data_dir);

 private:
  // The backup itself, once this is the only one.
  grpc::Status Backup(Call* call,
                      grpc::ServerWriter<cohortlink::v1::BackupChunk>* writer)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(backup_mu_);

  const ServerConfig* config_;
  store::Store* store_;
  store::AuditLog* audit_;
  const keys::SigningKey* key_;
  absl::Mutex backup_mu_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_ADMIN_SERVICE_H_
