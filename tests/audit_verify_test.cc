// The access log against tampering with the real server's data directory:
// `cohortlink audit verify` (real CLI, auditor certificate, the server's
// public key, a state file kept by the auditor) passes on an honest log
// and names what fails after one stored entry is changed, the last entries
// are deleted, or the log is re-signed with a fresh key.

#include <filesystem>
#include <fstream>
#include <set>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cohortlink/v1/audit.pb.h"
#include "gtest/gtest.h"
#include "linkage/store/store.h"
#include "tests/access_log.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

class AuditVerifyTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void Start() {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  testing::CliResult Verify() {
    return As("auditor", {"audit", "verify", "--pubkey", tmp_.File("pub.pem"),
                          "--state", tmp_.File("auditor.state")});
  }
  // Some traffic: allowed and denied calls.
  void Traffic() {
    for (int i = 0; i < 6; ++i) {
      ASSERT_EQ(As("police", {"status"}).exit_code, 0);
      As("analyst", {"status"});
    }
  }
  // The auditor keeps a copy of the public key from the first start.
  void KeepPublicKey() {
    std::filesystem::copy_file(tmp_.File("data/audit-public.pem"),
                               tmp_.File("pub.pem"));
  }
  // Runs `edit` on the stopped server's database, then restarts.
  template <typename Edit>
  void Tamper(Edit edit) {
    server_.Stop(SIGTERM);
    {
      auto db = store::Store::Open(tmp_.File("data/db"));
      ASSERT_TRUE(db.ok()) << db.status();
      edit(db->get());
    }
    RestartAccepting();
  }
  // The server refuses to start on a data directory that differs from its
  // checkpoint; the operator's --accept-integrity-change starts it, and
  // that is itself an entry of the log. The auditor must still notice.
  void RestartAccepting() {
    std::string error;
    ASSERT_FALSE(server_.Start(&error));
    EXPECT_NE(error.find("refusing to start"), std::string::npos) << error;
    server_.extra_args = {"--accept-integrity-change"};
    Start();
    server_.extra_args.clear();
    auto log = As("auditor", {"audit", "log", "--format", "json"});
    EXPECT_NE(log.out.find("AcceptIntegrityChange"), std::string::npos)
        << log.out;
  }
  static std::string Key(uint64_t seq) {
    std::string k;
    store::AppendBigEndian64(seq, &k);
    return k;
  }

  util::TempDir tmp_{"audit_verify_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

TEST_F(AuditVerifyTest, HonestLogVerifiesAgainAndAgain) {
  KeepPublicKey();
  Traffic();
  auto r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  Traffic();
  server_.Stop(SIGTERM);  // restarts keep the log and the key
  Start();
  r = Verify();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("consistent with the"), std::string::npos) << r.out;
  // Entries carry who, what, when and the outcome.
  auto log = As("auditor", {"audit", "log", "--denied", "--format", "json"});
  ASSERT_EQ(log.exit_code, 0) << log.err;
  EXPECT_NE(log.out.find("spiffe://cohortlink.dev/user/analyst/analyst"),
            std::string::npos);
  EXPECT_NE(log.out.find("\"method\": \"IngestService/ListExtracts\""),
            std::string::npos);
  EXPECT_EQ(log.out.find("agency/police"), std::string::npos) << log.out;

  // The month's access report: the analyst's 12 refused status calls.
  std::string month =
      absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  auto report = As("auditor", {"audit", "report", "--period", month, "--html",
                               tmp_.File("report.html")});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("IngestService/ListExtracts  12"),
            std::string::npos)
      << report.out;
  auto html = testing::Slurp(tmp_.File("report.html"));
  EXPECT_NE(html.find("<h2>Denied attempts</h2>"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);
}

TEST_F(AuditVerifyTest, AChangedEntryIsNamed) {
  KeepPublicKey();
  Traffic();
  ASSERT_EQ(Verify().exit_code, 0);
  Tamper([](store::Store* db) {
    std::string v;
    ASSERT_TRUE(db->db()
                    ->Get(rocksdb::ReadOptions(), db->cf(store::Family::kAudit),
                          Key(2), &v)
                    .ok());
    cohortlink::v1::AuditEntry e;
    ASSERT_TRUE(e.ParseFromString(v));
    e.set_principal("spiffe://cohortlink.dev/user/someone-else/analyst");
    ASSERT_TRUE(db->db()
                    ->Put(rocksdb::WriteOptions(),
                          db->cf(store::Family::kAudit), Key(2),
                          e.SerializeAsString())
                    .ok());
  });
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("entry 2 differs from the entry verified before"),
            std::string::npos)
      << r.err;
}

TEST_F(AuditVerifyTest, DeletedLastEntriesAreNoticed) {
  KeepPublicKey();
  Traffic();
  Traffic();
  ASSERT_EQ(Verify().exit_code, 0);
  Tamper([](store::Store* db) {
    std::unique_ptr<rocksdb::Iterator> it(db->db()->NewIterator(
        rocksdb::ReadOptions(), db->cf(store::Family::kAudit)));
    it->SeekToLast();
    ASSERT_TRUE(it->Valid());
    uint64_t last = store::ReadBigEndian64(it->key().ToString());
    ASSERT_TRUE(db->db()
                    ->DeleteRange(rocksdb::WriteOptions(),
                                  db->cf(store::Family::kAudit), Key(last - 9),
                                  Key(last + 1))
                    .ok());
  });
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("the log shrank"), std::string::npos) << r.err;
}

TEST_F(AuditVerifyTest, ALogResignedWithAFreshKeyFails) {
  KeepPublicKey();
  Traffic();
  ASSERT_EQ(Verify().exit_code, 0);
  server_.Stop(SIGTERM);
  std::filesystem::remove(tmp_.File("data/audit-signing.key"));
  RestartAccepting();  // with a fresh key
  auto r = Verify();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("does not verify with the public key"),
            std::string::npos)
      << r.err;
}

// Every RPC of the API, allowed or denied, leaves exactly one entry: the
// server's own count of the calls it handled (the Prometheus counter the
// interceptor keeps for every service) equals the log's size.
TEST_F(AuditVerifyTest, EveryCallLeavesExactlyOneEntry) {
  KeepPublicKey();
  ASSERT_EQ(testing::RunCli(
                {"synth", "--people", "200", "--out", tmp_.File("region")},
                tmp_.path())
                .exit_code,
            0);
  std::ofstream(tmp_.File("secret")) << "s\n";
  ASSERT_EQ(
      testing::RunCli(
          {"encode", "--schema", tmp_.File("region/schema.json"), "--secret",
           tmp_.File("secret"), "--input", tmp_.File("region/prison.csv"),
           "--output", tmp_.File("prison.clx")},
          tmp_.path())
          .exit_code,
      0);
  As("prison", {"upload", "--extract", "r", tmp_.File("prison.clx")});
  As("analyst",
     {"upload", "--extract", "r", tmp_.File("prison.clx"), "--retries", "0"});
  As("prison", {"status", "--wait", "60"});
  As("exporter", {"export-links", "--out", tmp_.File("l.csv")});
  As("analyst", {"export-links", "--out", tmp_.File("x.csv"), "--wait", "0"});
  As("analyst", {"model", "show"});
  As("police", {"model", "retrain"});
  As("analyst", {"query", "--spec",
                 std::string(COHORTLINK_SOURCE_DIR) +
                     "/examples/queries/reoffending-12m.json"});
  As("auditor", {"query", "--spec",
                 std::string(COHORTLINK_SOURCE_DIR) +
                     "/examples/queries/reoffending-12m.json"});
  As("admin", {"epoch", "retire", "--epoch", "1"});
  As("auditor", {"audit", "log", "--denied"});
  As("auditor", {"audit", "verify", "--pubkey", tmp_.File("pub.pem")});
  As("prison", {"delete", "--extract", "r"});
  std::string page = testing::HttpGet(server_.metrics_port(), "/metrics");
  uint64_t calls = 0;
  for (size_t p = page.find("cohortlink_rpc_requests_total{");
       p != std::string::npos;
       p = page.find("cohortlink_rpc_requests_total{", p + 1)) {
    size_t end = page.find('}', p);
    std::string labels = page.substr(p, end - p);
    if (labels.find("method=\"cohortlink.v1.") == std::string::npos) continue;
    calls += std::strtoull(page.c_str() + end + 2, nullptr, 10);
  }
  EXPECT_GT(calls, 15u);
  server_.Stop(SIGTERM);
  auto entries = testing::ReadAccessLog(tmp_.File("data"));
  EXPECT_EQ(entries.size(), calls);
  std::set<std::string> methods;
  for (const auto& e : entries) {
    methods.insert(e.method());
    EXPECT_FALSE(e.time().empty());
    EXPECT_FALSE(e.peer().empty());
    EXPECT_FALSE(e.principal().empty()) << e.method();
    EXPECT_FALSE(e.role().empty());
  }
  for (const char* m :
       {"IngestService/Upload", "IngestService/ListExtracts",
        "IngestService/DeleteExtract", "LinkageService/ExportLinks",
        "LinkageService/GetModel", "LinkageService/RetrainModel",
        "LinkageService/GetLinkageStatus", "LinkageService/RetireKeyEpoch",
        "QueryService/RunQuery", "AuditService/GetEntries",
        "AuditService/GetSignedTreeHead"}) {
    EXPECT_TRUE(methods.contains(m)) << m;
  }
}

TEST_F(AuditVerifyTest, OnlyAuditorsReadTheLog) {
  auto r = As("admin", {"audit", "log"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("may not call GetEntries (auditor only)"),
            std::string::npos)
      << r.err;
}

}  // namespace
}  // namespace cohortlink
