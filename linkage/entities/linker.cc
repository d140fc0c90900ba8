#include "linkage/entities/linker.h"

#include <chrono>
#include <thread>

#include "util/status_macros.h"

namespace cohortlink::entities {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

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
  blocking::BlockingOptions bo = o.blocking;
  auto candidates = blocking::Candidates(data, bo, &r.blocking);
  r.times.blocking_s = Seconds(t0);

  t0 = std::chrono::steady_clock::now();
  model::TrainOptions mo = o.model;
  mo.within_source = bo.within_source;
  report(0.3);
  if (stop()) return kCancelled;
  if (model != nullptr) {
    r.model = *model;
  } else {
    ASSIGN_OR_RETURN(r.model, model::Train(data, candidates, mo));
  }
  r.times.training_s = Seconds(t0);
  report(0.45);
  if (stop()) return kCancelled;

  t0 = std::chrono::steady_clock::now();
  const int threads = std::max(1, o.threads);
  std::vector<std::vector<ScoredLink>> found(threads);
  auto work = [&](int t) {
    std::vector<uint8_t> lv(data.num_fields());
    for (size_t p = t; p < candidates.size(); p += threads) {
      auto [i, j] = candidates[p];
      model::Compare(data, i, j, r.model.thresholds, absl::MakeSpan(lv));
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
  std::vector<uint32_t> sources(data.size());
  for (size_t i = 0; i < data.size(); ++i) sources[i] = data.source(i);
  r.clustering = Cluster(sources, std::move(links), o.cluster);
  r.times.clustering_s = Seconds(t0);
  return r;
}

}  // namespace cohortlink::entities
