#include "linkage/cohort/query_space.h"

#include <algorithm>
#include <cstdlib>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "linkage/cohort/query_spec.h"
#include "linkage/encoding/dates.h"
#include "util/error_details.h"
#include "util/names.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::cohort {
namespace {

using encoding::Date;

// Each grid: its name in the config and its period in months.
struct GridInfo {
  CohortGrid grid;
  const char* name;
  int months;
};
constexpr GridInfo kGrids[] = {{CohortGrid::kMonth, "month", 1},
                               {CohortGrid::kQuarter, "quarter", 3},
                               {CohortGrid::kYear, "year", 12}};

const GridInfo& InfoOf(CohortGrid g) {
  for (const GridInfo& i : kGrids)
    if (i.grid == g) return i;
  return kGrids[0];
}

int MonthsPerPeriod(CohortGrid g) { return InfoOf(g).months; }

// The first day of the grid period holding `d`, and of the next one.
Date PeriodStart(const Date& d, CohortGrid g) {
  const int k = MonthsPerPeriod(g);
  return {d.year, (d.month - 1) / k * k + 1, 1};
}
Date NextPeriodStart(const Date& d, CohortGrid g) {
  Date s = PeriodStart(d, g);
  s.month += MonthsPerPeriod(g);
  if (s.month > 12) {
    s.month -= 12;
    ++s.year;
  }
  return s;
}

absl::Status Refuse(const std::string& field, const std::string& what) {
  return util::WithFieldViolation(
      absl::InvalidArgumentError(absl::StrCat(field, ": ", what)), field, what);
}

// `v`'s nearest member of `allowed` (the smaller on a tie).
int32_t Nearest(int32_t v, const std::vector<int32_t>& allowed) {
  int32_t best = allowed.front();
  for (int32_t a : allowed)
    if (std::llabs(int64_t{a} - v) < std::llabs(int64_t{best} - v)) best = a;
  return best;
}

absl::Status CheckDate(const std::string& field, const std::string& text,
                       bool start, CohortGrid g) {
  auto d = encoding::ParseDate(text, "%Y-%m-%d");
  if (!d.ok()) return Refuse(field, "must be a date (YYYY-MM-DD)");
  const int64_t day = encoding::DaysFromCivil(*d);
  const int64_t first = encoding::DaysFromCivil(PeriodStart(*d, g));
  const int64_t next = encoding::DaysFromCivil(NextPeriodStart(*d, g));
  const int64_t want = start ? first : next - 1;
  if (day == want) return absl::OkStatus();
  // The nearest start (or end) of a period: this period's or the next's
  // (previous's).
  int64_t nearest = want;
  if (start && next - day < day - first) nearest = next;
  if (!start && day - (first - 1) < (next - 1) - day) nearest = first - 1;
  return Refuse(
      field,
      absl::StrCat(text, " is not the ", start ? "first" : "last", " day of a ",
                   CohortGridName(g), "; cohort periods follow the server's ",
                   CohortGridName(g), " grid: the nearest allowed is ",
                   encoding::FormatIsoDate(encoding::CivilFromDays(nearest))));
}

// Every value a selector's filters name is declared, where the attribute
// has a codelist.
absl::Status CheckFilters(const std::string& field,
                          const cohortlink::v1::EventSelector& s,
                          const QuerySpace& space) {
  for (const auto& [name, values] : s.filters()) {
    auto list = space.codelists.find(name);
    if (list == space.codelists.end()) continue;
    for (const auto& v : values.values()) {
      if (list->second.contains(v)) continue;
      return Refuse(
          absl::StrCat(field, ".filters.", name),
          absl::StrCat("'", util::Printable(v), "' is not a declared value of ",
                       name, " (declared: ", absl::StrJoin(list->second, ", "),
                       ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

const char* CohortGridName(CohortGrid g) { return InfoOf(g).name; }

std::optional<CohortGrid> ParseCohortGrid(absl::string_view name) {
  for (const GridInfo& i : kGrids)
    if (name == i.name) return i.grid;
  return std::nullopt;
}

absl::Status ValidateQuerySpace(const QuerySpace& space) {
  if (space.windows.empty() || space.windows.size() > kMaxWindowMenu) {
    return absl::InvalidArgumentError(
        absl::StrCat("outcome_windows: 1 to ", kMaxWindowMenu, " lengths"));
  }
  for (size_t i = 0; i < space.windows.size(); ++i) {
    const int32_t n = space.windows[i];
    if (n < 1 || n > kMaxWindowDays) {
      return absl::InvalidArgumentError(absl::StrCat(
          "outcome_windows[", i, "]: must be 1 to ", kMaxWindowDays));
    }
    if (i > 0 && n <= space.windows[i - 1]) {
      return absl::InvalidArgumentError(
          absl::StrCat("outcome_windows[", i, "]: the lengths ascend"));
    }
  }
  if (space.codelists.size() > kMaxCodelists) {
    return absl::InvalidArgumentError(
        absl::StrCat("codelists: at most ", kMaxCodelists, " attributes"));
  }
  for (const auto& [name, values] : space.codelists) {
    RETURN_IF_ERROR(util::CheckName("codelists", name));
    if (values.empty() || values.size() > kMaxCodelistValues) {
      return absl::InvalidArgumentError(absl::StrCat(
          "codelists.", name, ": 1 to ", kMaxCodelistValues, " values"));
    }
    for (const auto& v : values) {
      if (v.empty() || !util::IsValidLabel(v, kMaxLabelBytes)) {
        return absl::InvalidArgumentError(
            absl::StrCat("codelists.", name, ": values are 1 to ",
                         kMaxLabelBytes, " bytes of printable UTF-8"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status CheckQuerySpace(const cohortlink::v1::CohortQuery& q,
                             const QuerySpace& space) {
  RETURN_IF_ERROR(CheckFilters("cohort", q.cohort().event(), space));
  for (int i = 0; i < q.outcomes_size(); ++i) {
    RETURN_IF_ERROR(CheckFilters(absl::StrCat("outcomes[", i, "]"),
                                 q.outcomes(i).event(), space));
  }
  RETURN_IF_ERROR(
      CheckDate("cohort.from", q.cohort().from(), true, space.grid));
  RETURN_IF_ERROR(CheckDate("cohort.to", q.cohort().to(), false, space.grid));
  // The ends a window may have: forward [from, to], backward mirrored.
  std::vector<int32_t> starts = {0, 1}, ends;
  for (int32_t n : space.windows) {
    ends.push_back(n);
    if (n + 1 <= kMaxWindowDays) starts.push_back(n + 1);
  }
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  auto in = [](int32_t v, const std::vector<int32_t>& set) {
    return std::binary_search(set.begin(), set.end(), v);
  };
  for (int i = 0; i < q.outcomes_size(); ++i) {
    const auto& o = q.outcomes(i);
    const bool backward =
        o.to_day() < 0 || (o.to_day() == 0 && o.from_day() < 0);
    // A backward window [-N, -s] is checked as the forward [s, N].
    const int32_t lo = backward ? -o.to_day() : o.from_day();
    const int32_t hi = backward ? -o.from_day() : o.to_day();
    if (in(lo, starts) && in(hi, ends) && lo <= hi) continue;
    int32_t near_hi = Nearest(hi, ends);
    std::vector<int32_t> fitting;
    for (int32_t s : starts)
      if (s <= near_hi) fitting.push_back(s);
    int32_t near_lo = Nearest(lo, fitting);
    const std::string nearest =
        backward ? absl::StrCat("[", -near_hi, ", ", -near_lo, "]")
                 : absl::StrCat("[", near_lo, ", ", near_hi, "]");
    return Refuse(
        absl::StrCat("outcomes[", i, "].window_days"),
        absl::StrCat("[", o.from_day(), ", ", o.to_day(),
                     "] is not a window of the server's menu; the nearest "
                     "allowed is ",
                     nearest, " (a window ends N days after the index date, ",
                     "N one of ", absl::StrJoin(space.windows, ", "),
                     ", and starts on day 0, 1 or the day after a shorter "
                     "one; or the same backwards)"));
  }
  return absl::OkStatus();
}

}  // namespace cohortlink::cohort
