#ifndef COHORTLINK_LINKAGE_SIMILARITY_DICE_H_
#define COHORTLINK_LINKAGE_SIMILARITY_DICE_H_

// Dice coefficients over Bloom filters: 2|A and B| / (|A| + |B|), and 0
// when both filters are empty (as anonlink does).

#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "linkage/similarity/filter_matrix.h"
#include "linkage/similarity/kernels.h"

namespace cohortlink::similarity {

inline double Dice(uint32_t and_count, uint32_t pop_a, uint32_t pop_b) {
  uint32_t total = pop_a + pop_b;
  return total == 0 ? 0.0 : 2.0 * and_count / total;
}

// Whole-filter Dice of one pair.
double PairDice(const FilterMatrix& a, size_t i, const FilterMatrix& b,
                size_t j, const KernelTable& k = BestKernels());

// Per-segment and whole-filter Dice of one pair in one pass over the words:
// segment_dice[s] for each of a's segments (both matrices share the
// layout), and the whole filter's Dice as the return value. When the
// segments tile the filter, the whole filter's AND count is the sum of the
// segments'; words outside every segment are counted separately.
double SegmentDice(const FilterMatrix& a, size_t i, const FilterMatrix& b,
                   size_t j, absl::Span<double> segment_dice,
                   const KernelTable& k = BestKernels());

struct ScoredPair {
  uint32_t a = 0, b = 0;
  float dice = 0;
};

struct SearchStats {
  uint64_t comparisons = 0;  // pairs whose AND count was computed
  uint64_t pruned = 0;       // pairs skipped by the popcount bound
};

// Every pair (i in a, j in b) whose whole-filter Dice is >= threshold
// (threshold > 0), in no particular order. Pairs are skipped without
// comparing when the popcount bound 2 min(|A|,|B|) / (|A| + |B|) is below
// the threshold: b is sorted by popcount and each group of queries only
// visits the popcount window it can match. Runs on `threads` threads.
std::vector<ScoredPair> DiceSearch(const FilterMatrix& a, const FilterMatrix& b,
                                   double threshold, int threads = 1,
                                   SearchStats* stats = nullptr,
                                   const KernelTable& k = BestKernels());

// Candidates packed for KernelTable::and_count_panel: rows `ids` of `m`,
// padded with empty filters to a multiple of 8.
void PackPanel(const FilterMatrix& m, absl::Span<const uint32_t> ids,
               AlignedWords* panel);

}  // namespace cohortlink::similarity

#endif  // COHORTLINK_LINKAGE_SIMILARITY_DICE_H_
