// `cohortlink keys ca init` and `keys issue` through the real binary.

#include <sys/stat.h>

#include "gtest/gtest.h"
#include "keys/pki.h"
#include "tests/cli_runner.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

unsigned Mode(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

TEST(CliKeysTest, CaInitAndIssueMakeTheTlsLayout) {
  util::TempDir tmp("cli_keys_test");
  auto run = [&](std::vector<std::string> a) {
    return testing::RunCli(a, tmp.path());
  };
  auto r = run({"keys", "ca", "init", "--dir", tmp.File("ca")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Mode(tmp.File("ca/ca-key.pem")), 0600u);
  r = run({"keys", "ca", "init", "--dir", tmp.File("ca")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("already holds a CA"), std::string::npos) << r.err;

  r = run({"keys", "issue", "--ca", tmp.File("ca"), "--id",
           "spiffe://cohortlink.test/user/ana/analyst", "--out",
           tmp.File("analyst")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Mode(tmp.File("analyst/key.pem")), 0600u);
  std::string cert = *util::ReadFile(tmp.File("analyst/cert.pem"));
  EXPECT_EQ(*keys::CertificateSpiffeId(cert),
            "spiffe://cohortlink.test/user/ana/analyst");
  EXPECT_TRUE(
      keys::VerifyCertificate(*util::ReadFile(tmp.File("analyst/ca.pem")), cert)
          .ok());
  // The private key is never printed.
  std::string key = *util::ReadFile(tmp.File("analyst/key.pem"));
  EXPECT_EQ(r.out.find("PRIVATE KEY"), std::string::npos);

  r = run({"keys", "issue", "--ca", tmp.File("ca"), "--id",
           "spiffe://t/user/ana/wizard", "--out", tmp.File("bad")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown role 'wizard'"), std::string::npos) << r.err;
  r = run({"keys", "issue", "--ca", tmp.File("no-ca"), "--id",
           "spiffe://t/user/ana/analyst", "--out", tmp.File("x")});
  EXPECT_EQ(r.exit_code, 1);
  r = run({"keys", "issue", "--ca", tmp.File("ca")});
  EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace cohortlink
