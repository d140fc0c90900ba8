#include "server/authz.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cohortlink::server {

const char* MethodName(Method m) {
  switch (m) {
    case Method::kUpload:
      return "Upload";
    case Method::kListExtracts:
      return "ListExtracts";
    case Method::kGetExtract:
      return "GetExtract";
    case Method::kDeleteExtract:
      return "DeleteExtract";
    case Method::kExportLinks:
      return "ExportLinks";
    case Method::kGetModel:
      return "GetModel";
    case Method::kRetrainModel:
      return "RetrainModel";
    case Method::kGetLinkageStatus:
      return "GetLinkageStatus";
    case Method::kRunQuery:
      return "RunQuery";
    case Method::kGetSignedTreeHead:
      return "GetSignedTreeHead";
    case Method::kGetAuditEntries:
      return "GetEntries";
    case Method::kGetInclusionProof:
      return "GetInclusionProof";
    case Method::kGetConsistencyProof:
      return "GetConsistencyProof";
    case Method::kRetireKeyEpoch:
      return "RetireKeyEpoch";
    case Method::kOpenKeyEpoch:
      return "OpenKeyEpoch";
  }
  return "";
}

const char* ServiceName(Method m) {
  switch (m) {
    case Method::kUpload:
    case Method::kListExtracts:
    case Method::kGetExtract:
    case Method::kDeleteExtract:
      return "IngestService";
    case Method::kExportLinks:
    case Method::kGetModel:
    case Method::kRetrainModel:
    case Method::kGetLinkageStatus:
    case Method::kRetireKeyEpoch:
    case Method::kOpenKeyEpoch:
      return "LinkageService";
    case Method::kRunQuery:
      return "QueryService";
    case Method::kGetSignedTreeHead:
    case Method::kGetAuditEntries:
    case Method::kGetInclusionProof:
    case Method::kGetConsistencyProof:
      return "AuditService";
  }
  return "";
}

namespace {

absl::StatusOr<std::string> AuthorizeIngest(const keys::Identity& who, Method m,
                                            const std::string& requested_agency,
                                            const ServerConfig& config) {
  const bool read_only = m == Method::kListExtracts || m == Method::kGetExtract;
  if (who.role == keys::Role::kAdmin && read_only) return requested_agency;
  if (who.role != keys::Role::kSubmitter ||
      who.kind != keys::Identity::Kind::kAgency) {
    return absl::PermissionDeniedError(absl::StrCat(
        "role ", keys::RoleName(who.role), " may not call ", MethodName(m),
        read_only ? " (submitters and admins may)"
                  : " (only an agency's submitters may)"));
  }
  if (config.FindAgency(who.name) == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat(
        "agency '", who.name, "' is not registered on this server"));
  }
  if (!requested_agency.empty() && requested_agency != who.name) {
    return absl::PermissionDeniedError(
        absl::StrCat("a submitter of ", who.name, " may not act on ",
                     requested_agency, "'s extracts"));
  }
  return who.name;
}

// OK when `who` holds one of `roles`.
absl::StatusOr<std::string> OneOf(const keys::Identity& who, Method m,
                                  std::initializer_list<keys::Role> roles) {
  std::vector<std::string> names;
  for (keys::Role r : roles) {
    if (who.role == r) return std::string();
    names.push_back(keys::RoleName(r));
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "role ", keys::RoleName(who.role), " may not call ", MethodName(m), " (",
      absl::StrJoin(names, ", "), names.size() == 1 ? " only)" : " may)"));
}

}  // namespace

absl::StatusOr<std::string> Authorize(const keys::Identity& who, Method m,
                                      const std::string& requested_agency,
                                      const ServerConfig& config) {
  using keys::Role;
  switch (m) {
    case Method::kUpload:
    case Method::kListExtracts:
    case Method::kGetExtract:
    case Method::kDeleteExtract:
      return AuthorizeIngest(who, m, requested_agency, config);
    case Method::kExportLinks:
      return OneOf(who, m, {Role::kLinkageExport});
    case Method::kGetModel:
      return OneOf(
          who, m,
          {Role::kAdmin, Role::kAnalyst, Role::kAuditor, Role::kLinkageExport});
    case Method::kRetrainModel:
    case Method::kRetireKeyEpoch:
    case Method::kOpenKeyEpoch:
      return OneOf(who, m, {Role::kAdmin});
    case Method::kGetLinkageStatus:
      return std::string();
    case Method::kRunQuery:
      return OneOf(who, m, {Role::kAnalyst});
    case Method::kGetSignedTreeHead:
    case Method::kGetAuditEntries:
    case Method::kGetInclusionProof:
    case Method::kGetConsistencyProof:
      return OneOf(who, m, {Role::kAuditor});
  }
  return absl::PermissionDeniedError("unknown method");
}

}  // namespace cohortlink::server
