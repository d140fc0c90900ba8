// cohortlink upload / status / delete: the agency data team's side of
// ingest, over gRPC with mutual TLS.

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/commands.h"
#include "client/progress.h"
#include "client/rpc.h"
#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "keys/key_check.h"
#include "keys/pki.h"
#include "keys/secret.h"
#include "linkage/encoding/clk_import.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/key_epoch.h"
#include "util/atomic_file.h"
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
  // --input-format clkhash-json: CLKs made by clkhash or anonlink-client,
  // with the schema they were made with and the secret (or its key check
  // value).
  std::string input_format = "clx", schema, secret, key_check_value;
};

// A private directory (0700) under $TMPDIR, removed with its files.
class PrivateDir {
 public:
  static absl::StatusOr<PrivateDir> Create() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        absl::StrCat(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp",
                     "/cohortlink-upload-XXXXXX");
    if (::mkdtemp(pattern.data()) == nullptr) {
      return absl::InternalError(
          absl::StrCat("cannot make a private directory under ",
                       tmp != nullptr ? tmp : "/tmp"));
    }
    return PrivateDir(pattern);
  }
  PrivateDir(PrivateDir&& o) noexcept : path_(std::move(o.path_)) {
    o.path_.clear();
  }
  PrivateDir& operator=(PrivateDir&& o) noexcept {
    std::swap(path_, o.path_);
    return *this;
  }
  ~PrivateDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string File(const std::string& name) const {
    return absl::StrCat(path_, "/", name);
  }

 private:
  explicit PrivateDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// clkhash JSON CLKs as an extract file in `dir` (the key check value from
// the secret, or as given).
absl::StatusOr<std::string> ImportClks(const UploadArgs& a,
                                       const PrivateDir& dir) {
  ASSIGN_OR_RETURN(encoding::LoadedSchema schema,
                   encoding::LoadSchemaFile(a.schema));
  std::string kcv;
  if (!a.secret.empty()) {
    ASSIGN_OR_RETURN(keys::SecretBytes secret, keys::LoadSecretFile(a.secret));
    auto v = keys::KeyCheckValue(secret.view(), schema.fingerprint());
    secret.Wipe();
    if (!v.ok()) return v.status();
    kcv = *std::move(v);
  } else {
    ASSIGN_OR_RETURN(kcv, util::HexDecode(a.key_check_value));
  }
  ASSIGN_OR_RETURN(cohortlink::v1::ExtractHeader header,
                   encoding::ClkhashExtractHeader(schema, kcv));
  header.set_encoder("clkhash JSON, imported by cohortlink upload");
  header.set_created_at(
      absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone()));
  std::string out = dir.File("clks.clx");
  RETURN_IF_ERROR(encoding::ImportClkhashJson(a.file, header, out).status());
  return out;
}

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

absl::Status RunUpload(const UploadArgs& given) {
  UploadArgs a = given;
  std::optional<PrivateDir> dir;
  if (a.input_format == "clkhash-json") {
    ASSIGN_OR_RETURN(dir, PrivateDir::Create());
    ASSIGN_OR_RETURN(a.file, ImportClks(given, *dir));
  }
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

// The server's warnings for an admin, and the caller's own certificate
// when it expires within 30 days.
std::vector<std::string> Warnings(const StatusArgs& a,
                                  const cohortlink::v1::LinkageStatus& st) {
  std::vector<std::string> out(st.warnings().begin(), st.warnings().end());
  auto pem = util::ReadFile(absl::StrCat(a.tls, "/", keys::kCertFile));
  if (!pem.ok()) return out;
  auto until = keys::CertificateNotAfter(*pem);
  if (until.ok() && *until - absl::Now() < absl::Hours(24 * 30)) {
    out.push_back(absl::StrCat(
        "your certificate (", a.tls, "/", keys::kCertFile, ") expires on ",
        util::FormatUtc(*until),
        ": ask your CA administrator to renew it (cohortlink keys csr)"));
  }
  return out;
}

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
    auto* w = (*top)["warnings"].mutable_list_value();
    for (const auto& text : Warnings(a, linkage))
      *w->add_values() = JsonString(text);
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
  if (linkage.has_model_converged() && !linkage.model_converged()) {
    absl::StrAppend(
        &summary, "\nmodel v", linkage.model_version(), " (",
        linkage.model_method(), "): EM stopped at ",
        WithThousands(linkage.model_em_iterations()),
        " iterations without converging; the last iteration's estimates "
        "are in use (see cohortlink model show)");
  }
  if (linkage.state() == cohortlink::v1::FAILED) {
    absl::StrAppend(&summary, "\nlinkage FAILED",
                    linkage.failed_at().empty()
                        ? ""
                        : absl::StrCat(" at ", linkage.failed_at()),
                    ": ", util::Printable(linkage.failure()),
                    "\nqueries are refused until a linkage run succeeds");
  }
  std::cout << summary << "\n";
  for (const auto& text : Warnings(a, linkage))
    std::cout << "warning: " << util::Printable(text) << "\n";
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
  upload
      ->add_option("file", up->file,
                   "Encoded extract (.clx), or clkhash JSON CLKs with "
                   "--input-format clkhash-json")
      ->required()
      ->check(CLI::ExistingFile);
  upload
      ->add_option("--input-format", up->input_format,
                   "clx (from cohortlink encode) or clkhash-json (CLKs made "
                   "by clkhash or anonlink-client: {\"clks\": [...]})")
      ->check(CLI::IsMember({"clx", "clkhash-json"}))
      ->capture_default_str();
  upload
      ->add_option("--schema", up->schema,
                   "clkhash-json: the clkhash schema the CLKs were made "
                   "with")
      ->check(CLI::ExistingFile);
  CLI::Option* secret_opt =
      upload
          ->add_option("--secret", up->secret,
                       "clkhash-json: the linkage secret file (for the key "
                       "check value only; the CLKs are not re-encoded)")
          ->check(CLI::ExistingFile);
  CLI::Option* kcv_opt =
      upload
          ->add_option("--key-check-value", up->key_check_value,
                       "clkhash-json, instead of --secret: the secret's key "
                       "check value for this schema (16 hex digits, as "
                       "`cohortlink encode --report json` gives it)")
          ->check(KeyCheckValueRule());
  secret_opt->excludes(kcv_opt);

  upload->add_option("--retries", up->retries, "Retries on transport failure")
      ->capture_default_str();
  upload
      ->add_option("--key-epoch", up->key_epoch,
                   "Key epoch of the linkage secret the file was encoded "
                   "with (a new secret: the next epoch)")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  upload->callback([ctx, up] {
    const bool clks = up->input_format == "clkhash-json";
    if (clks && (up->schema.empty() ||
                 (up->secret.empty() && up->key_check_value.empty()))) {
      throw CLI::ValidationError(
          "--input-format clkhash-json",
          "needs --schema and one of --secret or --key-check-value");
    }
    if (!clks && (!up->schema.empty() || !up->secret.empty() ||
                  !up->key_check_value.empty())) {
      throw CLI::ValidationError(
          "--schema/--secret/--key-check-value",
          "apply to --input-format clkhash-json only (a .clx file carries "
          "its schema and key check value)");
    }
    ctx->run = [up] { return RunUpload(*up); };
  });

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
