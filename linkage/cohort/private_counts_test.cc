// Answers in differential-privacy mode: their shape comes from the question
// and the codelists alone, their noise has the variance the charge buys,
// and the checks refuse breakdowns whose rows would come from the data.

#include "linkage/cohort/private_counts.h"

#include <cmath>

#include "gtest/gtest.h"

namespace cohortlink::cohort {
namespace {

// A table by sex with one outcome, holding only the labels given.
RawTable BySex(const std::vector<std::pair<std::string, uint64_t>>& rows) {
  RawTable t;
  t.breakdowns = {"sex"};
  t.outcome_names = {"arrested"};
  t.label_names.resize(1);
  uint64_t total = 0;
  t.cells.push_back({{-1}, 0, 0, {0}, {0}});
  for (const auto& [label, n] : rows) {
    t.label_names[0].push_back(label);
    t.cells.push_back(
        {{static_cast<int>(t.label_names[0].size() - 1)}, n, 0, {n / 2}, {0}});
    total += n;
  }
  t.cells[0].cohort = total;
  t.cells[0].outcomes[0] = total / 2;
  t.uncertain = 3;
  return t;
}

QuerySpace SexCodelist() {
  QuerySpace s;
  s.codelists["sex"] = {"F", "M", "X"};
  return s;
}

cohortlink::v1::DisclosurePolicy Policy(uint32_t threshold, uint32_t rounding) {
  cohortlink::v1::DisclosurePolicy p;
  p.set_threshold(threshold);
  p.set_rounding(rounding);
  return p;
}

std::vector<std::string> Labels(const cohortlink::v1::QueryResult& r) {
  std::vector<std::string> out;
  for (const auto& c : r.cells()) out.push_back(c.labels(0));
  return out;
}

TEST(PrivateCountsTest, RowsComeFromTheCodelistNotTheData) {
  UniformSource u(FixedRandom(1));
  auto a = PrivateAnswer(BySex({{"F", 40}, {"M", 35}}), SexCodelist(),
                         Policy(1, 1), 4, u);
  auto b = PrivateAnswer(BySex({{"M", 70}, {"unknown", 2}}), SexCodelist(),
                         Policy(1, 1), 4, u);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<std::string> want = {"all", "F", "M", "X", "unknown"};
  EXPECT_EQ(Labels(*a), want);
  EXPECT_EQ(Labels(*b), want);
  EXPECT_EQ(a->cells(0).outcomes_size(), 1);
  EXPECT_EQ(a->cells(0).rates_size(), 1);
}

TEST(PrivateCountsTest, NoiseIsCentredWithTheVarianceItWasGiven) {
  UniformSource u(FixedRandom(2));
  const RawTable t = BySex({{"F", 400}, {"M", 350}});
  const int n = 2000;
  const uint64_t sigma2 = 25;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    auto r = PrivateAnswer(t, SexCodelist(), Policy(1, 1), sigma2, u);
    ASSERT_TRUE(r.ok()) << r.status();
    const double e = static_cast<double>(r->cells(1).cohort().value()) - 400;
    sum += e;
    sq += e * e;
  }
  EXPECT_NEAR(sum / n, 0, 5 * std::sqrt(25.0 / n));
  EXPECT_NEAR(sq / n, 25, 4);
}

TEST(PrivateCountsTest, SmallNoisyCountsAreShownSuppressedAndOthersRounded) {
  UniformSource u(FixedRandom(3));
  auto r = PrivateAnswer(BySex({{"F", 400}, {"M", 350}}), SexCodelist(),
                         Policy(10, 5), 1, u);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->cells(1).cohort().suppressed());
  EXPECT_EQ(r->cells(1).cohort().value() % 5, 0u);
  // X has no one: noise of sd 1 never lifts 0 to 10.
  EXPECT_TRUE(r->cells(3).cohort().suppressed());
  EXPECT_EQ(r->cells(3).cohort().value(), 0u);
  EXPECT_EQ(r->cells(3).rates(0), -1);
  EXPECT_TRUE(r->uncertain().suppressed());
  EXPECT_GE(r->suppressed_cells(), 4u);  // X and unknown, cohort and outcome
}

TEST(PrivateCountsTest, TheChargeBuysTheNoise) {
  cohortlink::v1::CohortQuery q;
  EXPECT_EQ(CountsPerPerson(q), 2u);  // the total and the uncertain count
  q.add_breakdowns("sex");
  q.add_outcomes();
  q.add_outcomes();
  EXPECT_EQ(CountsPerPerson(q), 7u);  // 2 cells x 3 measures + uncertain
  // rho = 0.1: sigma^2 >= 7 / 0.2 = 35.
  EXPECT_EQ(*NoiseVariance(7, 100'000), 35u);
  // Rounded up: 7 / (2 * 0.3) = 11.67 -> 12.
  EXPECT_EQ(*NoiseVariance(7, 300'000), 12u);
  EXPECT_FALSE(NoiseVariance(7, 0).ok());
  EXPECT_EQ(*NoiseVariance(2, 10 * kMicro), 1u);
}

TEST(PrivateCountsTest, BreakdownsNeedCodelistsAndBoundedTables) {
  cohortlink::v1::CohortQuery q;
  q.add_breakdowns("sex");
  q.add_breakdowns("area");
  QuerySpace s = SexCodelist();
  auto st = CheckPrivateShape(q, s);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_NE(st.message().find("breakdowns[1]: 'area' has no codelist"),
            std::string::npos)
      << st;
  for (int i = 0; i < 200; ++i) s.codelists["area"].insert(absl::StrCat(i));
  EXPECT_TRUE(CheckPrivateShape(q, s).ok());  // 5 x 202 rows
  q.add_breakdowns("age");
  for (int i = 0; i < 30; ++i) s.codelists["age"].insert(absl::StrCat(i));
  st = CheckPrivateShape(q, s);  // 5 x 202 x 32
  EXPECT_NE(st.message().find("over 20000 rows"), std::string::npos) << st;
}

}  // namespace
}  // namespace cohortlink::cohort
