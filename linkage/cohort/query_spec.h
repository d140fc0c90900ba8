#ifndef COHORTLINK_LINKAGE_COHORT_QUERY_SPEC_H_
#define COHORTLINK_LINKAGE_COHORT_QUERY_SPEC_H_

// The JSON an analyst writes for `cohortlink query --spec FILE`:
//
// {
//   "name": "Proven reoffending within 12 months of release",
//   "cohort": {"agency_type": "prison", "event_type": "release",
//              "from": "2024-01-01", "to": "2024-12-31",
//              "filters": {"sentence_band": ["<12m", "12m-4y"]}},
//   "outcomes": [{"name": "charged_within_12m", "agency_type": "police",
//                 "event_type": "charge", "window_days": [1, 365],
//                 "filters": {...}}],
//   "breakdowns": ["sex", "age_band"],
//   "min_match_probability": 0.9,
//   "disclosure": {"threshold": 10, "rounding": 5}
// }
//
// A filter value may be a string or a list of strings (any of them).

#include <string>

#include "absl/status/statusor.h"
#include "cohortlink/v1/query.pb.h"

namespace cohortlink::cohort {

// The shape of a query (docs/limits.md), checked by ValidateQuery before
// anything is evaluated. They bound the cost of one query: cells are at most
// 2^breakdowns x (1 + outcomes), and the disclosure loop at most
// kMaxThreshold passes.
inline constexpr int kMaxBreakdowns = 3;
inline constexpr int kMaxOutcomes = 16;
inline constexpr int kMaxFilters = 8;              // attributes per selector
inline constexpr int kMaxFilterValues = 64;        // values per filter
inline constexpr int32_t kMaxWindowDays = 36'525;  // |day| of an outcome
inline constexpr uint32_t kMaxThreshold = 1000;
inline constexpr uint32_t kMaxRounding = 1000;
inline constexpr size_t kMaxQueryNameBytes = 256;  // the query's name
inline constexpr size_t kMaxLabelBytes = 64;       // event types, values

// INVALID_ARGUMENT names the field ("outcomes[1].window_days: ...").
absl::StatusOr<cohortlink::v1::CohortQuery> ParseQuerySpec(
    const std::string& json, const std::string& source);

// Checks a query (from JSON or the wire): agency types, dates, windows,
// names, probability range. INVALID_ARGUMENT names the field.
absl::Status ValidateQuery(const cohortlink::v1::CohortQuery& q);

// The query as canonical JSON (for the audit log).
std::string QueryToJson(const cohortlink::v1::CohortQuery& q);

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_QUERY_SPEC_H_
