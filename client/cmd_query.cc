// cohortlink query: an analyst's cohort outcome question, answered with
// disclosure-controlled counts.

#include <fstream>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chart.h"
#include "client/commands.h"
#include "client/rpc.h"
#include "cohortlink/v1/query.grpc.pb.h"
#include "linkage/cohort/query_spec.h"
#include "linkage/encoding/csv_writer.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

struct QueryArgs : ConnArgs {
  std::string spec, chart, project;
  double rho = 0;
  bool budget = false;
};

std::string Shown(const cohortlink::v1::PublishedCount& c) {
  return c.suppressed() ? "[c]" : absl::StrCat(c.value());
}

std::string Rate(double r) {
  return r < 0 ? "[c]" : absl::StrFormat("%.1f%%", 100 * r);
}

// Bars of each outcome's rate per cell (cells with every breakdown set,
// then the overall rate); suppressed rates are marked, not drawn.
absl::Status DrawRates(const cohortlink::v1::QueryResult& r,
                       const std::string& path) {
  Chart chart;
  chart.title = r.name().empty() ? "Cohort outcomes" : r.name();
  chart.percent = true;
  chart.series.assign(r.outcome_names().begin(), r.outcome_names().end());
  std::vector<const cohortlink::v1::ResultCell*> cells;
  for (const auto& c : r.cells()) {
    bool full = c.labels_size() > 0;
    for (const auto& l : c.labels()) full &= l != "all";
    if (full) cells.push_back(&c);
  }
  cells.push_back(&r.cells(0));
  for (const auto* c : cells) {
    std::string label = c == &r.cells(0) ? std::string("all")
                                         : absl::StrJoin(c->labels(), " / ");
    chart.bars.push_back({label, 0, 0, /*heading=*/true});
    for (int o = 0; o < c->rates_size(); ++o) {
      ChartBar bar{r.outcome_names(o), c->rates(o), o};
      bar.missing = c->rates(o) < 0;
      chart.bars.push_back(bar);
    }
  }
  return WriteChart(chart, path);
}

void PrintBudget(const cohortlink::v1::PrivacyBudget& b) {
  std::cout << absl::StrFormat(
      "Project %s: privacy budget (zero-concentrated DP)\n"
      "  spent       rho %.6g of %.6g (%.6g left) in %d answer%s\n"
      "  guarantee   (epsilon %.3g, delta %.3g)-DP for the answers so far\n",
      util::Printable(b.project()), b.rho_spent(), b.rho_total(), b.rho_left(),
      b.answers(), b.answers() == 1 ? "" : "s", b.epsilon(), b.delta());
}

absl::Status ShowBudget(const QueryArgs& a) {
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  ASSIGN_OR_RETURN(cohortlink::v1::PrivacyBudget b,
                   GetBudget(channel, a.project));
  if (a.format == "json") {
    PrintJson(b);
  } else {
    PrintBudget(b);
  }
  return absl::OkStatus();
}

absl::Status RunQuery(const QueryArgs& a) {
  if (a.budget) return ShowBudget(a);
  ASSIGN_OR_RETURN(std::string text, util::ReadFile(a.spec));
  ASSIGN_OR_RETURN(cohortlink::v1::CohortQuery q,
                   cohort::ParseQuerySpec(text, a.spec));
  if (!a.project.empty()) q.set_project(a.project);
  if (a.rho != 0) q.set_privacy_rho(a.rho);
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  auto stub = cohortlink::v1::QueryService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 120);
  cohortlink::v1::QueryResult r;
  RETURN_IF_ERROR(FromGrpc(stub->RunQuery(&ctx, q, &r), "query"));
  if (!a.chart.empty()) RETURN_IF_ERROR(DrawRates(r, a.chart));
  if (a.format == "json") {
    PrintJson(r);
    return absl::OkStatus();
  }
  std::vector<std::string> header(r.breakdowns().begin(), r.breakdowns().end());
  header.push_back("cohort");
  for (const auto& o : r.outcome_names()) {
    header.push_back(o);
    header.push_back(o + " %");
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : r.cells()) {
    std::vector<std::string> row(c.labels().begin(), c.labels().end());
    row.push_back(Shown(c.cohort()));
    for (int o = 0; o < c.outcomes_size(); ++o) {
      row.push_back(Shown(c.outcomes(o)));
      row.push_back(Rate(c.rates(o)));
    }
    rows.push_back(std::move(row));
  }
  if (a.format == "csv") {
    PrintCsv(header, rows);
    return absl::OkStatus();
  }
  if (!r.name().empty()) std::cout << util::Printable(r.name()) << "\n\n";
  PrintTable(header, rows);
  if (r.has_budget()) {
    std::cout << absl::StrFormat(
        "\n[c] = suppressed. Differentially private: every count carries "
        "discrete Gaussian noise (standard deviation %.3g); noisy counts "
        "below %d are suppressed, others rounded to a multiple of %d; rates "
        "from the published counts.\n",
        r.budget().noise_sd(), r.policy().threshold(), r.policy().rounding());
    if (r.budget().repeated()) {
      std::cout << "The same question on the same linkage was answered "
                   "before: this is that answer again, charged nothing.\n";
    } else {
      std::cout << absl::StrFormat(
          "This answer spent rho %.6g of project %s's budget.\n",
          r.budget().rho_charged(), util::Printable(r.budget().project()));
    }
  } else {
    std::cout << absl::StrFormat(
        "\n[c] = suppressed. Counts below %d suppressed, others rounded to a "
        "multiple of %d after cell-key perturbation; rates from the "
        "published counts.\n",
        r.policy().threshold(), r.policy().rounding());
  }
  std::cout << absl::StrFormat(
      "Uncertain links below the probability floor: %s. Linkage as of %s "
      "(run %d).\n",
      Shown(r.uncertain()), r.linked_at(), r.linkage_generation());
  if (r.rows_left_out() > 0) {
    std::cout << absl::StrFormat(
        "%d row%s with every count suppressed %s not shown (such a row may "
        "hold no one).\n",
        r.rows_left_out(), r.rows_left_out() == 1 ? "" : "s",
        r.rows_left_out() == 1 ? "is" : "are");
  }
  if (r.differenced() > 0) {
    std::cout << absl::StrFormat(
        "%d of the suppressed counts are of sets of people that differ by "
        "fewer than %d from a count published before (the differencing "
        "rule).\n",
        r.differenced(), r.policy().threshold());
  }
  if (r.has_budget()) PrintBudget(r.budget());
  if (!a.chart.empty()) std::cout << "chart written to " << a.chart << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<cohortlink::v1::PrivacyBudget> GetBudget(
    const std::shared_ptr<grpc::Channel>& channel, const std::string& project) {
  auto stub = cohortlink::v1::QueryService::NewStub(channel);
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  cohortlink::v1::BudgetRequest req;
  req.set_project(project);
  cohortlink::v1::PrivacyBudget b;
  RETURN_IF_ERROR(FromGrpc(stub->GetBudget(&ctx, req, &b), "budget"));
  return b;
}

void RegisterQuery(CLI::App& app, Context* ctx) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* cmd = app.add_subcommand(
      "query", "Ask a cohort outcome question (role analyst)");
  cmd->add_option("--server", args->server, "HOST:PORT of cohortlink-server")
      ->required();
  cmd->add_option("--tls", args->tls,
                  "Directory with ca.pem, cert.pem, key.pem")
      ->required();
  auto* spec =
      cmd->add_option("--spec", args->spec, "Query specification (JSON)")
          ->check(CLI::ExistingFile);
  auto* project = cmd->add_option(
      "--project", args->project,
      "The project the query is for (required for a member of a project; "
      "overrides the spec's \"project\")");
  cmd->add_option("--rho", args->rho,
                  "In a project with a privacy budget: what this answer may "
                  "spend (zCDP rho; default: the project's per-query charge)")
      ->check(CLI::Range(0.000001, 100.0));
  cmd->add_flag("--budget", args->budget,
                "Show the project's privacy budget instead of querying "
                "(charges nothing)")
      ->excludes(spec)
      ->needs(project);
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  cmd->add_option("--chart", args->chart,
                  "Also draw the rates per breakdown cell (FILE.svg or "
                  "FILE.png)");
  cmd->callback([ctx, args] {
    if (args->spec.empty() && !args->budget)
      throw CLI::RequiredError("--spec (or --budget --project)");
    ctx->run = [args] { return RunQuery(*args); };
  });
}

}  // namespace cohortlink::client
