#include "keys/spiffe.h"

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cohortlink::keys {
namespace {

bool ValidSegment(absl::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return s != "." && s != "..";
}

absl::Status Bad(absl::string_view id, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid identity '", id, "': ", why));
}

}  // namespace

const char* RoleName(Role r) {
  switch (r) {
    case Role::kSubmitter:
      return "submitter";
    case Role::kAnalyst:
      return "analyst";
    case Role::kAuditor:
      return "auditor";
    case Role::kAdmin:
      return "admin";
    case Role::kLinkageExport:
      return "linkage-export";
    case Role::kServer:
      return "server";
  }
  return "";
}

absl::StatusOr<Role> ParseRole(absl::string_view name) {
  for (Role r : {Role::kSubmitter, Role::kAnalyst, Role::kAuditor, Role::kAdmin,
                 Role::kLinkageExport}) {
    if (name == RoleName(r)) return r;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown role '", name,
                   "' (submitter, analyst, auditor, admin, linkage-export)"));
}

std::string Identity::ToString() const {
  switch (kind) {
    case Kind::kAgency:
      return absl::StrCat("spiffe://", trust_domain, "/agency/", name, "/",
                          RoleName(role));
    case Kind::kUser:
      return absl::StrCat("spiffe://", trust_domain, "/user/", name, "/",
                          RoleName(role));
    case Kind::kServer:
      return absl::StrCat("spiffe://", trust_domain, "/server/", name);
  }
  return "";
}

absl::StatusOr<Identity> ParseSpiffeId(absl::string_view id) {
  constexpr absl::string_view kScheme = "spiffe://";
  if (!absl::StartsWith(id, kScheme))
    return Bad(id, "must start with spiffe://");
  std::vector<absl::string_view> parts =
      absl::StrSplit(id.substr(kScheme.size()), '/');
  if (parts.size() < 3) {
    return Bad(id,
               "expected spiffe://<trust-domain>/agency/<id>/<role>, "
               "/user/<name>/<role> or /server/<name>");
  }
  Identity out;
  for (absl::string_view p : parts) {
    if (!ValidSegment(p)) {
      return Bad(id,
                 absl::StrCat("'", p,
                              "' is not a valid segment (lower-case a-z, 0-9, "
                              "'.', '_', '-')"));
    }
  }
  out.trust_domain = std::string(parts[0]);
  if (parts[1] == "server") {
    if (parts.size() != 3)
      return Bad(id, "a server identity is /server/<name>");
    out.kind = Identity::Kind::kServer;
    out.name = std::string(parts[2]);
    out.role = Role::kServer;
    return out;
  }
  if (parts.size() != 4)
    return Bad(id, "expected /agency/<id>/<role> or /user/<name>/<role>");
  if (parts[1] == "agency") {
    out.kind = Identity::Kind::kAgency;
  } else if (parts[1] == "user") {
    out.kind = Identity::Kind::kUser;
  } else {
    return Bad(id,
               absl::StrCat("'", parts[1], "' must be agency, user or server"));
  }
  out.name = std::string(parts[2]);
  auto role = ParseRole(parts[3]);
  if (!role.ok()) return Bad(id, role.status().message());
  out.role = *role;
  return out;
}

}  // namespace cohortlink::keys
