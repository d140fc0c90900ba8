#ifndef COHORTLINK_LINKAGE_COHORT_QUERY_SPACE_H_
#define COHORTLINK_LINKAGE_COHORT_QUERY_SPACE_H_

// The bounded space of questions an analyst may ask (docs/disclosure.md):
// cohort periods on a calendar grid, outcome windows from a menu, and
// filters on the declared values (codelists) of attributes. Each
// count the server publishes is then one of few sets of people, so an
// analyst cannot difference counts over arbitrary days. A query off the
// grid is refused with the nearest allowed form, never silently moved.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cohortlink/v1/query.pb.h"

namespace cohortlink::cohort {

enum class CohortGrid { kMonth, kQuarter, kYear };

// "month", "quarter" or "year", and back (nullopt for any other name).
const char* CohortGridName(CohortGrid g);
std::optional<CohortGrid> ParseCohortGrid(absl::string_view name);

inline constexpr size_t kMaxWindowMenu = 32;
inline constexpr size_t kMaxCodelists = 64;         // attributes with one
inline constexpr size_t kMaxCodelistValues = 1000;  // values in one

struct QuerySpace {
  // A cohort's `from` is the first day of a grid period, its `to` the last.
  CohortGrid grid = CohortGrid::kMonth;
  // Window lengths N, ascending (1 .. kMaxWindowDays). A forward window is
  // [from, N] with from 0, 1 or M + 1 for a smaller M of the menu; a
  // backward one mirrors it, [-N, to] with to 0, -1 or -(M + 1).
  std::vector<int32_t> windows = {1, 7, 21, 28, 91, 182, 365, 730};
  // The declared values of attributes: a filter may name only these, and
  // an upload may carry only these (or nothing) for the attribute.
  // Attributes without a codelist are open (values as uploaded).
  std::map<std::string, std::set<std::string>> codelists;
};

// INVALID_ARGUMENT when the menu is empty, too long, unordered or out of
// range, or a codelist is empty, too long, or names an attribute or value
// outside the name rule and the value bounds.
absl::Status ValidateQuerySpace(const QuerySpace& space);

// INVALID_ARGUMENT naming the field and the nearest allowed form (or the
// declared values) when `q` leaves the space. `q` has passed ValidateQuery.
absl::Status CheckQuerySpace(const cohortlink::v1::CohortQuery& q,
                             const QuerySpace& space);

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_QUERY_SPACE_H_
