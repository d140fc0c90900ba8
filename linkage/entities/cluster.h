#ifndef COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_
#define COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_

// Records into entities (one per person) from scored links.
//
// Chaining guard. Links are taken best first (highest match probability),
// and two entities merge only when the merge would not put two records of
// one source (extract) into one entity unless those two records are
// themselves directly linked above the threshold. Within-source
// duplicates therefore need direct evidence, and a chain of weak links
// (A1 - B1 - A2, or A1 - B1 - C1 - A2) cannot pull two distinct records of
// one extract together. This is anonlink's one-to-one greedy solver
// generalised to link-and-dedupe.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace cohortlink::entities {

struct ScoredLink {
  uint32_t a = 0, b = 0;
  float probability = 0;
};

struct ClusterOptions {
  double threshold = 0.5;  // links below this are ignored
};

struct ClusterStats {
  uint64_t links_considered = 0, merges = 0, refused_merges = 0;
  uint64_t entities = 0, largest_entity = 0;
};

struct Clustering {
  std::vector<uint32_t> entity;  // per record: a representative record index
  // Per record: the probability of its best accepted link into its entity
  // (1 for a record alone in its entity).
  std::vector<float> probability;
  ClusterStats stats;
};

// `sources[i]` is record i's source. `links` may be in any order.
Clustering Cluster(absl::Span<const uint32_t> sources,
                   std::vector<ScoredLink> links,
                   const ClusterOptions& options = {});

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_CLUSTER_H_
