#ifndef COHORTLINK_SERVER_AUTH_H_
#define COHORTLINK_SERVER_AUTH_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_context.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_context.h"
#include "keys/spiffe.h"
#include "server/config.h"
#include "server/peer_check.h"

namespace cohortlink::server {

// How often the server looks for a renewed certificate in its --tls DIR.
inline constexpr unsigned kCertificateRefreshSeconds = 10;

// Mutual-TLS server credentials from a --tls DIR: the server presents
// cert.pem/key.pem (read again when they change) and requires every client
// to present a certificate that `check` accepts: it chains to the CA, is
// valid, and is not revoked (the handshake fails otherwise).
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const std::string& tls_dir, PeerCheck* check);

// The caller's identity: the SPIFFE id in the URI SAN of its verified
// client certificate. UNAUTHENTICATED when there is none or it is not a
// cohortlink identity; PERMISSION_DENIED for another trust domain.
// Refuses server reflection (grpc.reflection.*) to every caller but an
// admin, before the call reaches the reflection service; everything else
// passes to the services, which authorise themselves. For
// grpc::ServerCredentials::SetAuthMetadataProcessor.
std::shared_ptr<grpc::AuthMetadataProcessor> AdminOnlyReflection(
    std::string trust_domain);

absl::StatusOr<keys::Identity> PeerIdentity(const grpc::AuthContext& auth,
                                            const std::string& trust_domain);

// Metadata key naming the caller on an --insecure-loopback-only server.
inline constexpr char kInsecureIdentityMetadata[] =
    "cohortlink-insecure-identity";

// The only way the services learn who is calling: PeerIdentity() over
// mutual TLS; on an --insecure-loopback-only server (tests and local
// experiments; no TLS, loopback addresses only) the SPIFFE id the client
// states in `cohortlink-insecure-identity` metadata, checked the same way.
absl::StatusOr<keys::Identity> CallerIdentity(const grpc::ServerContext& ctx,
                                              const ServerConfig& config);

// OK when HOST:PORT names a loopback address (127.0.0.0/8, ::1, localhost);
// FAILED_PRECONDITION otherwise.
absl::Status CheckLoopback(const std::string& listen);

}  // namespace cohortlink::server

#endif  // COHORTLINK_SERVER_AUTH_H_
