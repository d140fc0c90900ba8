#ifndef COHORTLINK_LINKAGE_COHORT_DIFFERENCING_H_
#define COHORTLINK_LINKAGE_COHORT_DIFFERENCING_H_

// Differencing control across queries (docs/disclosure.md): the server
// remembers the set of people behind every count it has published, and
// suppresses a new count whose set differs from a published one, or from
// another count of the same answer, by 1 to threshold - 1 people in either
// direction (the rule of the ABS DataLab: no differences under the
// threshold). Two counts that differ by so few would publish the count of
// the people in between.
//
// Sets are remembered as SetSketch summaries over tokens that the linkage
// keeps across runs, so a new linkage run does not reopen differences
// against counts published before it.

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cohortlink/v1/query.pb.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/set_sketch.h"

namespace cohortlink::cohort {

struct PublishedSet {
  uint64_t count = 0;  // the true count
  SetSketch sketch;
};

// What the server remembers of the sets it has published. Implementations
// need not be thread-safe: DifferencingControl serialises its calls.
class PublishedSets {
 public:
  virtual ~PublishedSets() = default;
  // The width of the sketches it holds (fixed when it was made).
  virtual uint32_t width() const = 0;
  // Whether a remembered set differs from `set` by 1 to threshold - 1
  // people, or may (SetSketch::Compare answers kUnder). Errors reading the
  // memory are returned, never taken for "no".
  virtual absl::StatusOr<bool> NearOne(const PublishedSet& set,
                                       uint32_t threshold) = 0;
  // Remembers `sets` durably; the counts are shown only after it succeeds.
  virtual absl::Status Remember(absl::Span<const PublishedSet> sets) = 0;
};

// A memory held in memory only, for tests and benchmarks.
class InMemoryPublishedSets final : public PublishedSets {
 public:
  explicit InMemoryPublishedSets(uint32_t width) : width_(width) {}
  uint32_t width() const override { return width_; }
  absl::StatusOr<bool> NearOne(const PublishedSet& set,
                               uint32_t threshold) override;
  absl::Status Remember(absl::Span<const PublishedSet> sets) override;
  size_t size() const { return sets_.size(); }

 private:
  uint32_t width_;
  std::vector<PublishedSet> sets_;
};

// Whether `a` and `b` may differ by 1 to threshold - 1 people: their sizes
// are that close and their sketches cannot rule it out.
bool Near(const PublishedSet& a, const PublishedSet& b, uint32_t threshold);

// Passes of suppression and checking one answer may take (each hides at
// least one more count).
inline constexpr int kMaxDifferencingPasses = 32;

// Protect (engine.h) and the differencing rule over one memory.
// Thread-safe: checking an answer against the memory and remembering what
// it publishes is one step, so two concurrent queries cannot each publish
// one side of a small difference.
class DifferencingControl {
 public:
  // `memory` is borrowed and outlives this.
  explicit DifferencingControl(PublishedSets* memory) : memory_(memory) {}

  // The answer to publish, with `differenced` set to the counts this rule
  // suppressed. Its published counts were checked in order
  // (the grand total first) against the memory and the counts before them;
  // one that is near either is suppressed, and secondary suppression
  // redone, until every count shown passes (RESOURCE_EXHAUSTED if that
  // takes more than kMaxDifferencingPasses). They are then remembered; when
  // that fails, the error is returned and nothing may be shown. Rows with
  // no published count are left out (LeaveOutSuppressedRows).
  absl::StatusOr<cohortlink::v1::QueryResult> Protect(
      const RawTable& raw, const cohortlink::v1::DisclosurePolicy& p,
      uint32_t base_threshold) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  PublishedSets* memory_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_DIFFERENCING_H_
