// Projects and the opt-in privacy budget, end to end with the real server
// and CLI: a project's analysts must name it; its answers carry discrete
// Gaussian noise on rows from the codelists and are charged to the budget,
// which is kept across a restart and refuses the answer that would
// overspend it; the analyst sees the budget (query --budget) and the IG
// lead sees it in the access report.

#include <cmath>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cohortlink/v1/query.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

constexpr char kQuery[] = R"({"name": "reoffending",
  "cohort": {"agency_type": "prison", "event_type": "release",
             "from": "2024-01-01", "to": "2024-12-31"},
  "outcomes": [{"name": "charged", "agency_type": "police",
                "event_type": "charge", "window_days": [1, 365]}],
  "breakdowns": ["sentence_band"]})";

class PrivacyBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(tmp_.File("server.json")) << R"({
      "query_space": {"codelists": {
        "sentence_band": ["under-12m", "12m-4y", "4y-plus"],
        "ethnicity": ["a", "b"]}},
      "projects": [
        {"name": "reoffending", "analysts": ["analyst"],
         "privacy_budget": {"rho": 0.2, "rho_per_query": 0.05}},
        {"name": "housing", "analysts": ["bob"]}]})";
    server_.extra_args = {"--config", tmp_.File("server.json")};
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
    ASSERT_EQ(Cli({"synth", "--people", "3000", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "budget test secret\n";
    for (std::string agency : {"prison", "police"}) {
      auto e = Cli({"encode", "--schema", tmp_.File("region/schema.json"),
                    "--secret", tmp_.File("secret"), "--input",
                    tmp_.File("region/" + agency + ".csv"), "--output",
                    tmp_.File(agency + ".clx")});
      ASSERT_EQ(e.exit_code, 0) << e.err;
      auto u = As(agency, {"upload", "--extract", "main",
                           tmp_.File(agency + ".clx"), "--retries", "0"});
      ASSERT_EQ(u.exit_code, 0) << u.err;
    }
    auto st = As("admin", {"status", "--wait", "300", "--format", "json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    std::ofstream(tmp_.File("q.json")) << kQuery;
    // A second analyst, "bob", in the project without a budget.
    auto bob = Cli({"keys", "issue", "--ca", tmp_.File("data/dev-tls/ca"),
                    "--id", "spiffe://cohortlink.dev/user/bob/analyst", "--out",
                    tmp_.File("data/dev-tls/bob")});
    ASSERT_EQ(bob.exit_code, 0) << bob.err;
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  cohortlink::v1::QueryResult Query(const std::string& who,
                                    std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"query", "--spec", tmp_.File("q.json"),
                                     "--format", "json"};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = As(who, args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    cohortlink::v1::QueryResult out;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &out).ok())
        << r.out;
    return out;
  }
  cohortlink::v1::PrivacyBudget Budget(const std::string& who) {
    auto r = As(who, {"query", "--budget", "--project", "reoffending",
                      "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    cohortlink::v1::PrivacyBudget b;
    EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(r.out, &b).ok())
        << r.out;
    return b;
  }

  util::TempDir tmp_{"privacy_budget_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
};

TEST_F(PrivacyBudgetTest, AnswersAreNoisyChargedAndStopAtTheBudget) {
  // A member of a project must name it; another's project is refused.
  auto unnamed = As("analyst", {"query", "--spec", tmp_.File("q.json")});
  EXPECT_EQ(unnamed.exit_code, 1);
  EXPECT_NE(unnamed.err.find("name the one this query is for"),
            std::string::npos)
      << unnamed.err;
  auto other = As("bob", {"query", "--spec", tmp_.File("q.json"), "--project",
                          "reoffending"});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("is not one of yours (yours: housing)"),
            std::string::npos)
      << other.err;

  // The project without a budget: the usual controls, no budget.
  const auto plain = Query("bob", {"--project", "housing"});
  EXPECT_FALSE(plain.has_budget());
  ASSERT_GT(plain.cells_size(), 0);

  // In the project with one: rows from the codelist, zeros included, and
  // noise of the variance a charge of 0.05 buys for 5 counts per person
  // (sigma^2 = ceil(5 / 0.1) = 50).
  const auto dp = Query("analyst", {"--project", "reoffending"});
  ASSERT_TRUE(dp.has_budget());
  EXPECT_DOUBLE_EQ(dp.budget().rho_charged(), 0.05);
  EXPECT_DOUBLE_EQ(dp.budget().rho_spent(), 0.05);
  EXPECT_NEAR(dp.budget().noise_sd(), std::sqrt(50.0), 1e-9);
  ASSERT_EQ(dp.cells_size(), 5);
  std::vector<std::string> labels;
  for (const auto& c : dp.cells()) labels.push_back(c.labels(0));
  EXPECT_EQ(labels, (std::vector<std::string>{"all", "12m-4y", "4y-plus",
                                              "under-12m", "unknown"}));
  // Close to the controlled count of the same cohort (sd 7.1, plus the
  // cell-key perturbation and rounding of both).
  const double total_dp = static_cast<double>(dp.cells(0).cohort().value());
  const double total_plain =
      static_cast<double>(plain.cells(0).cohort().value());
  EXPECT_NEAR(total_dp, total_plain, 6 * std::sqrt(50.0) + 10);
  EXPECT_GT(total_plain, 50);
  // The same question again: the same answer, charged nothing.
  const auto again = Query("analyst", {"--project", "reoffending"});
  EXPECT_TRUE(again.budget().repeated());
  EXPECT_DOUBLE_EQ(again.budget().rho_charged(), 0);
  EXPECT_DOUBLE_EQ(again.budget().rho_spent(), 0.05);
  ASSERT_EQ(again.cells_size(), dp.cells_size());
  for (int c = 0; c < dp.cells_size(); ++c) {
    EXPECT_EQ(again.cells(c).cohort().value(), dp.cells(c).cohort().value());
    EXPECT_EQ(again.cells(c).outcomes(0).value(),
              dp.cells(c).outcomes(0).value());
  }
  EXPECT_FALSE(dp.budget().repeated());

  // A breakdown without a codelist is refused before any charge.
  std::ofstream(tmp_.File("q2.json")) << std::string(kQuery).replace(
      std::string(kQuery).find("sentence_band"), 13, "establishment");
  auto bad = As("analyst", {"query", "--spec", tmp_.File("q2.json"),
                            "--project", "reoffending"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("'establishment' has no codelist"), std::string::npos)
      << bad.err;
  auto too_much = As("analyst", {"query", "--spec", tmp_.File("q.json"),
                                 "--project", "reoffending", "--rho", "0.5"});
  EXPECT_EQ(too_much.exit_code, 1);
  EXPECT_NE(too_much.err.find("privacy_rho"), std::string::npos)
      << too_much.err;
  EXPECT_DOUBLE_EQ(Budget("analyst").rho_spent(), 0.05);

  // A declared attribute that no uploaded record carries: answered like
  // any other, everyone "unknown", not refused (a refusal would depend on
  // the data).
  std::ofstream(tmp_.File("q3.json")) << std::string(kQuery).replace(
      std::string(kQuery).find("sentence_band"), 13, "ethnicity");
  auto absent = As("analyst", {"query", "--spec", tmp_.File("q3.json"),
                               "--project", "reoffending", "--format", "json"});
  ASSERT_EQ(absent.exit_code, 0) << absent.err;
  cohortlink::v1::QueryResult by_absent;
  ASSERT_TRUE(
      google::protobuf::util::JsonStringToMessage(absent.out, &by_absent).ok());
  ASSERT_EQ(by_absent.cells_size(), 4);
  EXPECT_EQ(by_absent.cells(3).labels(0), "unknown");

  // Two more answers (charged 0.04 and 0.06) spend the rest; the next is
  // refused, unanswered and uncharged, and so it stays after a restart.
  for (const char* rho : {"0.04", "0.06"})
    Query("analyst", {"--project", "reoffending", "--rho", rho});
  auto over = As("analyst", {"query", "--spec", tmp_.File("q.json"),
                             "--project", "reoffending", "--rho", "0.01"});
  EXPECT_EQ(over.exit_code, 1);
  EXPECT_NE(over.err.find("the privacy budget of project reoffending is "
                          "spent: 0.2 of 0.2 rho used in 4 answers"),
            std::string::npos)
      << over.err;
  server_.Stop(SIGTERM);
  std::string error;
  ASSERT_TRUE(server_.Start(&error)) << error;
  auto after = As("analyst", {"query", "--spec", tmp_.File("q.json"),
                              "--project", "reoffending", "--rho", "0.01"});
  EXPECT_EQ(after.exit_code, 1) << after.out;
  // A question already answered is answered again, free, after the
  // restart too.
  const auto kept = Query("analyst", {"--project", "reoffending"});
  EXPECT_TRUE(kept.budget().repeated());
  ASSERT_EQ(kept.cells_size(), dp.cells_size());
  EXPECT_EQ(kept.cells(0).cohort().value(), dp.cells(0).cohort().value());
  const auto b = Budget("analyst");
  EXPECT_DOUBLE_EQ(b.rho_spent(), 0.2);
  EXPECT_DOUBLE_EQ(b.rho_left(), 0);
  EXPECT_EQ(b.answers(), 4u);
  // epsilon = rho + 2 sqrt(rho ln(1/delta)) at delta = 1e-6.
  EXPECT_NEAR(b.epsilon(), 0.2 + 2 * std::sqrt(0.2 * std::log(1e6)), 1e-9);
  auto human = As("analyst", {"query", "--budget", "--project", "reoffending"});
  EXPECT_NE(human.out.find("rho 0.2 of 0.2 (0 left) in 4 answers"),
            std::string::npos)
      << human.out;

  // Operations: the budget as a metric, per project with one.
  const std::string page = testing::HttpGet(server_.metrics_port(), "/metrics");
  EXPECT_NE(
      page.find(
          "cohortlink_privacy_budget_rho_spent{project=\"reoffending\"} 0.2"),
      std::string::npos)
      << page;
  EXPECT_EQ(page.find("project=\"housing\""), std::string::npos) << page;

  // The IG lead: the auditor reads any project's budget, and the month's
  // access report lists the charges.
  EXPECT_EQ(Budget("auditor").answers(), 4u);
  const std::string month =
      absl::FormatTime("%Y-%m", absl::Now(), absl::UTCTimeZone());
  auto report = As("auditor", {"audit", "report", "--period", month});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  EXPECT_NE(report.out.find("Privacy budgets"), std::string::npos)
      << report.out;
  auto json =
      As("auditor", {"audit", "report", "--period", month, "--format", "json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  google::protobuf::Struct doc;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json.out, &doc).ok());
  const auto& rows =
      doc.fields()
          .at("Privacy budgets (zCDP rho) of projects in differential-privacy "
              "mode")
          .list_value();
  ASSERT_EQ(rows.values_size(), 1);
  const auto& row = rows.values(0).struct_value().fields();
  EXPECT_EQ(row.at("project").string_value(), "reoffending");
  EXPECT_EQ(row.at("answers charged").number_value(), 4);
  EXPECT_NEAR(row.at("rho spent in the month").number_value(), 0.2, 1e-9);
  EXPECT_NEAR(row.at("rho left").number_value(), 0, 1e-9);
}

// The budget's config is checked when the server starts.
TEST(PrivacyBudgetConfigTest, ABadBudgetStopsTheServer) {
  util::TempDir tmp("privacy_budget_config_test");
  std::ofstream(tmp.File("server.json"))
      << R"({"projects": [{"name": "p", "analysts": ["a"],
             "privacy_budget": {"rho": 0.1, "rho_per_query": 0.5}}]})";
  testing::ServerProcess server(tmp.File("data"), tmp.File("server.log"));
  server.extra_args = {"--config", tmp.File("server.json")};
  EXPECT_FALSE(server.Start());
  auto log = util::ReadFile(tmp.File("server.log"));
  EXPECT_NE(log->find("projects[0].privacy_budget.rho_per_query: must not "
                      "exceed rho"),
            std::string::npos)
      << *log;
}

}  // namespace
}  // namespace cohortlink
