#include "linkage/entities/cluster.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace cohortlink::entities {

Clustering Cluster(absl::Span<const uint32_t> sources,
                   std::vector<ScoredLink> links, const ClusterOptions& o) {
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
  absl::flat_hash_set<uint64_t> direct;
  direct.reserve(links.size());
  auto key = [](uint32_t a, uint32_t b) {
    return a < b ? uint64_t{a} << 32 | b : uint64_t{b} << 32 | a;
  };
  for (const auto& l : links) direct.insert(key(l.a, l.b));

  // Each entity's members, owned by its representative.
  std::vector<uint32_t> rep(n);
  std::vector<std::vector<uint32_t>> members(n);
  for (uint32_t i = 0; i < n; ++i) {
    rep[i] = i;
    members[i] = {i};
  }
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
    bool ok = true;
    for (uint32_t x : ma) {
      for (uint32_t y : mb) {
        if (sources[x] == sources[y] && !direct.contains(key(x, y))) {
          ok = false;
          break;
        }
      }
      if (!ok) break;
    }
    if (!ok) {
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
