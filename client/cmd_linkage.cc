// cohortlink export-links / model show / model retrain: the linkage map
// for a trusted research environment, and the model behind it.

#include <cmath>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "client/chart.h"
#include "client/commands.h"
#include "client/progress.h"
#include "client/rpc.h"
#include "cohortlink/v1/linkage.grpc.pb.h"
#include "keys/key_check.h"
#include "linkage/encoding/csv_writer.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

using cohortlink::v1::LinkageService;

absl::StatusOr<std::unique_ptr<LinkageService::Stub>> Connect(
    const ConnArgs& a) {
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  return LinkageService::NewStub(channel);
}

struct ExportArgs : ConnArgs {
  std::string out;
  int wait = 600;
};

// One attempt; FAILED_PRECONDITION while the linkage is not complete.
absl::StatusOr<uint64_t> ExportOnce(LinkageService::Stub* stub,
                                    const ExportArgs& a) {
  grpc::ClientContext ctx;
  auto reader = stub->ExportLinks(&ctx, {});
  ASSIGN_OR_RETURN(
      auto csv, encoding::CsvWriter::Create(a.out,
                                            {"agency", "extract", "record_key",
                                             "entity_id", "match_probability"},
                                            0600));
  cohortlink::v1::ExportLinksResponse msg;
  uint64_t rows = 0, total = 0;
  ProgressBar bar("exporting", 0);
  while (reader->Read(&msg)) {
    if (total == 0) total = msg.total();
    for (const auto& r : msg.rows()) {
      csv->Row({r.agency(), r.extract(), r.record_key(),
                absl::StrCat(r.entity_id()),
                absl::StrFormat("%.6f", r.match_probability())});
      ++rows;
    }
    RETURN_IF_ERROR(csv->MaybeFlush());
    bar.Update(rows, 0);
  }
  bar.Finish();
  RETURN_IF_ERROR(FromGrpc(reader->Finish(), "export-links"));
  if (rows != total) {
    return absl::DataLossError(
        absl::StrCat("the server announced ", total, " rows and sent ", rows));
  }
  RETURN_IF_ERROR(csv->Commit());
  return rows;
}

absl::Status RunExport(const ExportArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(a.wait);
  absl::StatusOr<uint64_t> rows;
  while (true) {
    rows = ExportOnce(stub.get(), a);
    // The linkage may still be running after an upload: wait for it.
    if (rows.ok() ||
        rows.status().code() != absl::StatusCode::kFailedPrecondition ||
        std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  if (!rows.ok()) return rows.status();
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["rows"] = JsonNumber(static_cast<double>(*rows));
    (*f)["out"] = JsonString(a.out);
    PrintJson(v);
  } else {
    std::cout << "exported " << WithThousands(*rows) << " records to " << a.out
              << "\n";
  }
  return absl::OkStatus();
}

// Splink's match-weights chart: one bar per comparison level, the prior
// first, positive weights right of zero and negative left.
absl::Status DrawModel(const cohortlink::v1::LinkageModel& m,
                       const std::string& path) {
  Chart chart;
  chart.title =
      absl::StrCat("Match weights, model v", m.version(), " (log2 m/u)");
  chart.bars.push_back({"prior (two random records match)", m.prior_weight()});
  for (const auto& c : m.comparisons()) {
    chart.bars.push_back({c.name(), 0, 0, /*heading=*/true});
    for (int l = 0; l < c.weight_size(); ++l) {
      if (c.members_size() > 1 && !c.grouped() && c.m(l) < 1e-3)
        continue;  // joint levels matches almost never reach
      chart.bars.push_back({c.level_names(l), c.weight(l)});
    }
  }
  return WriteChart(chart, path);
}

struct ModelArgs : ConnArgs {
  std::string chart;
};

absl::Status RunModelShow(const ModelArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  cohortlink::v1::LinkageModel m;
  RETURN_IF_ERROR(FromGrpc(stub->GetModel(&ctx, {}, &m), "model show"));
  if (m.version() == 0) {
    return absl::FailedPreconditionError(
        "no model yet: it is trained once enough records are stored");
  }
  if (!a.chart.empty()) RETURN_IF_ERROR(DrawModel(m, a.chart));
  if (a.format == "json") {
    PrintJson(m);
    return absl::OkStatus();
  }
  // The counts are absent for every role but admin.
  auto count = [](bool has, uint64_t n, const char* what) {
    return has ? absl::StrCat(WithThousands(n), " ", what) : std::string();
  };
  std::vector<std::pair<std::string, std::string>> facts = {
      {"model",
       absl::StrCat("v", m.version(), ", trained ", m.trained_at(), " on ",
                    count(m.has_records(), m.records(), "records of "),
                    m.agencies(), m.agencies() == 1 ? " agency" : " agencies")},
      {m.within_source_prior() > 0 ? "prior, across agencies" : "prior",
       absl::StrFormat("%.3g (weight %.2f)", m.prior(), m.prior_weight())},
      {"training", absl::StrCat(count(m.has_candidate_pairs(),
                                      m.candidate_pairs(), "candidate pairs, "),
                                count(m.has_u_sample_pairs(),
                                      m.u_sample_pairs(), "random pairs, "),
                                m.em_iterations(), " EM iterations",
                                m.em_converged() ? "" : " (not converged)")},
      {"method", m.method().empty() ? std::string("em") : m.method()}};
  if (m.within_source_prior() > 0) {
    facts.insert(facts.begin() + 2,
                 {"prior, within an extract",
                  absl::StrFormat("%.3g (weight %.2f)", m.within_source_prior(),
                                  m.within_source_prior_weight())});
  }
  PrintKeyValues(facts);
  std::cout << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : m.comparisons()) {
    for (int l = 0; l < c.weight_size(); ++l) {
      if (c.members_size() > 1 && !c.grouped() && c.m(l) < 1e-3) continue;
      const bool pooled = l < c.pooled_size() && c.pooled(l);
      rows.push_back(
          {c.name(), absl::StrCat(c.level_names(l), pooled ? " (pooled)" : ""),
           absl::StrFormat("%.4f", c.m(l)), absl::StrFormat("%.2e", c.u(l)),
           absl::StrFormat("%+.2f", c.weight(l))});
    }
  }
  PrintTable({"comparison", "level", "m", "u", "weight"}, rows);
  bool any_pooled = false;
  for (const auto& c : m.comparisons())
    for (bool p : c.pooled()) any_pooled |= p;
  if (any_pooled) {
    std::cout << "\n(pooled): the estimates would have given this level a "
                 "higher weight than a more similar level; it shares its "
                 "neighbours' m / u so that weights never rise as similarity "
                 "falls\n";
  }
  bool any_joint = false;
  for (const auto& c : m.comparisons())
    any_joint |= c.members_size() > 1 && !c.grouped();
  if (any_joint) {
    std::cout << "\njoint comparisons (a+b) are two fields found dependent, "
                 "one level per combination of theirs (levels matches "
                 "almost never reach are not shown); the combinations have "
                 "no single order of similarity, so their weights are not "
                 "held monotone\n";
  }
  if (!a.chart.empty()) std::cout << "\nchart written to " << a.chart << "\n";
  return absl::OkStatus();
}

absl::Status RunRetrain(const ConnArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  cohortlink::v1::LinkageStatus st;
  RETURN_IF_ERROR(FromGrpc(stub->RetrainModel(&ctx, {}, &st), "retrain"));
  std::cout << "retraining requested; `cohortlink status` shows progress\n";
  return absl::OkStatus();
}

// `epoch retire` and `epoch open`.
struct EpochArgs : ConnArgs {
  uint32_t epoch = 0;
  std::string key_check_value;  // hex; open only
};

absl::Status RunRetire(const EpochArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 120);
  cohortlink::v1::RetireKeyEpochRequest req;
  req.set_epoch(a.epoch);
  cohortlink::v1::RetireKeyEpochResponse resp;
  RETURN_IF_ERROR(
      FromGrpc(stub->RetireKeyEpoch(&ctx, req, &resp), "retire key epoch"));
  std::cout << "retired key epoch " << resp.epoch() << " ("
            << WithThousands(resp.records_removed())
            << " records of extracts not moved withdrawn)\n";
  return absl::OkStatus();
}

absl::Status RunOpen(const EpochArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  cohortlink::v1::OpenKeyEpochRequest req;
  req.set_epoch(a.epoch);
  ASSIGN_OR_RETURN(std::string kcv, util::HexDecode(a.key_check_value));
  req.set_key_check_value(kcv);
  cohortlink::v1::OpenKeyEpochResponse resp;
  RETURN_IF_ERROR(
      FromGrpc(stub->OpenKeyEpoch(&ctx, req, &resp), "open key epoch"));
  std::cout << "opened key epoch " << resp.epoch()
            << "; agencies may upload under --key-epoch " << resp.epoch()
            << "\n";
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<cohortlink::v1::LinkageStatus> GetLinkageStatus(
    const ConnArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  cohortlink::v1::LinkageStatus st;
  RETURN_IF_ERROR(
      FromGrpc(stub->GetLinkageStatus(&ctx, {}, &st), "linkage status"));
  return st;
}

void RegisterLinkage(CLI::App& app, Context* ctx) {
  auto ex = std::make_shared<ExportArgs>();
  CLI::App* exp = app.add_subcommand(
      "export-links",
      "Write the pseudonymous linkage map (record -> entity) as CSV "
      "(role linkage-export)");
  AddConn(exp, ex.get());
  exp->add_option("--out", ex->out, "Output CSV (written 0600)")->required();
  exp->add_option("--wait", ex->wait,
                  "Seconds to wait for a linkage in progress")
      ->capture_default_str();
  exp->callback([ctx, ex] { ctx->run = [ex] { return RunExport(*ex); }; });

  CLI::App* model = app.add_subcommand("model", "The linkage model");
  model->require_subcommand(1);
  auto show = std::make_shared<ModelArgs>();
  CLI::App* sh = model->add_subcommand(
      "show", "m, u and match weight per comparison level");
  AddConn(sh, show.get());
  sh->add_option("--chart", show->chart,
                 "Also draw the match weights (FILE.svg or FILE.png)");
  sh->callback(
      [ctx, show] { ctx->run = [show] { return RunModelShow(*show); }; });
  auto rt = std::make_shared<ConnArgs>();
  CLI::App* re = model->add_subcommand(
      "retrain", "Retrain on the stored records and relink (role admin)");
  AddConn(re, rt.get());
  re->callback([ctx, rt] { ctx->run = [rt] { return RunRetrain(*rt); }; });

  CLI::App* epoch = app.add_subcommand(
      "epoch", "Key epochs of the linkage secret (rotation)");
  epoch->require_subcommand(1);
  auto ra = std::make_shared<EpochArgs>();
  CLI::App* retire = epoch->add_subcommand(
      "retire",
      "Retire an old key epoch once every agency has uploaded under a newer "
      "one (role admin)");
  AddConn(retire, ra.get());
  retire->add_option("--epoch", ra->epoch, "The epoch to retire")
      ->required()
      ->check(CLI::PositiveNumber);
  retire->callback([ctx, ra] { ctx->run = [ra] { return RunRetire(*ra); }; });

  auto oa = std::make_shared<EpochArgs>();
  CLI::App* open = epoch->add_subcommand(
      "open",
      "Open the next key epoch for a new linkage secret, so agencies may "
      "upload under it (role admin)");
  AddConn(open, oa.get());
  open->add_option("--epoch", oa->epoch, "The epoch to open")
      ->required()
      ->check(CLI::PositiveNumber);
  open->add_option("--key-check-value", oa->key_check_value,
                   "The new secret's key check value: the 16 hex digits "
                   "`cohortlink encode --report json` gives as "
                   "key_check_value")
      ->required()
      ->check(KeyCheckValueRule());
  open->callback([ctx, oa] { ctx->run = [oa] { return RunOpen(*oa); }; });
}

}  // namespace cohortlink::client
