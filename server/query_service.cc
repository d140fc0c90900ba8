#include "server/query_service.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/cohort/query_space.h"
#include "linkage/cohort/query_spec.h"
#include "server/call.h"
#include "util/error_details.h"
#include "util/status_macros.h"

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
    // Refused before any work when it cannot be afforded (and again,
    // atomically, when charged).
    ASSIGN_OR_RETURN(store::BudgetAccount before, budgets_->Get(project->name));
    if (before.spent > project->rho_total ||
        charge > project->rho_total - before.spent)
      return Spent(*project, before, charge);
  } else if (q.privacy_rho() != 0) {
    return util::WithFieldViolation(
        absl::InvalidArgumentError(
            "privacy_rho: only a project with a privacy budget spends one"),
        "privacy_rho", "not in a project with a privacy budget");
  }
  ASSIGN_OR_RETURN(auto index, runner_->ServingIndex());
  ASSIGN_OR_RETURN(
      cohort::RawTable raw,
      cohort::Evaluate(*index, q, stop,
                       {.absent_breakdowns_unknown = private_mode}));
  cohortlink::v1::QueryResult r;
  if (private_mode) {
    // Charged (one synced write) before any noisy count exists: an answer
    // the caller never receives is still paid for, never the reverse.
    auto account = budgets_->Charge(project->name, charge, project->rho_total);
    if (absl::IsResourceExhausted(account.status())) {
      ASSIGN_OR_RETURN(store::BudgetAccount now, budgets_->Get(project->name));
      return Spent(*project, now, charge);
    }
    RETURN_IF_ERROR(account.status());
    *charged = charge;
    cohort::UniformSource noise(noise_);
    ASSIGN_OR_RETURN(r, cohort::PrivateAnswer(raw, config_->query_space, policy,
                                              sigma2, noise));
    *r.mutable_budget() = BudgetView(*project, *account);
    r.mutable_budget()->set_rho_charged(Rho(charge));
    r.mutable_budget()->set_noise_sd(std::sqrt(static_cast<double>(sigma2)));
  } else {
    ASSIGN_OR_RETURN(r, differencing_->Protect(raw, policy, base.threshold()));
  }
  r.set_name(q.name());
  r.set_linkage_generation(index->generation);
  r.set_linked_at(index->linked_at);
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
