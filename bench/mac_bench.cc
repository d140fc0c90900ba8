// Cost of the keyed hashes behind every Bloom-filter token (items = MACs).

#include "benchmark/benchmark.h"
#include "keys/mac.h"

namespace cohortlink::keys {
namespace {

void BM_Hmac(benchmark::State& state) {
  auto algo = static_cast<HashAlgorithm>(state.range(0));
  auto mac = *Hmac::Create(algo, std::string(64, 'k'));
  uint8_t out[64];
  for (auto _ : state) {
    benchmark::DoNotOptimize(mac->Compute("ab", out));
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(HashName(algo));
}
BENCHMARK(BM_Hmac)
    ->Arg(static_cast<int>(HashAlgorithm::kSha1))
    ->Arg(static_cast<int>(HashAlgorithm::kMd5))
    ->Arg(static_cast<int>(HashAlgorithm::kSha256));

void BM_Blake2b(benchmark::State& state) {
  auto mac = *Blake2bMac::Create(std::string(64, 'k'), "0");
  uint8_t out[64];
  for (auto _ : state) {
    benchmark::DoNotOptimize(mac->Compute("ab", out));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Blake2b);

}  // namespace
}  // namespace cohortlink::keys

BENCHMARK_MAIN();
