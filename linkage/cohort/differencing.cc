#include "linkage/cohort/differencing.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cohortlink::cohort {

bool Near(const PublishedSet& a, const PublishedSet& b, uint32_t threshold) {
  const uint64_t apart =
      a.count > b.count ? a.count - b.count : b.count - a.count;
  if (apart >= threshold) return false;  // at least that many differ
  return SetSketch::Compare(a.sketch, b.sketch, threshold) ==
         SetSketch::Difference::kUnder;
}

absl::StatusOr<bool> InMemoryPublishedSets::NearOne(const PublishedSet& set,
                                                    uint32_t threshold) {
  for (const PublishedSet& p : sets_)
    if (Near(p, set, threshold)) return true;
  return false;
}

absl::Status InMemoryPublishedSets::Remember(
    absl::Span<const PublishedSet> sets) {
  sets_.insert(sets_.end(), sets.begin(), sets.end());
  return absl::OkStatus();
}

absl::StatusOr<cohortlink::v1::QueryResult> DifferencingControl::Protect(
    const RawTable& raw, const cohortlink::v1::DisclosurePolicy& p,
    uint32_t base_threshold) {
  absl::MutexLock lock(&mu_);
  const size_t nc = raw.cells.size(), nm = raw.outcome_names.size() + 1;
  const uint32_t threshold = p.threshold();
  std::vector<bool> hidden(nc * nm + 1, false);
  // What a count's set is, and whether the memory holds one near it, do not
  // change between passes (the memory is only written at the end): each is
  // worked out once, when the count is first shown.
  std::vector<std::optional<PublishedSet>> set_of(nc * nm + 1);
  std::vector<bool> near_memory(nc * nm + 1, false);
  uint32_t differenced = 0;
  // Each pass hides at least one more count or ends; secondary suppression
  // may show a different count once another is hidden, so each pass checks
  // all it would show. Passes are bounded: an answer that has not settled
  // by then is refused rather than shown unchecked.
  for (int pass = 0;; ++pass) {
    if (pass == kMaxDifferencingPasses) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "the answer did not settle against the counts published before in ",
          kMaxDifferencingPasses,
          " passes of the differencing rule; ask for fewer breakdowns or "
          "outcomes"));
    }
    cohortlink::v1::QueryResult r =
        cohort::Protect(raw, p, base_threshold, hidden);
    std::vector<CountRef> shown;
    for (size_t c = 0; c < nc; ++c) {
      const auto& cell = r.cells(static_cast<int>(c));
      if (!cell.cohort().suppressed()) shown.push_back({c, 0});
      for (size_t m = 1; m < nm; ++m)
        if (!cell.outcomes(static_cast<int>(m - 1)).suppressed())
          shown.push_back({c, m});
    }
    if (!r.uncertain().suppressed()) shown.push_back({nc, 0});
    std::vector<CountRef> fresh;
    for (const CountRef& c : shown)
      if (!set_of[CountSlot(c, nc, nm)].has_value()) fresh.push_back(c);
    std::vector<SetSketch> sketches =
        SketchCounts(raw, fresh, memory_->width());
    for (size_t k = 0; k < fresh.size(); ++k) {
      const CountRef& c = fresh[k];
      const size_t slot = CountSlot(c, nc, nm);
      const uint64_t count = c.cell >= nc ? raw.uncertain
                             : c.measure == 0
                                 ? raw.cells[c.cell].cohort
                                 : raw.cells[c.cell].outcomes[c.measure - 1];
      set_of[slot] = PublishedSet{count, std::move(sketches[k])};
      auto n = memory_->NearOne(*set_of[slot], threshold);
      if (!n.ok()) return n.status();
      near_memory[slot] = *n;
    }
    std::vector<PublishedSet> accepted;
    bool changed = false;
    for (const CountRef& c : shown) {
      const size_t slot = CountSlot(c, nc, nm);
      const PublishedSet& set = *set_of[slot];
      bool near = near_memory[slot];
      for (size_t a = 0; a < accepted.size() && !near; ++a)
        near = Near(accepted[a], set, threshold);
      if (near) {
        hidden[slot] = true;
        ++differenced;
        changed = true;
      } else {
        accepted.push_back(set);
      }
    }
    if (changed) continue;
    if (absl::Status s = memory_->Remember(accepted); !s.ok()) return s;
    r.set_differenced(differenced);
    LeaveOutSuppressedRows(&r);
    return r;
  }
}

}  // namespace cohortlink::cohort
