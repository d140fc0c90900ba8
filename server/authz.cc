#include "server/authz.h"

#include <algorithm>
#include <initializer_list>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/error_details.h"
#include "util/text.h"

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
    case Method::kGetBudget:
      return "GetBudget";
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
    case Method::kCreateBackup:
      return "CreateBackup";
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
    case Method::kGetBudget:
      return "QueryService";
    case Method::kGetSignedTreeHead:
    case Method::kGetAuditEntries:
    case Method::kGetInclusionProof:
    case Method::kGetConsistencyProof:
      return "AuditService";
    case Method::kCreateBackup:
      return "AdminService";
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
    case Method::kCreateBackup:
      return OneOf(who, m, {Role::kAdmin});
    case Method::kGetLinkageStatus:
      return std::string();
    case Method::kRunQuery:
      return OneOf(who, m, {Role::kAnalyst});
    case Method::kGetBudget:
      return OneOf(who, m, {Role::kAnalyst, Role::kAuditor});
    case Method::kGetSignedTreeHead:
    case Method::kGetAuditEntries:
    case Method::kGetInclusionProof:
    case Method::kGetConsistencyProof:
      return OneOf(who, m, {Role::kAuditor});
  }
  return absl::PermissionDeniedError("unknown method");
}

absl::StatusOr<const ProjectConfig*> ProjectFor(const keys::Identity& who,
                                                const std::string& requested,
                                                const ServerConfig& config) {
  const ProjectConfig* named = config.FindProject(requested);
  if (who.role == keys::Role::kAuditor) {
    if (named == nullptr) {
      return absl::NotFoundError(absl::StrCat(
          "no project '", util::Printable(requested), "' on this server"));
    }
    return named;
  }
  std::vector<std::string> mine;
  for (const auto& p : config.projects) {
    if (who.kind == keys::Identity::Kind::kUser &&
        p.analysts.contains(who.name))
      mine.push_back(p.name);
  }
  if (requested.empty()) {
    if (mine.empty()) return nullptr;
    return util::WithPreconditionViolation(
        absl::FailedPreconditionError(
            absl::StrCat("you work in project", mine.size() == 1 ? " " : "s ",
                         absl::StrJoin(mine, ", "),
                         "; name the one this query is for (--project)")),
        "PROJECT", "project", "required for a member of a project");
  }
  if (named == nullptr ||
      std::find(mine.begin(), mine.end(), requested) == mine.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "project '", util::Printable(requested), "' is not one of yours",
        mine.empty()
            ? std::string(" (you are in none)")
            : absl::StrCat(" (yours: ", absl::StrJoin(mine, ", "), ")")));
  }
  return named;
}

}  // namespace cohortlink::server
