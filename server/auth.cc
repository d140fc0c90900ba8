#include "server/auth.h"

#include <grpc/grpc_security_constants.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "keys/pki.h"
#include "util/status_macros.h"

namespace cohortlink::server {

namespace {

// Every client certificate, at the handshake, through PeerCheck.
class CheckingVerifier
    : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit CheckingVerifier(PeerCheck* check) : check_(check) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    grpc::string_ref pem = request->peer_cert();
    keys::PeerVerifier::Outcome out =
        check_->Verify(std::string(pem.data(), pem.size()));
    *sync_status =
        out.refusal == keys::PeerVerifier::Refusal::kNone
            ? grpc::Status::OK
            : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, out.message);
    return true;
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {
  }

 private:
  PeerCheck* check_;
};

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerTlsCredentials(
    const std::string& tls_dir, PeerCheck* check) {
  // Checked once here (the key's mode, the files' presence); the provider
  // then reads them again whenever they change, so a renewed server
  // certificate is served without a restart.
  { ASSIGN_OR_RETURN(keys::TlsFiles files, keys::LoadTlsDir(tls_dir)); }
  auto provider =
      std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
          absl::StrCat(tls_dir, "/", keys::kKeyFile),
          absl::StrCat(tls_dir, "/", keys::kCertFile),
          absl::StrCat(tls_dir, "/", keys::kCaCertFile),
          kCertificateRefreshSeconds);
  grpc::experimental::TlsServerCredentialsOptions opts(provider);
  opts.watch_identity_key_cert_pairs();
  opts.watch_root_certs();
  // A client must present a certificate; the chain, its validity and the
  // CRL are checked by PeerCheck (so that every refusal is counted and
  // logged with the identity), not by gRPC's default verification.
  opts.set_cert_request_type(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_BUT_DONT_VERIFY);
  opts.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<CheckingVerifier>(
          check));
  opts.set_check_call_host(false);
  return grpc::experimental::TlsServerCredentials(opts);
}

namespace {

absl::StatusOr<keys::Identity> CheckIdentity(const std::string& id,
                                             const std::string& trust_domain) {
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

}  // namespace

absl::StatusOr<keys::Identity> PeerIdentity(const grpc::AuthContext& auth,
                                            const std::string& trust_domain) {
  std::vector<grpc::string_ref> ids =
      auth.FindPropertyValues(GRPC_PEER_SPIFFE_ID_PROPERTY_NAME);
  if (ids.size() != 1) {
    return absl::UnauthenticatedError(
        "the client certificate carries no (or more than one) spiffe:// "
        "identity");
  }
  return CheckIdentity(std::string(ids[0].data(), ids[0].size()), trust_domain);
}

namespace {

class ReflectionGate : public grpc::AuthMetadataProcessor {
 public:
  explicit ReflectionGate(std::string trust_domain)
      : trust_domain_(std::move(trust_domain)) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata,
                       grpc::AuthContext* context, OutputMetadata*,
                       OutputMetadata*) override {
    auto path = metadata.find(":path");
    if (path == metadata.end() ||
        !absl::StartsWith(
            absl::string_view(path->second.data(), path->second.size()),
            "/grpc.reflection.")) {
      return grpc::Status::OK;
    }
    auto who = PeerIdentity(*context, trust_domain_);
    if (who.ok() && who->role == keys::Role::kAdmin) return grpc::Status::OK;
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                        "server reflection is for the admin role only");
  }

 private:
  const std::string trust_domain_;
};

}  // namespace

std::shared_ptr<grpc::AuthMetadataProcessor> AdminOnlyReflection(
    std::string trust_domain) {
  return std::make_shared<ReflectionGate>(std::move(trust_domain));
}

absl::StatusOr<keys::Identity> CallerIdentity(const grpc::ServerContext& ctx,
                                              const ServerConfig& config) {
  if (!config.insecure_loopback_only) {
    return PeerIdentity(*ctx.auth_context(), config.trust_domain);
  }
  auto range = ctx.client_metadata().equal_range(kInsecureIdentityMetadata);
  if (range.first == range.second) {
    return absl::UnauthenticatedError(absl::StrCat(
        "insecure loopback server: state the caller's SPIFFE id in '",
        kInsecureIdentityMetadata, "' metadata"));
  }
  const grpc::string_ref& v = range.first->second;
  return CheckIdentity(std::string(v.data(), v.size()), config.trust_domain);
}

absl::Status CheckLoopback(const std::string& listen) {
  size_t colon = listen.rfind(':');
  std::string host = listen.substr(0, colon == std::string::npos ? 0 : colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost" || host == "::1" || absl::StartsWith(host, "127.")) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "--insecure-loopback-only refuses to listen on '", listen,
      "': only loopback addresses (127.0.0.1, ::1, localhost) may serve "
      "without mutual TLS"));
}

}  // namespace cohortlink::server
