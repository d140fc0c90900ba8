#include "server/ingest_service.h"

#include "absl/strings/str_cat.h"
#include "server/auth.h"
#include "server/authz.h"
#include "server/grpc_status.h"
#include "util/status_macros.h"

namespace cohortlink::server {
namespace {

absl::StatusOr<std::string> Authorize(grpc::ServerContext* ctx,
                                      const ServerConfig& config, Method m,
                                      const std::string& agency,
                                      std::string* principal) {
  ASSIGN_OR_RETURN(keys::Identity who,
                   PeerIdentity(*ctx->auth_context(), config.trust_domain));
  *principal = who.ToString();
  return AuthorizeIngest(who, m, agency, config);
}

absl::StatusOr<cohortlink::v1::UploadReceipt> RunUpload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    const ServerConfig& config, store::ExtractStore* extracts) {
  std::string principal;
  ASSIGN_OR_RETURN(std::string agency,
                   Authorize(ctx, config, Method::kUpload, "", &principal));
  cohortlink::v1::UploadRequest msg;
  if (!reader->Read(&msg) || !msg.has_header()) {
    return absl::InvalidArgumentError("an upload must start with its header");
  }
  ASSIGN_OR_RETURN(auto session,
                   extracts->BeginUpload(agency, principal, msg.header()));
  while (reader->Read(&msg)) {
    if (!msg.has_batch())
      return absl::InvalidArgumentError("a second header in one upload");
    RETURN_IF_ERROR(session->AddFramedRecords(msg.batch().framed_records()));
  }
  if (ctx->IsCancelled())
    return absl::CancelledError("upload cancelled by the client");
  return session->Commit();
}

}  // namespace

grpc::Status IngestService::Upload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    cohortlink::v1::UploadReceipt* receipt) {
  auto r = RunUpload(ctx, reader, *config_, extracts_);
  if (r.ok()) *receipt = *std::move(r);
  return ToGrpc(r.status());
}

grpc::Status IngestService::ListExtracts(
    grpc::ServerContext* ctx, const cohortlink::v1::ListExtractsRequest* req,
    cohortlink::v1::ListExtractsResponse* resp) {
  std::string principal;
  auto agency = Authorize(ctx, *config_, Method::kListExtracts, req->agency(),
                          &principal);
  if (!agency.ok()) return ToGrpc(agency.status());
  auto list = extracts_->List(*agency);
  if (list.ok()) {
    for (auto& e : *list) *resp->add_extracts() = std::move(e);
  }
  return ToGrpc(list.status());
}

grpc::Status IngestService::GetExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::GetExtractRequest* req,
    cohortlink::v1::ExtractStatus* resp) {
  std::string principal;
  auto agency = Authorize(ctx, *config_, Method::kGetExtract, "", &principal);
  if (!agency.ok()) return ToGrpc(agency.status());
  auto st = extracts_->Get(*agency, req->extract_name());
  if (st.ok()) *resp = *std::move(st);
  return ToGrpc(st.status());
}

grpc::Status IngestService::DeleteExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::DeleteExtractRequest* req,
    cohortlink::v1::DeleteExtractResponse* resp) {
  std::string principal;
  auto agency =
      Authorize(ctx, *config_, Method::kDeleteExtract, "", &principal);
  if (!agency.ok()) return ToGrpc(agency.status());
  auto r = extracts_->Delete(*agency, req->extract_name());
  if (r.ok()) *resp = *std::move(r);
  return ToGrpc(r.status());
}

}  // namespace cohortlink::server
