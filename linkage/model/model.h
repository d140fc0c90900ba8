#ifndef COHORTLINK_LINKAGE_MODEL_MODEL_H_
#define COHORTLINK_LINKAGE_MODEL_MODEL_H_

// Fellegi-Sunter over comparison levels of each field's Dice similarity.
//
// A pair's comparison vector gives, per field, the first level whose Dice
// threshold it reaches (level thresholds.size() is "else"), or kNull when
// either side's field is missing. The match weight is
//   log2(prior / (1 - prior)) + sum over non-null fields of log2(m / u)
// and the match probability is 2^w / (1 + 2^w).
//
// Training (Train):
// - u: level frequencies over random record pairs (nearly all non-matches),
//   Laplace-smoothed;
// - m: expectation-maximisation over the candidate pairs, with a second
//   class for the non-matches among candidates (blocking lets through
//   non-matches that agree far more often than random pairs, so the
//   random-pair u would pull them into the match class);
// - prior (probability that two random records match), estimated directly:
//   the candidate pairs on which every non-null field reaches the top level
//   (a deterministic rule), divided by that rule's recall among matches as
//   the trained m gives it (the product of the top-level m), divided by
//   the number of pairs the linkage could compare.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "linkage/blocking/dataset.h"

namespace cohortlink::model {

inline constexpr uint8_t kNull = 0xff;

// One comparison of the model: a field, or two fields compared jointly
// when random pairs show them to be strongly dependent (a town and its
// postcode agree together far more often than independence predicts, and
// counting both as separate evidence would overstate a same-place pair).
struct FieldParams {
  std::string name;          // "suburb", or "suburb+postcode" when joint
  std::vector<int> members;  // the data fields compared (one or two)
  // A group (the schema's compare_group): `members` (any number) compared
  // as one, its level the rounded mean of the members' levels over those
  // present in both records (null when none is), levels as a single
  // field's.
  bool grouped = false;
  // Per comparison level. A single field has thresholds.size() + 1 levels
  // ("else" last); a joint comparison has one level per combination of its
  // fields' levels including null, (L + 1)^2 - 1 (both null is kNull).
  std::vector<double> m, u;
  // Per level: 1 where m was pooled with a neighbouring level's so that
  // the weights do not rise as similarity falls (PoolAdjacentViolators).
  std::vector<uint8_t> pooled;
};

struct Model {
  uint64_t version = 0;
  // Dice thresholds of the levels, descending.
  std::vector<double> thresholds;
  std::vector<FieldParams> fields;
  double prior = 0;  // probability two random records match
  // With records from two or more sources: the probability that two random
  // records of one source match (duplicates within an extract), while
  // `prior` is then that of two records of different sources. 0: `prior`
  // for every pair. See SplitPriorBySource.
  double within_source_prior = 0;
  // Training facts, for `model show`.
  uint64_t candidate_pairs = 0, u_sample_pairs = 0, total_pairs = 0;
  int em_iterations = 0;
  bool em_converged = false;
  // How m, u and the prior were estimated: "em" (comparison levels at
  // fixed thresholds, EM in sessions) or "beta mixture" (one comparison:
  // a two-component Beta mixture over each record's closest candidates,
  // with levels placed where the fitted match probability rises).
  std::string method = "em";

  // `levels` are per data field, as Compare gives them; `same_source`:
  // the pair's records come from one source.
  double Weight(absl::Span<const uint8_t> levels,
                bool same_source = false) const;
  double Probability(absl::Span<const uint8_t> levels,
                     bool same_source = false) const;
  // log2(p / (1 - p)) of the prior that applies.
  double PriorWeight(bool same_source = false) const;
  // The level of comparison c for per-field `levels` (kNull when absent).
  uint8_t ComparisonLevel(size_t c, absl::Span<const uint8_t> levels) const;
  // log2(m / u) of `level` of comparison c (0 for kNull).
  double LevelWeight(size_t c, uint8_t level) const;
  // A readable name of level `level` of comparison c ("dice >= 0.95",
  // "else", "given: dice >= 0.85, surname: null").
  std::string LevelName(size_t c, uint8_t level) const;
};

// The comparison levels of pair (i, j) into `levels` (one per field);
// returns the whole-filter Dice.
double Compare(const blocking::Dataset& data, uint32_t i, uint32_t j,
               absl::Span<const double> thresholds, absl::Span<uint8_t> levels);

struct TrainOptions {
  std::vector<double> thresholds = {0.95, 0.85, 0.7, 0.5};
  uint64_t u_samples = 500'000;
  int max_iterations = 1000;
  double tolerance = 1e-7;
  // Levels of a single-comparison model (beta mixture): this many
  // thresholds, evenly spaced over the similarities where the fitted
  // match probability rises from 0.001 to 0.999.
  int fine_levels = 12;
  uint64_t seed = 42;
  // Pairs within one source count as comparable (link-and-dedupe).
  bool within_source = true;
  // Two fields are compared jointly when, among random pairs that agree
  // on no third field (so as to leave out true matches), both reach the
  // top level at least this many times more often than independence
  // predicts (and at least 10 times in the sample).
  double dependence_ratio = 10;
  // When the candidates are those of one representative per group of
  // identical records: the identical pairs they leave out (matches on every
  // comparison, counted by the prior's rule).
  uint64_t identical_pairs = 0;
};

// With records from two or more sources (and options.within_source):
// splits m->prior, which counts matches over every comparable pair, into a
// prior for pairs within one source and one for pairs across sources. The
// matches the prior counts are shared between the two kinds as the
// candidates' posteriors are (a random sample of about 2,000,000
// candidates, EM for the two priors with m and u held, half a match added
// to each kind), and each share is divided by
// that kind's comparable pairs. Extracts without duplicates thereby get a
// within-source prior near zero, and two of their records need far more
// evidence to be linked than two records of different agencies.
void SplitPriorBySource(
    const blocking::Dataset& data,
    absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
    const TrainOptions& options, Model* m);

// Trains a model on `data` and its candidate pairs. FAILED_PRECONDITION
// when there are too few records or candidates to estimate anything.
absl::StatusOr<Model> Train(
    const blocking::Dataset& data,
    absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
    const TrainOptions& options = {});

}  // namespace cohortlink::model

#endif  // COHORTLINK_LINKAGE_MODEL_MODEL_H_
