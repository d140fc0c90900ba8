#ifndef COHORTLINK_SERVER_QUERY_SERVICE_H_
#define COHORTLINK_SERVER_QUERY_SERVICE_H_

#include "cohortlink/v1/query.grpc.pb.h"
#include "linkage/cohort/differencing.h"
#include "linkage/cohort/discrete_gaussian.h"
#include "linkage/entities/linkage_runner.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/privacy_budgets.h"
#include "server/config.h"

namespace cohortlink::server {

// gRPC adapter for cohortlink.v1.QueryService: analysts' cohort queries,
// answered from the linkage's query index under the server's disclosure
// policy (an analyst may only tighten it) and the differencing rule across
// queries, or, in a project with a privacy budget, with differentially
// private noise charged to the budget. Every query, allowed or denied, is
// audited with its full specification and the shape of its answer.
class QueryService final : public cohortlink::v1::QueryService::Service {
 public:
  // `noise` is the randomness of differentially private answers
  // (cohort::SystemRandom() in the server).
  QueryService(const ServerConfig* config, entities::LinkageRunner* runner,
               cohort::DifferencingControl* differencing,
               store::PrivacyBudgets* budgets, store::AuditLog* audit,
               cohort::RandomFill noise)
      : config_(config),
        runner_(runner),
        differencing_(differencing),
        budgets_(budgets),
        audit_(audit),
        noise_(std::move(noise)) {}

  grpc::Status RunQuery(grpc::ServerContext* ctx,
                        const cohortlink::v1::CohortQuery* req,
                        cohortlink::v1::QueryResult* resp) override;
  grpc::Status GetBudget(grpc::ServerContext* ctx,
                         const cohortlink::v1::BudgetRequest* req,
                         cohortlink::v1::PrivacyBudget* resp) override;

 private:
  // The answer in `project` (nullptr: none); what a project with a
  // privacy budget was charged goes to `charged` (micro-rho).
  absl::StatusOr<cohortlink::v1::QueryResult> Answer(
      const cohortlink::v1::CohortQuery& q, const ProjectConfig* project,
      const cohort::StopRequested& stop, uint64_t* charged);

  const ServerConfig* config_;
  entities::LinkageRunner* runner_;
  cohort::DifferencingControl* differencing_;
  store::PrivacyBudgets* budgets_;
  store::AuditLog* audit_;
  cohort::RandomFill noise_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_QUERY_SERVICE_H_
