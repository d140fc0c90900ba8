#ifndef COHORTLINK_LINKAGE_STORE_PUBLISHED_SETS_H_
#define COHORTLINK_LINKAGE_STORE_PUBLISHED_SETS_H_

// The differencing control's memory (linkage/cohort/differencing.h) in
// RocksDB: one entry per distinct published set in the `published` column
// family, keyed by its true count then a digest of the set, so that the
// sets near a count are one range scan and a set published again is
// stored once. Entries are never removed: a count published before a
// relink, a withdrawn extract or a restart stays published.

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "linkage/cohort/differencing.h"
#include "linkage/store/store.h"

namespace cohortlink::store {

class PublishedSetStore final : public cohort::PublishedSets {
 public:
  // The memory in `store` (borrowed; it outlives this). Its sketches keep
  // the width they were first made with; `width` applies to a new one.
  // Errors reading it are returned.
  static absl::StatusOr<std::unique_ptr<PublishedSetStore>> Open(
      Store* store, uint32_t width);

  uint32_t width() const override { return width_; }
  // Scans the sets whose true counts lie within threshold - 1 of set.count.
  // DATA_LOSS for an entry that does not parse.
  absl::StatusOr<bool> NearOne(const cohort::PublishedSet& set,
                               uint32_t threshold) override;
  // One synced write.
  absl::Status Remember(absl::Span<const cohort::PublishedSet> sets) override;
  // RocksDB's estimate of the entries held (for metrics).
  uint64_t EstimatedEntries() const;

 private:
  PublishedSetStore(Store* store, uint32_t width, bool width_stored)
      : store_(store), width_(width), width_stored_(width_stored) {}
  Store* store_;
  uint32_t width_;
  bool width_stored_;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_PUBLISHED_SETS_H_
