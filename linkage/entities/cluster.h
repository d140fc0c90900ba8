#ifndef COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_
#define COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_

// Records into entities (one per person) from scored links.
//
// Links at or above the threshold are taken best first (highest match
// probability). A link between two entities merges them unless the merge
// would put two records of one source (extract) into one entity without
// enough support, so that a chain of weak links (A1 - B1 - A2, or
// A1 - B1 - C1 - A2) cannot pull two distinct people of one extract
// together:
//
// - When no two records of the merged entity would share a source, the
//   entities merge (anonlink's greedy solver, generalised to more than
//   two sources).
// - Otherwise the merge is scored over every pair (x, y) with x in one
//   entity and y in the other: the sum of their match weights (log2 odds
//   of a match, clipped to +-kClusterWeightClip bits) must be positive.
//   This is average linkage on the match weight (the merge that a
//   correlation-clustering objective accepts): a record joins the
//   duplicates already gathered when its evidence for them outweighs its
//   evidence against, so a person's records need not all be linked to
//   each other directly, but one strong link cannot override several
//   records that say "a different person".
//
// Pair weights come from `weight` (the model scoring the pair, linked or
// not); without it a linked pair's weight is its probability's log odds
// and an unlinked pair counts as -kClusterWeightClip (every same-source
// pair must then be linked directly). When the two entities have more
// than kClusterMaxScoredPairs cross pairs, a deterministic spread of that
// many stands for them (the mean weight decides).

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/types/span.h"

namespace cohortlink::entities {

inline constexpr double kClusterWeightClip = 20;
inline constexpr uint64_t kClusterMaxScoredPairs = 4096;

struct ScoredLink {
  uint32_t a = 0, b = 0;
  float probability = 0;
};

struct ClusterOptions {
  double threshold = 0.5;  // links below this are ignored
};

struct ClusterStats {
  uint64_t links_considered = 0, merges = 0, refused_merges = 0;
  uint64_t scored_pairs = 0;  // pairs weighed to decide same-source merges
  uint64_t entities = 0, largest_entity = 0;
};

struct Clustering {
  std::vector<uint32_t> entity;  // per record: a representative record index
  // Per record: the probability of its best accepted link into its entity
  // (1 for a record alone in its entity).
  std::vector<float> probability;
  ClusterStats stats;
};

// The match weight of records a and b (log2 odds), for any pair.
using PairWeight = std::function<double(uint32_t a, uint32_t b)>;

// `sources[i]` is record i's source. `links` may be in any order.
// `weight` may be empty.
Clustering Cluster(absl::Span<const uint32_t> sources,
                   std::vector<ScoredLink> links,
                   const ClusterOptions& options = {},
                   const PairWeight& weight = {});

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_
