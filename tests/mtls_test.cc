// Mutual TLS on loopback with certificates from our own `keys` code: the
// caller's SPIFFE identity reaches the service; clients without a
// certificate, with one from another CA, expired or revoked are refused at
// the handshake, and each refusal is counted by reason.

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/crl.h"
#include "keys/pki.h"
#include "server/auth.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

constexpr char kDomain[] = "cohortlink.test";

// Answers ListExtracts with the caller's identity as `uploaded_by`.
class EchoIdentity final : public v1::IngestService::Service {
  grpc::Status ListExtracts(grpc::ServerContext* ctx,
                            const v1::ListExtractsRequest*,
                            v1::ListExtractsResponse* resp) override {
    auto id = server::PeerIdentity(*ctx->auth_context(), kDomain);
    if (!id.ok()) {
      return grpc::Status(static_cast<grpc::StatusCode>(id.status().code()),
                          std::string(id.status().message()));
    }
    resp->add_extracts()->set_uploaded_by(id->ToString());
    return grpc::Status::OK;
  }
};

class MtlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(keys::InitCa(tmp_.File("ca")).ok());
    Issue("ca", "spiffe://cohortlink.test/server/linkage", "server", true);
    Issue("ca", "spiffe://cohortlink.test/agency/police/submitter", "police");
    Issue("ca", "spiffe://elsewhere.test/user/eve/analyst", "foreign");
    ASSERT_TRUE(keys::InitCa(tmp_.File("other-ca")).ok());
    Issue("other-ca", "spiffe://cohortlink.test/user/mallory/admin", "mallory");

    ASSERT_TRUE(keys::UpdateCrl(tmp_.File("ca"), "").ok());  // empty list
    auto check = server::PeerCheck::Create(tmp_.File("server/ca.pem"),
                                           tmp_.File("ca/crl.pem"));
    ASSERT_TRUE(check.ok()) << check.status();
    check_ = *std::move(check);
    auto creds =
        server::ServerTlsCredentials(tmp_.File("server"), check_.get());
    ASSERT_TRUE(creds.ok()) << creds.status();
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", *creds, &port_);
    b.RegisterService(&service_);
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    ASSERT_GT(port_, 0);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  void Issue(const std::string& ca, const std::string& id,
             const std::string& out, bool server = false,
             absl::Time now = absl::Now()) {
    keys::IssueOptions o;
    o.spiffe_id = id;
    o.now = now;
    if (server) {
      o.dns = {"localhost"};
      o.ips = {"127.0.0.1"};
    }
    ASSERT_TRUE(keys::IssueCertificate(tmp_.File(ca), o, tmp_.File(out)).ok());
  }

  grpc::Status Call(const std::string& client_dir,
                    v1::ListExtractsResponse* resp, bool with_cert = true) {
    auto files = keys::LoadTlsDir(tmp_.File(client_dir));
    EXPECT_TRUE(files.ok()) << files.status();
    grpc::SslCredentialsOptions o;
    // Trust the server's CA (the real one) in every case.
    o.pem_root_certs = keys::LoadTlsDir(tmp_.File("server"))->ca_pem;
    if (with_cert) {
      o.pem_private_key = files->key_pem;
      o.pem_cert_chain = files->cert_pem;
    }
    auto channel = grpc::CreateChannel("localhost:" + std::to_string(port_),
                                       grpc::SslCredentials(o));
    auto stub = v1::IngestService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(10));
    return stub->ListExtracts(&ctx, v1::ListExtractsRequest(), resp);
  }

  util::TempDir tmp_{"mtls_test"};
  std::unique_ptr<server::PeerCheck> check_;
  EchoIdentity service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(MtlsTest, IdentityComesFromTheClientCertificate) {
  v1::ListExtractsResponse resp;
  grpc::Status s = Call("police", &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.extracts_size(), 1);
  EXPECT_EQ(resp.extracts(0).uploaded_by(),
            "spiffe://cohortlink.test/agency/police/submitter");
}

TEST_F(MtlsTest, AnotherTrustDomainIsDenied) {
  v1::ListExtractsResponse resp;
  grpc::Status s = Call("foreign", &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("elsewhere.test"), std::string::npos);
}

TEST_F(MtlsTest, NoCertificateOrAnotherCaFailsTheHandshake) {
  v1::ListExtractsResponse resp;
  EXPECT_EQ(Call("police", &resp, /*with_cert=*/false).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Call("mallory", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(check_->stats().refused_untrusted, 1u);
}

TEST_F(MtlsTest, ExpiredCertificateFailsTheHandshake) {
  Issue("ca", "spiffe://cohortlink.test/agency/prison/submitter", "old", false,
        absl::Now() - absl::Hours(24 * 10));
  // Valid for days = 90 from ten days ago: still good; one of a day is not.
  keys::IssueOptions o;
  o.spiffe_id = "spiffe://cohortlink.test/agency/health/submitter";
  o.now = absl::Now() - absl::Hours(48);
  o.days = 1;
  ASSERT_TRUE(
      keys::IssueCertificate(tmp_.File("ca"), o, tmp_.File("expired")).ok());
  v1::ListExtractsResponse resp;
  EXPECT_TRUE(Call("old", &resp).ok());
  EXPECT_EQ(Call("expired", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(check_->stats().refused_expired, 1u);
}

// Revocation takes effect when the list is reloaded, for the revoked
// identity only; a damaged list leaves the last good one in force.
TEST_F(MtlsTest, RevokedCertificateFailsTheHandshakeAfterReload) {
  Issue("ca", "spiffe://cohortlink.test/agency/prison/submitter", "prison");
  v1::ListExtractsResponse resp;
  ASSERT_TRUE(Call("police", &resp).ok());
  auto pem = util::ReadFile(tmp_.File("police/cert.pem"));
  ASSERT_TRUE(pem.ok());
  auto serial = keys::CertificateSerial(*pem);
  ASSERT_TRUE(serial.ok());
  auto info = keys::UpdateCrl(tmp_.File("ca"), *serial);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->revoked, 1u);
  EXPECT_EQ(info->number, 2u);
  auto reloaded = check_->ReloadIfChanged();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_TRUE(*reloaded);
  EXPECT_EQ(Call("police", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Call("prison", &resp).ok());
  EXPECT_EQ(check_->stats().refused_revoked, 1u);
  EXPECT_EQ(check_->stats().revoked, 1u);

  // A damaged list: the reload fails, the revocation stays in force.
  { std::ofstream(tmp_.File("ca/crl.pem"), std::ios::trunc) << "garbage\n"; }
  EXPECT_FALSE(check_->Reload().ok());
  EXPECT_EQ(check_->stats().reload_failures, 1u);
  EXPECT_EQ(Call("police", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(Call("prison", &resp).ok());

  // A list signed by another CA is refused too.
  ASSERT_TRUE(keys::UpdateCrl(tmp_.File("other-ca"), "").ok());
  std::filesystem::copy_file(tmp_.File("other-ca/crl.pem"),
                             tmp_.File("ca/crl.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_FALSE(check_->Reload().ok());
  EXPECT_EQ(Call("police", &resp).error_code(), grpc::StatusCode::UNAVAILABLE);
}

// Renewal keeps the key and identity and replaces cert.pem in place; a
// request signed at the CA installs into the requester's directory.
TEST_F(MtlsTest, RenewalAndSigningRequestsKeepTheKeyWhereItIs) {
  auto before = util::ReadFile(tmp_.File("police/cert.pem"));
  auto key = util::ReadFile(tmp_.File("police/key.pem"));
  auto id = keys::RenewCertificate(tmp_.File("ca"), tmp_.File("police"), 30);
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "spiffe://cohortlink.test/agency/police/submitter");
  EXPECT_NE(util::ReadFile(tmp_.File("police/cert.pem")).value(), *before);
  EXPECT_EQ(util::ReadFile(tmp_.File("police/key.pem")).value(), *key);
  v1::ListExtractsResponse resp;
  EXPECT_TRUE(Call("police", &resp).ok());

  const std::string ann = "spiffe://cohortlink.test/user/ann/analyst";
  ASSERT_TRUE(keys::CreateCsr(tmp_.File("ann"), {ann, {}, {}}).ok());
  auto csr = util::ReadFile(tmp_.File("ann/request.csr"));
  ASSERT_TRUE(csr.ok());
  EXPECT_EQ(csr->find("PRIVATE KEY"), std::string::npos);
  keys::IssueOptions o;
  o.spiffe_id = "spiffe://cohortlink.test/user/ann/admin";
  EXPECT_EQ(keys::SignCsr(tmp_.File("ca"), *csr, o).status().code(),
            absl::StatusCode::kFailedPrecondition);  // asks for another
  o.spiffe_id = ann;
  auto cert = keys::SignCsr(tmp_.File("ca"), *csr, o);
  ASSERT_TRUE(cert.ok()) << cert.status();
  // Not for the key in police/: refused, police/ unchanged.
  auto ca = util::ReadFile(tmp_.File("ca/ca.pem")).value();
  EXPECT_FALSE(keys::InstallCertificate(tmp_.File("police"), *cert, ca).ok());
  ASSERT_TRUE(keys::InstallCertificate(tmp_.File("ann"), *cert, ca).ok());
  resp.Clear();
  ASSERT_TRUE(Call("ann", &resp).ok());
  EXPECT_EQ(resp.extracts(0).uploaded_by(), ann);
}

TEST_F(MtlsTest, WorldReadableKeyIsRefused) {
  std::string key = tmp_.File("police/key.pem");
  ASSERT_EQ(::chmod(key.c_str(), 0644), 0);
  auto files = keys::LoadTlsDir(tmp_.File("police"));
  EXPECT_EQ(files.status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(files.status().message().find("chmod 600"), std::string::npos);
}

}  // namespace
}  // namespace cohortlink
