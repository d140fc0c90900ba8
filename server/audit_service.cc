#include "server/audit_service.h"

#include "absl/strings/str_cat.h"
#include "server/call.h"
#include "util/status_macros.h"

namespace cohortlink::server {
absl::StatusOr<cohortlink::v1::SignedTreeHead> TreeHeads::Issue() {
  absl::MutexLock lock(&mu_);
  store::AuditLog::TreeHead head = log_->Head();
  cohortlink::v1::SignedTreeHead sth;
  sth.set_tree_size(head.size);
  sth.set_root_hash(head.root);
  sth.set_timestamp_ms(absl::ToUnixMillis(now_()));
  ASSIGN_OR_RETURN(std::string sig,
                   key_->Sign(keys::TreeHeadSignedBytes(
                       sth.tree_size(), sth.timestamp_ms(), sth.root_hash())));
  sth.set_signature(sig);
  RETURN_IF_ERROR(log_->StoreTreeHead(sth, key_->fingerprint()));
  last_size_ = head.size;
  last_time_ = now_();
  return sth;
}

absl::Status TreeHeads::MaybeIssue(uint64_t entries, absl::Duration interval) {
  {
    absl::MutexLock lock(&mu_);
    if (log_->size() < last_size_ + entries && now_() - last_time_ < interval)
      return absl::OkStatus();
    if (log_->size() == last_size_ && last_time_ != absl::InfinitePast())
      return absl::OkStatus();
  }
  return Issue().status();
}

grpc::Status AuditService::GetSignedTreeHead(
    grpc::ServerContext* ctx, const cohortlink::v1::GetSignedTreeHeadRequest*,
    cohortlink::v1::SignedTreeHead* resp) {
  Call call(ctx, config_, audit_, Method::kGetSignedTreeHead, "access log");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  auto sth = heads_->Issue();
  if (sth.ok()) *resp = *std::move(sth);
  return call.Finish(sth.status());
}

grpc::Status AuditService::GetEntries(
    grpc::ServerContext* ctx, const cohortlink::v1::GetEntriesRequest* req,
    cohortlink::v1::GetEntriesResponse* resp) {
  Call call(ctx, config_, audit_, Method::kGetAuditEntries, "access log");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  uint32_t limit = req->limit() == 0 ? 1000 : std::min(req->limit(), 10000u);
  auto raw = audit_->ReadRaw(req->from(), limit);
  if (!raw.ok()) return call.Finish(raw.status());
  uint64_t index = req->from();
  cohortlink::v1::AuditEntry e;
  for (const std::string& bytes : *raw) {
    if (!e.ParseFromString(bytes))
      return call.Finish(absl::DataLossError(
          absl::StrCat("access log entry ", index, " is corrupt")));
    bool keep =
        (req->principal().empty() || e.principal() == req->principal()) &&
        (req->method().empty() || e.method() == req->method()) &&
        (!req->denied_only() || e.code() != 0) &&
        (req->since().empty() || e.time() >= req->since());
    if (keep) {
      auto* r = resp->add_records();
      r->set_index(index);
      r->set_entry(bytes);
    }
    ++index;
  }
  resp->set_next(index);
  resp->set_log_size(audit_->size());
  call.entry().set_records(resp->records_size());
  return call.Finish(absl::OkStatus());
}

grpc::Status AuditService::GetInclusionProof(
    grpc::ServerContext* ctx,
    const cohortlink::v1::GetInclusionProofRequest* req,
    cohortlink::v1::AuditProof* resp) {
  Call call(ctx, config_, audit_, Method::kGetInclusionProof, "access log");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  auto proof = audit_->InclusionProof(req->index(), req->tree_size());
  if (proof.ok())
    for (auto& h : *proof) resp->add_hashes(h);
  return call.Finish(proof.status());
}

grpc::Status AuditService::GetConsistencyProof(
    grpc::ServerContext* ctx,
    const cohortlink::v1::GetConsistencyProofRequest* req,
    cohortlink::v1::AuditProof* resp) {
  Call call(ctx, config_, audit_, Method::kGetConsistencyProof, "access log");
  auto allowed = call.Authorize();
  if (!allowed.ok()) return call.Finish(allowed.status());
  auto proof = audit_->ConsistencyProof(req->first(), req->second());
  if (proof.ok())
    for (auto& h : *proof) resp->add_hashes(h);
  return call.Finish(proof.status());
}

}  // namespace cohortlink::server
