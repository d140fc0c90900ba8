#ifndef COHORTLINK_SERVER_AUTH_H_
#define COHORTLINK_SERVER_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/server_credentials.h"
#include "keys/spiffe.h"

namespace cohortlink::server {

// Mutual-TLS server credentials from a --tls DIR: the server presents
// cert.pem/key.pem and requires every client to present a certificate that
// verifies against ca.pem (the handshake fails otherwise).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const std::string& tls_dir);

// The caller's identity: the SPIFFE id in the URI SAN of its verified
// client certificate. UNAUTHENTICATED when there is none or it is not a
// cohortlink identity; PERMISSION_DENIED for another trust domain.
absl::StatusOr<keys::Identity> PeerIdentity(const grpc::AuthContext& auth,
                                            const std::string& trust_domain);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_AUTH_H_
