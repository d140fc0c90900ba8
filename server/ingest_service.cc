#include "server/ingest_service.h"

#include "absl/strings/str_cat.h"
#include "server/call.h"
#include "util/status_macros.h"

namespace cohortlink::server {
namespace {

absl::StatusOr<cohortlink::v1::UploadReceipt> RunUpload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    const ServerConfig& config, store::ExtractStore* extracts, Call* call,
    uint64_t* bytes) {
  ASSIGN_OR_RETURN(std::string agency, call->Authorize());
  cohortlink::v1::UploadRequest msg;
  if (!reader->Read(&msg) || !msg.has_header()) {
    return absl::InvalidArgumentError("an upload must start with its header");
  }
  call->entry().set_target(msg.header().extract_name());
  const AgencyConfig* registered = config.FindAgency(agency);
  if (registered == nullptr)  // Authorize admits registered agencies only
    return absl::InternalError("upload for an unregistered agency");
  ASSIGN_OR_RETURN(auto session, extracts->BeginUpload(
                                     agency, call->principal(), msg.header(),
                                     config.PolicyFor(*registered)));
  while (reader->Read(&msg)) {
    if (!msg.has_batch())
      return absl::InvalidArgumentError("a second header in one upload");
    RETURN_IF_ERROR(session->AddFramedRecords(msg.batch().framed_records()));
    *bytes += msg.batch().framed_records().size();
  }
  if (ctx->IsCancelled())
    return absl::CancelledError("upload cancelled by the client");
  return session->Commit(call->entry());
}

}  // namespace

void IngestService::AddProgress(cohortlink::v1::ExtractStatus* st) const {
  if (st->linkage_state() == cohortlink::v1::LINKING && linkage_progress_)
    st->set_linkage_progress(linkage_progress_());
}

grpc::Status IngestService::Upload(
    grpc::ServerContext* ctx,
    grpc::ServerReader<cohortlink::v1::UploadRequest>* reader,
    cohortlink::v1::UploadReceipt* receipt) {
  Call call(ctx, config_, audit_, Method::kUpload);
  uint64_t bytes = 0;
  auto r = RunUpload(ctx, reader, *config_, extracts_, &call, &bytes);
  if (r.ok()) {
    *receipt = *std::move(r);
    if (on_commit_) on_commit_(receipt->records(), bytes);
  }
  return call.Finish(r.status(), /*already_audited=*/r.ok());
}

grpc::Status IngestService::ListExtracts(
    grpc::ServerContext* ctx, const cohortlink::v1::ListExtractsRequest* req,
    cohortlink::v1::ListExtractsResponse* resp) {
  Call call(ctx, config_, audit_, Method::kListExtracts);
  auto agency = call.Authorize(req->agency());
  if (!agency.ok()) return call.Finish(agency.status());
  auto list = extracts_->List(*agency);
  if (list.ok()) {
    for (auto& x : *list) {
      AddProgress(&x);
      *resp->add_extracts() = std::move(x);
    }
  }
  return call.Finish(list.status());
}

grpc::Status IngestService::GetExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::GetExtractRequest* req,
    cohortlink::v1::ExtractStatus* resp) {
  Call call(ctx, config_, audit_, Method::kGetExtract, req->extract_name());
  auto agency = call.Authorize();
  if (!agency.ok()) return call.Finish(agency.status());
  auto st = extracts_->Get(*agency, req->extract_name());
  if (st.ok()) {
    *resp = *std::move(st);
    AddProgress(resp);
  }
  return call.Finish(st.status());
}

grpc::Status IngestService::DeleteExtract(
    grpc::ServerContext* ctx, const cohortlink::v1::DeleteExtractRequest* req,
    cohortlink::v1::DeleteExtractResponse* resp) {
  Call call(ctx, config_, audit_, Method::kDeleteExtract, req->extract_name());
  auto agency = call.Authorize();
  if (!agency.ok()) return call.Finish(agency.status());
  auto r = extracts_->Delete(*agency, req->extract_name(), call.entry());
  if (r.ok()) *resp = *std::move(r);
  return call.Finish(r.status(), /*already_audited=*/r.ok());
}

}  // namespace cohortlink::server
