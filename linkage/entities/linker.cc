#include "linkage/entities/linker.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "util/status_macros.h"

namespace cohortlink::entities {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

std::vector<uint32_t> Representatives(const blocking::Dataset& data,
                                      std::vector<uint32_t>* rep_of) {
  std::vector<std::pair<uint64_t, uint32_t>> hashed(data.size());
  for (uint32_t i = 0; i < data.size(); ++i)
    hashed[i] = {data.ContentHash(i), i};
  std::sort(hashed.begin(), hashed.end());
  std::vector<uint32_t> first_of(data.size());  // record -> its group's first
  std::vector<uint32_t> group;
  for (size_t k = 0; k < hashed.size(); ++k) {
    if (k == 0 || hashed[k].first != hashed[k - 1].first) group.clear();
    uint32_t i = hashed[k].second;
    first_of[i] = i;
    for (uint32_t g : group) {
      if (data.Identical(g, i)) {
        first_of[i] = g;
        break;
      }
    }
    if (first_of[i] == i) group.push_back(i);
  }
  std::vector<uint32_t> reps;
  std::vector<uint32_t> index(data.size());
  rep_of->assign(data.size(), 0);
  for (uint32_t i = 0; i < data.size(); ++i) {
    // Records are visited in order, so a group's first record comes first.
    if (first_of[i] == i) {
      index[i] = static_cast<uint32_t>(reps.size());
      reps.push_back(i);
    }
    (*rep_of)[i] = index[first_of[i]];
  }
  return reps;
}

absl::StatusOr<LinkResult> LinkAll(const blocking::Dataset& data,
                                   const LinkOptions& o,
                                   const model::Model* model,
                                   const std::function<void(double)>& progress,
                                   const std::function<bool()>& cancelled) {
  auto report = [&](double p) {
    if (progress) progress(p);
  };
  auto stop = [&] { return cancelled && cancelled(); };
  const absl::Status kCancelled =
      absl::CancelledError("linkage run superseded by a newer change");
  LinkResult r;
  auto t0 = std::chrono::steady_clock::now();

  // Exact duplicates (identical filters and missing fields: the same
  // identifiers, e.g. one person's several events in an extract) belong to
  // one entity for certain; blocking, training, scoring and clustering run
  // on one representative of each, and the duplicates join its entity.
  std::vector<uint32_t> rep_of;
  std::vector<uint32_t> reps = Representatives(data, &rep_of);
  std::optional<blocking::Dataset> unique_storage;
  const blocking::Dataset* unique_ptr = &data;
  if (reps.size() < data.size()) {
    ASSIGN_OR_RETURN(unique_storage, data.EmptyCopy());
    unique_storage->Reserve(reps.size());
    for (uint32_t i : reps) unique_storage->AddCopy(data, i);
    unique_ptr = &*unique_storage;
  }
  const blocking::Dataset& unique = *unique_ptr;
  r.duplicates = data.size() - reps.size();
  // Identical pairs count as matches on every comparison for the prior.
  uint64_t identical_pairs = 0;
  {
    std::vector<uint32_t> count(reps.size(), 0);
    for (uint32_t g : rep_of) ++count[g];
    for (uint32_t c : count) identical_pairs += uint64_t{c} * (c - 1) / 2;
  }

  blocking::BlockingOptions bo = o.blocking;
  auto candidates = blocking::Candidates(unique, bo, &r.blocking);
  r.times.blocking_s = Seconds(t0);

  t0 = std::chrono::steady_clock::now();
  model::TrainOptions mo = o.model;
  mo.within_source = bo.within_source;
  mo.identical_pairs = identical_pairs;
  report(0.3);
  if (stop()) return kCancelled;
  if (model != nullptr) {
    r.model = *model;
  } else if (unique_ptr == &data) {
    ASSIGN_OR_RETURN(r.model, model::Train(data, candidates, mo));
  } else {
    // The model describes all record pairs, identical ones included, so it
    // is trained on every record; the candidates are the representatives'.
    std::vector<std::pair<uint32_t, uint32_t>> mapped(candidates.size());
    for (size_t p = 0; p < candidates.size(); ++p)
      mapped[p] = {reps[candidates[p].first], reps[candidates[p].second]};
    ASSIGN_OR_RETURN(r.model, model::Train(data, mapped, mo));
  }
  r.times.training_s = Seconds(t0);
  report(0.45);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  const int threads = std::max(1, o.threads);
  std::vector<std::vector<ScoredLink>> found(threads);
  auto work = [&](int t) {
    std::vector<uint8_t> lv(unique.num_fields());
    for (size_t p = t; p < candidates.size(); p += threads) {
      auto [i, j] = candidates[p];
      model::Compare(unique, i, j, r.model.thresholds, absl::MakeSpan(lv));
      double prob = r.model.Probability(lv);
      if (prob >= o.cluster.threshold)
        found[t].push_back({i, j, static_cast<float>(prob)});
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& th : pool) th.join();
  std::vector<ScoredLink> links;
  for (auto& f : found) links.insert(links.end(), f.begin(), f.end());
  r.comparisons = candidates.size();
  r.links = links.size();
  r.times.scoring_s = Seconds(t0);
  report(0.85);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  std::vector<uint32_t> sources(unique.size());
  for (size_t i = 0; i < unique.size(); ++i) sources[i] = unique.source(i);
  Clustering c = Cluster(sources, std::move(links), o.cluster);
  // Back to records: a duplicate joins its representative's entity, its
  // best link being to the representative (the probability the model gives
  // a pair that agrees on everything); a representative that was alone now
  // has that link too.
  std::vector<uint32_t> group_size(reps.size(), 0);
  for (uint32_t g : rep_of) ++group_size[g];
  std::vector<uint32_t> entity_size(reps.size(), 0);
  for (uint32_t e : c.entity) ++entity_size[e];
  r.clustering.entity.resize(data.size());
  r.clustering.probability.resize(data.size());
  r.clustering.stats = c.stats;
  std::vector<uint32_t> a_duplicate(reps.size(), 0);
  for (uint32_t i = 0; i < data.size(); ++i)
    if (reps[rep_of[i]] != i) a_duplicate[rep_of[i]] = i;
  std::vector<uint8_t> lv(data.num_fields());
  for (uint32_t i = 0; i < data.size(); ++i) {
    uint32_t g = rep_of[i];
    r.clustering.entity[i] = reps[c.entity[g]];
    float p = c.probability[g];
    if (group_size[g] > 1) {
      uint32_t other = reps[g] == i ? a_duplicate[g] : reps[g];
      model::Compare(data, i, other, r.model.thresholds, absl::MakeSpan(lv));
      float ident = static_cast<float>(r.model.Probability(lv));
      p = entity_size[c.entity[g]] == 1 ? ident : std::max(p, ident);
    }
    r.clustering.probability[i] = p;
  }
  r.clustering.stats.largest_entity = 0;
  {
    std::vector<uint32_t> members(data.size(), 0);
    for (uint32_t e : r.clustering.entity)
      r.clustering.stats.largest_entity =
          std::max<uint64_t>(r.clustering.stats.largest_entity, ++members[e]);
  }
  r.times.clustering_s = Seconds(t0);
  return r;
}

}  // namespace cohortlink::entities
