// Cohort query latency over a query index of 5,000,000 records (the
// target: 3 outcomes and 2 breakdowns in <= 200 ms, with the differencing
// rule), built from a synthetic population: 2,000,000 people, events from five
// agency types with dates over four years, sex / age band / area attributes.

#include <random>

#include "benchmark/benchmark.h"
#include "linkage/cohort/differencing.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/query_spec.h"
#include "linkage/store/published_sets.h"
#include "util/temp_dir.h"

namespace cohortlink::cohort {
namespace {

using cohortlink::v1::CohortQuery;

std::shared_ptr<const QueryIndex> BuildIndex(size_t records) {
  QueryIndexBuilder b("bench secret");
  std::mt19937_64 rng(1);
  const char* types[][3] = {
      {"police", "arrest", "charge"},
      {"probation", "supervision_start", "recall"},
      {"prison", "release", "reception"},
      {"health", "gp_registration", "drug_treatment_start"},
      {"local-authority", "accommodation_assessment",
       "accommodation_assessment"}};
  const char* sexes[] = {"m", "f"};
  const char* bands[] = {"10-17", "18-24", "25-34", "35-49", "50+"};
  const char* areas[] = {"bristol", "somerset", "north-somerset",
                         "bath-ne-somerset", "south-gloucestershire"};
  const size_t people = records * 2 / 5;
  cohortlink::v1::EncodedRecord r;
  for (size_t i = 0; i < records; ++i) {
    uint64_t person = rng() % people;
    int agency = static_cast<int>(rng() % 5);
    r.Clear();
    r.set_record_key(std::to_string(i));
    r.set_event_type(types[agency][1 + rng() % 2]);
    int day = static_cast<int>(rng() % 1460);
    char date[11];
    std::snprintf(date, sizeof date, "%04d-%02d-%02d", 2022 + day / 365,
                  1 + (day % 365) / 31 % 12, 1 + day % 28);
    r.set_event_date(date);
    auto add = [&](const char* name, const char* value) {
      auto* a = r.add_attributes();
      a->set_name(name);
      a->set_value(value);
    };
    add("sex", sexes[person % 2]);
    add("age_band", bands[person % 5]);
    add("area", areas[(person / 7) % 5]);
    (void)b.Add(types[agency][0], types[agency][0], "x", r, person, 0.99f);
  }
  return *b.Build();
}

const QueryIndex& Index() {
  static auto index = BuildIndex(5'000'000);
  return *index;
}

CohortQuery BenchQuery() {
  auto q = ParseQuerySpec(R"({
    "cohort": {"agency_type": "prison", "event_type": "release",
               "from": "2024-01-01", "to": "2024-12-31"},
    "outcomes": [
      {"name": "charged", "agency_type": "police", "event_type": "charge",
       "window_days": [1, 365]},
      {"name": "housed", "agency_type": "local-authority",
       "event_type": "accommodation_assessment", "window_days": [0, 1]},
      {"name": "treated", "agency_type": "health",
       "event_type": "drug_treatment_start", "window_days": [0, 21]}
    ],
    "breakdowns": ["sex", "age_band"]
  })",
                          "bench");
  return *q;
}

cohortlink::v1::DisclosurePolicy Policy() {
  cohortlink::v1::DisclosurePolicy p;
  p.set_threshold(10);
  p.set_rounding(5);
  return p;
}

// Evaluate and Protect alone: one answer, no memory.
void BM_Query(benchmark::State& state) {
  const QueryIndex& index = Index();
  const CohortQuery q = BenchQuery();
  uint64_t members = 0;
  for (auto _ : state) {
    auto raw = Evaluate(index, q);
    auto out = Protect(*raw, Policy(), 10);
    members = raw->cells[0].cohort;
    benchmark::DoNotOptimize(out);
  }
  state.counters["records"] = static_cast<double>(index.records());
  state.counters["cohort"] = static_cast<double>(members);
}
BENCHMARK(BM_Query)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the server does: the same with the differencing rule against a
// memory in RocksDB that already holds state.range(0) published sets,
// with true counts spread over [1, 2 x the cohort] (each iteration checks
// its counts against the sets within 9 of them, and remembers them).
void BM_QueryWithDifferencing(benchmark::State& state) {
  const QueryIndex& index = Index();
  const CohortQuery q = BenchQuery();
  util::TempDir dir("query_bench");
  auto db = store::Store::Open(dir.File("db"));
  if (!db.ok()) {
    state.SkipWithError(db.status().ToString().c_str());
    return;
  }
  const uint32_t width = SetSketch::WidthFor(10);
  auto memory = store::PublishedSetStore::Open(db->get(), width);
  auto raw = Evaluate(index, q);
  const uint64_t cohort = raw->cells[0].cohort;
  std::mt19937_64 rng(2);
  std::vector<PublishedSet> batch;
  for (int64_t k = 0; k < state.range(0); ++k) {
    SetSketch s(width);
    const uint64_t count = 1 + rng() % (2 * cohort);
    for (int t = 0; t < 64; ++t) s.Insert(rng());  // the size is irrelevant
    batch.push_back({count, std::move(s)});
    if (batch.size() == 10'000 || k + 1 == state.range(0)) {
      (void)(*memory)->Remember(batch);
      batch.clear();
    }
  }
  DifferencingControl control(memory->get());
  uint32_t differenced = 0;
  for (auto _ : state) {
    auto r = Evaluate(index, q);
    auto out = control.Protect(*r, Policy(), 10);
    if (!out.ok()) {
      state.SkipWithError(out.status().ToString().c_str());
      return;
    }
    differenced = out->differenced();
    benchmark::DoNotOptimize(out);
  }
  state.counters["published_sets"] = static_cast<double>(state.range(0));
  state.counters["differenced"] = differenced;
  state.counters["sketch_bytes"] =
      static_cast<double>(SetSketch::kHashes * width * SetSketch::kCellBytes);
}
BENCHMARK(BM_QueryWithDifferencing)
    ->Arg(0)
    ->Arg(100'000)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace cohortlink::cohort

BENCHMARK_MAIN();
