#include "linkage/cohort/private_counts.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "util/status_macros.h"

namespace cohortlink::cohort {
namespace {

constexpr char kUnknown[] = "unknown";

// The rows of one breakdown, in the engine's order: declared values
// alphabetically, then "unknown" (-1 stands for the margin, last).
std::vector<std::string> Levels(const std::set<std::string>& codelist) {
  std::vector<std::string> out;
  for (const auto& v : codelist)
    if (v != kUnknown) out.push_back(v);
  out.push_back(kUnknown);
  return out;
}

}  // namespace

std::optional<uint64_t> ToMicroRho(double rho) {
  const double micro = std::round(rho * kMicro);
  if (!(rho > 0) || rho > kMaxRho || micro < 1 ||
      std::abs(micro - rho * kMicro) > 1e-6 * micro)
    return std::nullopt;
  return static_cast<uint64_t>(micro);
}

uint64_t CountsPerPerson(const cohortlink::v1::CohortQuery& q) {
  const uint64_t cells = uint64_t{1} << q.breakdowns_size();
  return cells * (1 + static_cast<uint64_t>(q.outcomes_size())) + 1;
}

absl::StatusOr<uint64_t> NoiseVariance(uint64_t counts_per_person,
                                       uint64_t rho_micro) {
  if (rho_micro == 0)
    return absl::InvalidArgumentError("a privacy charge must be above 0");
  // sigma^2 >= counts / (2 rho) = counts * 10^6 / (2 rho_micro).
  const absl::uint128 num = absl::uint128(counts_per_person) * kMicro;
  const absl::uint128 den = absl::uint128(2) * rho_micro;
  const absl::uint128 sigma2 = (num + den - 1) / den;
  if (sigma2 > kMaxSigma2) {
    return absl::InvalidArgumentError(
        absl::StrCat("a charge of ", rho_micro,
                     " micro-rho is too small for this question (its noise "
                     "would exceed the sampler's range)"));
  }
  return static_cast<uint64_t>(sigma2 == 0 ? 1 : sigma2);
}

absl::Status CheckPrivateShape(const cohortlink::v1::CohortQuery& q,
                               const QuerySpace& space) {
  uint64_t cells = 1;
  for (int i = 0; i < q.breakdowns_size(); ++i) {
    auto it = space.codelists.find(q.breakdowns(i));
    if (it == space.codelists.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "breakdowns[", i, "]: '", q.breakdowns(i),
          "' has no codelist on this server; in a project with a privacy "
          "budget every breakdown needs one, so that the rows do not come "
          "from the data"));
    }
    cells *= Levels(it->second).size() + 1;
    if (cells > kMaxPrivateCells) {
      return absl::InvalidArgumentError(absl::StrCat(
          "breakdowns: the table would have over ", kMaxPrivateCells,
          " rows (every combination of the declared values of ",
          absl::StrJoin(q.breakdowns().begin(), q.breakdowns().begin() + i + 1,
                        ", "),
          "); use fewer breakdowns"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<cohortlink::v1::QueryResult> PrivateAnswer(
    const RawTable& raw, const QuerySpace& space,
    const cohortlink::v1::DisclosurePolicy& p, uint64_t sigma2,
    UniformSource& noise) {
  const size_t nb = raw.breakdowns.size(), no = raw.outcome_names.size();
  // The declared rows of each breakdown, and the engine's label id of each
  // (-2: no member has it, so every count there is 0).
  std::vector<std::vector<std::string>> levels(nb);
  std::vector<std::vector<int>> ids(nb);
  for (size_t b = 0; b < nb; ++b) {
    auto it = space.codelists.find(raw.breakdowns[b]);
    if (it == space.codelists.end())
      return absl::InternalError("a breakdown without a codelist");
    levels[b] = Levels(it->second);
    std::map<std::string, int> id_of;
    for (size_t i = 0; i < raw.label_names[b].size(); ++i)
      id_of[raw.label_names[b][i]] = static_cast<int>(i);
    for (const auto& l : levels[b]) {
      auto found = id_of.find(l);
      ids[b].push_back(found == id_of.end() ? -2 : found->second);
    }
  }
  std::map<std::vector<int>, const RawCell*> cell_of;
  for (const auto& c : raw.cells) cell_of[c.labels] = &c;

  cohortlink::v1::QueryResult out;
  for (const auto& b : raw.breakdowns) out.add_breakdowns(b);
  for (const auto& o : raw.outcome_names) out.add_outcome_names(o);
  *out.mutable_policy() = p;
  uint64_t hidden = 0;
  auto publish =
      [&](uint64_t truth,
          cohortlink::v1::PublishedCount* pc) -> absl::StatusOr<int64_t> {
    ASSIGN_OR_RETURN(int64_t z, SampleDiscreteGaussian(sigma2, noise));
    const int64_t noisy = std::max<int64_t>(0, static_cast<int64_t>(truth) + z);
    const bool small = noisy < static_cast<int64_t>(p.threshold());
    pc->set_suppressed(small);
    const int64_t shown =
        small ? 0
              : static_cast<int64_t>(
                    RoundTo(static_cast<uint64_t>(noisy), p.rounding()));
    pc->set_value(static_cast<uint64_t>(shown));
    hidden += small;
    return small ? -1 : shown;
  };
  // Every combination, level by level with the margin (index = size)
  // last; the grand total (every breakdown at its margin) first.
  std::vector<size_t> at(nb, 0);
  std::vector<std::vector<size_t>> order;
  while (true) {
    order.push_back(at);
    size_t b = nb;
    while (b > 0 && ++at[b - 1] > levels[b - 1].size()) at[--b] = 0;
    if (b == 0) break;
  }
  std::vector<size_t> total(nb);
  for (size_t b = 0; b < nb; ++b) total[b] = levels[b].size();
  std::stable_partition(order.begin(), order.end(),
                        [&](const auto& o) { return o == total; });
  for (const auto& o : order) {
    auto* cell = out.add_cells();
    std::vector<int> key(nb);
    bool absent = false;
    for (size_t b = 0; b < nb; ++b) {
      const bool margin = o[b] == levels[b].size();
      cell->add_labels(margin ? "all" : levels[b][o[b]]);
      key[b] = margin ? -1 : ids[b][o[b]];
      absent |= key[b] == -2;
    }
    const RawCell* raw_cell = nullptr;
    if (!absent) {
      auto found = cell_of.find(key);
      if (found != cell_of.end()) raw_cell = found->second;
    }
    ASSIGN_OR_RETURN(int64_t cohort, publish(raw_cell ? raw_cell->cohort : 0,
                                             cell->mutable_cohort()));
    for (size_t m = 0; m < no; ++m) {
      ASSIGN_OR_RETURN(
          int64_t outcome,
          publish(raw_cell ? raw_cell->outcomes[m] : 0, cell->add_outcomes()));
      cell->add_rates(cohort > 0 && outcome >= 0
                          ? static_cast<double>(outcome) / cohort
                          : -1);
    }
  }
  const uint64_t in_cells = hidden;
  RETURN_IF_ERROR(publish(raw.uncertain, out.mutable_uncertain()).status());
  out.set_suppressed_cells(in_cells);
  return out;
}

}  // namespace cohortlink::cohort
