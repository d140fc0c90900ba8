#include "linkage/cohort/differencing.h"

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

absl::StatusOr<ProtectedResult> DifferencingControl::Protect(
    const RawTable& raw, const cohortlink::v1::DisclosurePolicy& p,
    uint32_t base_threshold) {
  absl::MutexLock lock(&mu_);
  const size_t nc = raw.cells.size(), nm = raw.outcome_names.size() + 1;
  const uint32_t threshold = p.threshold();
  std::vector<bool> hidden(nc * nm + 1, false);
  ProtectedResult out;
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
    std::vector<uint64_t> values;
    for (size_t c = 0; c < nc; ++c) {
      const auto& cell = r.cells(static_cast<int>(c));
      if (!cell.cohort().suppressed()) {
        shown.push_back({c, 0});
        values.push_back(raw.cells[c].cohort);
      }
      for (size_t m = 1; m < nm; ++m) {
        if (!cell.outcomes(static_cast<int>(m - 1)).suppressed()) {
          shown.push_back({c, m});
          values.push_back(raw.cells[c].outcomes[m - 1]);
        }
      }
    }
    if (!r.uncertain().suppressed()) {
      shown.push_back({nc, 0});
      values.push_back(raw.uncertain);
    }
    std::vector<SetSketch> sketches =
        SketchCounts(raw, shown, memory_->width());
    std::vector<PublishedSet> accepted;
    bool changed = false;
    for (size_t k = 0; k < shown.size(); ++k) {
      PublishedSet set{values[k], std::move(sketches[k])};
      bool near = false;
      for (const PublishedSet& a : accepted) {
        if (Near(a, set, threshold)) {
          near = true;
          break;
        }
      }
      if (!near) {
        auto n = memory_->NearOne(set, threshold);
        if (!n.ok()) return n.status();
        near = *n;
      }
      if (near) {
        const CountRef& c = shown[k];
        hidden[c.cell >= nc ? nc * nm : c.cell * nm + c.measure] = true;
        ++out.differenced;
        changed = true;
      } else {
        accepted.push_back(std::move(set));
      }
    }
    if (changed) continue;
    if (absl::Status s = memory_->Remember(accepted); !s.ok()) return s;
    out.result = std::move(r);
    return out;
  }
}

}  // namespace cohortlink::cohort
