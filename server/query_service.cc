#include "server/query_service.h"

#include "absl/strings/str_cat.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/query_space.h"
#include "linkage/cohort/query_spec.h"
#include "server/call.h"
#include "util/status_macros.h"

namespace cohortlink::server {
namespace {

absl::StatusOr<cohortlink::v1::QueryResult> Answer(
    const ServerConfig& config, entities::LinkageRunner* runner,
    cohort::DifferencingControl* differencing,
    const cohortlink::v1::CohortQuery& q, const cohort::StopRequested& stop) {
  RETURN_IF_ERROR(cohort::ValidateQuery(q));
  RETURN_IF_ERROR(cohort::CheckQuerySpace(q, config.query_space));
  cohortlink::v1::DisclosurePolicy base;
  base.set_threshold(config.disclosure_threshold);
  base.set_rounding(config.disclosure_rounding);
  ASSIGN_OR_RETURN(auto policy, cohort::EffectivePolicy(base, q.disclosure()));
  ASSIGN_OR_RETURN(auto index, runner->ServingIndex());
  ASSIGN_OR_RETURN(cohort::RawTable raw, cohort::Evaluate(*index, q, stop));
  ASSIGN_OR_RETURN(cohortlink::v1::QueryResult r,
                   differencing->Protect(raw, policy, base.threshold()));
  r.set_name(q.name());
  r.set_linkage_generation(index->generation);
  r.set_linked_at(index->linked_at);
  return r;
}

}  // namespace

grpc::Status QueryService::RunQuery(grpc::ServerContext* ctx,
                                    const cohortlink::v1::CohortQuery* req,
                                    cohortlink::v1::QueryResult* resp) {
  Call call(ctx, config_, audit_, Method::kRunQuery, req->name());
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  // Recorded once authorised (and bounded by the access log), so a caller
  // without the analyst role cannot fill the log with large specifications.
  call.entry().set_query(cohort::QueryToJson(*req));
  auto r = Answer(*config_, runner_, differencing_, *req,
                  [ctx] { return ctx->IsCancelled(); });
  if (r.ok()) {
    call.entry().set_cells(static_cast<uint32_t>(r->cells_size()));
    call.entry().set_suppressed(static_cast<uint32_t>(r->suppressed_cells()));
    call.entry().set_differenced(r->differenced());
    *resp = *std::move(r);
  }
  return call.Finish(r.status());
}

}  // namespace cohortlink::server
