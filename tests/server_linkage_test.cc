// The linkage through the real server and CLI: five agencies upload with
// their own certificates, the server links in the background, the
// linkage-export role exports the map, and `cohortlink evaluate` scores it
// against the synthetic truth. Roles and audit entries of the linkage API.

#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/access_log.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

const char* kAgencies[] = {"police", "probation", "prison", "health",
                           "local-authority"};

class ServerLinkageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
    ASSERT_EQ(testing::EncodeRegion(tmp_.path(), 1500, /*key_maps=*/true), "");
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  std::vector<std::string> Conn(const std::string& who) {
    return {"--server", server_.address(), "--tls", server_.Tls(who)};
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    for (auto& a : Conn(who)) args.push_back(a);
    return Cli(args);
  }
  void UploadAll() {
    for (const char* a : kAgencies) {
      std::string agency = a;
      auto r = As(agency, {"upload", "--extract", "main",
                           tmp_.File(agency + ".clx"), "--retries", "0"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  std::vector<std::string> EvaluateArgs(const std::string& links) {
    std::vector<std::string> args = {
        "evaluate", "--links", links, "--truth", tmp_.File("region/truth.csv"),
        "--format", "json"};
    for (const char* a : kAgencies) {
      args.push_back("--key-map");
      args.push_back(std::string(a) + "=" +
                     tmp_.File(std::string(a) + ".keys"));
    }
    return args;
  }

  util::TempDir tmp_{"server_linkage_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

// Reads "key": number out of JSON text (enough for these reports).
double JsonNumberAfter(const std::string& json, const std::string& key,
                       size_t from = 0) {
  size_t p = json.find("\"" + key + "\"", from);
  if (p == std::string::npos) return -1;
  p = json.find(':', p);
  return std::atof(json.c_str() + p + 1);
}

TEST_F(ServerLinkageTest, FiveAgenciesLinkedExportedAndScored) {
  UploadAll();
  auto st = As("police", {"status", "--wait", "120", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"state\": \"LINKED\""), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"linkage_state\": \"LINKED\""), std::string::npos);

  auto ex = As("exporter", {"export-links", "--out", tmp_.File("links.csv")});
  ASSERT_EQ(ex.exit_code, 0) << ex.err;
  auto ev = Cli(EvaluateArgs(tmp_.File("links.csv")));
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  size_t pairwise = ev.out.find("\"pairwise\"");
  ASSERT_NE(pairwise, std::string::npos) << ev.out;
  double f1 = JsonNumberAfter(ev.out, "f1", pairwise);
  EXPECT_GE(f1, 0.95) << ev.out;
  // Every stored record is in the map exactly once.
  EXPECT_EQ(JsonNumberAfter(ev.out, "records_not_in_truth"), 0) << ev.out;

  auto model =
      As("analyst", {"model", "show", "--chart", tmp_.File("weights.svg")});
  ASSERT_EQ(model.exit_code, 0) << model.err;
  EXPECT_NE(model.out.find("date_of_birth"), std::string::npos) << model.out;
  auto svg = util::ReadFile(tmp_.File("weights.svg"));
  ASSERT_TRUE(svg.ok());
  EXPECT_NE(svg->find("<svg"), std::string::npos);
  EXPECT_NE(svg->find("prior"), std::string::npos);
}

// After a restart the server relinks once from RocksDB with the stored
// model (rebuilding its in-memory linkage) and reproduces the stored map
// exactly; the next upload is then linked incrementally.
TEST_F(ServerLinkageTest, AfterARestartTheNextChangeIsIncremental) {
  for (const char* a : kAgencies) {
    std::string agency = a;
    if (agency == "local-authority") continue;
    ASSERT_EQ(As(agency, {"upload", "--extract", "main",
                          tmp_.File(agency + ".clx"), "--retries", "0"})
                  .exit_code,
              0);
  }
  ASSERT_EQ(As("admin", {"status", "--wait", "120"}).exit_code, 0);
  ASSERT_EQ(
      As("exporter", {"export-links", "--out", tmp_.File("a.csv")}).exit_code,
      0);

  server_.Stop(SIGTERM);
  std::string error;
  ASSERT_TRUE(server_.Start(&error)) << error;
  auto st = As("admin", {"status", "--wait", "120", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(st.out.find("\"incremental\": true"), std::string::npos) << st.out;
  ASSERT_EQ(
      As("exporter", {"export-links", "--out", tmp_.File("b.csv")}).exit_code,
      0);
  auto before = util::ReadFile(tmp_.File("a.csv"));
  auto after = util::ReadFile(tmp_.File("b.csv"));
  ASSERT_TRUE(before.ok() && after.ok());
  EXPECT_EQ(*before, *after);  // same entities, ids and probabilities

  ASSERT_EQ(As("local-authority",
               {"upload", "--extract", "main", tmp_.File("local-authority.clx"),
                "--retries", "0"})
                .exit_code,
            0);
  st = As("admin", {"status", "--wait", "120", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"incremental\": true"), std::string::npos) << st.out;
  EXPECT_GT(JsonNumberAfter(st.out, "records_added"), 0) << st.out;
  auto text = As("admin", {"status"});
  EXPECT_NE(text.out.find("(incremental: +"), std::string::npos) << text.out;
  // Another agency sees the state of the linkage, never its counts: it
  // would otherwise read the local authority's change record by record.
  for (const std::string who : {"police", "prison"}) {
    st = As(who, {"status", "--format", "json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    for (const char* field :
         {"records", "entities", "records_added", "records_removed",
          "records_touched", "links", "candidate_pairs", "reduction_ratio"}) {
      EXPECT_NE(st.out.find(absl::StrCat("\"", field, "\": null")),
                std::string::npos)
          << who << " sees " << field << ": " << st.out;
    }
    EXPECT_NE(st.out.find("\"state\": \"LINKED\""), std::string::npos);
    text = As(who, {"status"});
    EXPECT_EQ(text.out.find("incremental: +"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("its counts are for admins"), std::string::npos)
        << text.out;
  }
  auto model = As("analyst", {"model", "show", "--format", "json"});
  ASSERT_EQ(model.exit_code, 0) << model.err;
  EXPECT_NE(model.out.find("\"records\": null"), std::string::npos)
      << model.out;
  model = As("admin", {"model", "show", "--format", "json"});
  ASSERT_EQ(model.exit_code, 0) << model.err;
  EXPECT_GT(JsonNumberAfter(model.out, "records"), 0) << model.out;
  // status names the model's method and whether its EM converged, as
  // model show does, and the table says so when it did not.
  st = As("admin", {"status", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_NE(st.out.find("\"model_method\": \"em\""), std::string::npos)
      << st.out;
  const bool converged =
      st.out.find("\"model_converged\": true") != std::string::npos;
  EXPECT_TRUE(converged ||
              st.out.find("\"model_converged\": false") != std::string::npos)
      << st.out;
  text = As("admin", {"status"});
  EXPECT_EQ(text.out.find("without converging") == std::string::npos, converged)
      << text.out;
  auto shown = As("admin", {"model", "show"});
  EXPECT_EQ(shown.out.find("(not converged)") == std::string::npos, converged)
      << shown.out;
}

TEST_F(ServerLinkageTest, OnlyTheirRolesMayExportOrRetrain) {
  UploadAll();
  ASSERT_EQ(As("admin", {"status", "--wait", "120"}).exit_code, 0);
  auto r = As("analyst",
              {"export-links", "--out", tmp_.File("x.csv"), "--wait", "0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("role analyst may not call ExportLinks"),
            std::string::npos)
      << r.err;
  EXPECT_FALSE(std::filesystem::exists(tmp_.File("x.csv")));
  r = As("police", {"model", "retrain"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("may not call RetrainModel"), std::string::npos);
  r = As("admin", {"model", "retrain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto st = As("admin", {"status", "--wait", "120", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(JsonNumberAfter(st.out, "model_version"), 2) << st.out;
  ASSERT_EQ(
      As("exporter", {"export-links", "--out", tmp_.File("y.csv")}).exit_code,
      0);

  server_.Stop(SIGTERM);
  auto entries = testing::ReadAccessLog(tmp_.File("data"));
  int denied_exports = 0, exports = 0, retrains = 0;
  for (const auto& e : entries) {
    if (e.method() == "LinkageService/ExportLinks") {
      if (e.code() == 7) ++denied_exports;
      if (e.code() == 0) {
        ++exports;
        EXPECT_GT(e.records(), 0u);  // rows sent
        EXPECT_EQ(e.principal(),
                  "spiffe://cohortlink.dev/user/exporter/linkage-export");
      }
    }
    if (e.method() == "LinkageService/RetrainModel") ++retrains;
  }
  EXPECT_EQ(denied_exports, 1);
  EXPECT_EQ(exports, 1);
  EXPECT_EQ(retrains, 2);  // one denied, one allowed
}

TEST_F(ServerLinkageTest,
       AnalystsQueryUnderDisclosureControlAndEveryQueryIsAudited) {
  UploadAll();
  ASSERT_EQ(As("admin", {"status", "--wait", "120"}).exit_code, 0);
  const std::string spec = std::string(COHORTLINK_SOURCE_DIR) +
                           "/examples/queries/reoffending-12m.json";
  // The index is rebuilt just after the run; a query may briefly find it
  // loading (UNAVAILABLE), so allow a few tries.
  testing::CliResult r;
  for (int i = 0; i < 50; ++i) {
    r = As("analyst", {"query", "--spec", spec, "--format", "json"});
    if (r.exit_code == 0 || r.err.find("still loading") == std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"outcome_names\": [\n  \"charged_within_12m\""),
            std::string::npos)
      << r.out;
  // Published counts are multiples of 5 and at least 10.
  for (size_t p = r.out.find("\"value\": "); p != std::string::npos;
       p = r.out.find("\"value\": ", p + 1)) {
    long v = std::atol(r.out.c_str() + p + 9);
    EXPECT_TRUE(v == 0 || (v >= 10 && v % 5 == 0)) << v;
  }
  auto table = As("analyst", {"query", "--spec", spec});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_NE(table.out.find("charged_within_12m %"), std::string::npos);

  // Roles: submitters and auditors may not query.
  for (const char* who : {"police", "auditor"}) {
    auto denied = As(who, {"query", "--spec", spec});
    EXPECT_EQ(denied.exit_code, 1);
    EXPECT_NE(denied.err.find("may not call RunQuery (analyst only)"),
              std::string::npos)
        << denied.err;
  }
  // A looser policy than the server's is refused.
  std::ofstream(tmp_.File("loose.json")) << R"({
    "cohort": {"agency_type": "prison", "event_type": "release",
               "from": "2024-01-01", "to": "2024-12-31"},
    "outcomes": [{"name": "o", "agency_type": "police", "event_type": "charge",
                  "window_days": [1, 365]}],
    "disclosure": {"threshold": 3}})";
  auto loose = As("analyst", {"query", "--spec", tmp_.File("loose.json")});
  EXPECT_EQ(loose.exit_code, 1);
  EXPECT_NE(loose.err.find("looser than the server's 10"), std::string::npos)
      << loose.err;

  server_.Stop(SIGTERM);
  auto entries = testing::ReadAccessLog(tmp_.File("data"));
  int answered = 0, denied = 0, refused = 0;
  for (const auto& e : entries) {
    if (e.method() != "QueryService/RunQuery") continue;
    // The specification is recorded once the caller is authorised as an
    // analyst, never before: a denied caller cannot fill the log.
    if (e.role() == "analyst") {
      EXPECT_NE(e.query().find("\"event_type\":\"release\""), std::string::npos)
          << e.query();
      EXPECT_EQ(e.query_sha256().size(), 32u);
    } else {
      EXPECT_EQ(e.query(), "");
    }
    if (e.code() == 0) {
      ++answered;
      EXPECT_GT(e.cells(), 1u);
      EXPECT_EQ(e.target(), "Proven reoffending within 12 months of release");
    }
    if (e.code() == 7) ++denied;
  }
  for (const auto& e : entries)
    if (e.method() == "QueryService/RunQuery" && e.code() == 7 &&
        e.role() == "analyst")
      ++refused;
  EXPECT_GE(answered, 2);
  EXPECT_EQ(denied, 3);  // police, auditor, the analyst's looser policy
  EXPECT_EQ(refused, 1);
}

}  // namespace
}  // namespace cohortlink
