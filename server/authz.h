#ifndef COHORTLINK_SERVER_AUTHZ_H_
#define COHORTLINK_SERVER_AUTHZ_H_

#include <string>

#include "absl/status/statusor.h"
#include "keys/spiffe.h"
#include "server/config.h"

namespace cohortlink::server {

// Every RPC of the API.
enum class Method {
  kUpload,
  kListExtracts,
  kGetExtract,
  kDeleteExtract,
  kExportLinks,
  kGetModel,
  kRetrainModel,
  kGetLinkageStatus,
  kRunQuery,
  kGetBudget,
  kGetSignedTreeHead,
  kGetAuditEntries,
  kGetInclusionProof,
  kGetConsistencyProof,
  kRetireKeyEpoch,
  kOpenKeyEpoch,
  kCreateBackup,
};
const char* MethodName(Method m);   // "Upload"
const char* ServiceName(Method m);  // "IngestService"

// The one authorisation decision for every RPC. Returns the agency whose
// extracts the call may touch ("" = every agency, or none).
// - Ingest: submitters act only on their own, registered agency's
//   extracts; admins may list and read any agency's extract status.
// - ExportLinks (the linkage map): linkage-export only.
// - GetModel (no personal data): admin, analyst, auditor, linkage-export.
// - RetrainModel, RetireKeyEpoch, OpenKeyEpoch, CreateBackup: admin only.
// - GetLinkageStatus: every role.
// - RunQuery (cohort counts under disclosure control): analyst only.
// - GetBudget (a project's privacy budget): analyst and auditor.
// - AuditService (the access log and its proofs): auditor only.
// PERMISSION_DENIED explains the refusal.
absl::StatusOr<std::string> Authorize(const keys::Identity& who, Method m,
                                      const std::string& requested_agency,
                                      const ServerConfig& config);

// The project a query or budget request of `who` acts in (nullptr: none).
// An analyst names one of the projects listing them, and must name one if
// any does; an auditor may name any project. PERMISSION_DENIED for a
// project that is not the analyst's (or does not exist: the same answer),
// FAILED_PRECONDITION when a member of projects names none.
absl::StatusOr<const ProjectConfig*> ProjectFor(const keys::Identity& who,
                                                const std::string& requested,
                                                const ServerConfig& config);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_AUTHZ_H_
