#include "server/authz.h"

#include "absl/strings/str_cat.h"

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
  }
  return "";
}

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

}  // namespace cohortlink::server
