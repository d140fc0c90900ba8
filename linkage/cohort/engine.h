#ifndef COHORTLINK_LINKAGE_COHORT_ENGINE_H_
#define COHORTLINK_LINKAGE_COHORT_ENGINE_H_

// Cohort outcome counts over the query index, before and after disclosure
// control.
//
// Semantics:
// - The cohort is every entity with an event matching the cohort selector
//   in [from, to]; its index date is the first such event, and its
//   breakdown values are that event's attributes ("unknown" when empty).
// - An outcome holds for a member when one of its entity's records matches
//   the outcome selector with a date in [index + from_day, index + to_day].
// - Records whose link into their entity is below min_match_probability are
//   not used: a cohort event on such a record makes a member of its own
//   (counted as uncertain), and such records never count as outcomes of
//   others.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cohortlink/v1/query.pb.h"
#include "linkage/cohort/query_index.h"
#include "linkage/cohort/set_sketch.h"

namespace cohortlink::cohort {

// Counts of one cell of the table (a combination of breakdown values, or a
// margin), with the cell keys of the people counted (sum mod 256).
struct RawCell {
  std::vector<int> labels;  // value id per breakdown, -1 for "all"
  uint64_t cohort = 0;
  uint8_t cohort_key = 0;
  std::vector<uint64_t> outcomes;
  std::vector<uint8_t> outcome_keys;
};

struct RawTable {
  std::vector<std::string> breakdowns;
  std::vector<std::vector<std::string>> label_names;  // per breakdown
  std::vector<std::string> outcome_names;
  std::vector<RawCell> cells;  // the grand total first
  uint64_t uncertain = 0;
  uint8_t uncertain_key = 0;

  // Who was counted where, for the set sketches of the counts
  // (SketchCounts): each member's token, its combination of breakdown
  // values and its outcomes.
  struct Member {
    uint64_t token;     // QueryIndex::entity_token or record_token
    uint32_t combo;     // into `ancestors`
    uint16_t outcomes;  // bit o: outcome o holds (kMaxOutcomes <= 16)
    bool uncertain;     // counted on its own (also in `uncertain`)
  };
  std::vector<Member> members;
  // Per combination of breakdown values, 2^breakdowns cells: the cell
  // with breakdown b set to "all" where bit b of the index is set.
  std::vector<uint32_t> ancestors;
};

// One count of a RawTable: measure 0 is the cohort, o + 1 outcome o; the
// uncertain count is cell cells.size(), measure 0.
struct CountRef {
  size_t cell;
  size_t measure;
};

// Where a count sits in a flat vector of all the counts of a table with
// `cells` cells of `measures` (1 + outcomes) counts each: cell * measures
// + measure, the uncertain count last (at cells * measures).
inline size_t CountSlot(const CountRef& c, size_t cells, size_t measures) {
  return c.cell >= cells ? cells * measures : c.cell * measures + c.measure;
}

// The sketches of the sets of people behind `counts`, one each, of
// `width` (SetSketch).
std::vector<SetSketch> SketchCounts(const RawTable& raw,
                                    absl::Span<const CountRef> counts,
                                    uint32_t width);

// Polled while a query is evaluated: true once the caller has gone (its
// deadline passed or it cancelled). Then Evaluate stops with CANCELLED.
using StopRequested = std::function<bool()>;

struct EvaluateOptions {
  // A breakdown on an attribute the data do not carry gives every member
  // "unknown" instead of INVALID_ARGUMENT (a budgeted project's answers,
  // whose refusals must not depend on the data).
  bool absent_breakdowns_unknown = false;
};

// INVALID_ARGUMENT for a breakdown attribute the data does not carry
// (unless `options` says otherwise).
// REQUIRES: ValidateQuery(query) is OK (it bounds the work).
absl::StatusOr<RawTable> Evaluate(const QueryIndex& index,
                                  const cohortlink::v1::CohortQuery& query,
                                  const StopRequested& stop = nullptr,
                                  EvaluateOptions options = {});

// Disclosure control (docs/disclosure.md):
// 1. cell-key perturbation: count + Perturbation(count, cell key);
// 2. counts below `threshold` after perturbation are suppressed, the
//    others rounded to a multiple of `rounding`;
// 3. an outcome count is also suppressed when the cohort count minus it is
//    between 1 and threshold - 1 (the people without the outcome);
// 4. secondary suppression: wherever a total equals the sum of cells,
//    no relation is left with a single suppressed term.
// Suppression is computed threshold by threshold from `base_threshold` (the
// server's) up to p.threshold, each on top of the last, so a stricter
// query never reveals a count a looser one hid. Rates come from the
// published counts.
//
// `also_hidden`, when not empty, names counts to suppress whatever their
// size (the differencing control: linkage/cohort/differencing.h), indexed
// by CountSlot; secondary suppression then protects them like any other.
cohortlink::v1::QueryResult Protect(const RawTable& raw,
                                    const cohortlink::v1::DisclosurePolicy& p,
                                    uint32_t base_threshold,
                                    const std::vector<bool>& also_hidden = {});

// Leaves out of `r` the rows (not the grand total) in which every count is
// suppressed, counting them in rows_left_out: a row is there only when
// some member has its values, so showing it would say that a set too small
// to publish is not empty. A row with a published count says only that
// its cohort is at least that count.
void LeaveOutSuppressedRows(cohortlink::v1::QueryResult* r);

// `v` to the nearest multiple of `base` (halves up); `v` when base <= 1.
uint64_t RoundTo(uint64_t v, uint32_t base);

// The cell-key perturbation table: noise for a cell key, independent of
// the count (docs/disclosure.md).
int Perturbation(uint8_t cell_key);

// The server's policy, made stricter by the analyst's request if any.
// PERMISSION_DENIED when the request is looser than the server's (a lower
// threshold, or a rounding base that is not a multiple of the server's).
absl::StatusOr<cohortlink::v1::DisclosurePolicy> EffectivePolicy(
    const cohortlink::v1::DisclosurePolicy& server,
    const cohortlink::v1::DisclosurePolicy& requested);

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_ENGINE_H_
