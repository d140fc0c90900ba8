#include "linkage/entities/cluster.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_map.h"

namespace cohortlink::entities {
namespace {

double Clip(double w) {
  return std::clamp(w, -kClusterWeightClip, kClusterWeightClip);
}

double LogOdds(double p) {
  if (p <= 0) return -kClusterWeightClip;
  if (p >= 1) return kClusterWeightClip;
  return Clip(std::log2(p / (1 - p)));
}

}  // namespace

Clustering Cluster(absl::Span<const uint32_t> sources,
                   std::vector<ScoredLink> links, const ClusterOptions& o,
                   const PairWeight& weight) {
  const size_t n = sources.size();
  Clustering out;
  links.erase(std::remove_if(links.begin(), links.end(),
                             [&](const ScoredLink& l) {
                               return l.probability < o.threshold || l.a == l.b;
                             }),
              links.end());
  std::sort(links.begin(), links.end(),
            [](const ScoredLink& x, const ScoredLink& y) {
              if (x.probability != y.probability)
                return x.probability > y.probability;
              return std::tie(x.a, x.b) < std::tie(y.a, y.b);
            });
  auto key = [](uint32_t a, uint32_t b) {
    return a < b ? uint64_t{a} << 32 | b : uint64_t{b} << 32 | a;
  };
  absl::flat_hash_map<uint64_t, float> direct;
  if (!weight) {
    direct.reserve(links.size());
    for (const auto& l : links) direct.emplace(key(l.a, l.b), l.probability);
  }
  auto pair_weight = [&](uint32_t x, uint32_t y) {
    ++out.stats.scored_pairs;
    if (weight) return Clip(weight(x, y));
    auto it = direct.find(key(x, y));
    return it == direct.end() ? -kClusterWeightClip : LogOdds(it->second);
  };

  // Each entity's members, owned by its representative.
  std::vector<uint32_t> rep(n);
  std::vector<std::vector<uint32_t>> members(n);
  for (uint32_t i = 0; i < n; ++i) {
    rep[i] = i;
    members[i] = {i};
  }
  auto shares_source = [&](const std::vector<uint32_t>& ma,
                           const std::vector<uint32_t>& mb) {
    for (uint32_t x : ma)
      for (uint32_t y : mb)
        if (sources[x] == sources[y]) return true;
    return false;
  };
  // Whether the cross pairs of ma and mb weigh in favour of one person.
  auto supported = [&](const std::vector<uint32_t>& ma,
                       const std::vector<uint32_t>& mb) {
    const uint64_t pairs = uint64_t{ma.size()} * mb.size();
    const uint64_t take = std::min(pairs, kClusterMaxScoredPairs);
    double sum = 0;
    for (uint64_t k = 0; k < take; ++k) {
      uint64_t t = pairs == take ? k : k * pairs / take;
      uint32_t x = ma[t / mb.size()], y = mb[t % mb.size()];
      sum += pair_weight(x, y);
    }
    return sum > 0;
  };
  out.probability.assign(n, 0.0f);
  for (const auto& l : links) {
    ++out.stats.links_considered;
    uint32_t ra = rep[l.a], rb = rep[l.b];
    if (ra == rb) {
      out.probability[l.a] = std::max(out.probability[l.a], l.probability);
      out.probability[l.b] = std::max(out.probability[l.b], l.probability);
      continue;
    }
    const auto& ma = members[ra];
    const auto& mb = members[rb];
    if (shares_source(ma, mb) && !supported(ma, mb)) {
      ++out.stats.refused_merges;
      continue;
    }
    ++out.stats.merges;
    if (ma.size() < mb.size()) std::swap(ra, rb);
    for (uint32_t y : members[rb]) {
      rep[y] = ra;
      members[ra].push_back(y);
    }
    members[rb].clear();
    members[rb].shrink_to_fit();
    out.probability[l.a] = std::max(out.probability[l.a], l.probability);
    out.probability[l.b] = std::max(out.probability[l.b], l.probability);
  }
  out.entity = std::move(rep);
  for (uint32_t i = 0; i < n; ++i) {
    if (members[i].empty()) continue;
    ++out.stats.entities;
    out.stats.largest_entity =
        std::max<uint64_t>(out.stats.largest_entity, members[i].size());
    if (members[i].size() == 1) out.probability[i] = 1.0f;
  }
  return out;
}

}  // namespace cohortlink::entities
