#include "linkage/entities/linker.h"

#include <numeric>

#include "util/status_macros.h"

namespace cohortlink::entities {

absl::StatusOr<LinkResult> LinkAll(blocking::Dataset data,
                                   const LinkOptions& options,
                                   const model::Model* model,
                                   const blocking::BlockPlan* plan) {
  std::vector<uint64_t> order(data.size());
  std::iota(order.begin(), order.end(), uint64_t{0});
  LinkResult r;
  ASSIGN_OR_RETURN(r.state, LinkState::Link(std::move(data), std::move(order),
                                            options, model, plan));
  const LinkState& s = *r.state;
  const RunStats& st = s.last_run();
  r.model = s.model();
  r.blocking = st.blocking;
  r.duplicates = st.duplicates;
  r.comparisons = st.comparisons;
  r.links = st.links;
  r.times = st.times;
  r.clustering.stats = st.cluster;
  r.clustering.stats.entities = s.entities();
  r.clustering.entity.resize(s.size());
  r.clustering.probability.resize(s.size());
  std::vector<uint32_t> members(s.size(), 0);
  for (uint32_t i = 0; i < s.size(); ++i) {
    r.clustering.entity[i] = s.entity(i);
    r.clustering.probability[i] = s.probability(i);
    r.clustering.stats.largest_entity = std::max<uint64_t>(
        r.clustering.stats.largest_entity, ++members[s.entity(i)]);
  }
  return r;
}

}  // namespace cohortlink::entities
