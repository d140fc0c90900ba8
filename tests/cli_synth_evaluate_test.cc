// `cohortlink synth`, `encode` and `evaluate` through the real binary: a
// synthetic region encodes with the schema synth writes, and evaluate
// scores linkage maps built from the truth exactly.

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "gtest/gtest.h"
#include "linkage/encoding/csv_reader.h"
#include "tests/cli_runner.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

using testing::RunCli;

const char* kAgencies[] = {"police", "probation", "prison", "health",
                           "local-authority"};

class CliSynthEvaluateTest : public ::testing::Test {
 protected:
  std::string P(const std::string& n) const { return tmp_.File(n); }
  testing::CliResult Run(std::vector<std::string> args) {
    return RunCli(args, tmp_.path());
  }

  std::vector<std::vector<std::string>> ReadCsv(const std::string& path) {
    auto r = *encoding::CsvReader::Open(path);
    std::vector<std::vector<std::string>> rows;
    encoding::CsvRow row;
    while (*r->Next(&row)) rows.push_back(row.fields);
    return rows;
  }

  util::TempDir tmp_{"cli_synth_evaluate_test"};
};

TEST_F(CliSynthEvaluateTest, SynthEncodeEvaluateEndToEnd) {
  auto r =
      Run({"synth", "--people", "400", "--out", P("region"), "--seed", "5"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* f :
       {"truth.csv", "schema.json", "queries/reoffending-12m.json",
        "queries/accommodation-on-release.json",
        "queries/drug-treatment-3w.json"}) {
    EXPECT_TRUE(std::filesystem::exists(P("region/") + f)) << f;
  }
  std::ofstream(P("secret")) << "test secret\n";
  for (const char* a : kAgencies) {
    auto e = Run(
        {"encode", "--schema", P("region/schema.json"), "--secret", P("secret"),
         "--input", P(std::string("region/") + a + ".csv"), "--output",
         P(std::string(a) + ".clx"), "--key-map", P(std::string(a) + ".keys")});
    ASSERT_EQ(e.exit_code, 0) << a << ": " << e.err;
  }
  // Linkage maps built from the truth: perfect, and everything split.
  std::map<std::pair<std::string, std::string>, std::string> keys;
  for (const char* a : kAgencies) {
    auto rows = ReadCsv(P(std::string(a) + ".keys"));
    for (size_t i = 1; i < rows.size(); ++i) keys[{a, rows[i][0]}] = rows[i][1];
  }
  std::ofstream perfect(P("perfect.csv")), split(P("split.csv"));
  perfect << "agency,extract,record_key,entity_id,match_probability\n";
  split << "agency,extract,record_key,entity_id,match_probability\n";
  auto truth = ReadCsv(P("region/truth.csv"));
  ASSERT_GT(truth.size(), 400u);
  for (size_t i = 1; i < truth.size(); ++i) {
    const std::string& key = keys.at({truth[i][0], truth[i][1]});
    perfect << truth[i][0] << ",x," << key << "," << truth[i][2] << ",1\n";
    split << truth[i][0] << ",x," << key << ",e" << i << ",1\n";
  }
  perfect.close();
  split.close();
  std::vector<std::string> base = {"evaluate", "--truth", P("region/truth.csv"),
                                   "--format", "json"};
  for (const char* a : kAgencies) {
    base.push_back("--key-map");
    base.push_back(std::string(a) + "=" + P(std::string(a) + ".keys"));
  }
  auto args = base;
  args.insert(args.end(), {"--links", P("perfect.csv")});
  auto ev = Run(args);
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_NE(ev.out.find("\"f1\": 1"), std::string::npos) << ev.out;
  EXPECT_NE(ev.out.find("\"records_not_in_truth\": 0"), std::string::npos)
      << ev.out;
  args = base;
  args.insert(args.end(), {"--links", P("split.csv")});
  ev = Run(args);
  ASSERT_EQ(ev.exit_code, 0) << ev.err;
  EXPECT_NE(ev.out.find("\"recall\": 0"), std::string::npos) << ev.out;
}

TEST_F(CliSynthEvaluateTest, BadInputs) {
  auto r =
      Run({"synth", "--people", "10", "--out", P("x"), "--region", "atlantis"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown region 'atlantis' (known: avon-and-somerset)"),
            std::string::npos)
      << r.err;
  r = Run({"synth", "--out", P("x")});
  EXPECT_EQ(r.exit_code, 2);
  std::ofstream(P("links.csv"))
      << "agency,extract,record_key,entity_id,match_probability\n"
         "police,x,k,e,maybe\n";
  r = Run({"evaluate", "--links", P("links.csv"), "--truth-from", "id"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("links.csv:2: match_probability"), std::string::npos)
      << r.err;
  r = Run({"evaluate", "--links", P("links.csv")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("--truth"), std::string::npos) << r.err;
  r = Run({"evaluate", "--links", P("links.csv"), "--truth-from", "id",
           "--key-map", "oops"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("AGENCY=FILE"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace cohortlink
