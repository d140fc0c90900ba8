// cohortlink synth: a synthetic five-agency region with known truth.

#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/progress.h"
#include "linkage/synth/synth.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"

namespace cohortlink::client {
namespace {

struct SynthArgs {
  uint64_t people = 0;
  std::string out;
  uint64_t seed = 1;
  double error_rate = 1.0;
  std::string region = "avon-and-somerset";
  std::string error_profile;
  std::string format = "table";
};

absl::Status RunSynth(const SynthArgs& a, const Context& ctx) {
  synth::SynthOptions o;
  o.people = a.people;
  o.out_dir = a.out;
  o.seed = a.seed;
  o.error_rate = a.error_rate;
  o.region = a.region;
  if (!a.error_profile.empty()) {
    ASSIGN_OR_RETURN(std::string text, util::ReadFile(a.error_profile));
    ASSIGN_OR_RETURN(o.rates,
                     synth::CorruptionRates::FromJson(text, a.error_profile));
  }
  o.cancel = ctx.interrupted;
  ProgressBar bar("generating", 0);
  o.progress = [&](uint64_t done) { bar.Update(done, 0); };
  auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(synth::SynthSummary s, synth::GenerateRegion(o));
  bar.Finish();
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  uint64_t rows = 0;
  for (uint64_t r : s.rows) rows += r;
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["people"] = JsonNumber(static_cast<double>(s.people));
    (*f)["rows"] = JsonNumber(static_cast<double>(rows));
    (*f)["seconds"] = JsonNumber(secs);
    (*f)["rows_per_second"] = JsonNumber(secs > 0 ? rows / secs : 0);
    auto* per = (*f)["rows_by_agency"].mutable_struct_value()->mutable_fields();
    for (size_t i = 0; i < synth::kAgencies.size(); ++i) {
      (*per)[synth::kAgencies[i]] = JsonNumber(static_cast<double>(s.rows[i]));
    }
    auto* files = (*f)["files"].mutable_list_value();
    for (const auto& file : s.files) *files->add_values() = JsonString(file);
    PrintJson(v);
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> table;
  for (size_t i = 0; i < synth::kAgencies.size(); ++i) {
    table.push_back({synth::kAgencies[i], WithThousands(s.rows[i]),
                     absl::StrCat(a.out, "/", synth::kAgencies[i], ".csv")});
  }
  PrintTable({"agency", "records", "file"}, table);
  std::cout << "\n";
  PrintKeyValues(
      {{"people", WithThousands(s.people)},
       {"records",
        absl::StrFormat(
            "%s in %.2f s (%s rows/s)", WithThousands(rows), secs,
            WithThousands(static_cast<uint64_t>(secs > 0 ? rows / secs : 0)))},
       {"truth", absl::StrCat(a.out, "/truth.csv (never upload this)")},
       {"schema", absl::StrCat(a.out, "/schema.json")},
       {"queries", absl::StrCat(a.out, "/queries/")}});
  return absl::OkStatus();
}

}  // namespace

void RegisterSynth(CLI::App& app, Context* ctx) {
  auto a = std::make_shared<SynthArgs>();
  CLI::App* cmd = app.add_subcommand(
      "synth",
      "Generate a synthetic region: five agencies' extracts with realistic "
      "errors, the truth, a schema and example queries");
  cmd->add_option("--people", a->people, "People in the population")
      ->required()
      ->check(CLI::Range(uint64_t{1}, uint64_t{100000000}));
  cmd->add_option("--out", a->out, "Directory to write (created if missing)")
      ->required();
  cmd->add_option("--seed", a->seed,
                  "Random seed (same seed and N, same files)")
      ->capture_default_str();
  cmd->add_option("--error-rate", a->error_rate,
                  "Multiplier on the default error rates (0 = clean data)")
      ->check(CLI::Range(0.0, 20.0))
      ->capture_default_str();
  cmd->add_option("--region", a->region, "Region (avon-and-somerset)")
      ->capture_default_str();
  cmd->add_option(
         "--error-profile", a->error_profile,
         "JSON object of per-error rates, e.g. {\"typo\": 0.1, \"moved\": 0.3} "
         "(see docs/synth.md); --error-rate then scales them")
      ->check(CLI::ExistingFile);
  cmd->add_option("--format", a->format, "Summary format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->callback(
      [ctx, a] { ctx->run = [ctx, a] { return RunSynth(*a, *ctx); }; });
}

}  // namespace cohortlink::client
