#ifndef COHORTLINK_KEYS_SPIFFE_H_
#define COHORTLINK_KEYS_SPIFFE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

enum class Role {
  kSubmitter,
  kAnalyst,
  kAuditor,
  kAdmin,
  kLinkageExport,
  kServer
};

const char* RoleName(Role r);
absl::StatusOr<Role> ParseRole(absl::string_view name);

// A cohortlink identity, carried as the URI SAN of a certificate:
//   spiffe://<trust-domain>/agency/<agency-id>/<role>
//   spiffe://<trust-domain>/user/<name>/<role>
//   spiffe://<trust-domain>/server/<name>
// Path segments are [a-z0-9._-]+ (lower case), per the SPIFFE ID spec's
// allowed characters.
struct Identity {
  std::string trust_domain;
  enum class Kind { kAgency, kUser, kServer } kind = Kind::kUser;
  std::string name;  // agency id, user name or server name
  Role role = Role::kAnalyst;

  std::string ToString() const;
};

// INVALID_ARGUMENT explains what is wrong with `id`.
absl::StatusOr<Identity> ParseSpiffeId(absl::string_view id);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_SPIFFE_H_
