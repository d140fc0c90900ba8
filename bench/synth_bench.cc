// `cohortlink synth` throughput: people generated into the five extracts,
// truth, schema and queries. items = CSV rows written.

#include <filesystem>

#include "benchmark/benchmark.h"
#include "linkage/synth/synth.h"

namespace cohortlink::synth {
namespace {

void BM_Synth(benchmark::State& state) {
  auto dir = std::filesystem::temp_directory_path() / "synth_bench";
  SynthOptions o;
  o.people = static_cast<uint64_t>(state.range(0));
  o.out_dir = dir.string();
  uint64_t rows = 0;
  for (auto _ : state) {
    auto s = GenerateRegion(o);
    if (!s.ok()) {
      state.SkipWithError(std::string(s.status().message()).c_str());
      return;
    }
    for (uint64_t r : s->rows) rows += r;
  }
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(static_cast<int64_t>(rows));
  state.counters["people"] = static_cast<double>(o.people);
}
BENCHMARK(BM_Synth)
    ->Arg(100000)
    ->Arg(1000000)
    ->Iterations(1)
    ->Unit(benchmark::kSecond)
    ->UseRealTime();

}  // namespace
}  // namespace cohortlink::synth

BENCHMARK_MAIN();
