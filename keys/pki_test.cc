#include "keys/pki.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "gtest/gtest.h"
#include "keys/spiffe.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink::keys {
namespace {

unsigned Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

TEST(SpiffeTest, ParsesTheThreeShapes) {
  auto a = ParseSpiffeId("spiffe://cohortlink.example/agency/police/submitter");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->kind, Identity::Kind::kAgency);
  EXPECT_EQ(a->name, "police");
  EXPECT_EQ(a->role, Role::kSubmitter);
  auto u = ParseSpiffeId("spiffe://td/user/jo.bloggs/linkage-export");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->role, Role::kLinkageExport);
  EXPECT_EQ(u->ToString(), "spiffe://td/user/jo.bloggs/linkage-export");
  auto s = ParseSpiffeId("spiffe://td/server/linkage-1");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->role, Role::kServer);
}

TEST(SpiffeTest, RejectsMalformedIds) {
  for (const char* bad :
       {"https://td/agency/police/submitter", "spiffe://td/agency/police",
        "spiffe://td/agency/police/king", "spiffe://td/group/x/analyst",
        "spiffe://td/agency/Police/submitter", "spiffe://td/agency//submitter",
        "spiffe://td/agency/police/submitter/extra"}) {
    EXPECT_EQ(ParseSpiffeId(bad).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(PkiTest, CaIssuesVerifiableCertificatesWithSpiffeSans) {
  util::TempDir tmp("pki_test");
  std::string ca = tmp.File("ca");
  ASSERT_TRUE(InitCa(ca).ok());
  EXPECT_EQ(Mode(ca + "/ca-key.pem"), 0600u);
  EXPECT_EQ(InitCa(ca).code(), absl::StatusCode::kAlreadyExists);

  IssueOptions o;
  o.spiffe_id = "spiffe://cohortlink.test/agency/police/submitter";
  ASSERT_TRUE(IssueCertificate(ca, o, tmp.File("police")).ok());
  EXPECT_EQ(Mode(tmp.File("police/key.pem")), 0600u);
  std::string cert = *util::ReadFile(tmp.File("police/cert.pem"));
  std::string ca_pem = *util::ReadFile(tmp.File("police/ca.pem"));
  EXPECT_EQ(*util::ReadFile(ca + "/ca.pem"), ca_pem);
  EXPECT_EQ(*CertificateSpiffeId(cert), o.spiffe_id);
  EXPECT_TRUE(VerifyCertificate(ca_pem, cert).ok());
  // Not yet valid long before issue, expired long after.
  EXPECT_EQ(VerifyCertificate(ca_pem, cert, absl::Now() - absl::Hours(24 * 30))
                .code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyCertificate(ca_pem, cert, absl::Now() + absl::Hours(24 * 400))
                .code(),
            absl::StatusCode::kUnauthenticated);
  // Refuses to overwrite an issued identity.
  EXPECT_EQ(IssueCertificate(ca, o, tmp.File("police")).code(),
            absl::StatusCode::kAlreadyExists);
  // Another CA's certificate does not verify.
  ASSERT_TRUE(InitCa(tmp.File("other")).ok());
  EXPECT_EQ(
      VerifyCertificate(*util::ReadFile(tmp.File("other/ca.pem")), cert).code(),
      absl::StatusCode::kUnauthenticated);
}

TEST(PkiTest, ServerCertificatesCarryDnsAndIpSans) {
  util::TempDir tmp("pki_server_test");
  ASSERT_TRUE(InitCa(tmp.File("ca")).ok());
  IssueOptions o;
  o.spiffe_id = "spiffe://cohortlink.test/server/linkage";
  o.dns = {"localhost", "linkage.example"};
  o.ips = {"127.0.0.1"};
  ASSERT_TRUE(IssueCertificate(tmp.File("ca"), o, tmp.File("server")).ok());
  std::string cert = *util::ReadFile(tmp.File("server/cert.pem"));
  EXPECT_EQ(*CertificateSpiffeId(cert), o.spiffe_id);
  IssueOptions bad;
  bad.spiffe_id = "spiffe://x/agency/police/overlord";
  EXPECT_EQ(IssueCertificate(tmp.File("ca"), bad, tmp.File("bad")).code(),
            absl::StatusCode::kInvalidArgument);
}

// A private key may be read by its owner only, or, when root owns it, by
// one group as well (a Kubernetes Secret: root, group fsGroup, 0440).
TEST(PkiTest, PrivateFilesFollowTheOwnerOrRootGroupRule) {
  util::TempDir tmp("pki_private");
  const std::string f = tmp.File("key.pem");
  { std::ofstream(f) << "k"; }
  auto with = [&](uid_t uid, mode_t mode) {
    EXPECT_EQ(::chown(f.c_str(), uid, static_cast<gid_t>(-1)), 0);
    EXPECT_EQ(::chmod(f.c_str(), mode), 0);
    return CheckPrivateFile(f).code();
  };
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  EXPECT_EQ(with(0, 0600), absl::StatusCode::kOk);
  EXPECT_EQ(with(0, 0440), absl::StatusCode::kOk);
  EXPECT_EQ(with(0, 0640), absl::StatusCode::kOk);
  EXPECT_EQ(with(0, 0660), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(with(0, 0604), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(with(10001, 0600), absl::StatusCode::kOk);
  EXPECT_EQ(with(10001, 0640), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(with(10001, 0604), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CheckPrivateFile(tmp.File("absent")).code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cohortlink::keys
