#include "server/ingest_service.h"

#include "absl/strings/str_cat.h"
#include "server/auth.h"
#include "server/authz.h"
#include "server/grpc_status.h"
#include "util/status_macros.h"

namespace cohortlink::server {
namespace {

using cohortlink::v1::AuditEntry;

AuditEntry BaseEntry(grpc::ServerContext* ctx, Method m,
                     const std::string& target) {
  AuditEntry e;
  e.set_peer(ctx->peer());
  e.set_method(absl::StrCat("IngestService/", MethodName(m)));
  e.set_target(target);
  return e;
}

// Identifies and authorises the caller, recording who it is in `entry`.
absl::StatusOr<std::string> Authorize(grpc::ServerContext* ctx,
                                      const ServerConfig& config, Method m,
                                      const std::string& agency,
                                      AuditEntry* entry) {
  ASSIGN_OR_RETURN(keys::Identity who, CallerIdentity(*ctx, config));
  entry->set_principal(who.ToString());
  entry->set_role(keys::RoleName(who.role));
  ASSIGN_OR_RETURN(std::string allowed,
                   AuthorizeIngest(who, m, agency, config));
  entry->set_agency(allowed);
  return allowed;
}

absl::StatusOr<cohortlink::v1::UploadReceipt> RunUpload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    const ServerConfig& config, store::ExtractStore* extracts,
    AuditEntry* entry) {
  ASSIGN_OR_RETURN(std::string agency,
                   Authorize(ctx, config, Method::kUpload, "", entry));
  cohortlink::v1::UploadRequest msg;
  if (!reader->Read(&msg) || !msg.has_header()) {
    return absl::InvalidArgumentError("an upload must start with its header");
  }
  entry->set_target(msg.header().extract_name());
  const AgencyConfig* registered = config.FindAgency(agency);
  if (registered == nullptr)  // AuthorizeIngest admits registered agencies only
    return absl::InternalError("upload for an unregistered agency");
  ASSIGN_OR_RETURN(auto session, extracts->BeginUpload(
                                     agency, entry->principal(), msg.header(),
                                     config.PolicyFor(*registered)));
  while (reader->Read(&msg)) {
    if (!msg.has_batch())
      return absl::InvalidArgumentError("a second header in one upload");
    RETURN_IF_ERROR(session->AddFramedRecords(msg.batch().framed_records()));
  }
  if (ctx->IsCancelled())
    return absl::CancelledError("upload cancelled by the client");
  return session->Commit(*entry);
}

}  // namespace

grpc::Status IngestService::Finish(const absl::Status& s, AuditEntry entry,
                                   bool already_audited) {
  if (!already_audited) {
    entry.set_code(static_cast<int>(s.code()));
    entry.set_message(std::string(s.message()));
    absl::Status a = audit_->Append(std::move(entry));
    // A call that cannot be audited must not appear to succeed.
    if (!a.ok())
      return ToGrpc(
          absl::UnavailableError("audit log unavailable; call refused"));
  }
  return ToGrpc(s);
}

grpc::Status IngestService::Upload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    cohortlink::v1::UploadReceipt* receipt) {
  AuditEntry e = BaseEntry(ctx, Method::kUpload, "");
  auto r = RunUpload(ctx, reader, *config_, extracts_, &e);
  if (r.ok()) *receipt = *std::move(r);
  return Finish(r.status(), std::move(e), /*already_audited=*/r.ok());
}

grpc::Status IngestService::ListExtracts(
    grpc::ServerContext* ctx, const cohortlink::v1::ListExtractsRequest* req,
    cohortlink::v1::ListExtractsResponse* resp) {
  AuditEntry e = BaseEntry(ctx, Method::kListExtracts, "");
  auto agency =
      Authorize(ctx, *config_, Method::kListExtracts, req->agency(), &e);
  if (!agency.ok()) return Finish(agency.status(), std::move(e), false);
  auto list = extracts_->List(*agency);
  if (list.ok()) {
    for (auto& x : *list) *resp->add_extracts() = std::move(x);
  }
  return Finish(list.status(), std::move(e), false);
}

grpc::Status IngestService::GetExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::GetExtractRequest* req,
    cohortlink::v1::ExtractStatus* resp) {
  AuditEntry e = BaseEntry(ctx, Method::kGetExtract, req->extract_name());
  auto agency = Authorize(ctx, *config_, Method::kGetExtract, "", &e);
  if (!agency.ok()) return Finish(agency.status(), std::move(e), false);
  auto st = extracts_->Get(*agency, req->extract_name());
  if (st.ok()) *resp = *std::move(st);
  return Finish(st.status(), std::move(e), false);
}

grpc::Status IngestService::DeleteExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::DeleteExtractRequest* req,
    cohortlink::v1::DeleteExtractResponse* resp) {
  AuditEntry e = BaseEntry(ctx, Method::kDeleteExtract, req->extract_name());
  auto agency = Authorize(ctx, *config_, Method::kDeleteExtract, "", &e);
  if (!agency.ok()) return Finish(agency.status(), std::move(e), false);
  auto r = extracts_->Delete(*agency, req->extract_name(), e);
  if (r.ok()) *resp = *std::move(r);
  return Finish(r.status(), std::move(e), /*already_audited=*/r.ok());
}

}  // namespace cohortlink::server
