// Client-side encoding throughput on Febrl dataset4a (5,000 records).
//
//   BM_EncodeRecords/<schema>        one thread, encoder only (CSV parsed
//                                    beforehand): records per second per core
//   BM_EncodeFile/<schema>/<threads> the whole `cohortlink encode` pipeline:
//                                    CSV in, extract file out, N threads
//
// Schemas: native = examples/schemas/febrl-native.json (4 identifiers,
// field-level filters); clkhash = clkhash's febrl_schema_v3_final.json
// (9 features, doubleHash, 1024-bit CLK).

#include <filesystem>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/encode_pipeline.h"
#include "linkage/encoding/record_encoder.h"

namespace cohortlink::encoding {
namespace {

const char* kCsv = COHORTLINK_DATASETS_DIR "/febrl/dataset4a.csv";

std::string SchemaPath(int which) {
  return which == 0 ? std::string(COHORTLINK_SOURCE_DIR
                                  "/examples/schemas/febrl-native.json")
                    : std::string(COHORTLINK_DATASETS_DIR
                                  "/clkhash/febrl_schema_v3_final.json");
}

std::unique_ptr<RecordEncoder> MakeEncoder(int which, benchmark::State& state) {
  auto schema = LoadSchemaFile(SchemaPath(which));
  if (!schema.ok()) {
    state.SkipWithError(std::string(schema.status().message()).c_str());
    return nullptr;
  }
  auto enc = NewRecordEncoder(*schema, "benchmark secret", EncoderOptions());
  if (!enc.ok()) {
    state.SkipWithError(std::string(enc.status().message()).c_str());
    return nullptr;
  }
  return *std::move(enc);
}

void BM_EncodeRecords(benchmark::State& state) {
  if (!std::filesystem::exists(kCsv)) {
    state.SkipWithError("febrl dataset absent");
    return;
  }
  auto enc = MakeEncoder(static_cast<int>(state.range(0)), state);
  if (!enc) return;
  CsvOptions opts;
  opts.skip_initial_space = true;
  auto reader = *CsvReader::Open(kCsv, opts);
  std::vector<CsvRow> rows;
  CsvRow row;
  (void)*reader->Next(&row);
  if (!enc->BindHeader(row.fields).ok()) {
    state.SkipWithError("header does not match the schema");
    return;
  }
  while (*reader->Next(&row)) rows.push_back(row);
  cohortlink::v1::EncodedRecord out;
  uint64_t n = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!enc->Encode(rows[i], i, &out).ok()) {
        state.SkipWithError("encode failed");
        return;
      }
      benchmark::DoNotOptimize(out);
    }
    n += rows.size();
  }
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetLabel(state.range(0) == 0 ? "native-4-field" : "clkhash-febrl-v3");
}
BENCHMARK(BM_EncodeRecords)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

void BM_EncodeFile(benchmark::State& state) {
  if (!std::filesystem::exists(kCsv)) {
    state.SkipWithError("febrl dataset absent");
    return;
  }
  auto enc = MakeEncoder(static_cast<int>(state.range(0)), state);
  if (!enc) return;
  std::string out =
      (std::filesystem::temp_directory_path() / "encode_bench.clx").string();
  EncodeOptions opts;
  opts.threads = static_cast<int>(state.range(1));
  opts.csv.skip_initial_space = true;
  uint64_t n = 0;
  for (auto _ : state) {
    auto r = EncodeCsv(*enc, kCsv, out, opts);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    n += r->records;
  }
  std::filesystem::remove(out);
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.SetLabel(state.range(0) == 0 ? "native-4-field" : "clkhash-febrl-v3");
}
BENCHMARK(BM_EncodeFile)
    ->Args({0, 1})
    ->Args({0, 2})
    ->Args({1, 1})
    ->Args({1, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace cohortlink::encoding

BENCHMARK_MAIN();
