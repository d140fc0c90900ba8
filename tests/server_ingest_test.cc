// cohortlink-server and the cohortlink CLI, both real binaries, over mutual
// TLS on a loopback port with the server's --dev certificates and a real
// RocksDB in a temporary directory.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/pki.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/store.h"
#include "tests/cli_runner.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

class ServerIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = FreePort();
    Start();
    // Two encoded extracts from a small synthetic region.
    ASSERT_EQ(Cli({"synth", "--people", "300", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "shared secret\n";
    std::ofstream(tmp_.File("other.secret")) << "a different secret\n";
    Encode("police", "secret", "police.clx");
    Encode("prison", "secret", "prison.clx");
    Encode("prison", "other.secret", "prison-other-secret.clx");
  }
  void TearDown() override { Stop(SIGTERM); }

  void Start() {
    std::string bin =
        std::string(COHORTLINK_BINARY_DIR) + "/server/cohortlink-server";
    std::string log = tmp_.File("server.log");
    pid_ = ::fork();
    if (pid_ == 0) {
      std::freopen(log.c_str(), "a", stderr);
      std::string listen = "127.0.0.1:" + std::to_string(port_);
      std::string data = tmp_.File("data");
      ::execl(bin.c_str(), bin.c_str(), "--dev", "--data-dir", data.c_str(),
              "--listen", listen.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Wait until this start has logged "listening on".
    for (int i = 0; i < 200; ++i) {
      auto text = util::ReadFile(log);
      int listening = 0;
      for (size_t p = text.ok() ? text->find("listening on")
                                : std::string::npos;
           p != std::string::npos; p = text->find("listening on", p + 1)) {
        ++listening;
      }
      if (listening > starts_) {
        starts_ = listening;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    FAIL() << "server did not start: " << util::ReadFile(log).value_or("");
  }
  void Stop(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, sig);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  void Encode(const std::string& agency, const std::string& secret,
              const std::string& out) {
    auto r = Cli({"encode", "--schema", tmp_.File("region/schema.json"),
                  "--secret", tmp_.File(secret), "--input",
                  tmp_.File("region/" + agency + ".csv"), "--output",
                  tmp_.File(out)});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  std::string Tls(const std::string& who) {
    return tmp_.File("data/dev-tls/" + who);
  }
  testing::CliResult Upload(const std::string& who, const std::string& name,
                            const std::string& file) {
    return Cli({"upload", "--server", "127.0.0.1:" + std::to_string(port_),
                "--tls", Tls(who), "--extract", name, tmp_.File(file),
                "--format", "json", "--retries", "0"});
  }
  testing::CliResult Status(const std::string& who) {
    return Cli({"status", "--server", "127.0.0.1:" + std::to_string(port_),
                "--tls", Tls(who), "--format", "json"});
  }

  util::TempDir tmp_{"server_ingest_test"};
  int port_ = 0;
  pid_t pid_ = -1;
  int starts_ = 0;  // "listening on" lines seen so far
};

TEST_F(ServerIngestTest, UploadReplaceIdempotentAndDelete) {
  auto r = Upload("police", "arrests", "police.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"version\": 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"unchanged\": false"), std::string::npos);
  r = Upload("police", "arrests", "police.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"unchanged\": true"), std::string::npos) << r.out;
  // Same extract name, different content (prison data under police): v2.
  r = Upload("police", "arrests", "prison.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"version\": 2"), std::string::npos) << r.out;
  r = Cli({"delete", "--server", "127.0.0.1:" + std::to_string(port_), "--tls",
           Tls("police"), "--extract", "arrests"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Status("police").out.find("arrests"), std::string::npos);
}

TEST_F(ServerIngestTest, RolesAndAgenciesAreEnforced) {
  ASSERT_EQ(Upload("police", "arrests", "police.clx").exit_code, 0);
  auto r = Upload("analyst", "x", "police.clx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("role analyst may not call Upload"), std::string::npos)
      << r.err;
  // Another agency's submitter sees only its own extracts.
  EXPECT_EQ(Status("prison").out.find("arrests"), std::string::npos);
  r = Cli({"delete", "--server", "127.0.0.1:" + std::to_string(port_), "--tls",
           Tls("prison"), "--extract", "arrests"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(Status("police").out.find("arrests"), std::string::npos);
  // An admin may list everything.
  EXPECT_NE(Status("admin").out.find("arrests"), std::string::npos);

  // Every call left exactly one audit entry, allowed or denied.
  Stop(SIGTERM);
  auto db = store::Store::Open(tmp_.File("data/db"));
  ASSERT_TRUE(db.ok()) << db.status();
  auto log = *store::AuditLog::Create(db->get());
  auto entries = *log->Read(0, 100);
  // police upload, analyst upload (denied), prison list, prison delete
  // (not found), police list, admin list.
  ASSERT_EQ(entries.size(), 6u);
  EXPECT_EQ(entries[0].method(), "IngestService/Upload");
  EXPECT_EQ(entries[0].principal(),
            "spiffe://cohortlink.dev/agency/police/submitter");
  EXPECT_EQ(entries[0].code(), 0);
  EXPECT_GT(entries[0].records(), 0u);
  EXPECT_EQ(entries[1].principal(),
            "spiffe://cohortlink.dev/user/analyst/analyst");
  EXPECT_EQ(entries[1].code(),
            static_cast<int>(absl::StatusCode::kPermissionDenied));
  bool saw_denied_delete = false;
  for (const auto& e : entries) {
    EXPECT_FALSE(e.time().empty());
    EXPECT_FALSE(e.peer().empty());
    if (e.method() == "IngestService/DeleteExtract") {
      saw_denied_delete =
          e.code() == static_cast<int>(absl::StatusCode::kNotFound) &&
          e.agency() == "prison";
    }
  }
  EXPECT_TRUE(saw_denied_delete);
  for (size_t i = 0; i < entries.size(); ++i)
    EXPECT_EQ(entries[i].sequence(), i);
}

TEST_F(ServerIngestTest, MixedSecretIsRefusedWithTheAgencyNamed) {
  ASSERT_EQ(Upload("police", "arrests", "police.clx").exit_code, 0);
  auto r = Upload("prison", "releases", "prison-other-secret.clx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("agency prison's extract was encoded with a different "
                       "linkage secret"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Status("prison").out.find("releases"), std::string::npos);
}

TEST_F(ServerIngestTest, ForeignCaIsRefusedAtTheHandshake) {
  ASSERT_EQ(
      Cli({"keys", "ca", "init", "--dir", tmp_.File("rogue-ca")}).exit_code, 0);
  ASSERT_EQ(Cli({"keys", "issue", "--ca", tmp_.File("rogue-ca"), "--id",
                 "spiffe://cohortlink.dev/agency/police/submitter", "--out",
                 tmp_.File("rogue")})
                .exit_code,
            0);
  auto r = Cli({"upload", "--server", "127.0.0.1:" + std::to_string(port_),
                "--tls", tmp_.File("rogue"), "--extract", "x",
                tmp_.File("police.clx"), "--retries", "0"});
  EXPECT_EQ(r.exit_code, 1);
  // The TLS handshake fails, which gRPC reports as UNAVAILABLE.
  EXPECT_NE(r.err.find("does it trust your certificate's CA"),
            std::string::npos)
      << r.err;
}

// grpc.health.v1.Health/Check over mutual TLS, as raw bytes: an empty
// HealthCheckRequest, and a response whose field 1 is SERVING (1).
TEST_F(ServerIngestTest, HealthCheckAnswersServing) {
  auto files = keys::LoadTlsDir(Tls("police"));
  ASSERT_TRUE(files.ok()) << files.status();
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = files->ca_pem;
  o.pem_cert_chain = files->cert_pem;
  o.pem_private_key = files->key_pem;
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                     grpc::SslCredentials(o));
  grpc::GenericStub stub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  grpc::Slice empty("", 0);
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                 &request, &response,
                 [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  ASSERT_TRUE(s.ok()) << s.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const auto& sl : slices)
    bytes.append(reinterpret_cast<const char*>(sl.begin()), sl.size());
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST_F(ServerIngestTest, AcknowledgedUploadSurvivesKillNine) {
  ASSERT_EQ(Upload("police", "arrests", "police.clx").exit_code, 0);
  Stop(SIGKILL);
  Start();
  auto s = Status("police");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("\"extract\": \"arrests\""), std::string::npos) << s.out;
}

}  // namespace
}  // namespace cohortlink
