#ifndef COHORTLINK_LINKAGE_ENTITIES_LINKER_H_
#define COHORTLINK_LINKAGE_ENTITIES_LINKER_H_

// The whole linkage of a dataset in one call: candidates, model, scores,
// entities (LinkState::Link, with records ordered as given).

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "linkage/entities/link_state.h"

namespace cohortlink::entities {

struct LinkResult {
  model::Model model;
  blocking::BlockingStats blocking;
  Clustering clustering;     // entity: a record of each record's entity
  uint64_t duplicates = 0;   // records identical to another (linked directly)
  uint64_t comparisons = 0;  // candidate pairs scored
  uint64_t links = 0;        // scored pairs at or above the threshold
  StageTimes times;
  std::unique_ptr<LinkState> state;  // for further changes and measurement
};

// Links every record of `data` (link-and-dedupe across and within
// sources), training the model on this data, or scoring with `model` (and
// its `plan`) when given. Ties are broken by record order.
absl::StatusOr<LinkResult> LinkAll(blocking::Dataset data,
                                   const LinkOptions& options = {},
                                   const model::Model* model = nullptr,
                                   const blocking::BlockPlan* plan = nullptr);

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_LINKER_H_
