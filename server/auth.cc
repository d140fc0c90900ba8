#include "server/auth.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "keys/pki.h"
#include "util/status_macros.h"

namespace cohortlink::server {

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const std::string& tls_dir) {
  ASSIGN_OR_RETURN(keys::TlsFiles files, keys::LoadTlsDir(tls_dir));
  grpc::SslServerCredentialsOptions opts(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  opts.pem_root_certs = files.ca_pem;
  opts.pem_key_cert_pairs.push_back({files.key_pem, files.cert_pem});
  auto creds = grpc::SslServerCredentials(opts);
  for (auto& p : opts.pem_key_cert_pairs) {
    std::fill(p.private_key.begin(), p.private_key.end(), '\0');
  }
  return creds;
}

absl::StatusOr<keys::Identity> PeerIdentity(const grpc::AuthContext& auth,
                                            const std::string& trust_domain) {
  std::vector<grpc::string_ref> ids =
      auth.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  if (ids.size() != 1) {
    return absl::UnauthenticatedError(
        "the client certificate carries no (or more than one) spiffe:// "
        "identity");
  }
  std::string id(ids[0].data(), ids[0].size());
  auto identity = keys::ParseSpiffeId(id);
  if (!identity.ok())
    return absl::UnauthenticatedError(identity.status().message());
  if (identity->trust_domain != trust_domain) {
    return absl::PermissionDeniedError(
        absl::StrCat("identity ", id, " belongs to trust domain '",
                     identity->trust_domain, "', not '", trust_domain, "'"));
  }
  return identity;
}

}  // namespace cohortlink::server
