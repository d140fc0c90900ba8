#include "linkage/model/model.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "linkage/model/mixture.h"
#include "linkage/similarity/dice.h"

namespace cohortlink::model {
namespace {

// Level of a comparison from its members' levels; `nl` levels per field.
uint8_t JointLevel(absl::Span<const int> members, bool grouped,
                   absl::Span<const uint8_t> levels, size_t nl) {
  if (members.size() == 1) return levels[members[0]];
  if (grouped) {
    unsigned sum = 0, present = 0;
    for (int f : members) {
      if (levels[f] == kNull) continue;
      sum += levels[f];
      ++present;
    }
    if (present == 0) return kNull;
    return static_cast<uint8_t>((2 * sum + present) / (2 * present));
  }
  uint8_t a = levels[members[0]], b = levels[members[1]];
  if (a == kNull && b == kNull) return kNull;
  size_t ai = a == kNull ? nl : a, bi = b == kNull ? nl : b;
  return static_cast<uint8_t>(ai * (nl + 1) + bi);
}

size_t LevelCount(const FieldParams& f, size_t nl) {
  return f.members.size() == 1 || f.grouped ? nl : (nl + 1) * (nl + 1) - 1;
}

std::string FieldLevelName(const std::vector<double>& thresholds, size_t l) {
  if (l >= thresholds.size()) return "else";
  return absl::StrFormat("dice >= %.2f", thresholds[l]);
}

}  // namespace

uint8_t Model::ComparisonLevel(size_t c,
                               absl::Span<const uint8_t> levels) const {
  return JointLevel(fields[c].members, fields[c].grouped, levels,
                    thresholds.size() + 1);
}

double Model::LevelWeight(size_t c, uint8_t level) const {
  if (level == kNull) return 0;
  return std::log2(fields[c].m[level] / fields[c].u[level]);
}

std::string Model::LevelName(size_t c, uint8_t level) const {
  const size_t nl = thresholds.size() + 1;
  if (level == kNull) return "null";
  if (fields[c].members.size() == 1) return FieldLevelName(thresholds, level);
  if (fields[c].grouped) {
    return absl::StrCat("mean ", FieldLevelName(thresholds, level));
  }
  size_t a = level / (nl + 1), b = level % (nl + 1);
  auto part = [&](size_t l) {
    return l == nl ? std::string("null") : FieldLevelName(thresholds, l);
  };
  return absl::StrCat(part(a), " / ", part(b));
}

double Model::PriorWeight(bool same_source) const {
  double p =
      same_source && within_source_prior > 0 ? within_source_prior : prior;
  return std::log2(p / (1 - p));
}

double Model::Weight(absl::Span<const uint8_t> levels, bool same_source) const {
  double w = PriorWeight(same_source);
  for (size_t c = 0; c < fields.size(); ++c)
    w += LevelWeight(c, ComparisonLevel(c, levels));
  return w;
}

namespace {

// 2^w / (1 + 2^w), the probability of match weight w.
double ProbabilityOfWeight(double w) {
  if (w > 60) return 1.0;
  double b = std::exp2(w);
  return b / (1 + b);
}

}  // namespace

double Model::Probability(absl::Span<const uint8_t> levels,
                          bool same_source) const {
  return ProbabilityOfWeight(Weight(levels, same_source));
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

// Per-field comparison vectors packed into a key (4 bits per field; kNull
// is 15), so that candidate pairs aggregate into few patterns.
uint64_t PatternKey(absl::Span<const uint8_t> levels) {
  uint64_t k = 0;
  for (size_t f = 0; f < levels.size(); ++f)
    k |= uint64_t{levels[f] == kNull ? 15u : levels[f]} << (4 * f);
  return k;
}

void Unpack(uint64_t key, absl::Span<uint8_t> levels) {
  for (size_t f = 0; f < levels.size(); ++f) {
    uint8_t l = (key >> (4 * f)) & 15;
    levels[f] = l == 15 ? kNull : l;
  }
}

// Aggregated patterns with each comparison's level precomputed.
struct Patterns {
  std::vector<std::vector<uint8_t>> levels;  // per pattern, per comparison
  std::vector<double> counts;
};

Patterns ToPatterns(
    const absl::flat_hash_map<uint64_t, uint64_t>& by_key, const Model& m,
    size_t nf,
    const std::function<bool(absl::Span<const uint8_t>)>& keep = nullptr) {
  Patterns p;
  std::vector<uint8_t> lv(nf), cl(m.fields.size());
  for (const auto& [key, count] : by_key) {
    Unpack(key, absl::MakeSpan(lv));
    for (size_t c = 0; c < m.fields.size(); ++c)
      cl[c] = m.ComparisonLevel(c, lv);
    if (keep && !keep(cl)) continue;
    p.levels.push_back(cl);
    p.counts.push_back(static_cast<double>(count));
  }
  return p;
}

struct EmResult {
  std::vector<std::vector<double>> m;  // per comparison, per level
  int iterations = 0;
  bool converged = false;
};

// EM over aggregated patterns with two classes: matches (m) and the
// non-matches among these pairs (uc, starting from random-pair u).
// Comparison `skip` (or none, -1) is left out: its level is ignored and
// its m not estimated (the comparison a training session is blocked on).
EmResult RunEm(const Patterns& pat, const Model& start, int skip,
               const TrainOptions& o) {
  const size_t nc = start.fields.size();
  EmResult r;
  std::vector<std::vector<double>> uc(nc);
  r.m.resize(nc);
  for (size_t c = 0; c < nc; ++c) {  // start: matches mostly agree
    const size_t n = start.fields[c].u.size();
    uc[c] = start.fields[c].u;
    r.m[c].assign(n, 0.1 / (n - 1));
    r.m[c][0] = 0.9;
  }
  double lambda = 0.01;
  std::vector<double> post(pat.counts.size());
  for (int it = 1; it <= o.max_iterations; ++it) {
    r.iterations = it;
    double matched = 0, total = 0;
    for (size_t p = 0; p < post.size(); ++p) {
      double lm = std::log(lambda), lu = std::log(1 - lambda);
      for (size_t c = 0; c < nc; ++c) {
        uint8_t l = pat.levels[p][c];
        if (l == kNull || static_cast<int>(c) == skip) continue;
        lm += std::log(r.m[c][l]);
        lu += std::log(uc[c][l]);
      }
      post[p] = 1 / (1 + std::exp(lu - lm));
      matched += post[p] * pat.counts[p];
      total += pat.counts[p];
    }
    double change = std::abs(matched / total - lambda);
    lambda = std::clamp(matched / total, 1e-9, 1 - 1e-9);
    for (size_t c = 0; c < nc; ++c) {
      if (static_cast<int>(c) == skip) continue;
      const size_t n = r.m[c].size();
      std::vector<double> am(n, 0), au(n, 0);
      double sm = 0, su = 0;
      for (size_t p = 0; p < post.size(); ++p) {
        uint8_t l = pat.levels[p][c];
        if (l == kNull) continue;
        am[l] += post[p] * pat.counts[p];
        au[l] += (1 - post[p]) * pat.counts[p];
        sm += post[p] * pat.counts[p];
        su += (1 - post[p]) * pat.counts[p];
      }
      for (size_t l = 0; l < n; ++l) {
        double v = sm > 0 ? (am[l] + 1e-3) / (sm + 1e-3 * n) : 1.0 / n;
        change = std::max(change, std::abs(v - r.m[c][l]));
        r.m[c][l] = v;
        if (su > 0) uc[c][l] = (au[l] + 1e-3) / (su + 1e-3 * n);
      }
    }
    if (change < o.tolerance) {
      r.converged = true;
      break;
    }
  }
  return r;
}

// Training pairs of a session blocked on the fields `members`: records are
// grouped by the exact content of those fields' segments (records missing
// any of them are left out); each group contributes the pairs of at most
// kSessionGroup of its records (a deterministic sample), and at most
// kSessionPairs pairs are taken in all. Returns comparison patterns.
absl::flat_hash_map<uint64_t, uint64_t> SessionPatterns(
    const blocking::Dataset& data, const std::vector<int>& members,
    const TrainOptions& o) {
  constexpr size_t kSessionGroup = 40;
  constexpr uint64_t kSessionPairs = 3'000'000;
  const auto& segs = data.filters().segments();
  std::vector<std::pair<uint64_t, uint32_t>> keyed;
  keyed.reserve(data.size());
  for (uint32_t i = 0; i < data.size(); ++i) {
    bool present = true;
    uint64_t h = 0x9e3779b97f4a7c15ULL;
    for (int f : members) {
      if (data.missing(i, f)) present = false;
      h = data.HashWords(i, segs[f].begin, segs[f].end, h);
    }
    if (present) keyed.push_back({h, i});
  }
  // Shuffle within groups deterministically by sorting on (hash, mix(i)).
  std::sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    if (x.first != y.first) return x.first < y.first;
    uint64_t a = (x.second + o.seed) * 0x9e3779b97f4a7c15ULL;
    uint64_t b = (y.second + o.seed) * 0x9e3779b97f4a7c15ULL;
    return a < b;
  });
  absl::flat_hash_map<uint64_t, uint64_t> patterns;
  std::vector<uint8_t> lv(data.num_fields());
  uint64_t taken = 0;
  for (size_t s = 0; s < keyed.size() && taken < kSessionPairs;) {
    size_t e = s + 1;
    while (e < keyed.size() && keyed[e].first == keyed[s].first) ++e;
    size_t end = std::min(e, s + kSessionGroup);
    for (size_t x = s; x < end; ++x) {
      for (size_t y = x + 1; y < end; ++y) {
        uint32_t i = keyed[x].second, j = keyed[y].second;
        if (!o.within_source && data.source(i) == data.source(j)) continue;
        Compare(data, i, j, o.thresholds, absl::MakeSpan(lv));
        ++patterns[PatternKey(lv)];
        ++taken;
      }
    }
    s = e;
  }
  return patterns;
}

// Groups strongly dependent fields in pairs (see TrainOptions).
// Fields with `skip` set (in a schema group) are left out.
std::vector<std::vector<int>> Comparisons(
    const std::vector<uint8_t>& sample_levels, size_t nf,
    const std::vector<uint8_t>& skip, const TrainOptions& o) {
  const size_t n = nf == 0 ? 0 : sample_levels.size() / nf;
  struct Candidate {
    double ratio;
    int f, g;
  };
  std::vector<Candidate> dependent;
  for (size_t f = 0; f < nf; ++f) {
    for (size_t g = f + 1; g < nf; ++g) {
      if (skip[f] || skip[g]) continue;
      uint64_t both = 0, top_f = 0, top_g = 0, joint = 0;
      for (size_t s = 0; s < n; ++s) {
        uint8_t a = sample_levels[s * nf + f], b = sample_levels[s * nf + g];
        if (a == kNull || b == kNull) continue;
        // Dependence among non-matches only: a random pair that also
        // agrees on another field may be a true match (duplicates within
        // a source are among random pairs), and matches agree on
        // everything at once.
        bool other_top = false;
        for (size_t h = 0; h < nf; ++h)
          other_top |= h != f && h != g && sample_levels[s * nf + h] == 0;
        if (other_top) continue;
        ++both;
        top_f += a == 0;
        top_g += b == 0;
        joint += a == 0 && b == 0;
      }
      if (joint < 10 || both == 0) continue;
      double expected = static_cast<double>(top_f) * top_g / both;
      double ratio = joint / std::max(expected, 1e-9);
      if (ratio >= o.dependence_ratio)
        dependent.push_back({ratio, static_cast<int>(f), static_cast<int>(g)});
    }
  }
  std::sort(
      dependent.begin(), dependent.end(),
      [](const Candidate& x, const Candidate& y) { return x.ratio > y.ratio; });
  std::vector<int> partner(nf, -1);
  for (const Candidate& c : dependent) {
    if (partner[c.f] >= 0 || partner[c.g] >= 0) continue;
    partner[c.f] = c.g;
    partner[c.g] = c.f;
  }
  std::vector<std::vector<int>> out;
  for (size_t f = 0; f < nf; ++f) {
    if (skip[f]) continue;
    if (partner[f] < 0) {
      out.push_back({static_cast<int>(f)});
    } else if (partner[f] > static_cast<int>(f)) {
      out.push_back({static_cast<int>(f), partner[f]});
    }
  }
  return out;
}

// The single-comparison model (see Model::method): each record's closest
// candidate in each source (its own included, for duplicates within an
// extract) is a pair that a one-to-one linkage would consider; over those
// pairs, the match and non-match similarity distributions are fitted as a
// Beta mixture. Levels are placed where the fitted match probability
// rises, each level's m and u are the classes' masses in it, and the
// prior is the mixture's share of matches over all comparable pairs.
// Returns false (the caller falls back to EM) when the pairs are too few
// or the fit degenerates.
bool TrainMixture(const blocking::Dataset& data,
                  absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
                  const TrainOptions& o, Model* m) {
  constexpr size_t kMinPairs = 50;
  const int field = m->fields[0].members[0];
  const auto& filters = data.filters();
  struct Closest {
    float dice = -1;
    uint32_t pair = 0;
  };
  absl::flat_hash_map<uint64_t, Closest> closest;
  std::vector<float> dice(candidates.size(), -1);
  double field_dice[32];
  for (size_t p = 0; p < candidates.size(); ++p) {
    auto [i, j] = candidates[p];
    if (data.missing(i, field) || data.missing(j, field)) continue;
    similarity::SegmentDice(filters, i, filters, j,
                            absl::MakeSpan(field_dice, data.num_fields()));
    dice[p] = static_cast<float>(field_dice[field]);
    for (auto [r, other] : {std::pair{i, j}, std::pair{j, i}}) {
      Closest& c = closest[uint64_t{r} << 32 | data.source(other)];
      if (dice[p] > c.dice) c = {dice[p], static_cast<uint32_t>(p)};
    }
  }
  std::vector<uint8_t> chosen(candidates.size(), 0);
  for (const auto& [key, c] : closest) chosen[c.pair] = 1;
  std::vector<double> values;
  for (size_t p = 0; p < candidates.size(); ++p)
    if (chosen[p]) values.push_back(dice[p]);
  if (values.size() < kMinPairs || o.fine_levels < 2) return false;
  BetaMixture mix;
  if (!FitBetaMixture(values, &mix, o.max_iterations)) return false;
  // Where the match probability rises (it is non-decreasing).
  constexpr double kStep = 1.0 / 4096;
  double lo = -1, hi = -1;
  for (double x = kStep; x < 1; x += kStep) {
    double post = mix.Posterior(x);
    if (lo < 0 && post >= 1e-3) lo = x;
    if (hi < 0 && post >= 1 - 1e-3) hi = x;
  }
  if (lo < 0) return false;  // nothing looks like a match
  if (hi < 0) hi = *std::max_element(values.begin(), values.end());
  // Levels stay within the closest pairs' range: below their first
  // percentile the fit has nothing to say.
  std::vector<double> sorted_values = values;
  std::sort(sorted_values.begin(), sorted_values.end());
  lo = std::max(lo, sorted_values[sorted_values.size() / 100]);
  if (hi - lo < 1e-3) return false;
  const int k = std::min(o.fine_levels, 13);
  m->thresholds.clear();
  for (int t = 0; t < k; ++t)
    m->thresholds.push_back(hi - t * (hi - lo) / (k - 1));
  FieldParams& f = m->fields[0];
  f.m.assign(k + 1, 0);
  f.u.assign(k + 1, 0);
  const double n_top = static_cast<double>(values.size());
  const double all = static_cast<double>(data.ComparablePairs(o.within_source));
  const double matches = mix.match_share * n_top;
  // Random pairs: their level frequencies (where at least 20 of 200,000
  // reach the level) bound u from below, as the closest pairs leave out
  // the bulk of non-matches.
  std::vector<double> random_u(k + 1, 0);
  {
    constexpr uint64_t kRandom = 200'000;
    std::mt19937_64 rng(o.seed ^ 0x6d6978747572ULL);
    std::uniform_int_distribution<uint32_t> pick(0, data.size() - 1);
    uint64_t drawn = 0;
    for (uint64_t t = 0; t < 4 * kRandom && drawn < kRandom; ++t) {
      uint32_t i = pick(rng), j = pick(rng);
      if (i == j || data.partition(i) != data.partition(j)) continue;
      if (!o.within_source && data.source(i) == data.source(j)) continue;
      if (data.missing(i, field) || data.missing(j, field)) continue;
      similarity::SegmentDice(filters, i, filters, j,
                              absl::MakeSpan(field_dice, data.num_fields()));
      int l = 0;
      while (l < k && field_dice[field] < m->thresholds[l]) ++l;
      random_u[l] += 1;
      ++drawn;
    }
    // A level a few random pairs reach says little (and a random pair
    // that similar may be a match): only well-sampled levels count.
    constexpr double kMinCount = 20;
    for (double& v : random_u)
      v = v < kMinCount ? 0 : v / std::max<double>(drawn, 1);
  }
  double m_sum = 0, u_sum = 0;
  for (int l = 0; l <= k; ++l) {
    double top = l == 0 ? 1.0 : m->thresholds[l - 1];
    double bottom = l == k ? 0.0 : m->thresholds[l];
    f.m[l] = BetaMass(mix.match, bottom, top);
    m_sum += f.m[l];
    if (l < k) {
      // The closest pairs' non-matches at this level, over every
      // non-matching pair: nearly all pairs this similar are candidates.
      f.u[l] = (1 - mix.match_share) * n_top *
               BetaMass(mix.non_match, bottom, top) /
               std::max(all - matches, 1.0);
      f.u[l] = std::max(f.u[l], random_u[l]);
      u_sum += f.u[l];
    }
  }
  for (double& v : f.m) v = std::max(v / std::max(m_sum, 1e-300), 1e-12);
  f.u[k] = std::max(1 - u_sum, 1e-12);
  for (double& v : f.u) v = std::max(v, 1e-15);
  m->prior = std::clamp(matches / std::max(all, 1.0), 1e-12, 0.5);
  m->total_pairs = static_cast<uint64_t>(all);
  m->candidate_pairs = candidates.size();
  m->em_iterations = mix.iterations;
  m->em_converged = mix.converged;
  m->method = "beta mixture";
  return true;
}

// Makes each single-field or grouped comparison's weights non-increasing
// from its most similar level to "else" (joint comparisons have no such
// order).
void MakeMonotone(Model* m) {
  for (FieldParams& f : m->fields) {
    if (f.members.size() != 1 && !f.grouped) {
      f.pooled.assign(f.m.size(), 0);
      continue;
    }
    PoolAdjacentViolators(&f.m, f.u, &f.pooled);
  }
}

}  // namespace

void SplitPriorBySource(
    const blocking::Dataset& data,
    absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
    const TrainOptions& o, Model* m) {
  if (!o.within_source || candidates.empty()) return;
  const double all = static_cast<double>(data.ComparablePairs(true));
  const double cross = static_cast<double>(data.ComparablePairs(false));
  const double within = all - cross;
  if (cross <= 0 || within <= 0) return;  // one source: one prior
  // The candidates' weights, of a random sample (a stride could alias
  // with the order blocking lists pairs in).
  constexpr size_t kSample = 2'000'000;
  const uint64_t step = std::max<size_t>(1, candidates.size() / kSample);
  std::mt19937_64 rng(o.seed);
  std::vector<float> evidence;
  std::vector<uint8_t> same;
  std::vector<uint8_t> lv(data.num_fields());
  for (size_t p = 0; p < candidates.size(); ++p) {
    if (step > 1 && rng() % step != 0) continue;
    auto [i, j] = candidates[p];
    Compare(data, i, j, m->thresholds, absl::MakeSpan(lv));
    evidence.push_back(static_cast<float>(m->Weight(lv)));
    same.push_back(data.source(i) == data.source(j));
  }
  // EM for the two priors, m and u held: each round shares the matches
  // the prior counts between the kinds as the posteriors (each kind's
  // under its own prior) do, until neither prior moves by 0.1%.
  const double matches = m->prior * all;
  const double base = m->PriorWeight();  // the prior in `evidence`
  double pw = m->prior, pc = m->prior;
  for (int round = 0; round < 50; ++round) {
    const double lw = std::log2(pw / (1 - pw)), lc = std::log2(pc / (1 - pc));
    double ew = 0, ec = 0;
    for (size_t k = 0; k < evidence.size(); ++k) {
      (same[k] ? ew : ec) +=
          ProbabilityOfWeight(evidence[k] - base + (same[k] ? lw : lc));
    }
    // Half a match of each kind keeps a kind with none above zero.
    ew += 0.5;
    ec += 0.5;
    const double w2 = std::clamp(matches * ew / (ew + ec) / within, 1e-12, 0.5);
    const double c2 = std::clamp(matches * ec / (ew + ec) / cross, 1e-12, 0.5);
    const bool settled =
        std::abs(w2 - pw) <= 1e-3 * pw && std::abs(c2 - pc) <= 1e-3 * pc;
    pw = w2;
    pc = c2;
    if (settled) break;
  }
  m->prior = pc;
  m->within_source_prior = pw;
}

absl::StatusOr<Model> Train(
    const blocking::Dataset& data,
    absl::Span<const std::pair<uint32_t, uint32_t>> candidates,
    const TrainOptions& o) {
  const size_t nf = data.num_fields(), nl = o.thresholds.size() + 1;
  if (nf > 16) return absl::InvalidArgumentError("at most 16 fields");
  if (nl > 14) return absl::InvalidArgumentError("at most 13 thresholds");
  if (data.size() < 50 || candidates.size() < 20) {
    return absl::FailedPreconditionError(
        absl::StrCat("too little data to train a model (", data.size(),
                     " records, ", candidates.size(), " candidate pairs)"));
  }
  Model m;
  m.thresholds = o.thresholds;
  std::vector<uint8_t> lv(nf);

  // Random pairs: u, and which fields depend on each other.
  std::mt19937_64 rng(o.seed);
  std::uniform_int_distribution<uint32_t> pick(0, data.size() - 1);
  std::vector<uint8_t> sample;
  sample.reserve(o.u_samples * nf);
  for (uint64_t tries = 0;
       sample.size() < o.u_samples * nf && tries < 4 * o.u_samples; ++tries) {
    uint32_t i = pick(rng), j = pick(rng);
    if (i == j || data.partition(i) != data.partition(j)) continue;
    if (!o.within_source && data.source(i) == data.source(j)) continue;
    Compare(data, i, j, o.thresholds, absl::MakeSpan(lv));
    sample.insert(sample.end(), lv.begin(), lv.end());
  }
  const size_t sampled = sample.size() / nf;
  // The schema's groups first, each one comparison named by its group;
  // the other fields paired where random pairs show them dependent.
  std::vector<uint8_t> in_group(nf, 0);
  {
    std::vector<std::string> seen;
    for (size_t f = 0; f < nf; ++f) {
      const std::string& g = data.field_groups()[f];
      if (g.empty() || std::find(seen.begin(), seen.end(), g) != seen.end())
        continue;
      seen.push_back(g);
      FieldParams fp;
      fp.name = g;
      for (size_t h = f; h < nf; ++h) {
        if (data.field_groups()[h] != g) continue;
        fp.members.push_back(static_cast<int>(h));
        in_group[h] = 1;
      }
      fp.grouped = fp.members.size() > 1;
      if (!fp.grouped) fp.name = data.field_names()[f];
      m.fields.push_back(std::move(fp));
    }
  }
  for (auto& members : Comparisons(sample, nf, in_group, o)) {
    FieldParams fp;
    for (int f : members) {
      if (!fp.name.empty()) fp.name += "+";
      fp.name += data.field_names()[f];
    }
    fp.members = std::move(members);
    m.fields.push_back(std::move(fp));
  }
  const size_t nc = m.fields.size();
  for (size_t c = 0; c < nc; ++c) {
    const size_t n = LevelCount(m.fields[c], nl);
    std::vector<uint64_t> count(n, 0);
    uint64_t total = 0;
    for (size_t s = 0; s < sampled; ++s) {
      uint8_t l =
          m.ComparisonLevel(c, absl::MakeConstSpan(sample).subspan(s * nf, nf));
      if (l == kNull) continue;
      ++count[l];
      ++total;
    }
    m.fields[c].u.resize(n);
    m.fields[c].m.assign(n, 0);
    for (size_t l = 0; l < n; ++l)
      m.fields[c].u[l] = (count[l] + 1.0) / (total + n);
  }
  m.u_sample_pairs = sampled;
  if (nc == 1 && m.fields[0].members.size() == 1 &&
      TrainMixture(data, candidates, o, &m)) {
    MakeMonotone(&m);
    SplitPriorBySource(data, candidates, o, &m);
    return m;
  }

  // Candidate comparison vectors, and each record's closest candidates
  // (the top kTrainPerRecord by whole-filter Dice).
  constexpr int kTrainPerRecord = 3;
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
  // Comparison patterns of the candidates: of a sample of them for the
  // prior (at most kPriorSample, evenly spread), of all of them when the
  // closest candidates are needed for training.
  constexpr size_t kPriorSample = 2'000'000;
  absl::flat_hash_map<uint64_t, uint64_t> all_by_key, closest_by_key;
  double sample_scale = 1;
  auto compare_candidates = [&](bool closest) {
    all_by_key.clear();
    const size_t step =
        closest ? 1 : std::max<size_t>(1, candidates.size() / kPriorSample);
    std::vector<uint64_t> keys(closest ? candidates.size() : 0);
    std::vector<Best> best(closest ? data.size() : 0);
    size_t compared = 0;
    for (size_t p = 0; p < candidates.size(); p += step, ++compared) {
      auto [i, j] = candidates[p];
      float d = static_cast<float>(
          Compare(data, i, j, o.thresholds, absl::MakeSpan(lv)));
      uint64_t key = PatternKey(lv);
      ++all_by_key[key];
      if (closest) {
        keys[p] = key;
        best[i].Offer(d, static_cast<uint32_t>(p));
        best[j].Offer(d, static_cast<uint32_t>(p));
      }
    }
    sample_scale =
        static_cast<double>(candidates.size()) / std::max<size_t>(compared, 1);
    if (!closest) return;
    std::vector<uint8_t> chosen(candidates.size(), 0);
    for (const Best& b : best)
      for (int k = 0; k < kTrainPerRecord; ++k)
        if (b.dice[k] >= 0) chosen[b.pair[k]] = 1;
    for (size_t p = 0; p < candidates.size(); ++p)
      if (chosen[p]) ++closest_by_key[keys[p]];
  };
  compare_candidates(/*closest=*/nc < 3);

  // m by EM. With three or more comparisons, in sessions as Splink trains:
  // one per comparison c, over pairs of records whose c is identical
  // ("blocked on c"; SessionPatterns), estimating every other comparison's
  // m; each m is the mean over the sessions not blocked on it. A session's
  // non-match class is fitted to its own pairs: pairs that share a town or
  // a surname agree elsewhere far more often than random pairs, so
  // random-pair u cannot describe them. The sessions' pairs come from the
  // data, not from the candidates, so training does not depend on how
  // tightly blocking is tuned. With fewer comparisons, one session over each
  // record's closest candidates.
  std::vector<std::vector<double>> msum(nc);
  for (size_t c = 0; c < nc; ++c) msum[c].assign(m.fields[c].u.size(), 0);
  std::vector<int> sessions(nc, 0);
  m.em_converged = true;
  if (nc >= 3) {
    for (size_t c = 0; c < nc; ++c) {
      Patterns blocked =
          ToPatterns(SessionPatterns(data, m.fields[c].members, o), m, nf,
                     [c](absl::Span<const uint8_t> cl) { return cl[c] == 0; });
      double pairs = 0;
      for (double n : blocked.counts) pairs += n;
      if (pairs < 20) continue;
      EmResult r = RunEm(blocked, m, static_cast<int>(c), o);
      m.em_iterations = std::max(m.em_iterations, r.iterations);
      m.em_converged = m.em_converged && r.converged;
      for (size_t g = 0; g < nc; ++g) {
        if (g == c) continue;
        for (size_t l = 0; l < msum[g].size(); ++l) msum[g][l] += r.m[g][l];
        ++sessions[g];
      }
    }
  }
  EmResult closest;
  if (*std::min_element(sessions.begin(), sessions.end()) == 0) {
    if (closest_by_key.empty()) compare_candidates(/*closest=*/true);
    closest = RunEm(ToPatterns(closest_by_key, m, nf), m, -1, o);
    m.em_iterations = std::max(m.em_iterations, closest.iterations);
    m.em_converged = m.em_converged && closest.converged;
  }
  for (size_t c = 0; c < nc; ++c) {
    for (size_t l = 0; l < msum[c].size(); ++l) {
      m.fields[c].m[l] =
          sessions[c] > 0 ? msum[c][l] / sessions[c] : closest.m[c][l];
    }
  }

  // The prior, directly: candidates on which every non-null comparison is
  // at its top level (a deterministic rule), over that rule's recall among
  // matches (the product of the top-level m), over all comparable pairs.
  double det = 0;
  Patterns all = ToPatterns(all_by_key, m, nf);
  for (size_t p = 0; p < all.counts.size(); ++p) {
    bool all_top = true;
    int non_null = 0;
    for (uint8_t l : all.levels[p]) {
      if (l == kNull) continue;
      ++non_null;
      all_top &= l == 0;
    }
    if (all_top && non_null > 0) det += all.counts[p] * sample_scale;
  }
  double recall = 1;
  for (size_t c = 0; c < nc; ++c) recall *= m.fields[c].m[0];
  const uint64_t total_pairs = data.ComparablePairs(o.within_source);
  m.total_pairs = total_pairs;
  m.candidate_pairs = candidates.size();
  double matches =
      (det + static_cast<double>(o.identical_pairs)) / std::max(recall, 1e-6);
  m.prior = std::clamp(matches / static_cast<double>(total_pairs), 1e-12, 0.5);
  MakeMonotone(&m);
  SplitPriorBySource(data, candidates, o, &m);
  return m;
}

}  // namespace cohortlink::model
