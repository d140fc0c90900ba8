#include "server/config.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cohortlink::server {
namespace {

std::string Agencies(size_t n) {
  std::string list;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&list, i ? "," : "", R"({"id": "a)", i,
                    R"(", "type": "police"})");
  }
  return absl::StrCat(R"({"data_dir": "/tmp/x", "agencies": [)", list, "]}");
}

// The agencies a server registers are bounded, so that the distinct values
// of an attribute (at most 1,000 per agency) fit the query index.
TEST(ConfigTest, AgenciesHoldAtTheirLimitAndFailOneBeyond) {
  auto at = ParseConfig(Agencies(store::kMaxAgencies), "c.json");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->agencies.size(), store::kMaxAgencies);
  auto over = ParseConfig(Agencies(store::kMaxAgencies + 1), "c.json");
  ASSERT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("agencies: 65 agencies; at most 64"),
            std::string::npos)
      << over.status();
}

TEST(ConfigTest, LimitsAreRangeChecked) {
  auto ok = ParseConfig(
      R"({"data_dir": "/tmp/x", "limits": {"max_message_bytes": 65536}})",
      "c.json");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->max_message_bytes, 65536);
  auto small = ParseConfig(
      R"({"data_dir": "/tmp/x", "limits": {"max_message_bytes": 65535}})",
      "c.json");
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small.status().message().find("max_message_bytes"),
            std::string::npos)
      << small.status();
}

TEST(ConfigTest, TheQuerySpaceIsConfiguredAndChecked) {
  auto def = ParseConfig(R"({"data_dir": "/tmp/x"})", "c.json");
  ASSERT_TRUE(def.ok()) << def.status();
  EXPECT_EQ(def->query_space.grid, cohort::CohortGrid::kMonth);
  EXPECT_EQ(def->query_space.windows.back(), 730);
  auto q = ParseConfig(R"({"data_dir": "/tmp/x", "query_space":
      {"cohort_grid": "quarter", "outcome_windows": [7, 28, 365]}})",
                       "c.json");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->query_space.grid, cohort::CohortGrid::kQuarter);
  EXPECT_EQ(q->query_space.windows, (std::vector<int32_t>{7, 28, 365}));
  auto lists = ParseConfig(R"({"data_dir": "/tmp/x", "agencies": [
      {"id": "hmp", "type": "prison"}], "query_space":
      {"codelists": {"sentence_band": ["under-12m", "12m-4y", "4y-plus"]}}})",
                           "c.json");
  ASSERT_TRUE(lists.ok()) << lists.status();
  EXPECT_EQ(lists->query_space.codelists.at("sentence_band").size(), 3u);
  // Uploads are held to them too.
  auto policy = lists->PolicyFor(lists->agencies[0]);
  EXPECT_TRUE(policy.codelists.at("sentence_band").contains("4y-plus"));
  // 64 attributes with a codelist, and one more.
  for (int n : {64, 65}) {
    std::string text =
        R"({"data_dir": "/tmp/x", "query_space": {"codelists": {)";
    for (int i = 0; i < n; ++i)
      absl::StrAppend(&text, i ? ", " : "", "\"a", i, "\": [\"v\"]");
    absl::StrAppend(&text, "}}}");
    auto c = ParseConfig(text, "c.json");
    EXPECT_EQ(c.ok(), n == 64) << c.status();
  }
  for (const auto& [text, message] :
       std::vector<std::pair<std::string, std::string>>{
           {R"({"cohort_grid": "week"})",
            "cohort_grid: must be month, quarter or year"},
           {R"({"outcome_windows": [28, 7]})",
            "outcome_windows[1]: the lengths ascend"},
           {R"({"outcome_windows": [0]})", "outcome_windows[0]: must be 1 to"},
           {R"({"outcome_windows": [1.5]})", "lengths are whole days"},
           {R"({"outcome_windows": []})", "1 to 32 lengths"},
           {R"({"grid": "month"})", "grid"},
           {R"({"codelists": {"band": []}})", "codelists.band: 1 to 1000"},
           {R"({"codelists": {"band": ["a", "a"]}})", "given twice"},
           {R"({"codelists": {"band": [""]}})", "values are 1 to 64 bytes"},
           {R"({"codelists": {"band": [7]}})", "expected a string"},
           {R"({"codelists": {"../x": ["a"]}})", "codelists"},
           {R"({"codelists": ["a"]})", "codelists"}}) {
    auto bad = ParseConfig(
        absl::StrCat(R"({"data_dir": "/tmp/x", "query_space": )", text, "}"),
        "c.json");
    EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_NE(bad.status().message().find(message), std::string::npos)
        << text << ": " << bad.status();
  }
}

// Projects: their limits hold at their value and fail one beyond, and a
// budget is whole micro-rho with the per-query charge within it.
std::string Projects(size_t projects, size_t analysts,
                     const std::string& budget = "") {
  std::string names, list;
  for (size_t a = 0; a < analysts; ++a)
    absl::StrAppend(&names, a ? "," : "", "\"u", a, "\"");
  for (size_t i = 0; i < projects; ++i) {
    absl::StrAppend(
        &list, i ? "," : "", R"({"name": "p)", i, R"(", "analysts": [)", names,
        "]", budget.empty() ? "" : ", \"privacy_budget\": " + budget, "}");
  }
  return absl::StrCat(R"({"data_dir": "/tmp/x", "projects": [)", list, "]}");
}

TEST(ConfigTest, ProjectsHoldAtTheirLimitsAndFailOneBeyond) {
  auto at = ParseConfig(Projects(kMaxProjects, 1), "c.json");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->projects.size(), kMaxProjects);
  EXPECT_FALSE(at->projects[0].private_mode);
  auto over = ParseConfig(Projects(kMaxProjects + 1, 1), "c.json");
  EXPECT_NE(over.status().message().find("257 projects; at most 256"),
            std::string::npos)
      << over.status();
  ASSERT_TRUE(ParseConfig(Projects(1, kMaxProjectAnalysts), "c.json").ok());
  auto many = ParseConfig(Projects(1, kMaxProjectAnalysts + 1), "c.json");
  EXPECT_NE(many.status().message().find(
                "projects[0].analysts: must name 1 to 1000 analysts"),
            std::string::npos)
      << many.status();
  EXPECT_FALSE(ParseConfig(Projects(1, 0), "c.json").ok());
  auto twice = ParseConfig(
      R"({"projects": [{"name": "p", "analysts": ["a", "a"]}]})", "c.json");
  EXPECT_NE(twice.status().message().find("'a' is named twice"),
            std::string::npos)
      << twice.status();
  auto dup = ParseConfig(R"({"projects": [{"name": "p", "analysts": ["a"]},
                                          {"name": "p", "analysts": ["b"]}]})",
                         "c.json");
  EXPECT_NE(dup.status().message().find("duplicate project"), std::string::npos)
      << dup.status();
}

TEST(ConfigTest, APrivacyBudgetIsWholeMicroRhoWithinItsRange) {
  auto ok = ParseConfig(
      Projects(1, 1, R"({"rho": 100, "rho_per_query": 0.000001})"), "c.json");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->projects[0].private_mode);
  EXPECT_EQ(ok->projects[0].rho_total, 100'000'000u);
  EXPECT_EQ(ok->projects[0].rho_per_query, 1u);
  EXPECT_DOUBLE_EQ(ok->projects[0].delta, 1e-6);
  for (const auto& [budget, error] :
       std::vector<std::pair<std::string, std::string>>{
           {R"({"rho": 100.000001, "rho_per_query": 1})",
            "privacy_budget.rho: must be 0.000001 to 100"},
           {R"({"rho": 1, "rho_per_query": 0.0000001})",
            "privacy_budget.rho_per_query: must be 0.000001 to 100"},
           {R"({"rho": 1, "rho_per_query": 0.0000015})",
            "in steps of 0.000001"},
           {R"({"rho": 0, "rho_per_query": 0})", "privacy_budget.rho:"},
           {R"({"rho": 1})", "privacy_budget.rho_per_query:"},
           {R"({"rho": 0.1, "rho_per_query": 0.2})", "must not exceed rho"},
           {R"({"rho": 1, "rho_per_query": 0.1, "delta": 0.01})",
            "privacy_budget.delta: must be 1e-12 to 1e-3"},
           {R"({"rho": 1, "rho_per_query": 0.1, "epsilon": 1})",
            "privacy_budget.epsilon: unknown field"}}) {
    auto r = ParseConfig(Projects(1, 1, budget), "c.json");
    ASSERT_FALSE(r.ok()) << budget;
    EXPECT_NE(r.status().message().find(error), std::string::npos)
        << budget << ": " << r.status();
  }
}

}  // namespace
}  // namespace cohortlink::server
