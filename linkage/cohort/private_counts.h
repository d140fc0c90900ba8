#ifndef COHORTLINK_LINKAGE_COHORT_PRIVATE_COUNTS_H_
#define COHORTLINK_LINKAGE_COHORT_PRIVATE_COUNTS_H_

// Answers in differential-privacy mode (docs/disclosure.md, "The privacy
// budget"): every count of the table gets independent discrete Gaussian
// noise whose variance makes the whole answer rho-zCDP for one person
// (Bun and Steinke 2016), so a project's answers together cost the sum of
// their rho whatever the analyst asks. The table's shape depends on the
// question and the declared values only, never on the data: a row for
// every combination of the breakdowns' codelist values (and "unknown"),
// zeros included.

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "cohortlink/v1/query.pb.h"
#include "linkage/cohort/discrete_gaussian.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/query_space.h"

namespace cohortlink::cohort {

// Budgets and charges are counted in millionths of a unit of rho.
inline constexpr uint64_t kMicro = 1'000'000;
// The largest rho a project's budget, or one answer, may have.
inline constexpr double kMaxRho = 100;
// `rho` as whole micro-rho: nullopt unless it is 0.000001 to kMaxRho in
// steps of 0.000001 (NaN included).
std::optional<uint64_t> ToMicroRho(double rho);

// Rows of one answer in this mode (every combination of declared values,
// with the margins).
inline constexpr uint64_t kMaxPrivateCells = 20'000;

// The counts one person can change, by one each, in an answer to `q`:
// the 2^breakdowns cells of their combination (it and its margins) times
// the cohort and each outcome, and the uncertain count. The square of the
// answer's L2 sensitivity.
uint64_t CountsPerPerson(const cohortlink::v1::CohortQuery& q);

// The variance of the noise on each count for an answer that costs
// `rho_micro` millionths of rho: the smallest integer sigma^2 with
// counts / (2 sigma^2) <= rho (rounded up, so the answer never costs more
// than it is charged). INVALID_ARGUMENT when rho_micro is 0.
absl::StatusOr<uint64_t> NoiseVariance(uint64_t counts_per_person,
                                       uint64_t rho_micro);

// INVALID_ARGUMENT naming the breakdown when one has no codelist (the rows
// would come from the data), or when the table would exceed
// kMaxPrivateCells.
absl::Status CheckPrivateShape(const cohortlink::v1::CohortQuery& q,
                               const QuerySpace& space);

// The answer to `raw`'s question with noise of variance `sigma2` on every
// count, clamped at 0; counts below p.threshold after noise are shown as
// suppressed and the others rounded to p.rounding (post-processing, which
// costs no privacy). No secondary suppression or differencing control:
// the noise is the protection. REQUIRES: CheckPrivateShape passed for the
// query `raw` answers.
absl::StatusOr<cohortlink::v1::QueryResult> PrivateAnswer(
    const RawTable& raw, const QuerySpace& space,
    const cohortlink::v1::DisclosurePolicy& p, uint64_t sigma2,
    UniformSource& noise);

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_PRIVATE_COUNTS_H_
