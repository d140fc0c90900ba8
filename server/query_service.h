#ifndef COHORTLINK_SERVER_QUERY_SERVICE_H_
#define COHORTLINK_SERVER_QUERY_SERVICE_H_

#include "cohortlink/v1/query.grpc.pb.h"
#include "linkage/cohort/differencing.h"
#include "linkage/entities/linkage_runner.h"
#include "linkage/store/audit_log.h"
#include "server/config.h"

namespace cohortlink::server {

// gRPC adapter for cohortlink.v1.QueryService: analysts' cohort queries,
// answered from the linkage's query index under the server's disclosure
// policy (an analyst may only tighten it) and the differencing rule across
// queries. Every query, allowed or denied, is audited with its full
// specification and the shape of its answer.
class QueryService final : public cohortlink::v1::QueryService::Service {
 public:
  QueryService(const ServerConfig* config, entities::LinkageRunner* runner,
               cohort::DifferencingControl* differencing,
               store::AuditLog* audit)
      : config_(config),
        runner_(runner),
        differencing_(differencing),
        audit_(audit) {}

  grpc::Status RunQuery(grpc::ServerContext* ctx,
                        const cohortlink::v1::CohortQuery* req,
                        cohortlink::v1::QueryResult* resp) override;

 private:
  const ServerConfig* config_;
  entities::LinkageRunner* runner_;
  cohort::DifferencingControl* differencing_;
  store::AuditLog* audit_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_QUERY_SERVICE_H_
