#ifndef COHORTLINK_LINKAGE_ENTITIES_LINK_STATE_H_
#define COHORTLINK_LINKAGE_ENTITIES_LINK_STATE_H_

// A linkage held in memory between runs, so that a change costs work in
// proportion to what it touches.
//
// Link() links a dataset from scratch: exact duplicates grouped, blocks
// indexed (blocking::BlockIndex), the model trained (or given), candidate
// pairs scored, entities clustered. Update() then applies a change: the
// records it adds are blocked and scored against the live records, the
// records it removes leave (with their links), and only the entities
// joined by a link to the change are clustered again.
//
// Why a component is enough: entities form along links at or above the
// threshold (Cluster), so an entity never spans two connected components
// of the link graph, and clustering one component does not depend on any
// other. Update() reclusters the components holding an added record, a
// neighbour of a removed record, or a duplicate of either, and every
// other entity is unchanged by construction.
//
// Order independence: ties (equal probabilities, which discrete levels
// make common) are broken by a per-record order key the caller gives
// (the runner hashes agency, extract name and record key), and each group of
// identical records is represented by its member with the smallest key. The
// result therefore does not depend on the order records arrived in, and equals
// Link() of the same live records with the same model and block plan,
// except where a block crossed its size cap after some of its pairs were
// scored: Update() keeps the links it found while the block was small
// (and does not enumerate a block that shrank back under its cap). A full
// relink (on retraining, or once removed records pile up) starts afresh.

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
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

// The figures of one Link() or Update().
struct RunStats {
  blocking::BlockingStats blocking;
  ClusterStats cluster;      // of the entities clustered this run
  uint64_t duplicates = 0;   // records identical to a live record
  uint64_t comparisons = 0;  // candidate pairs scored
  uint64_t links = 0;        // scored pairs at or above the threshold
  uint64_t added = 0, removed = 0;
  uint64_t touched = 0;  // live records whose entity was recomputed
  StageTimes times;
};

class LinkState {
 public:
  // Links every record of `data`. `order` gives each record's order key
  // (distinct keys make the result independent of record order). With
  // `model` null the model is trained and the block plan chosen from this
  // data; otherwise both are given. `progress` (may be null) receives 0..1;
  // when `cancelled` (may be null) returns true between stages, the run
  // stops with CANCELLED. FAILED_PRECONDITION when there is too little
  // data to train.
  static absl::StatusOr<std::unique_ptr<LinkState>> Link(
      blocking::Dataset data, std::vector<uint64_t> order,
      const LinkOptions& options, const model::Model* model = nullptr,
      const blocking::BlockPlan* plan = nullptr,
      const std::function<void(double)>& progress = nullptr,
      const std::function<bool()>& cancelled = nullptr);

  // Appends a record for the next Update() (INVALID_ARGUMENT when its
  // filters do not fit the layout).
  absl::Status Add(uint32_t source, const cohortlink::v1::EncodedRecord& r,
                   uint32_t partition, uint64_t order);
  // Applies a change: the records appended since the last run join, and
  // the live records `removed` leave.
  absl::Status Update(absl::Span<const uint32_t> removed);

  const blocking::Dataset& data() const { return data_; }
  size_t size() const { return data_.size(); }
  bool alive(uint32_t i) const { return alive_[i] != 0; }
  // A record of i's entity, the same for all its members (live records).
  uint32_t entity(uint32_t i) const { return entity_[i]; }
  // The probability of i's best link into its entity (1 when alone).
  float probability(uint32_t i) const { return probability_[i]; }
  // The live records the last run (re)assigned an entity, in order.
  const std::vector<uint32_t>& touched() const { return touched_; }
  // The representative of i's group of identical records.
  uint32_t representative(uint32_t i) const { return rep_of_[i]; }
  size_t live() const { return live_; }
  size_t dead() const { return size() - live_; }
  size_t entities() const { return entity_size_.size(); }
  const model::Model& model() const { return model_; }
  const blocking::BlockPlan& plan() const { return index_.plan(); }
  const RunStats& last_run() const { return stats_; }
  // Every candidate pair of the live representatives, as a full relink
  // would score them (for measuring pair completeness).
  std::vector<blocking::Pair> Candidates() const;

 private:
  explicit LinkState(blocking::Dataset data) : data_(std::move(data)) {}
  // Groups record i with a live identical record, or starts its group.
  void Group(uint32_t i);
  // Makes `to` (a live member of from's group) the group's representative.
  void Transfer(uint32_t from, uint32_t to, std::vector<uint32_t>* to_index);
  // Scores `pairs` and records the links at or above the threshold.
  void Score(const std::vector<blocking::Pair>& pairs);
  // Clusters the components holding `seeds` (live representatives) again.
  void Recluster(std::vector<uint32_t> seeds);
  // Puts record i in the entity labelled `label`; takes it out of its entity.
  void Assign(uint32_t i, uint32_t label);
  void Leave(uint32_t i);

  blocking::Dataset data_;
  LinkOptions options_;
  model::Model model_;
  blocking::BlockIndex index_;
  std::vector<uint64_t> order_;
  std::vector<uint8_t> alive_, active_;  // active: a live representative
  std::vector<uint8_t> indexed_;         // in index_
  std::vector<uint32_t> rep_of_;
  // A representative's live identical records (only groups of two or more).
  absl::flat_hash_map<uint32_t, std::vector<uint32_t>> duplicates_;
  // Content hash -> live representatives with it.
  absl::flat_hash_map<uint64_t, absl::InlinedVector<uint32_t, 1>> by_content_;
  // Per representative: its links (other, probability) at or above the
  // threshold.
  std::vector<std::vector<std::pair<uint32_t, float>>> adjacent_;
  static constexpr uint32_t kNone = 0xffffffff;
  std::vector<uint32_t> entity_;  // kNone: not assigned (yet, or any more)
  // Live records per entity label.
  absl::flat_hash_map<uint32_t, uint32_t> entity_size_;
  std::vector<float> probability_;
  std::vector<uint32_t> touched_;
  size_t first_new_ = 0;  // records from here on await Update()
  size_t live_ = 0;
  RunStats stats_;
};

}  // namespace cohortlink::entities

#endif  // COHORTLINK_LINKAGE_ENTITIES_LINK_STATE_H_
