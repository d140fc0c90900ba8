#include "server/linkage_service.h"

#include "absl/strings/str_cat.h"
#include "server/call.h"

namespace cohortlink::server {

namespace {

// The counts of a linkage status or model (their `optional` fields) are
// for admins: present for them (zero included), absent for every other
// role.
void ShowCountsTo(bool admin, google::protobuf::Message* status) {
  const auto* d = status->GetDescriptor();
  const auto* r = status->GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const auto* f = d->field(i);
    if (!f->has_optional_keyword()) continue;
    if (!admin) {
      r->ClearField(status, f);
    } else if (f->cpp_type() ==
               google::protobuf::FieldDescriptor::CPPTYPE_UINT64) {
      r->SetUInt64(status, f, r->GetUInt64(*status, f));
    } else if (f->cpp_type() ==
               google::protobuf::FieldDescriptor::CPPTYPE_DOUBLE) {
      r->SetDouble(status, f, r->GetDouble(*status, f));
    }
  }
}

}  // namespace

grpc::Status LinkageService::ExportLinks(
    grpc::ServerContext* ctx, const cohortlink::v1::ExportLinksRequest*,
    grpc::ServerWriter<cohortlink::v1::ExportLinksResponse>* writer) {
  Call call(ctx, config_, audit_, Method::kExportLinks, "linkage map");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  cohortlink::v1::ExportLinksResponse batch;
  uint64_t sent = 0, total = 0;
  bool first = true;
  auto flush = [&]() -> absl::Status {
    if (first) batch.set_total(total);
    first = false;
    if (!writer->Write(batch))
      return absl::CancelledError("the client went away during the export");
    batch.Clear();
    return absl::OkStatus();
  };
  absl::Status s = runner_->ForEachLink(
      [&](const cohortlink::v1::LinkRow& row) -> absl::Status {
        *batch.add_rows() = row;
        ++sent;
        if (batch.rows_size() >= 4096) return flush();
        return absl::OkStatus();
      },
      &total);
  if (s.ok() && (batch.rows_size() > 0 || first)) s = flush();
  call.entry().set_records(sent);
  return call.Finish(s);
}

grpc::Status LinkageService::GetModel(grpc::ServerContext* ctx,
                                      const cohortlink::v1::GetModelRequest*,
                                      cohortlink::v1::LinkageModel* resp) {
  Call call(ctx, config_, audit_, Method::kGetModel, "model");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  auto m = runner_->CurrentModel();
  if (m.ok()) {
    *resp = *std::move(m);
    ShowCountsTo(call.role() == keys::Role::kAdmin, resp);
  }
  return call.Finish(m.status());
}

grpc::Status LinkageService::RetrainModel(
    grpc::ServerContext* ctx, const cohortlink::v1::RetrainModelRequest*,
    cohortlink::v1::LinkageStatus* resp) {
  Call call(ctx, config_, audit_, Method::kRetrainModel, "model");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  runner_->RequestRetrain();
  *resp = runner_->Status();
  return call.Finish(absl::OkStatus());
}

grpc::Status LinkageService::GetLinkageStatus(
    grpc::ServerContext* ctx, const cohortlink::v1::GetLinkageStatusRequest*,
    cohortlink::v1::LinkageStatus* resp) {
  Call call(ctx, config_, audit_, Method::kGetLinkageStatus, "linkage");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  *resp = runner_->Status();
  const bool admin = call.role() == keys::Role::kAdmin;
  ShowCountsTo(admin, resp);
  if (admin && admin_warnings_) {
    for (std::string& w : admin_warnings_()) resp->add_warnings(std::move(w));
  }
  return call.Finish(absl::OkStatus());
}

grpc::Status LinkageService::RetireKeyEpoch(
    grpc::ServerContext* ctx, const cohortlink::v1::RetireKeyEpochRequest* req,
    cohortlink::v1::RetireKeyEpochResponse* resp) {
  Call call(ctx, config_, audit_, Method::kRetireKeyEpoch,
            absl::StrCat("key epoch ", req->epoch()));
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  if (req->epoch() == 0)
    return call.Finish(absl::InvalidArgumentError("epoch: must be >= 1"));
  auto removed = extracts_->RetireEpoch(req->epoch(), call.entry());
  if (removed.ok()) {
    resp->set_epoch(req->epoch());
    resp->set_records_removed(*removed);
  }
  return call.Finish(removed.status(), /*already_audited=*/removed.ok());
}

grpc::Status LinkageService::OpenKeyEpoch(
    grpc::ServerContext* ctx, const cohortlink::v1::OpenKeyEpochRequest* req,
    cohortlink::v1::OpenKeyEpochResponse* resp) {
  Call call(ctx, config_, audit_, Method::kOpenKeyEpoch,
            absl::StrCat("key epoch ", req->epoch()));
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  absl::Status s =
      extracts_->OpenEpoch(req->epoch(), req->key_check_value(), call.entry());
  if (s.ok()) resp->set_epoch(req->epoch());
  return call.Finish(s, /*already_audited=*/s.ok());
}

}  // namespace cohortlink::server
