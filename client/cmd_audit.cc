// cohortlink audit log / verify: the information governance lead's view of
// the access log, and proof that it has not been altered.

#include <cmath>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/chart.h"
#include "client/commands.h"
#include "client/rpc.h"
#include "cohortlink/v1/audit.grpc.pb.h"
#include "keys/audit_state.h"
#include "keys/merkle.h"
#include "keys/signing.h"
#include "util/atomic_file.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

using cohortlink::v1::AuditService;

// The bytes a tree head's signature covers.
std::string SignedBytes(const cohortlink::v1::SignedTreeHead& h) {
  return keys::TreeHeadSignedBytes(h.tree_size(), h.timestamp_ms(),
                                   h.root_hash());
}

// The log's records matching `filter`, from entry 0 up to (not including)
// entry `end` (every entry when 0), page by page, as stored.
absl::StatusOr<std::vector<cohortlink::v1::AuditRecord>> FetchRecords(
    AuditService::Stub* stub, cohortlink::v1::GetEntriesRequest filter,
    uint64_t end = 0) {
  std::vector<cohortlink::v1::AuditRecord> out;
  uint64_t from = 0, size = end > 0 ? end : 1;
  while (from < size) {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 120);
    filter.set_from(from);
    filter.set_limit(10000);
    cohortlink::v1::GetEntriesResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->GetEntries(&ctx, filter, &resp), "audit"));
    for (auto& r : *resp.mutable_records()) {
      if (end > 0 && r.index() >= end) return out;
      out.push_back(std::move(r));
    }
    if (resp.next() <= from) break;
    from = resp.next();
    if (end == 0) size = resp.log_size();
  }
  return out;
}

// The same, parsed.
absl::StatusOr<std::vector<cohortlink::v1::AuditEntry>> FetchEntries(
    AuditService::Stub* stub, const cohortlink::v1::GetEntriesRequest& filter) {
  ASSIGN_OR_RETURN(auto records, FetchRecords(stub, filter));
  std::vector<cohortlink::v1::AuditEntry> out(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    if (!out[i].ParseFromString(records[i].entry())) {
      return absl::DataLossError(
          absl::StrCat("entry ", records[i].index(), " is corrupt"));
    }
  }
  return out;
}

struct LogArgs : ConnArgs {
  std::string since, until, principal, method;
  bool denied = false;
};

absl::Status RunLog(const LogArgs& a) {
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  auto stub = AuditService::NewStub(channel);
  cohortlink::v1::GetEntriesRequest filter;
  filter.set_principal(a.principal);
  filter.set_method(a.method);
  filter.set_denied_only(a.denied);
  filter.set_since(a.since);
  filter.set_until(a.until);
  ASSIGN_OR_RETURN(auto entries, FetchEntries(stub.get(), filter));
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* l = v.mutable_list_value();
    for (const auto& e : entries) *l->add_values() = ToJsonValue(e);
    PrintJson(v);
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : entries) {
    std::string detail = e.records() > 0 ? absl::StrCat(e.records(), " records")
                         : e.cells() > 0 ? absl::StrCat(e.cells(), " cells")
                                         : "";
    if (e.differenced() > 0)
      absl::StrAppend(&detail, ", ", e.differenced(), " differenced");
    if (e.rho_micro() > 0) {
      absl::StrAppend(&detail, ", rho ",
                      absl::StrFormat("%.6g", e.rho_micro() / 1e6), " of ",
                      e.project());
    }
    rows.push_back(
        {absl::StrCat(e.sequence()), e.time(), e.principal(), e.method(),
         e.target(),
         absl::StatusCodeToString(static_cast<absl::StatusCode>(e.code())),
         detail});
  }
  std::vector<std::string> header = {"seq",    "time",    "principal", "method",
                                     "target", "outcome", "detail"};
  if (a.format == "csv") {
    PrintCsv(header, rows);
    return absl::OkStatus();
  }
  PrintTable(header, rows);
  std::cout << "\n" << entries.size() << " entries\n";
  return absl::OkStatus();
}

struct VerifyArgs : ConnArgs {
  std::string pubkey, state;
};

// The auditor's record of what it verified: the tree head, then one leaf
// hash (hex) per line.
// The tree head of an auditor's state file, as the server sends one.
cohortlink::v1::SignedTreeHead HeadOf(const keys::AuditState& st) {
  cohortlink::v1::SignedTreeHead h;
  h.set_tree_size(st.tree_size);
  h.set_timestamp_ms(st.timestamp_ms);
  h.set_root_hash(st.root_hash);
  h.set_signature(st.signature);
  return h;
}

absl::StatusOr<std::optional<keys::AuditState>> ReadState(
    const std::string& path) {
  if (path.empty()) return std::nullopt;
  auto text = util::ReadFile(path);
  if (absl::IsNotFound(text.status())) return std::nullopt;
  RETURN_IF_ERROR(text.status());
  return keys::ParseAuditState(*text, path);
}

absl::Status WriteState(const std::string& path, const keys::AuditState& st) {
  ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(path, 0600));
  RETURN_IF_ERROR(f->Write(keys::FormatAuditState(st)));
  return f->Commit();
}

absl::Status RunVerify(const VerifyArgs& a) {
  ASSIGN_OR_RETURN(std::string pubkey, util::ReadFile(a.pubkey));
  ASSIGN_OR_RETURN(std::optional<keys::AuditState> before, ReadState(a.state));
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  auto stub = AuditService::NewStub(channel);
  auto fail = [](std::string msg) { return absl::DataLossError(msg); };

  cohortlink::v1::SignedTreeHead head;
  {
    grpc::ClientContext ctx;
    SetDeadline(&ctx, 60);
    RETURN_IF_ERROR(
        FromGrpc(stub->GetSignedTreeHead(&ctx, {}, &head), "audit verify"));
  }
  if (absl::Status s =
          keys::VerifySignature(pubkey, SignedBytes(head), head.signature());
      !s.ok()) {
    return fail(absl::StrCat("the signed tree head (", head.tree_size(),
                             " entries) does not verify with the public key ",
                             a.pubkey, ": ", s.message(),
                             " (the log was signed with another key)"));
  }
  // Every entry up to the head, as stored.
  keys::AuditState now;
  now.tree_size = head.tree_size();
  now.timestamp_ms = head.timestamp_ms();
  now.root_hash = head.root_hash();
  now.signature = head.signature();
  ASSIGN_OR_RETURN(auto records,
                   FetchRecords(stub.get(), {}, head.tree_size()));
  for (const auto& r : records) {
    if (r.index() != now.leaves.size())
      return fail(absl::StrCat("entry ", now.leaves.size(), " is missing"));
    now.leaves.push_back(keys::MerkleLeafHash(r.entry()));
  }
  if (now.leaves.size() < head.tree_size()) {
    return fail(absl::StrCat("the server returned no entry ", now.leaves.size(),
                             " though its signed tree head has ",
                             head.tree_size()));
  }
  if (keys::MerkleRoot(now.leaves) != head.root_hash()) {
    return fail(absl::StrCat("the ", head.tree_size(),
                             " entries the server returned do not hash to its "
                             "signed tree head"));
  }
  std::string compared;
  if (before.has_value()) {
    const uint64_t m = before->tree_size;
    if (absl::Status s = keys::VerifySignature(
            pubkey, SignedBytes(HeadOf(*before)), before->signature);
        !s.ok()) {
      return fail(absl::StrCat("the tree head in ", a.state,
                               " does not verify with ", a.pubkey));
    }
    if (head.tree_size() < m) {
      return fail(absl::StrCat(
          "the log shrank: the tree head verified before had ", m,
          " entries, the server's now has ", head.tree_size(), " (entries ",
          head.tree_size(), " to ", m - 1, " were removed)"));
    }
    for (uint64_t i = 0; i < m; ++i) {
      if (now.leaves[i] != before->leaves[i]) {
        return fail(absl::StrCat("entry ", i,
                                 " differs from the entry verified before: "
                                 "the stored log was altered"));
      }
    }
    if (m > 0 && m < head.tree_size()) {
      grpc::ClientContext ctx;
      SetDeadline(&ctx, 60);
      cohortlink::v1::GetConsistencyProofRequest req;
      req.set_first(m);
      req.set_second(head.tree_size());
      cohortlink::v1::AuditProof proof;
      RETURN_IF_ERROR(FromGrpc(stub->GetConsistencyProof(&ctx, req, &proof),
                               "audit verify"));
      std::vector<std::string> hashes(proof.hashes().begin(),
                                      proof.hashes().end());
      if (!keys::VerifyMerkleConsistency(m, head.tree_size(), hashes,
                                         before->root_hash, head.root_hash())) {
        return fail(absl::StrCat("the consistency proof from the tree head of ",
                                 m, " entries to the one of ", head.tree_size(),
                                 " does not verify"));
      }
    }
    compared =
        absl::StrCat("; consistent with the ", m, " entries verified before");
  }
  if (!a.state.empty()) RETURN_IF_ERROR(WriteState(a.state, now));
  std::cout << "verified " << head.tree_size()
            << " entries against the tree head signed at "
            << util::FormatUtc(absl::FromUnixMillis(head.timestamp_ms()))
            << " (root " << util::HexEncode(head.root_hash()).substr(0, 16)
            << ")" << compared << "\n";
  return absl::OkStatus();
}

constexpr uint64_t kUnknown = ~uint64_t{0};

struct ReportArgs : ConnArgs {
  std::string period, html;
};

// The access report for an information governance board: queries per
// analyst, uploads and withdrawals per agency, denied attempts, exports of
// the linkage map, for one month.
absl::Status RunReport(const ReportArgs& a) {
  if (a.period.size() != 7 || a.period[4] != '-') {
    return absl::InvalidArgumentError(
        absl::StrCat("--period ", a.period, ": expected YYYY-MM"));
  }
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  auto stub = AuditService::NewStub(channel);
  cohortlink::v1::GetEntriesRequest filter;
  filter.set_since(a.period + "-01");
  ASSIGN_OR_RETURN(auto all, FetchEntries(stub.get(), filter));
  struct Section {
    std::string title;
    std::vector<std::string> header;
    std::map<std::vector<std::string>, std::vector<uint64_t>> rows;
    // Counts that are micro-rho, shown as rho; kUnknown shows as "-".
    std::set<size_t> rho_columns = {};
  };
  Section queries{"Cohort queries per analyst",
                  {"analyst", "answered", "refused", "counts differenced"},
                  {}};
  Section uploads{"Uploads and withdrawals per agency",
                  {"agency", "uploads", "records uploaded", "withdrawals"},
                  {}};
  Section denied{"Denied attempts", {"principal", "method", "attempts"}, {}};
  Section exports{
      "Exports of the linkage map", {"principal", "exports", "rows"}, {}};
  Section budgets{
      "Privacy budgets (zCDP rho) of projects in differential-"
      "privacy mode",
      {"project", "answers charged", "rho spent in the month",
       "rho spent to date", "rho budget", "rho left"},
      {},
      {1, 2, 3, 4}};
  uint64_t total = 0;
  for (const auto& e : all) {
    if (e.time().substr(0, 7) != a.period) continue;
    ++total;
    const bool ok = e.code() == 0;
    if (e.method() == "QueryService/RunQuery") {
      auto& r = queries.rows[{e.principal()}];
      r.resize(3);
      ++r[ok ? 0 : 1];
      r[2] += e.differenced();
    }
    if (e.method() == "QueryService/RunQuery" && e.rho_micro() > 0) {
      auto& r = budgets.rows[{e.project()}];
      r.resize(5);
      ++r[0];
      r[1] += e.rho_micro();
    }
    if (ok && e.method() == "IngestService/Upload") {
      auto& r = uploads.rows[{e.agency()}];
      r.resize(3);
      ++r[0];
      r[1] += e.records();
    }
    if (ok && e.method() == "IngestService/DeleteExtract") {
      auto& r = uploads.rows[{e.agency()}];
      r.resize(3);
      ++r[2];
    }
    if (e.code() == 7 || e.code() == 16) {
      auto& r = denied.rows[{e.principal().empty() ? "(none)" : e.principal(),
                             e.method()}];
      r.resize(1);
      ++r[0];
    }
    if (ok && e.method() == "LinkageService/ExportLinks") {
      auto& r = exports.rows[{e.principal()}];
      r.resize(2);
      ++r[0];
      r[1] += e.records();
    }
  }
  // Each project's account as it stands, from the server (an auditor may
  // read any project's).
  for (auto& [keys, r] : budgets.rows) {
    auto micro = [](double rho) {
      return static_cast<uint64_t>(std::llround(rho * 1e6));
    };
    if (auto b = GetBudget(channel, keys[0]); b.ok()) {
      r[2] = micro(b->rho_spent());
      r[3] = micro(b->rho_total());
      r[4] = micro(b->rho_left());
    } else {  // e.g. no longer configured
      r[2] = r[3] = r[4] = kUnknown;
    }
  }
  std::vector<Section*> sections = {&queries, &uploads, &denied, &exports,
                                    &budgets};
  auto shown = [](const Section& s, size_t column, uint64_t v) {
    if (!s.rho_columns.contains(column)) return WithThousands(v);
    if (v == kUnknown) return std::string("-");
    return absl::StrFormat("%.6g", static_cast<double>(v) / 1e6);
  };
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["period"] = JsonString(a.period);
    (*f)["entries"] = JsonNumber(static_cast<double>(total));
    for (Section* s : sections) {
      auto* list = (*f)[s->title].mutable_list_value();
      for (const auto& [keys, counts] : s->rows) {
        google::protobuf::Value row;
        auto* rf = row.mutable_struct_value()->mutable_fields();
        size_t c = 0;
        for (; c < keys.size(); ++c) (*rf)[s->header[c]] = JsonString(keys[c]);
        for (size_t k = 0; k < counts.size(); ++k) {
          google::protobuf::Value n;
          if (!s->rho_columns.contains(k)) {
            n = JsonNumber(static_cast<double>(counts[k]));
          } else if (counts[k] == kUnknown) {
            n.set_null_value(google::protobuf::NULL_VALUE);
          } else {
            n = JsonNumber(static_cast<double>(counts[k]) / 1e6);
          }
          (*rf)[s->header[c + k]] = n;
        }
        *list->add_values() = row;
      }
    }
    PrintJson(v);
  } else {
    std::cout << "Access report for " << a.period << ": " << total
              << " entries\n";
    for (Section* s : sections) {
      std::cout << "\n" << s->title << "\n";
      std::vector<std::vector<std::string>> rows;
      for (const auto& [keys, counts] : s->rows) {
        std::vector<std::string> row = keys;
        for (size_t k = 0; k < counts.size(); ++k)
          row.push_back(shown(*s, k, counts[k]));
        rows.push_back(std::move(row));
      }
      if (rows.empty()) {
        std::cout << "(none)\n";
      } else {
        PrintTable(s->header, rows);
      }
    }
  }
  if (!a.html.empty()) {
    std::string page = absl::StrCat(
        "<!DOCTYPE html>\n<html><head><meta "
        "charset=\"utf-8\"><title>cohortlink "
        "access report ",
        a.period,
        "</title><style>body{font-family:sans-serif;margin:2em}table{border-"
        "collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-"
        "align:left}</style></head><body>\n<h1>cohortlink access report, ",
        a.period, "</h1>\n<p>", total, " access log entries.</p>\n");
    for (Section* s : sections) {
      absl::StrAppend(&page, "<h2>", XmlEscape(s->title), "</h2>\n");
      if (s->rows.empty()) {
        absl::StrAppend(&page, "<p>None.</p>\n");
        continue;
      }
      absl::StrAppend(&page, "<table><tr>");
      for (const auto& h : s->header)
        absl::StrAppend(&page, "<th>", XmlEscape(h), "</th>");
      absl::StrAppend(&page, "</tr>\n");
      Chart chart;
      chart.title = s->title;
      for (const auto& [keys, counts] : s->rows) {
        absl::StrAppend(&page, "<tr>");
        for (const auto& k : keys)
          absl::StrAppend(&page, "<td>", XmlEscape(k), "</td>");
        for (size_t k = 0; k < counts.size(); ++k)
          absl::StrAppend(&page, "<td>", XmlEscape(shown(*s, k, counts[k])),
                          "</td>");
        absl::StrAppend(&page, "</tr>\n");
        chart.bars.push_back(
            {absl::StrJoin(keys, " "), static_cast<double>(counts[0])});
      }
      absl::StrAppend(&page, "</table>\n", ChartSvg(chart), "\n");
    }
    absl::StrAppend(&page, "</body></html>\n");
    ASSIGN_OR_RETURN(auto f, util::AtomicFile::Create(a.html));
    RETURN_IF_ERROR(f->Write(page));
    RETURN_IF_ERROR(f->Commit());
    if (a.format != "json")
      std::cout << "\nreport written to " << a.html << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void RegisterAudit(CLI::App& app, Context* ctx) {
  CLI::App* audit = app.add_subcommand(
      "audit", "The access log (role auditor): entries and verification");
  audit->require_subcommand(1);
  auto la = std::make_shared<LogArgs>();
  CLI::App* log = audit->add_subcommand("log", "Show access log entries");
  log->add_option("--server", la->server, "HOST:PORT of cohortlink-server")
      ->required();
  log->add_option("--tls", la->tls, "Directory with ca.pem, cert.pem, key.pem")
      ->required();
  log->add_option("--format", la->format, "Output format")
      ->check(CLI::IsMember({"table", "csv", "json"}))
      ->capture_default_str();
  log->add_option("--since", la->since, "Entries at or after (RFC 3339 UTC)");
  log->add_option("--until", la->until, "Entries before (RFC 3339 UTC)");
  log->add_option("--principal", la->principal, "One SPIFFE id");
  log->add_option("--method", la->method,
                  "One method, e.g. QueryService/RunQuery");
  log->add_flag("--denied", la->denied, "Only calls that did not succeed");
  log->callback([ctx, la] { ctx->run = [la] { return RunLog(*la); }; });

  auto va = std::make_shared<VerifyArgs>();
  CLI::App* verify = audit->add_subcommand(
      "verify",
      "Check the signed tree head and every entry; with --state, that "
      "nothing verified before was altered or removed");
  AddConn(verify, va.get());
  verify
      ->add_option("--pubkey", va->pubkey,
                   "The server's access-log public key (PEM)")
      ->required()
      ->check(CLI::ExistingFile);
  verify->add_option("--state", va->state,
                     "What was verified last time (read, then updated); keep "
                     "it away from the server");
  verify->callback([ctx, va] { ctx->run = [va] { return RunVerify(*va); }; });

  auto ra = std::make_shared<ReportArgs>();
  CLI::App* report = audit->add_subcommand(
      "report", "A month's access report for the information governance board");
  AddConn(report, ra.get());
  report->add_option("--period", ra->period, "The month, YYYY-MM")->required();
  report->add_option("--html", ra->html, "Also write an HTML page with charts");
  report->callback([ctx, ra] { ctx->run = [ra] { return RunReport(*ra); }; });
}

}  // namespace cohortlink::client
