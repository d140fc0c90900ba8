#ifndef COHORTLINK_LINKAGE_MODEL_MIXTURE_H_
#define COHORTLINK_LINKAGE_MODEL_MIXTURE_H_

// Two-component Beta mixture over similarities in (0, 1), for a model
// with a single comparison (a record-level CLK), where EM over one
// categorical comparison is not identified: the match and non-match
// similarity distributions are fitted as Beta densities, and their
// weight (the share of matches) is estimated within the mixture.
//
// Fitting is EM with a weighted method-of-moments M step (each class's
// Beta from its weighted mean and variance), started from a split at a
// high quantile (matches are the similar minority). It stops when the
// log-likelihood changes by less than `tolerance` (relative) or after
// `max_iterations`.
//
// Also: pool-adjacent-violators over ordered levels, so that match
// weights never fall as similarity rises.

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace cohortlink::model {

struct Beta {
  double a = 1, b = 1;
  double LogPdf(double x) const;
};

struct BetaMixture {
  double match_share = 0;  // lambda
  Beta match, non_match;
  int iterations = 0;
  bool converged = false;
  // The log likelihood ratio log(match pdf / non-match pdf) at x, made
  // non-decreasing in x: below the point where the raw ratio is lowest it
  // is held at that lowest value (a Beta with a heavier lower tail would
  // otherwise make very dissimilar pairs look like matches).
  double MonotoneLogRatio(double x) const;
  // The probability of a match at similarity x among the fitted values.
  double Posterior(double x) const;
};

// Fits the mixture to `values` (clamped into (0, 1)). Needs at least two
// distinct values; returns false when the fit degenerates (a class with
// no weight).
bool FitBetaMixture(absl::Span<const double> values, BetaMixture* out,
                    int max_iterations = 1000, double tolerance = 1e-9);

// The probability mass of `beta` in [lo, hi), by integrating its density
// numerically (error far below the estimates' own).
double BetaMass(const Beta& beta, double lo, double hi);

// Pools adjacent levels (index 0 the most similar) whose m / u ratio rises
// with the index, so that log(m / u) is non-increasing: within a pool
// every level gets the pool's ratio (m_l = u_l * sum m / sum u, which
// keeps the m total). `pooled[l]` is set for levels in a pool of two or
// more. Levels with u = 0 are left as they are.
void PoolAdjacentViolators(std::vector<double>* m, const std::vector<double>& u,
                           std::vector<uint8_t>* pooled);

}  // namespace cohortlink::model

#endif  // COHORTLINK_LINKAGE_MODEL_MIXTURE_H_
