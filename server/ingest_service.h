#ifndef COHORTLINK_SERVER_INGEST_SERVICE_H_
#define COHORTLINK_SERVER_INGEST_SERVICE_H_

#include <functional>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/extract_store.h"
#include "server/config.h"

namespace cohortlink::server {

// gRPC adapter for cohortlink.v1.IngestService: identifies the caller,
// authorises once, calls the extract store, converts the status. Every
// call, allowed or denied, leaves exactly one audit entry: a change writes
// it in the same write as the change; reads and failures append their own.
// Holds no logic of its own. Thread-safe.
class IngestService final : public cohortlink::v1::IngestService::Service {
 public:
  // `linkage_progress` (may be empty) gives the progress of the linkage
  // run in progress, shown for extracts whose state is LINKING.
  // `on_commit` (may be empty) is told the records and encoded bytes of
  // every committed upload (for metrics).
  IngestService(
      const ServerConfig* config, store::ExtractStore* extracts,
      store::AuditLog* audit,
      std::function<double()> linkage_progress = nullptr,
      std::function<void(uint64_t records, uint64_t bytes)> on_commit = nullptr)
      : config_(config),
        extracts_(extracts),
        audit_(audit),
        linkage_progress_(std::move(linkage_progress)),
        on_commit_(std::move(on_commit)) {}

  grpc::Status Upload(grpc::ServerContext* ctx,
                      grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
                      cohortlink::v1::UploadReceipt* receipt) override;
  grpc::Status ListExtracts(
      grpc::ServerContext* ctx, const cohortlink::v1::ListExtractsRequest* req,
      cohortlink::v1::ListExtractsResponse* resp) override;
  grpc::Status GetExtract(grpc::ServerContext* ctx,
                          const cohortlink::v1::GetExtractRequest* req,
                          cohortlink::v1::ExtractStatus* resp) override;
  grpc::Status DeleteExtract(
      grpc::ServerContext* ctx, const cohortlink::v1::DeleteExtractRequest* req,
      cohortlink::v1::DeleteExtractResponse* resp) override;

 private:
  void AddProgress(cohortlink::v1::ExtractStatus* st) const;

  const ServerConfig* config_;
  store::ExtractStore* extracts_;
  store::AuditLog* audit_;
  std::function<double()> linkage_progress_;
  std::function<void(uint64_t, uint64_t)> on_commit_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_INGEST_SERVICE_H_
