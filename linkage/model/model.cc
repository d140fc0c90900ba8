#include "linkage/model/model.h"

#include <cmath>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "linkage/similarity/dice.h"

namespace cohortlink::model {

double Model::LevelWeight(size_t f, uint8_t level) const {
  if (level == kNull) return 0;
  return std::log2(fields[f].m[level] / fields[f].u[level]);
}

double Model::Weight(absl::Span<const uint8_t> levels) const {
  double w = std::log2(prior / (1 - prior));
  for (size_t f = 0; f < fields.size(); ++f) w += LevelWeight(f, levels[f]);
  return w;
}

double Model::Probability(absl::Span<const uint8_t> levels) const {
  double w = Weight(levels);
  if (w > 60) return 1.0;
  double b = std::exp2(w);
  return b / (1 + b);
}

double Compare(const blocking::Dataset& data, uint32_t i, uint32_t j,
               absl::Span<const double> thresholds,
               absl::Span<uint8_t> levels) {
  const size_t nf = data.num_fields();
  double dice[32];
  double whole = similarity::SegmentDice(data.filters(), i, data.filters(), j,
                                         absl::MakeSpan(dice, nf));
  for (size_t f = 0; f < nf; ++f) {
    if (data.missing(i, f) || data.missing(j, f)) {
      levels[f] = kNull;
      continue;
    }
    uint8_t l = 0;
    while (l < thresholds.size() && dice[f] < thresholds[l]) ++l;
    levels[f] = l;
  }
  return whole;
}

namespace {

// Comparison vectors packed into a key (4 bits per field; kNull -> 15).
uint64_t PatternKey(absl::Span<const uint8_t> levels) {
  uint64_t k = 0;
  for (size_t f = 0; f < levels.size(); ++f)
    k |= uint64_t{levels[f] == kNull ? 15u : levels[f]} << (4 * f);
  return k;
}

uint8_t LevelOf(uint64_t key, size_t f) {
  uint8_t l = (key >> (4 * f)) & 15;
  return l == 15 ? kNull : l;
}

}  // namespace

absl::StatusOr<Model> Train(
    const blocking::Dataset& data,
    absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
    const TrainOptions& o) {
  const size_t nf = data.num_fields(), nl = o.thresholds.size() + 1;
  if (nf > 16) return absl::InvalidArgumentError("at most 16 fields");
  if (data.size() < 50 || candidates.size() < 20) {
    return absl::FailedPreconditionError(
        absl::StrCat("too little data to train a model (", data.size(),
                     " records, ", candidates.size(), " candidate pairs)"));
  }
  Model m;
  m.thresholds = o.thresholds;
  m.fields.resize(nf);
  for (size_t f = 0; f < nf; ++f) {
    m.fields[f].name = data.field_names()[f];
    m.fields[f].m.assign(nl, 0);
    m.fields[f].u.assign(nl, 0);
  }
  std::vector<uint8_t> lv(nf);

  // u from random pairs.
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<uint32_t> pick(0, data.size() - 1);
  std::vector<std::vector<uint64_t>> ucount(nf, std::vector<uint64_t>(nl));
  uint64_t sampled = 0;
  for (uint64_t tries = 0; sampled < o.u_samples && tries < 4 * o.u_samples;
       ++tries) {
    uint32_t i = pick(rng), j = pick(rng);
    if (i == j) continue;
    if (!o.within_source && data.source(i) == data.source(j)) continue;
    Compare(data, i, j, o.thresholds, absl::MakeSpan(lv));
    for (size_t f = 0; f < nf; ++f)
      if (lv[f] != kNull) ++ucount[f][lv[f]];
    ++sampled;
  }
  for (size_t f = 0; f < nf; ++f) {
    uint64_t total = 0;
    for (uint64_t c : ucount[f]) total += c;
    for (size_t l = 0; l < nl; ++l)
      m.fields[f].u[l] = (ucount[f][l] + 1.0) / (total + nl);
  }
  m.u_sample_pairs = sampled;

  // Candidate comparison vectors. EM trains on each record's closest
  // candidates (the top kTrainPerRecord by whole-filter Dice): blocking
  // lets through many structured non-matches (same town, same postcode)
  // that would otherwise form a class of their own; the closest
  // candidates hold nearly every match, and the non-matches among them
  // are what the model must tell apart. No Dice threshold is involved.
  constexpr int kTrainPerRecord = 3;
  std::vector<uint64_t> keys(candidates.size());
  struct Best {
    float dice[kTrainPerRecord] = {-1, -1, -1};
    uint32_t pair[kTrainPerRecord] = {0, 0, 0};
    void Offer(float d, uint32_t p) {
      int k = kTrainPerRecord - 1;
      if (d <= dice[k]) return;
      while (k > 0 && dice[k - 1] < d) {
        dice[k] = dice[k - 1];
        pair[k] = pair[k - 1];
        --k;
      }
      dice[k] = d;
      pair[k] = p;
    }
  };
  std::vector<Best> best(data.size());
  for (size_t p = 0; p < candidates.size(); ++p) {
    auto [i, j] = candidates[p];
    float d = static_cast<float>(
        Compare(data, i, j, o.thresholds, absl::MakeSpan(lv)));
    keys[p] = PatternKey(lv);
    best[i].Offer(d, static_cast<uint32_t>(p));
    best[j].Offer(d, static_cast<uint32_t>(p));
  }
  std::vector<uint8_t> chosen(candidates.size(), 0);
  for (const Best& b : best)
    for (int k = 0; k < kTrainPerRecord; ++k)
      if (b.dice[k] >= 0) chosen[b.pair[k]] = 1;
  absl::flat_hash_map<uint64_t, uint64_t> patterns, all_patterns;
  for (size_t p = 0; p < candidates.size(); ++p) {
    ++all_patterns[keys[p]];
    if (chosen[p]) ++patterns[keys[p]];
  }
  std::vector<std::pair<uint64_t, double>> pat(patterns.begin(),
                                               patterns.end());

  // EM over the candidate pairs. Both classes are modelled as they appear
  // among candidates: m for matches, and uc for the non-matches that
  // blocking let through (which agree far more than random pairs do, so
  // random-pair u cannot describe them). The final model pairs the trained
  // m with random-pair u and the random-pair prior.
  std::vector<std::vector<double>> uc(nf);
  for (size_t f = 0; f < nf; ++f) {  // start: matches mostly agree
    uc[f] = m.fields[f].u;
    for (size_t l = 0; l < nl; ++l)
      m.fields[f].m[l] = l == 0 ? 0.9 : 0.1 / (nl - 1);
  }
  double lambda = 0.01;
  std::vector<double> post(pat.size());
  for (int it = 1; it <= o.max_iterations; ++it) {
    m.em_iterations = it;
    double matched = 0, total = 0;
    for (size_t p = 0; p < pat.size(); ++p) {
      double lm = std::log(lambda), lu = std::log(1 - lambda);
      for (size_t f = 0; f < nf; ++f) {
        uint8_t l = LevelOf(pat[p].first, f);
        if (l == kNull) continue;
        lm += std::log(m.fields[f].m[l]);
        lu += std::log(uc[f][l]);
      }
      post[p] = 1 / (1 + std::exp(lu - lm));
      matched += post[p] * pat[p].second;
      total += pat[p].second;
    }
    double change = std::abs(matched / total - lambda);
    lambda = std::clamp(matched / total, 1e-9, 1 - 1e-9);
    for (size_t f = 0; f < nf; ++f) {
      std::vector<double> am(nl, 0), au(nl, 0);
      double sm = 0, su = 0;
      for (size_t p = 0; p < pat.size(); ++p) {
        uint8_t l = LevelOf(pat[p].first, f);
        if (l == kNull) continue;
        am[l] += post[p] * pat[p].second;
        au[l] += (1 - post[p]) * pat[p].second;
        sm += post[p] * pat[p].second;
        su += (1 - post[p]) * pat[p].second;
      }
      for (size_t l = 0; l < nl; ++l) {
        double v = sm > 0 ? (am[l] + 1e-3) / (sm + 1e-3 * nl) : 1.0 / nl;
        change = std::max(change, std::abs(v - m.fields[f].m[l]));
        m.fields[f].m[l] = v;
        uc[f][l] = su > 0 ? (au[l] + 1e-3) / (su + 1e-3 * nl) : uc[f][l];
      }
    }
    if (change < o.tolerance) {
      m.em_converged = true;
      break;
    }
  }

  // The prior, directly: top-level-everywhere candidates over the rule's
  // recall among matches, over all comparable pairs.
  double det = 0;
  for (const auto& [key, count] : all_patterns) {
    bool all_top = true;
    int non_null = 0;
    for (size_t f = 0; f < nf; ++f) {
      uint8_t l = LevelOf(key, f);
      if (l == kNull) continue;
      ++non_null;
      all_top &= l == 0;
    }
    if (all_top && non_null > 0) det += count;
  }
  double recall = 1;
  for (size_t f = 0; f < nf; ++f) recall *= m.fields[f].m[0];
  const uint64_t n = data.size();
  uint64_t total_pairs = n * (n - 1) / 2;
  if (!o.within_source) {
    absl::flat_hash_map<uint32_t, uint64_t> per;
    for (uint32_t i = 0; i < n; ++i) ++per[data.source(i)];
    for (const auto& [s, c] : per) total_pairs -= c * (c - 1) / 2;
  }
  m.total_pairs = total_pairs;
  m.candidate_pairs = candidates.size();
  double matches = recall > 1e-6 ? det / recall : lambda * candidates.size();
  m.prior = std::clamp(matches / static_cast<double>(total_pairs), 1e-12, 0.5);
  return m;
}

}  // namespace cohortlink::model
