#ifndef COHORTLINK_LINKAGE_ENTITIES_LINKER_H_
#define COHORTLINK_LINKAGE_ENTITIES_LINKER_H_

// The whole linkage of a dataset: candidates, model, scores, entities.

#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "linkage/blocking/blocking.h"
#include "linkage/entities/cluster.h"
#include "linkage/model/model.h"

namespace cohortlink::entities {

struct LinkOptions {
  blocking::BlockingOptions blocking;
  model::TrainOptions model;
  ClusterOptions cluster;
  int threads = 2;
};

struct StageTimes {
  double blocking_s = 0, training_s = 0, scoring_s = 0, clustering_s = 0;
};

struct LinkResult {
  model::Model model;
  blocking::BlockingStats blocking;
  Clustering clustering;
  uint64_t duplicates = 0;   // records identical to another (linked directly)
  uint64_t comparisons = 0;  // candidate pairs scored
  uint64_t links = 0;        // scored pairs at or above the threshold
  StageTimes times;
};

// Groups records with identical filters and missing fields (the same
// identifiers). Returns the representatives (the first record of each
// group, in record order) and sets rep_of[i] to the index of record i's
// representative in that list.
std::vector<uint32_t> Representatives(const blocking::Dataset& data,
                                      std::vector<uint32_t>* rep_of);

// Links every record of `data` (link-and-dedupe across and within
// sources), training the model on this data, or scoring with `model` when
// one is given. `progress` (may be null) receives 0..1 between stages;
// when `cancelled` (may be null) returns true between stages, the run stops
// with CANCELLED.
absl::StatusOr<LinkResult> LinkAll(
    const blocking::Dataset& data, const LinkOptions& options = {},
    const model::Model* model = nullptr,
    const std::function<void(double)>& progress = nullptr,
    const std::function<bool()>& cancelled = nullptr);

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_LINKER_H_
