#ifndef COHORTLINK_SERVER_AUTHZ_H_
#define COHORTLINK_SERVER_AUTHZ_H_

#include <string>

#include "absl/status/statusor.h"
#include "keys/spiffe.h"
#include "server/config.h"

namespace cohortlink::server {

enum class Method { kUpload, kListExtracts, kGetExtract, kDeleteExtract };
const char* MethodName(Method m);

// The one authorisation decision for every RPC. Returns the agency whose
// extracts the call may touch ("" = every agency, for admins listing).
// Submitters act only on their own, registered agency; admins may list and
// read any agency's status; nobody else may use the ingest API.
// PERMISSION_DENIED explains the refusal.
absl::StatusOr<std::string> AuthorizeIngest(const keys::Identity& who, Method m,
                                            const std::string& requested_agency,
                                            const ServerConfig& config);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_AUTHZ_H_
