#include "server/call.h"

#include "absl/strings/str_cat.h"
#include "server/auth.h"
#include "server/grpc_status.h"
#include "util/status_macros.h"

namespace cohortlink::server {

Call::Call(grpc::ServerContext* ctx, const ServerConfig* config,
           store::AuditLog* audit, Method m, std::string target)
    : ctx_(ctx), config_(config), audit_(audit), method_(m) {
  entry_.set_peer(ctx->peer());
  entry_.set_method(absl::StrCat(ServiceName(m), "/", MethodName(m)));
  entry_.set_target(std::move(target));
}

absl::StatusOr<std::string> Call::Authorize(const std::string& agency) {
  ASSIGN_OR_RETURN(keys::Identity who, CallerIdentity(*ctx_, *config_));
  entry_.set_principal(who.ToString());
  entry_.set_role(keys::RoleName(who.role));
  who_ = who;
  ASSIGN_OR_RETURN(std::string allowed,
                   server::Authorize(who, method_, agency, *config_));
  entry_.set_agency(allowed);
  return allowed;
}

absl::StatusOr<const ProjectConfig*> Call::Project(
    const std::string& requested) {
  if (!who_) return absl::InternalError("Project() before Authorize()");
  ASSIGN_OR_RETURN(const ProjectConfig* p,
                   ProjectFor(*who_, requested, *config_));
  if (p != nullptr) entry_.set_project(p->name);
  return p;
}

grpc::Status Call::Finish(const absl::Status& s, bool already_audited) {
  if (!already_audited) {
    entry_.set_code(static_cast<int>(s.code()));
    entry_.set_message(std::string(s.message()));
    absl::Status a = audit_->Append(entry_);
    if (absl::IsResourceExhausted(a)) {
      return ToGrpc(absl::ResourceExhaustedError(
          "the server's disk is full; the call was refused and nothing was "
          "stored (the server resumes by itself once space is freed)"));
    }
    if (!a.ok()) {
      return ToGrpc(
          absl::UnavailableError("audit log unavailable; call refused"));
    }
  }
  return ToGrpc(s);
}

}  // namespace cohortlink::server
