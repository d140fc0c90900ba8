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

}  // namespace
}  // namespace cohortlink::entities
