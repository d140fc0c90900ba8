// Mutual TLS on loopback with certificates from our own `keys` code: the
// caller's SPIFFE identity reaches the service; clients without a
// certificate or with one from another CA are refused at the handshake.

#include <memory>
#include <string>

#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/pki.h"
#include "server/auth.h"
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

    auto creds = server::ServerTlsCredentials(tmp_.File("server"));
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
             const std::string& out, bool server = false) {
    keys::IssueOptions o;
    o.spiffe_id = id;
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
