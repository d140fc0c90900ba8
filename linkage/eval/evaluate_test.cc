#include "linkage/eval/evaluate.h"

#include <fstream>

#include "gtest/gtest.h"
#include "util/temp_dir.h"

namespace cohortlink::eval {
namespace {

// Six records of three people: p1 = {a1 (police), b1 (prison)},
// p2 = {a2, a3 (police), b2 (prison)}, p3 = {b3 (prison)}.
class EvaluateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(tmp_.File("truth.csv"))
        << "agency,local_id,person_id\n"
           "police,a1,p1\nprison,b1,p1\n"
           "police,a2,p2\npolice,a3,p2\nprison,b2,p2\n"
           "prison,b3,p3\n";
    ASSERT_TRUE(truth_.LoadTruthCsv(tmp_.File("truth.csv")).ok());
  }
  std::vector<LinkRow> Links(
      std::vector<std::pair<std::string, std::string>> key_entity,
      double p = 1.0) {
    std::vector<LinkRow> out;
    for (const auto& [k, e] : key_entity) {
      out.push_back({k[0] == 'a' ? "police" : "prison", "x", k, e, p});
    }
    return out;
  }
  util::TempDir tmp_{"evaluate_test"};
  Truth truth_;
};

TEST_F(EvaluateTest, PerfectLinkage) {
  auto m = Evaluate(Links({{"a1", "E1"},
                           {"b1", "E1"},
                           {"a2", "E2"},
                           {"a3", "E2"},
                           {"b2", "E2"},
                           {"b3", "E3"}}),
                    truth_);
  EXPECT_EQ(m.records, 6u);
  EXPECT_EQ(m.pairwise.actual, 4u);  // 1 + 3
  EXPECT_DOUBLE_EQ(m.pairwise.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.pairwise.recall, 1.0);
  EXPECT_DOUBLE_EQ(m.pairwise.f1, 1.0);
  EXPECT_EQ(m.cross_agency.actual, 3u);   // a1-b1, a2-b2, a3-b2
  EXPECT_EQ(m.within_agency.actual, 1u);  // a2-a3
  EXPECT_DOUBLE_EQ(m.within_agency.f1, 1.0);
  EXPECT_DOUBLE_EQ(m.bcubed_f1, 1.0);
  EXPECT_EQ(m.entities, 3u);
  EXPECT_EQ(m.persons, 3u);
}

TEST_F(EvaluateTest, AllMerged) {
  auto m = Evaluate(Links({{"a1", "E"},
                           {"b1", "E"},
                           {"a2", "E"},
                           {"a3", "E"},
                           {"b2", "E"},
                           {"b3", "E"}}),
                    truth_);
  EXPECT_EQ(m.pairwise.predicted, 15u);
  EXPECT_DOUBLE_EQ(m.pairwise.precision, 4.0 / 15);
  EXPECT_DOUBLE_EQ(m.pairwise.recall, 1.0);
  // Cross-agency: 3 police x 3 prison = 9 predicted, 3 true.
  EXPECT_EQ(m.cross_agency.predicted, 9u);
  EXPECT_DOUBLE_EQ(m.cross_agency.precision, 3.0 / 9);
  // Within an agency: a1-a2, a1-a3, a2-a3 and the three of b: 6
  // predicted, one true (a2-a3).
  EXPECT_EQ(m.within_agency.predicted, 6u);
  EXPECT_EQ(m.within_agency.actual, 1u);
  EXPECT_EQ(m.within_agency.true_positive, 1u);
  // B-cubed precision: (2*2/6 + 3*3/6 + 1*1/6) / 6.
  EXPECT_NEAR(m.bcubed_precision, (4.0 / 6 + 9.0 / 6 + 1.0 / 6) / 6, 1e-12);
  EXPECT_DOUBLE_EQ(m.bcubed_recall, 1.0);
}

TEST_F(EvaluateTest, AllSplit) {
  auto m = Evaluate(Links({{"a1", "1"},
                           {"b1", "2"},
                           {"a2", "3"},
                           {"a3", "4"},
                           {"b2", "5"},
                           {"b3", "6"}}),
                    truth_);
  EXPECT_EQ(m.pairwise.predicted, 0u);
  EXPECT_DOUBLE_EQ(m.pairwise.precision, 1.0);
  EXPECT_DOUBLE_EQ(m.pairwise.recall, 0.0);
  EXPECT_DOUBLE_EQ(m.pairwise.f1, 0.0);
  EXPECT_EQ(m.entities, 6u);
}

TEST_F(EvaluateTest, OneWrongLinkAndThresholdSweep) {
  // b3 wrongly joins p1's entity, with low probability.
  auto links = Links(
      {{"a1", "E1"}, {"b1", "E1"}, {"a2", "E2"}, {"a3", "E2"}, {"b2", "E2"}});
  links.push_back({"prison", "x", "b3", "E1", 0.6});
  auto m = Evaluate(links, truth_, {0.5, 0.7});
  EXPECT_EQ(m.pairwise.predicted, 6u);  // 3 + 3
  EXPECT_EQ(m.pairwise.true_positive, 4u);
  EXPECT_DOUBLE_EQ(m.pairwise.precision, 4.0 / 6);
  ASSERT_EQ(m.sweep.size(), 2u);
  EXPECT_DOUBLE_EQ(m.sweep[0].pairwise.precision, 4.0 / 6);  // t = 0.5 keeps it
  EXPECT_DOUBLE_EQ(m.sweep[1].pairwise.f1, 1.0);  // t = 0.7 splits it off
}

TEST_F(EvaluateTest, KeyMapsAndUnknownRecords) {
  std::ofstream(tmp_.File("police.keys"))
      << "local_id,record_key\na1,K1\na2,K2\na3,K3\n";
  ASSERT_TRUE(truth_.LoadKeyMap("police", tmp_.File("police.keys")).ok());
  std::vector<LinkRow> links = {{"police", "x", "K1", "E1", 1},
                                {"prison", "x", "b1", "E1", 1},
                                {"police", "x", "K9", "E9", 1}};
  auto m = Evaluate(links, truth_);
  EXPECT_EQ(m.records, 2u);
  EXPECT_EQ(m.unknown_records, 1u);
  EXPECT_DOUBLE_EQ(m.pairwise.f1, 1.0);
}

TEST(TruthTest, FebrlDerivation) {
  util::TempDir tmp("truth_test");
  std::ofstream(tmp.File("a.keys")) << "local_id,record_key\nrec-12-org,k1\n";
  std::ofstream(tmp.File("b.keys"))
      << "local_id,record_key\nrec-12-dup-0,k2\nrec-7-dup-1,k3\n";
  Truth t;
  ASSERT_TRUE(t.LoadKeyMap("a", tmp.File("a.keys")).ok());
  ASSERT_TRUE(t.LoadKeyMap("b", tmp.File("b.keys")).ok());
  ASSERT_TRUE(t.SetDerivation("febrl").ok());
  EXPECT_EQ(*t.PersonOf("a", "k1"), "12");
  EXPECT_EQ(*t.PersonOf("b", "k2"), "12");
  EXPECT_EQ(*t.PersonOf("b", "k3"), "7");
  EXPECT_FALSE(t.SetDerivation("soundex").ok());
}

TEST(ReadLinksTest, BadProbabilityNamesTheLine) {
  util::TempDir tmp("links_test");
  std::ofstream(tmp.File("l.csv"))
      << "agency,extract,record_key,entity_id,match_probability\n"
         "police,x,k,e,0.9\npolice,x,k2,e,1.7\n";
  auto r = ReadLinks(tmp.File("l.csv"));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("l.csv:3"), std::string::npos)
      << r.status();
  std::ofstream(tmp.File("m.csv")) << "agency,record_key\n";
  EXPECT_NE(
      ReadLinks(tmp.File("m.csv")).status().message().find("missing column"),
      std::string::npos);
}

}  // namespace
}  // namespace cohortlink::eval
