// cohortlink upload / status / delete: the agency data team's side of
// ingest, over gRPC with mutual TLS.

#include <sys/stat.h>

#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/commands.h"
#include "client/progress.h"
#include "client/rpc.h"
#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/key_epoch.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::client {
namespace {

absl::StatusOr<std::unique_ptr<cohortlink::v1::IngestService::Stub>> Connect(
    const ConnArgs& a) {
  ASSIGN_OR_RETURN(auto channel, MutualTlsChannel(a.server, a.tls));
  return cohortlink::v1::IngestService::NewStub(channel);
}

struct UploadArgs : ConnArgs {
  std::string extract, file;
  int retries = 3;
  uint32_t key_epoch = 1;
};

absl::StatusOr<cohortlink::v1::UploadReceipt> UploadOnce(
    cohortlink::v1::IngestService::Stub* stub, const UploadArgs& a,
    ProgressBar* bar) {
  ASSIGN_OR_RETURN(auto reader, encoding::ExtractReader::Open(a.file));
  grpc::ClientContext ctx;
  cohortlink::v1::UploadReceipt receipt;
  auto writer = stub->Upload(&ctx, &receipt);
  cohortlink::v1::UploadRequest req;
  auto* h = req.mutable_header();
  h->set_extract_name(a.extract);
  *h->mutable_extract() = reader->header();
  h->set_record_count(reader->record_count());
  h->set_content_digest(reader->content_digest());
  h->set_key_epoch(a.key_epoch);
  bool open = writer->Write(req);
  std::string record, chunk;
  uint64_t sent = 0;
  while (open) {
    ASSIGN_OR_RETURN(bool more, reader->Next(&record));
    if (more) {
      encoding::AppendLengthDelimited(record, &chunk);
      ++sent;
    }
    if (chunk.size() >= (1 << 20) || (!more && !chunk.empty())) {
      req.Clear();
      req.mutable_batch()->set_framed_records(chunk);
      open = writer->Write(req);
      chunk.clear();
      bar->Update(sent, reader->position());
    }
    if (!more) break;
  }
  writer->WritesDone();
  grpc::Status s = writer->Finish();
  RETURN_IF_ERROR(FromGrpc(s, absl::StrCat("upload of ", a.file)));
  return receipt;
}

absl::Status RunUpload(const UploadArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  struct stat st;
  ProgressBar bar("uploading",
                  ::stat(a.file.c_str(), &st) == 0 ? st.st_size : 0);
  absl::StatusOr<cohortlink::v1::UploadReceipt> r;
  for (int attempt = 0;; ++attempt) {
    r = UploadOnce(stub.get(), a, &bar);
    // Only transport failures are retried; an upload is idempotent.
    if (r.ok() || r.status().code() != absl::StatusCode::kUnavailable ||
        attempt >= a.retries) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500 << attempt));
  }
  bar.Finish();
  if (!r.ok()) return r.status();
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* f = v.mutable_struct_value()->mutable_fields();
    (*f)["extract"] = JsonString(r->extract_name());
    (*f)["version"] = JsonNumber(static_cast<double>(r->version()));
    (*f)["records"] = JsonNumber(static_cast<double>(r->records()));
    (*f)["content_digest"] = JsonString(util::HexEncode(r->content_digest()));
    (*f)["unchanged"] = JsonBool(r->unchanged());
    (*f)["committed_at"] = JsonString(r->committed_at());
    PrintJson(v);
    return absl::OkStatus();
  }
  PrintKeyValues(
      {{"extract", r->extract_name()},
       {"version",
        absl::StrCat(r->version(),
                     r->unchanged() ? " (unchanged: identical content)" : "")},
       {"records", WithThousands(r->records())},
       {"digest",
        absl::StrCat("sha256:", util::HexEncode(r->content_digest()))},
       {"committed", r->committed_at()}});
  return absl::OkStatus();
}

struct StatusArgs : ConnArgs {
  std::string extract;
  int wait = 0;
};

absl::Status RunStatus(const StatusArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  // --wait: until the linkage has caught up with every stored extract.
  ASSIGN_OR_RETURN(cohortlink::v1::LinkageStatus linkage, GetLinkageStatus(a));
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(a.wait);
  while (linkage.state() != cohortlink::v1::LINKED &&
         linkage.state() != cohortlink::v1::FAILED &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ASSIGN_OR_RETURN(linkage, GetLinkageStatus(a));
  }
  std::vector<cohortlink::v1::ExtractStatus> list;
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 30);
  if (!a.extract.empty()) {
    cohortlink::v1::GetExtractRequest req;
    req.set_extract_name(a.extract);
    cohortlink::v1::ExtractStatus st;
    RETURN_IF_ERROR(FromGrpc(stub->GetExtract(&ctx, req, &st), "status"));
    list.push_back(st);
  } else {
    cohortlink::v1::ListExtractsResponse resp;
    RETURN_IF_ERROR(FromGrpc(stub->ListExtracts(&ctx, {}, &resp), "status"));
    list.assign(resp.extracts().begin(), resp.extracts().end());
  }
  if (a.format == "json") {
    google::protobuf::Value v;
    auto* top = v.mutable_struct_value()->mutable_fields();
    auto* l = (*top)["extracts"].mutable_list_value();
    for (const auto& e : list) {
      google::protobuf::Value ev;
      auto* f = ev.mutable_struct_value()->mutable_fields();
      (*f)["agency"] = JsonString(e.agency());
      (*f)["extract"] = JsonString(e.extract_name());
      (*f)["version"] = JsonNumber(static_cast<double>(e.version()));
      (*f)["records"] = JsonNumber(static_cast<double>(e.records()));
      (*f)["uploaded_by"] = JsonString(e.uploaded_by());
      (*f)["uploaded_at"] = JsonString(e.uploaded_at());
      (*f)["schema_fingerprint"] =
          JsonString(util::HexEncode(e.schema_fingerprint()));
      (*f)["linkage_state"] =
          JsonString(cohortlink::v1::LinkageState_Name(e.linkage_state()));
      (*f)["linkage_progress"] = JsonNumber(e.linkage_progress());
      (*f)["key_epoch"] = JsonNumber(store::KeyEpoch(e.key_epoch()));
      *l->add_values() = ev;
    }
    (*top)["linkage"] = ToJsonValue(linkage);
    PrintJson(v);
    if (a.wait > 0 && linkage.state() == cohortlink::v1::FAILED)
      return absl::UnavailableError("the linkage failed: " + linkage.failure());
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& e : list) {
    std::string state = cohortlink::v1::LinkageState_Name(e.linkage_state());
    if (e.linkage_state() == cohortlink::v1::LINKING) {
      absl::StrAppendFormat(&state, " %.0f%%", 100 * e.linkage_progress());
    }
    rows.push_back({e.agency(), e.extract_name(), absl::StrCat(e.version()),
                    absl::StrCat(store::KeyEpoch(e.key_epoch())),
                    WithThousands(e.records()), e.uploaded_at(),
                    e.uploaded_by(), state});
  }
  PrintTable({"agency", "extract", "version", "epoch", "records", "uploaded",
              "by", "linkage"},
             rows);
  std::string summary = absl::StrCat(
      "\nlinkage: ", cohortlink::v1::LinkageState_Name(linkage.state()));
  if (linkage.state() == cohortlink::v1::LINKING)
    absl::StrAppendFormat(&summary, " %.0f%%", 100 * linkage.progress());
  if (linkage.generation() > 0 && !linkage.has_records()) {
    // Another role than admin: the linkage's counts are withheld.
    absl::StrAppend(&summary, "; last run ", linkage.linked_at(), ", model v",
                    linkage.model_version(), " (its counts are for admins)");
  } else if (linkage.generation() > 0) {
    absl::StrAppend(&summary, "; last run ", linkage.linked_at(), ": ",
                    WithThousands(linkage.records()), " records, ",
                    WithThousands(linkage.entities()), " entities, model v",
                    linkage.model_version());
    if (linkage.incremental()) {
      absl::StrAppendFormat(
          &summary, " (incremental: +%s -%s records, %s reclustered, %.1f s)",
          WithThousands(linkage.records_added()),
          WithThousands(linkage.records_removed()),
          WithThousands(linkage.records_touched()), linkage.run_seconds());
    } else {
      absl::StrAppendFormat(&summary, " (full relink, %.1f s)",
                            linkage.run_seconds());
    }
  }
  if (!linkage.message().empty())
    absl::StrAppend(&summary, " (", util::Printable(linkage.message()), ")");
  if (linkage.state() == cohortlink::v1::FAILED) {
    absl::StrAppend(&summary, "\nlinkage FAILED",
                    linkage.failed_at().empty()
                        ? ""
                        : absl::StrCat(" at ", linkage.failed_at()),
                    ": ", util::Printable(linkage.failure()),
                    "\nqueries are refused until a linkage run succeeds");
  }
  std::cout << summary << "\n";
  if (a.wait > 0 && linkage.state() == cohortlink::v1::FAILED)
    return absl::UnavailableError("the linkage failed (see above)");
  return absl::OkStatus();
}

absl::Status RunDelete(const StatusArgs& a) {
  ASSIGN_OR_RETURN(auto stub, Connect(a));
  grpc::ClientContext ctx;
  SetDeadline(&ctx, 60);
  cohortlink::v1::DeleteExtractRequest req;
  req.set_extract_name(a.extract);
  cohortlink::v1::DeleteExtractResponse resp;
  RETURN_IF_ERROR(FromGrpc(stub->DeleteExtract(&ctx, req, &resp), "delete"));
  std::cout << "withdrew " << util::Printable(resp.extract_name()) << " ("
            << WithThousands(resp.records_removed()) << " records)\n";
  return absl::OkStatus();
}

}  // namespace

void RegisterIngest(CLI::App& app, Context* ctx) {
  auto up = std::make_shared<UploadArgs>();
  CLI::App* upload = app.add_subcommand(
      "upload",
      "Upload an encoded extract (replaces an existing extract of that name)");
  AddConn(upload, up.get());
  upload->add_option("--extract", up->extract, "Extract name")
      ->required()
      ->check(NameRule());
  upload->add_option("file", up->file, "Encoded extract (.clx)")
      ->required()
      ->check(CLI::ExistingFile);
  upload->add_option("--retries", up->retries, "Retries on transport failure")
      ->capture_default_str();
  upload
      ->add_option("--key-epoch", up->key_epoch,
                   "Key epoch of the linkage secret the file was encoded "
                   "with (a new secret: the next epoch)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  upload->callback([ctx, up] { ctx->run = [up] { return RunUpload(*up); }; });

  auto st = std::make_shared<StatusArgs>();
  CLI::App* status =
      app.add_subcommand("status", "Show your agency's extracts");
  AddConn(status, st.get());
  status->add_option("--extract", st->extract, "One extract")
      ->check(NameRule());
  status->add_option("--wait", st->wait,
                     "Wait up to this many seconds for the linkage to catch "
                     "up with every stored extract");
  status->callback([ctx, st] { ctx->run = [st] { return RunStatus(*st); }; });

  auto del = std::make_shared<StatusArgs>();
  CLI::App* remove = app.add_subcommand("delete", "Withdraw an extract");
  AddConn(remove, del.get());
  remove->add_option("--extract", del->extract, "Extract name")
      ->required()
      ->check(NameRule());
  remove->callback(
      [ctx, del] { ctx->run = [del] { return RunDelete(*del); }; });
}

}  // namespace cohortlink::client
