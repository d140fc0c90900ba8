#ifndef COHORTLINK_SERVER_CALL_H_
#define COHORTLINK_SERVER_CALL_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cohortlink/v1/audit.pb.h"
#include "grpcpp/server_context.h"
#include "linkage/store/audit_log.h"
#include "server/authz.h"
#include "server/config.h"

namespace cohortlink::server {

// One RPC as every service adapter handles it: who is calling, the one
// authorisation decision, and exactly one audit entry, allowed or denied.
class Call {
 public:
  Call(grpc::ServerContext* ctx, const ServerConfig* config,
       store::AuditLog* audit, Method m, std::string target = "");

  // Identifies the caller (CallerIdentity) and authorises the method
  // (Authorize), recording both in the entry. Returns the agency the call
  // may act on.
  absl::StatusOr<std::string> Authorize(const std::string& agency = "");

  // The project the authorised caller acts in (ProjectFor; nullptr for
  // none), recorded in the entry.
  absl::StatusOr<const ProjectConfig*> Project(const std::string& requested);

  cohortlink::v1::AuditEntry& entry() { return entry_; }
  const std::string& principal() const { return entry_.principal(); }
  // The caller's role, once Authorize has identified it.
  std::optional<keys::Role> role() const {
    return who_ ? std::optional<keys::Role>(who_->role) : std::nullopt;
  }

  // Appends the entry with the outcome (unless a change already wrote it
  // in its own write: `already_audited`) and converts the status. A call
  // that cannot be audited is refused.
  grpc::Status Finish(const absl::Status& s, bool already_audited = false);

 private:
  grpc::ServerContext* ctx_;
  const ServerConfig* config_;
  store::AuditLog* audit_;
  Method method_;
  std::optional<keys::Identity> who_;
  cohortlink::v1::AuditEntry entry_;
};

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_CALL_H_
