// cohortlink evaluate: score a linkage map against the truth.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "linkage/eval/evaluate.h"
#include "util/status_macros.h"

namespace cohortlink::client {
namespace {

struct EvaluateArgs {
  std::string links, truth, truth_from;
  std::vector<std::string> key_maps;
  std::string format = "table";
};

google::protobuf::Value ScoresJson(const eval::PairScores& s) {
  google::protobuf::Value v;
  auto* f = v.mutable_struct_value()->mutable_fields();
  (*f)["precision"] = JsonNumber(s.precision);
  (*f)["recall"] = JsonNumber(s.recall);
  (*f)["f1"] = JsonNumber(s.f1);
  (*f)["true_positive_pairs"] =
      JsonNumber(static_cast<double>(s.true_positive));
  (*f)["predicted_pairs"] = JsonNumber(static_cast<double>(s.predicted));
  (*f)["true_pairs"] = JsonNumber(static_cast<double>(s.actual));
  return v;
}

std::string ScoresText(const eval::PairScores& s) {
  return absl::StrFormat(
      "precision %.4f  recall %.4f  F1 %.4f  (%s of %s linked pairs "
      "correct, %s true pairs)",
      s.precision, s.recall, s.f1, WithThousands(s.true_positive),
      WithThousands(s.predicted), WithThousands(s.actual));
}

absl::Status RunEvaluate(const EvaluateArgs& a) {
  if (a.truth.empty() && a.truth_from.empty()) {
    return absl::InvalidArgumentError(
        "give --truth FILE or --truth-from febrl|id");
  }
  eval::Truth truth;
  if (!a.truth.empty()) RETURN_IF_ERROR(truth.LoadTruthCsv(a.truth));
  if (!a.truth_from.empty()) RETURN_IF_ERROR(truth.SetDerivation(a.truth_from));
  for (const auto& km : a.key_maps) {
    size_t eq = km.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("--key-map takes AGENCY=FILE, not '", km, "'"));
    }
    RETURN_IF_ERROR(truth.LoadKeyMap(km.substr(0, eq), km.substr(eq + 1)));
  }
  ASSIGN_OR_RETURN(std::vector<eval::LinkRow> links, eval::ReadLinks(a.links));
  eval::Metrics m = eval::Evaluate(links, truth);
  if (m.records == 0) {
    return absl::InvalidArgumentError(
        "no record of the linkage map is in the truth (check --key-map AGENCY "
        "names)");
  }
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["records"] = JsonNumber(static_cast<double>(m.records));
    (*f)["records_not_in_truth"] =
        JsonNumber(static_cast<double>(m.unknown_records));
    (*f)["entities"] = JsonNumber(static_cast<double>(m.entities));
    (*f)["persons"] = JsonNumber(static_cast<double>(m.persons));
    (*f)["pairwise"] = ScoresJson(m.pairwise);
    (*f)["cross_agency"] = ScoresJson(m.cross_agency);
    (*f)["within_agency"] = ScoresJson(m.within_agency);
    auto* b = (*f)["bcubed"].mutable_struct_value()->mutable_fields();
    (*b)["precision"] = JsonNumber(m.bcubed_precision);
    (*b)["recall"] = JsonNumber(m.bcubed_recall);
    (*b)["f1"] = JsonNumber(m.bcubed_f1);
    auto* sweep = (*f)["threshold_sweep"].mutable_list_value();
    for (const auto& t : m.sweep) {
      google::protobuf::Value s = ScoresJson(t.pairwise);
      (*s.mutable_struct_value()->mutable_fields())["threshold"] =
          JsonNumber(t.threshold);
      (*s.mutable_struct_value()->mutable_fields())["entities"] =
          JsonNumber(static_cast<double>(t.entities));
      *sweep->add_values() = s;
    }
    PrintJson(v);
    return absl::OkStatus();
  }
  PrintKeyValues(
      {{"records",
        absl::StrCat(WithThousands(m.records),
                     m.unknown_records > 0
                         ? absl::StrCat(" (", WithThousands(m.unknown_records),
                                        " not in the truth, excluded)")
                         : "")},
       {"entities", absl::StrCat(WithThousands(m.entities), " linked, ",
                                 WithThousands(m.persons), " true persons")},
       {"pairwise", ScoresText(m.pairwise)},
       {"cross-agency", ScoresText(m.cross_agency)},
       {"within-agency", ScoresText(m.within_agency)},
       {"B-cubed",
        absl::StrFormat("precision %.4f  recall %.4f  F1 %.4f",
                        m.bcubed_precision, m.bcubed_recall, m.bcubed_f1)}});
  std::cout
      << "\npairwise scores when links below a match probability are dropped\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& t : m.sweep) {
    rows.push_back({absl::StrFormat("%.2f", t.threshold),
                    absl::StrFormat("%.4f", t.pairwise.precision),
                    absl::StrFormat("%.4f", t.pairwise.recall),
                    absl::StrFormat("%.4f", t.pairwise.f1),
                    WithThousands(t.entities)});
  }
  PrintTable({"threshold", "precision", "recall", "F1", "entities"}, rows);
  return absl::OkStatus();
}

}  // namespace

void RegisterEvaluate(CLI::App& app, Context* ctx) {
  auto a = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate", "Score a linkage map (export-links CSV) against the truth");
  cmd->add_option(
         "--links", a->links,
         "Linkage map: agency,extract,record_key,entity_id,match_probability")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--truth", a->truth, "truth.csv (agency,local_id,person_id)")
      ->check(CLI::ExistingFile);
  cmd->add_option(
      "--key-map", a->key_maps,
      "AGENCY=FILE: an encode --key-map file (local_id,record_key); repeat "
      "per agency");
  cmd->add_option("--truth-from", a->truth_from,
                  "Derive the person from local ids: febrl (rec-N-...) or id "
                  "(NCVR recid)")
      ->check(CLI::IsMember({"febrl", "id"}));
  cmd->add_option("--format", a->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback([ctx, a] { ctx->run = [a] { return RunEvaluate(*a); }; });
}

}  // namespace cohortlink::client
