// The certificate lifecycle against the real server: `cohortlink keys
// revoke` writes the CA's CRL; a server started with --crl refuses the
// revoked identity at the handshake once the file changes (or on SIGHUP),
// while every other identity carries on; refusals are counted in metrics
// and logged with the certificate's identity. `keys renew` renews the
// server's own certificate in place and the running server serves it
// without a restart; `status` warns an admin of what is due.

#include <csignal>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "keys/crl.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

namespace fs = std::filesystem;

class CertificateLifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // A first start makes the dev CA and certificates; the CRL is made
    // from that CA, and the server restarted with it.
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
    server_.Stop(SIGTERM);
    ASSERT_EQ(Cli({"keys", "revoke", "--ca", Ca()}).exit_code, 0);
    Publish();
    server_.extra_args = {"--crl", tmp_.File("server-crl.pem")};
    ASSERT_TRUE(server_.Start(&error)) << error;
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  std::string Ca() const { return tmp_.File("data/dev-tls/ca"); }
  // Copies the CA's CRL to the server's --crl file, as an operator would
  // (a new file renamed into place).
  void Publish() {
    fs::copy_file(Ca() + "/crl.pem", tmp_.File("server-crl.pem.new"),
                  fs::copy_options::overwrite_existing);
    fs::rename(tmp_.File("server-crl.pem.new"), tmp_.File("server-crl.pem"));
  }
  // Waits for the `count`-th log line holding `text`.
  bool WaitForLog(const std::string& text, int count = 1) {
    for (int i = 0; i < 200; ++i) {
      std::string log = util::ReadFile(server_.log()).value_or("");
      int seen = 0;
      for (size_t p = log.find(text); p != std::string::npos;
           p = log.find(text, p + 1))
        ++seen;
      if (seen >= count) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // The serial of the certificate the server presents now.
  std::string ServedSerial() {
    std::string cmd = absl::StrCat(
        "openssl s_client -connect ", server_.address(), " -alpn h2 -cert ",
        server_.Tls("police"), "/cert.pem -key ", server_.Tls("police"),
        "/key.pem </dev/null 2>/dev/null | openssl x509 -noout -serial >",
        tmp_.File("served.txt"), " 2>/dev/null");
    if (std::system(cmd.c_str()) != 0) return "";
    std::string out = util::ReadFile(tmp_.File("served.txt")).value_or("");
    size_t eq = out.find('=');
    if (eq == std::string::npos) return "";
    std::string serial = out.substr(eq + 1);
    while (!serial.empty() && serial.back() == '\n') serial.pop_back();
    for (char& c : serial) c = static_cast<char>(std::tolower(c));
    return serial;
  }

  util::TempDir tmp_{"certificate_lifecycle_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

TEST_F(CertificateLifecycleTest, RevokedIdentityIsRefusedOthersContinue) {
  ASSERT_EQ(As("police", {"status"}).exit_code, 0);
  ASSERT_EQ(As("prison", {"status"}).exit_code, 0);
  auto revoked = Cli({"keys", "revoke", "--ca", Ca(), "--cert",
                      server_.Tls("police") + "/cert.pem"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  Publish();
  // Picked up from the changed file, without a signal or a restart.
  ASSERT_TRUE(WaitForLog("certificate revocation list reloaded"))
      << util::ReadFile(server_.log()).value_or("");
  auto police = As("police", {"status"});
  EXPECT_EQ(police.exit_code, 1);
  EXPECT_EQ(As("prison", {"status"}).exit_code, 0);
  EXPECT_EQ(As("health", {"status"}).exit_code, 0);

  std::string log = util::ReadFile(server_.log()).value_or("");
  EXPECT_NE(log.find("\"msg\":\"TLS handshake refused\",\"reason\":\"revoked\","
                     "\"identity\":\"spiffe://cohortlink.dev/agency/police/"
                     "submitter\""),
            std::string::npos)
      << log;
  std::string metrics = testing::HttpGet(server_.metrics_port(), "/metrics");
  EXPECT_NE(metrics.find(
                "cohortlink_tls_handshakes_refused_total{reason=\"revoked\"}"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(
      metrics.find(
          "cohortlink_tls_handshakes_refused_total{reason=\"revoked\"} 0"),
      std::string::npos);
  EXPECT_NE(metrics.find("cohortlink_crl_revoked_certificates 1"),
            std::string::npos);

  // A damaged file: the reload fails, is counted, and the revocation stays.
  {
    auto f = util::AtomicFile::Create(tmp_.File("server-crl.pem"));
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Write("not a CRL\n").ok());
    ASSERT_TRUE((*f)->Commit().ok());
  }
  ASSERT_TRUE(WaitForLog("the last good CRL stays in force"));
  EXPECT_EQ(As("police", {"status"}).exit_code, 1);
  EXPECT_EQ(As("prison", {"status"}).exit_code, 0);
  auto admin = As("admin", {"status"});
  EXPECT_NE(admin.out.find("warning: 1 reload(s) of the CA or revocation list "
                           "failed"),
            std::string::npos)
      << admin.out;

  // SIGHUP reloads at once (here the good list again).
  Publish();
  ASSERT_EQ(::kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(WaitForLog("certificate revocation list reloaded", 2));
  EXPECT_EQ(As("police", {"status"}).exit_code, 1);
}

TEST_F(CertificateLifecycleTest,
       RenewedServerCertificateIsServedAndDueItemsWarn) {
  const std::string before = ServedSerial();
  ASSERT_FALSE(before.empty());
  // No warnings at first (90-day certificates, a 30-day CRL).
  auto quiet = As("admin", {"status"});
  ASSERT_EQ(quiet.exit_code, 0) << quiet.err;
  EXPECT_EQ(quiet.out.find("warning:"), std::string::npos) << quiet.out;

  auto renewed = Cli({"keys", "renew", "--ca", Ca(), "--dir",
                      server_.Tls("server"), "--days", "10"});
  ASSERT_EQ(renewed.exit_code, 0) << renewed.err;
  auto pem = util::ReadFile(server_.Tls("server") + "/cert.pem");
  ASSERT_TRUE(pem.ok());
  const std::string serial = keys::CertificateSerial(*pem).value();
  ASSERT_NE(serial, before);
  std::string served;
  for (int i = 0; i < 40 && served != serial; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    served = ServedSerial();
  }
  EXPECT_EQ(served, serial) << "the renewed certificate is not served";
  EXPECT_EQ(As("police", {"status"}).exit_code, 0);

  // A CRL due within a week, and the renewed 10-day certificate: both are
  // admin warnings; other roles see none.
  // (Renewal rewrote ca.pem in the server's directory, which was reloaded
  // too: the CRL's reload is the second.)
  ASSERT_TRUE(WaitForLog("certificate revocation list reloaded"));
  ASSERT_EQ(Cli({"keys", "revoke", "--ca", Ca(), "--crl-days", "2"}).exit_code,
            0);
  Publish();
  ASSERT_TRUE(WaitForLog("certificate revocation list reloaded", 2));
  auto admin = As("admin", {"status", "--format", "json"});
  ASSERT_EQ(admin.exit_code, 0) << admin.err;
  EXPECT_NE(admin.out.find("the server's certificate expires on"),
            std::string::npos)
      << admin.out;
  EXPECT_NE(admin.out.find("the revocation list's next update is due on"),
            std::string::npos)
      << admin.out;
  auto police = As("police", {"status", "--format", "json"});
  EXPECT_EQ(police.out.find("revocation list"), std::string::npos)
      << police.out;
}

}  // namespace
}  // namespace cohortlink
