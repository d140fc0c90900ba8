// Dice kernels: comparisons per second (items_per_second), per ISA.
//   BM_Panel: many-against-many, 1024-bit filters, 32 queries x 2048
//     candidates per call (cache resident), 1 and 2 threads; the issue's
//     target is >= 2.0e9 comparisons/s on 2 threads.
//   BM_Pair: one pair at a time (the sparse, blocked path).
//   BM_DiceSearch: threshold search with popcount pruning, 20k x 20k.

#include <random>
#include <thread>

#include "benchmark/benchmark.h"
#include "linkage/similarity/dice.h"
#include "linkage/similarity/kernels.h"
#include "linkage/similarity/random_filters.h"

namespace cohortlink::similarity {
namespace {

FilterMatrix Random(size_t n, size_t bits, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> fill(0.15, 0.5);
  FilterMatrix m(bits);
  for (size_t i = 0; i < n; ++i) m.Add(RandomFilter(rng, bits / 8, fill(rng)));
  return m;
}

void BM_Panel(benchmark::State& state) {
  Isa isa = static_cast<Isa>(state.range(0));
  if (!IsaSupported(isa)) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const KernelTable& k = Kernels(isa);
  const size_t nq = 32, nc = 2048, bits = 1024;
  FilterMatrix q = Random(nq, bits, 1 + state.thread_index()),
               c = Random(nc, bits, 100 + state.thread_index());
  std::vector<uint32_t> ids(nc);
  for (size_t i = 0; i < nc; ++i) ids[i] = static_cast<uint32_t>(i);
  AlignedWords panel;
  PackPanel(c, ids, &panel);
  std::vector<const uint64_t*> qs;
  for (size_t i = 0; i < nq; ++i) qs.push_back(q.row(i));
  std::vector<uint32_t> out(nq * nc);
  for (auto _ : state) {
    k.and_count_panel(qs.data(), nq, panel.data(), nc / 8, q.words(),
                      out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * nq * nc);
  state.SetLabel(IsaName(isa));
}
BENCHMARK(BM_Panel)->DenseRange(0, 2)->Threads(1)->Threads(2)->UseRealTime();

void BM_Pair(benchmark::State& state) {
  Isa isa = static_cast<Isa>(state.range(0));
  if (!IsaSupported(isa)) {
    state.SkipWithError("ISA not supported here");
    return;
  }
  const KernelTable& k = Kernels(isa);
  FilterMatrix m = Random(4096, 1024, 7);
  uint64_t sum = 0;
  size_t i = 0;
  for (auto _ : state) {
    for (size_t j = 0; j < 1024; ++j)
      sum += k.and_count(m.row(i), m.row((i + j * 7) & 4095), m.words());
    i = (i + 1) & 4095;
  }
  benchmark::DoNotOptimize(sum);
  state.SetItemsProcessed(state.iterations() * 1024);
  state.SetLabel(IsaName(isa));
}
BENCHMARK(BM_Pair)->DenseRange(0, 2);

void BM_DiceSearch(benchmark::State& state) {
  FilterMatrix a = Random(20000, 1024, 1), b = Random(20000, 1024, 2);
  SearchStats stats;
  for (auto _ : state) {
    auto found =
        DiceSearch(a, b, 0.8, static_cast<int>(state.range(0)), &stats);
    benchmark::DoNotOptimize(found.data());
  }
  state.SetItemsProcessed(state.iterations() * a.size() * b.size());
  state.counters["compared"] = static_cast<double>(stats.comparisons);
  state.counters["pruned"] = static_cast<double>(stats.pruned);
  state.SetLabel(IsaName(DetectIsa()));
}
BENCHMARK(BM_DiceSearch)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace cohortlink::similarity

BENCHMARK_MAIN();
