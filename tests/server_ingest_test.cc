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
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_split.h"
#include "cohortlink/v1/ingest.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "keys/pki.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/encoding/test_data.h"
#include "linkage/store/store.h"
#include "tests/access_log.h"
#include "tests/cli_runner.h"
#include "tests/grpc_client.h"
#include "tests/server_process.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

using testing::FreePort;
using testing::HttpGet;
using testing::ServerBinary;

class ServerIngestTest : public ::testing::Test {
 protected:
  void SetUp() override {
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
    Encode("police", "other.secret", "police-other-secret.clx");
    // The first 40 police rows: the same agency, different content.
    std::ifstream all(tmp_.File("region/police.csv"));
    std::ofstream part(tmp_.File("region/police-part.csv"));
    std::string line;
    for (int i = 0; i <= 40 && std::getline(all, line); ++i)
      part << line << "\n";
    part.close();
    Encode("police-part", "secret", "police-part.clx");
  }
  void TearDown() override { Stop(SIGTERM); }

  void Start() {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << "server did not start: " << error;
    port_ = server_.port();
    metrics_port_ = server_.metrics_port();
  }
  void Stop(int sig) { server_.Stop(sig); }

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

  // A raw gRPC stub with `who`'s dev certificate.
  std::unique_ptr<cohortlink::v1::IngestService::Stub> Stub(
      const std::string& who) {
    return testing::IngestStub("127.0.0.1:" + std::to_string(port_), Tls(who));
  }

  // Encoded records in stored order, across all extracts, after a stop.
  uint64_t StoredRecordCount() {
    auto db = store::Store::Open(tmp_.File("data/db"));
    EXPECT_TRUE(db.ok()) << db.status();
    std::unique_ptr<rocksdb::Iterator> it((*db)->db()->NewIterator(
        rocksdb::ReadOptions(), (*db)->cf(store::Family::kRecords)));
    uint64_t n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }

  util::TempDir tmp_{"server_ingest_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
  int port_ = 0, metrics_port_ = 0;
};

TEST_F(ServerIngestTest, UploadReplaceIdempotentAndDelete) {
  auto r = Upload("police", "arrests", "police.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"version\": 1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\"unchanged\": false"), std::string::npos);
  r = Upload("police", "arrests", "police.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"unchanged\": true"), std::string::npos) << r.out;
  // Same extract name, different content: v2.
  r = Upload("police", "arrests", "police-part.clx");
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
  auto entries = testing::ReadAccessLog(tmp_.File("data"));
  // police upload, analyst upload (denied), prison status (linkage state
  // and list), prison delete (not found), police status, admin status.
  ASSERT_EQ(entries.size(), 9u);
  int linkage_status_calls = 0;
  for (const auto& e : entries)
    linkage_status_calls += e.method() == "LinkageService/GetLinkageStatus";
  EXPECT_EQ(linkage_status_calls, 3);
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

// CLKs made by anonlink-client (clkhash JSON) upload as they are, and link
// with the same people's CLKs made by `cohortlink encode` from the CSV:
// NCVR party 0 encoded here, party 1 as anonlink-client published it.
TEST_F(ServerIngestTest, ClkhashJsonClksUploadAndLinkWithEncodedOnes) {
  const std::string schema = testing::DatasetPath("ncvr/novt_schema.json");
  const std::string party0 = testing::DatasetPath(
      "ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_0_nump_10.csv");
  const std::string clks1 =
      testing::DatasetPath("anonlink-client/novt_clk_1.json");
  REQUIRE_DATASET("ncvr/novt_schema.json");
  REQUIRE_DATASET("anonlink-client/novt_clk_1.json");
  REQUIRE_DATASET("ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_0_nump_10.csv");
  std::ofstream(tmp_.File("ncvr.secret")) << "secret";
  auto r =
      Cli({"encode", "--schema", schema, "--secret", tmp_.File("ncvr.secret"),
           "--input", party0, "--output", tmp_.File("p0.clx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string server = "127.0.0.1:" + std::to_string(port_);
  auto upload_clks = [&](const std::string& file,
                         std::vector<std::string> extra) {
    std::vector<std::string> args = {
        "upload",         "--server",  server,     "--tls",
        Tls("probation"), "--extract", "voters-1", "--input-format",
        "clkhash-json",   "--schema",  schema,     "--format",
        "json",           "--retries", "0",        file};
    args.insert(args.end(), extra.begin(), extra.end());
    return Cli(args);
  };

  // Usage errors: the schema and a key check value are required, and
  // they belong to clkhash-json only.
  r = Cli({"upload", "--server", server, "--tls", Tls("probation"), "--extract",
           "voters-1", "--input-format", "clkhash-json", clks1});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("needs --schema"), std::string::npos) << r.err;
  r = Cli({"upload", "--server", server, "--tls", Tls("police"), "--extract",
           "x", "--schema", schema, tmp_.File("p0.clx")});
  EXPECT_EQ(r.exit_code, 2) << r.err;

  // A damaged CLK is refused by position, and nothing is stored.
  std::string doc = testing::Slurp(clks1);
  size_t second = doc.find('"', doc.find('"', doc.find('[')) + 1) + 1;
  second = doc.find('"', second);  // the second CLK's opening quote
  std::string damaged = doc;
  damaged.insert(second + 1, "!!!!");
  std::ofstream(tmp_.File("damaged.json")) << damaged;
  r = upload_clks(tmp_.File("damaged.json"),
                  {"--secret", tmp_.File("ncvr.secret")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a base64 character"), std::string::npos) << r.err;
  EXPECT_EQ(Status("probation").out.find("voters-1"), std::string::npos);

  // Upload both; the key check value is taken from the secret.
  r = Upload("police", "voters-0", "p0.clx");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = upload_clks(clks1, {"--secret", tmp_.File("ncvr.secret")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"records\": 5000"), std::string::npos) << r.out;
  r = Cli(
      {"status", "--server", server, "--tls", Tls("admin"), "--wait", "120"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = Cli({"export-links", "--server", server, "--tls", Tls("exporter"),
           "--out", tmp_.File("links.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Entities holding a record of each agency: the people of both parties.
  std::ifstream links(tmp_.File("links.csv"));
  std::string line;
  std::getline(links, line);
  std::map<std::string, std::set<std::string>> agencies;
  while (std::getline(links, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ASSERT_GE(f.size(), 4u);
    agencies[f[3]].insert(f[0]);
  }
  int both = 0;
  for (const auto& [entity, a] : agencies) both += a.size() == 2;
  // The two parties share 1,224 people (by recid); a linkage that read
  // the imported CLKs wrongly would join almost none.
  EXPECT_GE(both, 1100) << "entities with both agencies";
  EXPECT_LE(both, 1224 + 30);
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
  std::string error;
  EXPECT_EQ(testing::HealthCheck("127.0.0.1:" + std::to_string(port_),
                                 Tls("police"), &error),
            1)
      << error;
}

TEST_F(ServerIngestTest, AcknowledgedUploadSurvivesKillNine) {
  ASSERT_EQ(Upload("police", "arrests", "police.clx").exit_code, 0);
  Stop(SIGKILL);
  Start();
  auto s = Status("police");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_NE(s.out.find("\"extract\": \"arrests\""), std::string::npos) << s.out;
}

TEST_F(ServerIngestTest, MalformedRecordIsRefusedWithItsIndexAndNothingStored) {
  // police.clx with record 7's filters cut by 64 bits: a well-formed
  // container (its digest matches) holding one invalid record.
  auto in = encoding::ExtractReader::Open(tmp_.File("police.clx"));
  ASSERT_TRUE(in.ok()) << in.status();
  auto out =
      encoding::ExtractWriter::Create(tmp_.File("bad.clx"), (*in)->header());
  ASSERT_TRUE(out.ok()) << out.status();
  std::string bytes;
  for (int i = 0; *(*in)->Next(&bytes); ++i) {
    if (i == 7) {
      cohortlink::v1::EncodedRecord rec;
      ASSERT_TRUE(rec.ParseFromString(bytes));
      rec.mutable_filters()->resize(rec.filters().size() - 8);
      bytes = rec.SerializeAsString();
    }
    ASSERT_TRUE((*out)->AppendSerialized(bytes).ok());
  }
  ASSERT_TRUE((*out)->Finish().ok());

  auto r = Upload("police", "arrests", "bad.clx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("record 7: filters:"), std::string::npos) << r.err;
  // The google.rpc.BadRequest detail, as the CLI prints it.
  EXPECT_NE(r.err.find("records[7].filters: "), std::string::npos) << r.err;
  EXPECT_EQ(Status("police").out.find("arrests"), std::string::npos);
  Stop(SIGTERM);
  EXPECT_EQ(StoredRecordCount(), 0u);
}

TEST_F(ServerIngestTest, EventTypesAndAttributesFollowTheAgencyType) {
  // Prison events (reception, release) are not a police agency's to send.
  auto r = Upload("police", "arrests", "prison.clx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("record 0: event_type: '"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("is not an event type a police agency may send"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Upload("prison", "releases", "prison.clx").exit_code, 0);
}

TEST_F(ServerIngestTest, KillNineMidUploadLeavesTheExtractAbsentOrComplete) {
  ASSERT_EQ(Upload("police", "arrests", "police-part.clx").exit_code, 0);
  // A police extract large enough (about 6 MB) that the server stages part
  // of it to RocksDB before the end.
  ASSERT_EQ(
      Cli({"synth", "--people", "12000", "--out", tmp_.File("big")}).exit_code,
      0);
  auto r = Cli({"encode", "--schema", tmp_.File("region/schema.json"),
                "--secret", tmp_.File("secret"), "--input",
                tmp_.File("big/police.csv"), "--output", tmp_.File("big.clx")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Replacing "arrests" and creating "more": most records sent, no
  // WritesDone, then the server dies.
  auto stub = Stub("police");
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<
      std::unique_ptr<grpc::ClientWriter<cohortlink::v1::UploadRequest>>>
      writers;
  cohortlink::v1::UploadReceipt receipt;
  for (const char* name : {"arrests", "more"}) {
    auto reader = encoding::ExtractReader::Open(tmp_.File("big.clx"));
    ASSERT_TRUE(reader.ok()) << reader.status();
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    writers.push_back(stub->Upload(contexts.back().get(), &receipt));
    cohortlink::v1::UploadRequest req;
    req.mutable_header()->set_extract_name(name);
    *req.mutable_header()->mutable_extract() = (*reader)->header();
    req.mutable_header()->set_record_count((*reader)->record_count());
    req.mutable_header()->set_content_digest((*reader)->content_digest());
    ASSERT_TRUE(writers.back()->Write(req));
    std::string framed, bytes;
    for (uint64_t i = 0; i + 10 < (*reader)->record_count(); ++i) {
      ASSERT_TRUE(*(*reader)->Next(&bytes));
      encoding::AppendLengthDelimited(bytes, &framed);
      if (framed.size() > (512 << 10)) {
        req.Clear();
        req.mutable_batch()->set_framed_records(framed);
        ASSERT_TRUE(writers.back()->Write(req));
        framed.clear();
      }
    }
  }
  // Give the server a moment to read and stage what was sent.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  Stop(SIGKILL);
  for (auto& c : contexts) c->TryCancel();
  writers.clear();
  Start();
  auto s = Status("police");
  ASSERT_EQ(s.exit_code, 0) << s.err;
  EXPECT_EQ(s.out.find("\"more\""), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\"version\": 1"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("\"records\": 40"), std::string::npos) << s.out;
  Stop(SIGTERM);
  // Only the committed version's records remain (recovery removed the
  // staged halves).
  EXPECT_EQ(StoredRecordCount(), 40u);
}

TEST_F(ServerIngestTest, PrometheusMetricsCountCallsAndStoredRecords) {
  ASSERT_GT(metrics_port_, 0);
  ASSERT_EQ(Upload("police", "arrests", "police-part.clx").exit_code, 0);
  EXPECT_EQ(Upload("analyst", "x", "police.clx").exit_code, 1);
  std::string page = HttpGet(metrics_port_, "/metrics");
  EXPECT_NE(page.find("cohortlink_rpc_requests_total{code=\"OK\",method="
                      "\"cohortlink.v1.IngestService/Upload\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("cohortlink_rpc_requests_total{code=\"PERMISSION_DENIED\""
                      ",method=\"cohortlink.v1.IngestService/Upload\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("cohortlink_rpc_duration_seconds_count{code=\"OK\""),
            std::string::npos);
  EXPECT_NE(page.find("cohortlink_extracts 1"), std::string::npos) << page;
  EXPECT_NE(page.find("cohortlink_records_stored 40"), std::string::npos)
      << page;
}

// Moving to a new linkage secret: agencies upload under the next key
// epoch; the server never links across epochs; an admin retires the old
// epoch once every agency has moved.
TEST_F(ServerIngestTest, KeyEpochsRotateTheLinkageSecret) {
  auto up = [&](const std::string& who, const std::string& name,
                const std::string& file, const std::string& epoch) {
    return Cli({"upload", "--server", "127.0.0.1:" + std::to_string(port_),
                "--tls", Tls(who), "--extract", name, tmp_.File(file),
                "--retries", "0", "--key-epoch", epoch});
  };
  auto admin = [&](std::vector<std::string> args) {
    for (auto& a :
         {std::string("--server"), "127.0.0.1:" + std::to_string(port_),
          std::string("--tls"), Tls("admin")})
      args.push_back(a);
    return Cli(args);
  };
  ASSERT_EQ(up("police", "arrests", "police.clx", "1").exit_code, 0);
  ASSERT_EQ(up("prison", "releases", "prison.clx", "1").exit_code, 0);
  // No submitter can open epoch 2 and so fix its secret for the others.
  auto r = up("police", "arrests", "police-other-secret.clx", "2");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("key epoch 2 is not open; an admin opens it"),
            std::string::npos)
      << r.err;
  r = Cli({"epoch", "open", "--epoch", "2", "--key-check-value",
           "0011223344556677", "--server", "127.0.0.1:" + std::to_string(port_),
           "--tls", Tls("police")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("may not call OpenKeyEpoch"), std::string::npos)
      << r.err;
  // The admin opens it with the new secret's key check value, which the
  // agency's encode report gives.
  r = Cli({"encode", "--schema", tmp_.File("region/schema.json"), "--secret",
           tmp_.File("other.secret"), "--input", tmp_.File("region/police.csv"),
           "--output", tmp_.File("kcv-probe.clx"), "--report", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const size_t at = r.out.find("\"key_check_value\": \"");
  ASSERT_NE(at, std::string::npos) << r.out;
  const std::string kcv = r.out.substr(at + 20, 16);
  EXPECT_EQ(admin({"epoch", "open", "--epoch", "2", "--key-check-value", "xyz"})
                .exit_code,
            2);
  EXPECT_EQ(admin({"epoch", "open", "--epoch", "3", "--key-check-value", kcv})
                .exit_code,
            1);
  r = admin({"epoch", "open", "--epoch", "2", "--key-check-value", kcv});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = admin({"epoch", "open", "--epoch", "2", "--key-check-value", kcv});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("key epoch 2 is already open"), std::string::npos);
  // Police moves first: the new secret under epoch 2.
  r = up("police", "arrests", "police-other-secret.clx", "2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Nothing links across epochs.
  ASSERT_EQ(admin({"status", "--wait", "60"}).exit_code, 0);
  r = Cli({"export-links", "--server", "127.0.0.1:" + std::to_string(port_),
           "--tls", Tls("exporter"), "--out", tmp_.File("links.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::set<std::string>> agencies_of;
  std::ifstream links(tmp_.File("links.csv"));
  std::string line;
  std::getline(links, line);
  while (std::getline(links, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    ASSERT_EQ(f.size(), 5u);
    agencies_of[f[3]].insert(f[0]);
  }
  ASSERT_FALSE(agencies_of.empty());
  for (const auto& [entity, agencies] : agencies_of)
    EXPECT_EQ(agencies.size(), 1u) << "entity " << entity << " spans epochs";
  // Prison has not moved: epoch 1 cannot retire yet.
  r = admin({"epoch", "retire", "--epoch", "1"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("agency prison has extracts only in key epoch 1"),
            std::string::npos)
      << r.err;
  r = up("prison", "releases", "prison-other-secret.clx", "2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = admin({"epoch", "retire", "--epoch", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = up("prison", "old", "prison.clx", "1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("key epoch 1 is retired"), std::string::npos) << r.err;
  auto st = admin({"status", "--format", "json"});
  EXPECT_EQ(st.out.find("\"key_epoch\": 1"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"key_epoch\": 2"), std::string::npos);
  // Within one epoch they link again (the check above could fail).
  ASSERT_EQ(admin({"status", "--wait", "60"}).exit_code, 0);
  r = Cli({"export-links", "--server", "127.0.0.1:" + std::to_string(port_),
           "--tls", Tls("exporter"), "--out", tmp_.File("links2.csv")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, std::set<std::string>> together;
  std::ifstream links2(tmp_.File("links2.csv"));
  std::getline(links2, line);
  while (std::getline(links2, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ',');
    together[f[3]].insert(f[0]);
  }
  size_t spanning = 0;
  for (const auto& [entity, agencies] : together)
    spanning += agencies.size() > 1;
  EXPECT_GT(spanning, 0u);
  // A non-admin may not retire an epoch.
  r = Cli({"epoch", "retire", "--epoch", "2", "--server",
           "127.0.0.1:" + std::to_string(port_), "--tls", Tls("police")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("may not call RetireKeyEpoch"), std::string::npos);
}

// The plaintext test listener: loopback only, identity from metadata.
TEST_F(ServerIngestTest, InsecureListenerIsLoopbackOnly) {
  std::string log = tmp_.File("insecure.log");
  auto run = [&](const std::string& listen) {
    std::string cmd = ServerBinary() + " --data-dir " + tmp_.File("insecure") +
                      " --listen " + listen + " --insecure-loopback-only 2>" +
                      log;
    return std::system(cmd.c_str());
  };
  int rc = run("0.0.0.0:0");
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  EXPECT_NE(util::ReadFile(log)->find(
                "--insecure-loopback-only refuses to listen on '0.0.0.0:0'"),
            std::string::npos);

  int port = FreePort();
  pid_t pid = ::fork();
  if (pid == 0) {
    std::freopen(log.c_str(), "w", stderr);
    std::string bin = ServerBinary(), data = tmp_.File("insecure"),
                listen = "127.0.0.1:" + std::to_string(port);
    ::execl(bin.c_str(), bin.c_str(), "--data-dir", data.c_str(), "--listen",
            listen.c_str(), "--insecure-loopback-only",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  auto stub = cohortlink::v1::IngestService::NewStub(grpc::CreateChannel(
      "127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  auto list = [&](const char* identity) {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    if (identity != nullptr)
      ctx.AddMetadata("cohortlink-insecure-identity", identity);
    cohortlink::v1::ListExtractsResponse resp;
    return stub->ListExtracts(&ctx, {}, &resp).error_code();
  };
  EXPECT_EQ(list(nullptr), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(list("spiffe://cohortlink.local/user/admin/admin"),
            grpc::StatusCode::OK);
  EXPECT_EQ(list("spiffe://elsewhere/user/admin/admin"),
            grpc::StatusCode::PERMISSION_DENIED);
  ::kill(pid, SIGTERM);
  int status;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  // A call with no identity still reached the application, so it is in the
  // access log too, without a principal.
  auto entries = testing::ReadAccessLog(tmp_.File("insecure"));
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].principal(), "");
  EXPECT_EQ(entries[0].code(), 16);  // UNAUTHENTICATED
  EXPECT_EQ(entries[0].method(), "IngestService/ListExtracts");
  EXPECT_EQ(entries[1].code(), 0);
  EXPECT_EQ(entries[2].code(), 7);  // another trust domain
}

}  // namespace
}  // namespace cohortlink
