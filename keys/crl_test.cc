#include "keys/crl.h"

#include "gtest/gtest.h"
#include "keys/pki.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink::keys {
namespace {

class CrlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCa(tmp_.File("ca")).ok());
    Issue("spiffe://t.example/agency/police/submitter", "police");
    Issue("spiffe://t.example/agency/prison/submitter", "prison");
    ca_ = util::ReadFile(tmp_.File("ca/ca.pem")).value();
  }
  void Issue(const std::string& id, const std::string& dir) {
    IssueOptions o;
    o.spiffe_id = id;
    ASSERT_TRUE(IssueCertificate(tmp_.File("ca"), o, tmp_.File(dir)).ok());
  }
  std::string Cert(const std::string& dir) {
    return util::ReadFile(tmp_.File(dir + "/cert.pem")).value();
  }
  std::string Crl() { return util::ReadFile(tmp_.File("ca/crl.pem")).value(); }

  util::TempDir tmp_{"crl_test"};
  std::string ca_;
};

TEST_F(CrlTest, RevokedSerialIsRefusedOthersPass) {
  auto serial = CertificateSerial(Cert("police"));
  ASSERT_TRUE(serial.ok());
  auto info = UpdateCrl(tmp_.File("ca"), *serial);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->revoked, 1u);
  // Revoking again changes nothing but the number.
  info = UpdateCrl(tmp_.File("ca"), *serial);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->revoked, 1u);
  EXPECT_EQ(info->number, 2u);
  auto v = PeerVerifier::Create(ca_, Crl());
  ASSERT_TRUE(v.ok()) << v.status();
  auto out = (*v)->Verify(Cert("police"), absl::Now());
  EXPECT_EQ(out.refusal, PeerVerifier::Refusal::kRevoked);
  EXPECT_EQ(out.spiffe_id, "spiffe://t.example/agency/police/submitter");
  EXPECT_EQ(out.serial, *serial);
  EXPECT_EQ((*v)->Verify(Cert("prison"), absl::Now()).refusal,
            PeerVerifier::Refusal::kNone);
  EXPECT_EQ((*v)->Verify("not a certificate", absl::Now()).refusal,
            PeerVerifier::Refusal::kMalformed);
  EXPECT_EQ(UpdateCrl(tmp_.File("ca"), "not-hex").status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A server whose clock is a little behind the CA's accepts a list just
// made; one past its next update is still enforced.
TEST_F(CrlTest, ClockSkewAndAnExpiredListKeepTheListInForce) {
  auto serial = CertificateSerial(Cert("police"));
  ASSERT_TRUE(UpdateCrl(tmp_.File("ca"), *serial).ok());
  auto v = PeerVerifier::Create(ca_, Crl());
  ASSERT_TRUE(v.ok());
  const absl::Time behind = absl::Now() - absl::Minutes(2);
  EXPECT_EQ((*v)->Verify(Cert("prison"), behind).refusal,
            PeerVerifier::Refusal::kNone);
  EXPECT_EQ((*v)->Verify(Cert("police"), behind).refusal,
            PeerVerifier::Refusal::kRevoked);
  const absl::Time later = absl::Now() + absl::Hours(24 * 40);  // past it
  EXPECT_LT((*v)->crl_next_update(), later);
  EXPECT_EQ((*v)->Verify(Cert("prison"), later).refusal,
            PeerVerifier::Refusal::kNone);
  EXPECT_EQ((*v)->Verify(Cert("police"), later).refusal,
            PeerVerifier::Refusal::kRevoked);
}

TEST_F(CrlTest, AListFromAnotherCaIsRefused) {
  ASSERT_TRUE(InitCa(tmp_.File("other")).ok());
  ASSERT_TRUE(UpdateCrl(tmp_.File("other"), "").ok());
  auto other = util::ReadFile(tmp_.File("other/crl.pem")).value();
  EXPECT_EQ(PeerVerifier::Create(ca_, other).status().code(),
            absl::StatusCode::kUnauthenticated);
  // And a damaged list of our own.
  ASSERT_TRUE(UpdateCrl(tmp_.File("ca"), "").ok());
  std::string crl = Crl();
  crl[crl.size() / 2] ^= 0x01;
  EXPECT_FALSE(PeerVerifier::Create(ca_, crl).ok());
}

}  // namespace
}  // namespace cohortlink::keys
