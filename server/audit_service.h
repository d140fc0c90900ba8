#ifndef COHORTLINK_SERVER_AUDIT_SERVICE_H_
#define COHORTLINK_SERVER_AUDIT_SERVICE_H_

#include <functional>
#include <memory>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cohortlink/v1/audit.grpc.pb.h"
#include "keys/signing.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/store.h"
#include "server/config.h"

namespace cohortlink::server {

// Issues signed tree heads over the access log with the server's Ed25519
// key and keeps the latest in the store. Thread-safe.
class TreeHeads {
 public:
  TreeHeads(
      store::Store* store, store::AuditLog* log,
      std::unique_ptr<keys::SigningKey> key,
      std::function<absl::Time()> now = [] { return absl::Now(); })
      : store_(store), log_(log), key_(std::move(key)), now_(std::move(now)) {}

  // Signs the log as it is now, stores and returns the head.
  absl::StatusOr<cohortlink::v1::SignedTreeHead> Issue();
  // Issues one when the log grew by `entries` or `interval` passed since
  // the last (the server calls this periodically, and Issue on shutdown).
  absl::Status MaybeIssue(uint64_t entries, absl::Duration interval);
  const std::string& public_key_pem() const { return key_->public_key_pem(); }
  // When the last head was issued (InfinitePast before the first).
  absl::Time last_issued() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return last_time_;
  }
  // The signing key (its Sign is thread-safe); backups sign with it too.
  const keys::SigningKey& key() const { return *key_; }

 private:
  store::Store* store_;
  store::AuditLog* log_;
  std::unique_ptr<keys::SigningKey> key_;
  std::function<absl::Time()> now_;
  absl::Mutex mu_;
  uint64_t last_size_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Time last_time_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
};

// gRPC adapter for cohortlink.v1.AuditService (role auditor). Its own calls
// are audited like every other.
class AuditService final : public cohortlink::v1::AuditService::Service {
 public:
  AuditService(const ServerConfig* config, store::AuditLog* audit,
               TreeHeads* heads)
      : config_(config), audit_(audit), heads_(heads) {}

  grpc::Status GetSignedTreeHead(
      grpc::ServerContext* ctx,
      const cohortlink::v1::GetSignedTreeHeadRequest* req,
      cohortlink::v1::SignedTreeHead* resp) override;
  grpc::Status GetEntries(grpc::ServerContext* ctx,
                          const cohortlink::v1::GetEntriesRequest* req,
                          cohortlink::v1::GetEntriesResponse* resp) override;
  grpc::Status GetInclusionProof(
      grpc::ServerContext* ctx,
      const cohortlink::v1::GetInclusionProofRequest* req,
      cohortlink::v1::AuditProof* resp) override;
  grpc::Status GetConsistencyProof(
      grpc::ServerContext* ctx,
      const cohortlink::v1::GetConsistencyProofRequest* req,
      cohortlink::v1::AuditProof* resp) override;

 private:
  const ServerConfig* config_;
  store::AuditLog* audit_;
  TreeHeads* heads_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_AUDIT_SERVICE_H_
