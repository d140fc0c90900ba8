#include "server/query_service.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "keys/mac.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/cohort/query_space.h"
#include "linkage/cohort/query_spec.h"
#include "server/call.h"
#include "util/error_details.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::server {
namespace {

double Rho(uint64_t micro) {
  return static_cast<double>(micro) / cohort::kMicro;
}

// The account as the analyst and the IG lead see it. The (epsilon,
// delta) guarantee of rho-zCDP is epsilon = rho + 2 sqrt(rho ln(1/delta))
// (Bun and Steinke 2016, Proposition 1.3).
cohortlink::v1::PrivacyBudget BudgetView(const ProjectConfig& p,
                                         const store::BudgetAccount& a) {
  cohortlink::v1::PrivacyBudget b;
  b.set_project(p.name);
  b.set_rho_total(Rho(p.rho_total));
  b.set_rho_spent(Rho(a.spent));
  b.set_rho_left(Rho(a.spent >= p.rho_total ? 0 : p.rho_total - a.spent));
  b.set_answers(a.queries);
  const double rho = Rho(a.spent);
  b.set_epsilon(rho + 2 * std::sqrt(rho * std::log(1 / p.delta)));
  b.set_delta(p.delta);
  return b;
}

absl::Status Spent(const ProjectConfig& p, const store::BudgetAccount& a,
                   uint64_t charge) {
  return util::WithQuotaViolation(
      absl::ResourceExhaustedError(absl::StrFormat(
          "the privacy budget of project %s is spent: %.6g of %.6g rho used "
          "in %d answers, and this query needs %.6g. Nothing was answered or "
          "charged",
          p.name, Rho(a.spent), Rho(p.rho_total), a.queries, Rho(charge))),
      absl::StrCat("project/", p.name), "privacy budget (rho)");
}

// What a budgeted answer depends on, digested: the question (serialized
// deterministically), the policy, the noise's variance, the codelists of
// its breakdowns and the linkage run it was counted on. The same key means
// the same answer may be given again, free: it is post-processing of one
// already paid for.
std::string AnswerKey(const cohortlink::v1::CohortQuery& q,
                      const cohortlink::v1::DisclosurePolicy& policy,
                      uint64_t sigma2, const cohort::QuerySpace& space,
                      uint64_t generation) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    q.SerializeToCodedStream(&coded);
    policy.SerializeToCodedStream(&coded);
  }
  keys::Sha256 h;
  h.Update("cohortlink/answer-key/v1\n");
  h.Update(absl::StrCat(bytes.size(), ":"));
  h.Update(bytes);
  h.Update(absl::StrCat(sigma2, "/", generation, "/"));
  for (const auto& b : q.breakdowns()) {
    auto it = space.codelists.find(b);
    if (it == space.codelists.end()) continue;
    for (const auto& v : it->second) h.Update(absl::StrCat(v.size(), ":", v));
    h.Update("/");
  }
  return util::HexEncode(h.Finish());
}

}  // namespace

absl::StatusOr<cohortlink::v1::QueryResult> QueryService::Answer(
    const cohortlink::v1::CohortQuery& q, const ProjectConfig* project,
    const cohort::StopRequested& stop, uint64_t* charged) {
  RETURN_IF_ERROR(cohort::ValidateQuery(q));
  RETURN_IF_ERROR(cohort::CheckQuerySpace(q, config_->query_space));
  cohortlink::v1::DisclosurePolicy base;
  base.set_threshold(config_->disclosure_threshold);
  base.set_rounding(config_->disclosure_rounding);
  ASSIGN_OR_RETURN(auto policy, cohort::EffectivePolicy(base, q.disclosure()));
  const bool private_mode = project != nullptr && project->private_mode;
  uint64_t charge = 0, sigma2 = 0;
  if (private_mode) {
    RETURN_IF_ERROR(cohort::CheckPrivateShape(q, config_->query_space));
    charge = project->rho_per_query;
    if (q.privacy_rho() != 0) {
      const double micro = std::round(q.privacy_rho() * cohort::kMicro);
      if (!(micro >= 1) || micro > static_cast<double>(project->rho_total)) {
        return util::WithFieldViolation(
            absl::InvalidArgumentError(absl::StrFormat(
                "privacy_rho: must be 0.000001 to the project's budget of "
                "%.6g",
                Rho(project->rho_total))),
            "privacy_rho", "out of range");
      }
      charge = static_cast<uint64_t>(micro);
    }
    ASSIGN_OR_RETURN(sigma2,
                     cohort::NoiseVariance(cohort::CountsPerPerson(q), charge));
  } else if (q.privacy_rho() != 0) {
    return util::WithFieldViolation(
        absl::InvalidArgumentError(
            "privacy_rho: only a project with a privacy budget spends one"),
        "privacy_rho", "not in a project with a privacy budget");
  }
  ASSIGN_OR_RETURN(auto index, runner_->ServingIndex());
  std::string key;
  if (private_mode) {
    // The same question on the same linkage: the answer already paid for.
    key = AnswerKey(q, policy, sigma2, config_->query_space, index->generation);
    ASSIGN_OR_RETURN(auto kept, budgets_->Answer(project->name, key));
    if (kept.has_value()) {
      cohortlink::v1::QueryResult again;
      if (!again.ParseFromString(*kept))
        return absl::DataLossError("a kept answer does not parse");
      ASSIGN_OR_RETURN(store::BudgetAccount now, budgets_->Get(project->name));
      const double sd = again.budget().noise_sd();
      *again.mutable_budget() = BudgetView(*project, now);
      again.mutable_budget()->set_noise_sd(sd);
      again.mutable_budget()->set_repeated(true);
      return again;
    }
    // Refused before any work when it cannot be afforded (and again,
    // atomically, when charged).
    ASSIGN_OR_RETURN(store::BudgetAccount before, budgets_->Get(project->name));
    if (before.spent > project->rho_total ||
        charge > project->rho_total - before.spent)
      return Spent(*project, before, charge);
  }
  ASSIGN_OR_RETURN(
      cohort::RawTable raw,
      cohort::Evaluate(*index, q, stop,
                       {.absent_breakdowns_unknown = private_mode}));
  cohortlink::v1::QueryResult r;
  if (!private_mode) {
    ASSIGN_OR_RETURN(r, differencing_->Protect(raw, policy, base.threshold()));
  } else {
    cohort::UniformSource noise(noise_);
    ASSIGN_OR_RETURN(r, cohort::PrivateAnswer(raw, config_->query_space, policy,
                                              sigma2, noise));
  }
  r.set_name(q.name());
  r.set_linkage_generation(index->generation);
  r.set_linked_at(index->linked_at);
  if (private_mode) {
    r.mutable_budget()->set_noise_sd(std::sqrt(static_cast<double>(sigma2)));
    // Charged, and the answer kept, in one synced write before it is
    // returned: an answer the caller never receives is still paid for,
    // never the reverse.
    auto account = budgets_->Charge(project->name, charge, project->rho_total,
                                    key, r.SerializeAsString());
    if (absl::IsResourceExhausted(account.status())) {
      ASSIGN_OR_RETURN(store::BudgetAccount now, budgets_->Get(project->name));
      return Spent(*project, now, charge);
    }
    RETURN_IF_ERROR(account.status());
    *charged = charge;
    *r.mutable_budget() = BudgetView(*project, *account);
    r.mutable_budget()->set_rho_charged(Rho(charge));
    r.mutable_budget()->set_noise_sd(std::sqrt(static_cast<double>(sigma2)));
  }
  return r;
}

grpc::Status QueryService::RunQuery(grpc::ServerContext* ctx,
                                    const cohortlink::v1::CohortQuery* req,
                                    cohortlink::v1::QueryResult* resp) {
  Call call(ctx, config_, audit_, Method::kRunQuery, req->name());
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  // Recorded once authorised (and bounded by the access log), so a caller
  // without the analyst role cannot fill the log with large specifications.
  call.entry().set_query(cohort::QueryToJson(*req));
  auto project = call.Project(req->project());
  if (!project.ok()) return call.Finish(project.status());
  uint64_t charged = 0;
  auto r = Answer(
      *req, *project, [ctx] { return ctx->IsCancelled(); }, &charged);
  call.entry().set_rho_micro(charged);
  if (r.ok()) {
    call.entry().set_cells(static_cast<uint32_t>(r->cells_size()));
    call.entry().set_suppressed(static_cast<uint32_t>(r->suppressed_cells()));
    call.entry().set_differenced(r->differenced());
    *resp = *std::move(r);
  }
  return call.Finish(r.status());
}

grpc::Status QueryService::GetBudget(grpc::ServerContext* ctx,
                                     const cohortlink::v1::BudgetRequest* req,
                                     cohortlink::v1::PrivacyBudget* resp) {
  Call call(ctx, config_, audit_, Method::kGetBudget, req->project());
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  auto project = call.Project(req->project());
  if (!project.ok()) return call.Finish(project.status());
  if (*project == nullptr) {
    return call.Finish(absl::InvalidArgumentError(
        "project: name the project whose budget to show (--project)"));
  }
  if (!(*project)->private_mode) {
    return call.Finish(absl::FailedPreconditionError(absl::StrCat(
        "project ", (*project)->name,
        " has no privacy budget: its answers are protected by cell-key "
        "perturbation, suppression and the differencing rule")));
  }
  auto account = budgets_->Get((*project)->name);
  if (account.ok()) *resp = BudgetView(**project, *account);
  return call.Finish(account.status());
}

}  // namespace cohortlink::server
