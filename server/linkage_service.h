#ifndef COHORTLINK_SERVER_LINKAGE_SERVICE_H_
#define COHORTLINK_SERVER_LINKAGE_SERVICE_H_

#include <functional>
#include <string>
#include <vector>

#include "cohortlink/v1/linkage.grpc.pb.h"
#include "linkage/entities/linkage_runner.h"
#include "linkage/store/audit_log.h"
#include "server/config.h"

namespace cohortlink::server {

// gRPC adapter for cohortlink.v1.LinkageService over the linkage runner:
// the linkage map for linkage-export, the model, retraining, the state.
// Every call, allowed or denied, leaves exactly one audit entry (an export
// records how many rows it sent). Thread-safe.
class LinkageService final : public cohortlink::v1::LinkageService::Service {
 public:
  LinkageService(
      const ServerConfig* config, entities::LinkageRunner* runner,
      store::ExtractStore* extracts, store::AuditLog* audit,
      std::function<std::vector<std::string>()> admin_warnings = nullptr)
      : config_(config),
        runner_(runner),
        extracts_(extracts),
        audit_(audit),
        admin_warnings_(std::move(admin_warnings)) {}

  grpc::Status ExportLinks(
      grpc::ServerContext* ctx, const cohortlink::v1::ExportLinksRequest* req,
      grpc::ServerWriter<cohortlink::v1::ExportLinksResponse>* writer) override;
  grpc::Status GetModel(grpc::ServerContext* ctx,
                        const cohortlink::v1::GetModelRequest* req,
                        cohortlink::v1::LinkageModel* resp) override;
  grpc::Status RetrainModel(grpc::ServerContext* ctx,
                            const cohortlink::v1::RetrainModelRequest* req,
                            cohortlink::v1::LinkageStatus* resp) override;
  grpc::Status GetLinkageStatus(
      grpc::ServerContext* ctx,
      const cohortlink::v1::GetLinkageStatusRequest* req,
      cohortlink::v1::LinkageStatus* resp) override;
  grpc::Status RetireKeyEpoch(
      grpc::ServerContext* ctx,
      const cohortlink::v1::RetireKeyEpochRequest* req,
      cohortlink::v1::RetireKeyEpochResponse* resp) override;
  grpc::Status OpenKeyEpoch(
      grpc::ServerContext* ctx, const cohortlink::v1::OpenKeyEpochRequest* req,
      cohortlink::v1::OpenKeyEpochResponse* resp) override;

 private:
  const ServerConfig* config_;
  entities::LinkageRunner* runner_;
  store::ExtractStore* extracts_;
  store::AuditLog* audit_;
  std::function<std::vector<std::string>()> admin_warnings_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_LINKAGE_SERVICE_H_
