#include "linkage/entities/cluster.h"

#include "gtest/gtest.h"

namespace cohortlink::entities {
namespace {

// Records: 0 = A1, 1 = A2 (source A), 2 = B1 (source B), 3 = C1 (source C).
const std::vector<uint32_t> kSources = {0, 0, 1, 2};

TEST(ClusterTest, ChainThroughAnotherSourceCannotJoinTwoRecordsOfOneSource) {
  auto c = Cluster(kSources, {{0, 2, 0.95f}, {1, 2, 0.8f}, {2, 3, 0.7f}});
  EXPECT_EQ(c.entity[0], c.entity[2]);
  EXPECT_EQ(c.entity[2], c.entity[3]);
  EXPECT_NE(c.entity[1], c.entity[0]);  // A2 stays apart: no A1-A2 link
  EXPECT_EQ(c.stats.refused_merges, 1u);
  EXPECT_EQ(c.stats.entities, 2u);
  EXPECT_FLOAT_EQ(c.probability[0], 0.95f);
  EXPECT_FLOAT_EQ(c.probability[3], 0.7f);
  EXPECT_FLOAT_EQ(c.probability[1], 1.0f);  // a singleton
}

TEST(ClusterTest, DirectlyLinkedDuplicatesWithinASourceMerge) {
  auto c = Cluster(kSources, {{0, 2, 0.95f}, {1, 2, 0.8f}, {0, 1, 0.9f}});
  EXPECT_EQ(c.entity[0], c.entity[1]);
  EXPECT_EQ(c.entity[1], c.entity[2]);
  EXPECT_EQ(c.stats.entities, 2u);  // {A1, A2, B1} and {C1}
}

TEST(ClusterTest, LinksBelowTheThresholdAreIgnoredAndOrderDoesNotMatter) {
  std::vector<ScoredLink> links = {{2, 3, 0.4f}, {0, 2, 0.6f}, {1, 2, 0.9f}};
  auto c = Cluster(kSources, links);
  // Best first: A2-B1 (0.9) merges; A1-B1 (0.6) would add a second A
  // record without an A1-A2 link, so it is refused.
  EXPECT_EQ(c.entity[1], c.entity[2]);
  EXPECT_NE(c.entity[0], c.entity[2]);
  EXPECT_NE(c.entity[3], c.entity[2]);
  std::reverse(links.begin(), links.end());
  auto d = Cluster(kSources, links);
  EXPECT_EQ(c.entity, d.entity);
}

// One extract: A1 - A2 and A2 - A3 are linked, A1 - A3 is not (the model
// weighs it at -3 bits). A3 joins {A1, A2}: its evidence for them (+6.6
// from A2) outweighs the evidence against (-3 from A1).
TEST(ClusterTest, ADuplicateJoinsWhenItsEvidenceOutweighsTheEvidenceAgainst) {
  const std::vector<uint32_t> one = {0, 0, 0};
  auto weight = [&](double w02) {
    return [w02](uint32_t a, uint32_t b) {
      if (a > b) std::swap(a, b);
      if (a == 0 && b == 2) return w02;
      return 6.6;
    };
  };
  std::vector<ScoredLink> links = {{0, 1, 0.99f}, {1, 2, 0.99f}};
  auto c = Cluster(one, links, {}, weight(-3));
  EXPECT_EQ(c.entity[0], c.entity[1]);
  EXPECT_EQ(c.entity[1], c.entity[2]);
  EXPECT_EQ(c.stats.entities, 1u);
  // A2 against A1, then A3 against A1 and A2.
  EXPECT_EQ(c.stats.scored_pairs, 3u);
  // Strong evidence that A1 and A3 are different people keeps A3 apart.
  auto d = Cluster(one, links, {}, weight(-12));
  EXPECT_EQ(d.entity[0], d.entity[1]);
  EXPECT_NE(d.entity[1], d.entity[2]);
  EXPECT_EQ(d.stats.refused_merges, 1u);
  // Without pair weights an unlinked pair of one extract refuses.
  auto e = Cluster(one, links);
  EXPECT_NE(e.entity[1], e.entity[2]);
}

// A1 - B1 - A2 where A1 and A2 are different people: every pair of the
// merge is weighed, so the strong link B1 - A2 cannot carry it.
TEST(ClusterTest, ChainIsRefusedWhenTheRecordsOfOneSourceDisagree) {
  auto weight = [](uint32_t a, uint32_t b) {
    if (a > b) std::swap(a, b);
    if (a == 0 && b == 1) return -15.0;  // A1 - A2
    return 10.0;
  };
  auto c = Cluster(kSources, {{0, 2, 0.999f}, {1, 2, 0.998f}}, {}, weight);
  EXPECT_EQ(c.entity[0], c.entity[2]);
  EXPECT_NE(c.entity[1], c.entity[2]);
}

// Two large entities of one source: at most kClusterMaxScoredPairs of
// their 80 x 80 pairs are weighed.
TEST(ClusterTest, LargeMergesWeighASpreadOfPairs) {
  const uint32_t half = 80;
  std::vector<uint32_t> sources(2 * half, 0);
  std::vector<ScoredLink> links;
  for (uint32_t i = 1; i < half; ++i) {
    links.push_back({0, i, 0.99f});
    links.push_back({half, half + i, 0.99f});
  }
  links.push_back({0, half, 0.9f});
  uint64_t cross_weighed = 0;
  auto weight = [&](uint32_t a, uint32_t b) {
    cross_weighed += (a < half) != (b < half);
    return (a < half) == (b < half) ? 8.0 : 1.0;
  };
  auto c = Cluster(sources, links, {}, weight);
  EXPECT_EQ(c.stats.entities, 1u);
  EXPECT_EQ(cross_weighed, kClusterMaxScoredPairs);
}

}  // namespace
}  // namespace cohortlink::entities
