// libFuzzer target: a cohort query from an analyst, as the spec JSON the
// CLI reads (first byte even) or as the CohortQuery the server receives
// (first byte odd). Whatever passes ValidateQuery is checked against a
// query space with a codelist, evaluated over a small linked index and put
// under disclosure control with the differencing rule, as the server
// would, and (when its breakdowns have codelists) answered as in a project
// with a privacy budget; no query may crash, hang or produce a table of the
// wrong shape.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "linkage/cohort/differencing.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/private_counts.h"
#include "linkage/cohort/query_index.h"
#include "linkage/cohort/query_space.h"
#include "linkage/cohort/query_spec.h"

namespace {

using cohortlink::cohort::QueryIndexBuilder;

std::shared_ptr<const cohortlink::cohort::QueryIndex> MakeIndex() {
  QueryIndexBuilder b("fuzz cell-key secret");
  const char* areas[] = {"bristol", "bath", "", "north-somerset"};
  const char* sexes[] = {"f", "m", ""};
  for (uint32_t i = 0; i < 400; ++i) {
    cohortlink::v1::EncodedRecord r;
    r.set_record_key("k" + std::to_string(i));
    const bool prison = i % 2 == 0;
    r.set_event_type(prison ? "release" : (i % 3 ? "charge" : "arrest"));
    r.set_event_date("2024-" + std::to_string(10 + i % 3) + "-1" +
                     std::to_string(i % 10));
    if (i % 17 == 0) r.clear_event_date();
    auto* a = r.add_attributes();
    a->set_name("area");
    a->set_value(areas[i % 4]);
    a = r.add_attributes();
    a->set_name("sex");
    a->set_value(sexes[i % 3]);
    (void)b.Add(prison ? "prison" : "police", prison ? "prison" : "police",
                "main", r, i / 3, i % 11 == 0 ? 0.4f : 0.99f);
  }
  return *b.Build();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto index = MakeIndex();
  if (size == 0) return 0;
  cohortlink::v1::CohortQuery q;
  const std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    auto parsed = cohortlink::cohort::ParseQuerySpec(rest, "fuzz.json");
    if (!parsed.ok()) return 0;
    q = *std::move(parsed);
  } else if (!q.ParseFromString(rest)) {
    return 0;
  }
  if (!cohortlink::cohort::ValidateQuery(q).ok()) return 0;
  // The server's grid check runs too; the evaluator is fuzzed on whatever
  // the grid would refuse as well.
  static const auto space = [] {
    cohortlink::cohort::QuerySpace s;
    s.codelists["area"] = {"bristol", "bath", "north-somerset"};
    s.codelists["sex"] = {"f", "m", "x"};
    return s;
  }();
  (void)cohortlink::cohort::CheckQuerySpace(q, space);
  cohortlink::v1::DisclosurePolicy server;
  server.set_threshold(10);
  server.set_rounding(5);
  auto policy = cohortlink::cohort::EffectivePolicy(server, q.disclosure());
  if (!policy.ok()) return 0;
  auto raw = cohortlink::cohort::Evaluate(*index, q);
  if (!raw.ok()) return 0;
  cohortlink::cohort::InMemoryPublishedSets memory(
      cohortlink::cohort::SetSketch::WidthFor(server.threshold()));
  cohortlink::cohort::DifferencingControl control(&memory);
  auto controlled = control.Protect(*raw, *policy, server.threshold());
  if (!controlled.ok()) __builtin_trap();  // an in-memory memory never fails
  const auto& out = *controlled;
  if (out.cells_size() < 1 ||
      out.cells_size() > (1 << q.breakdowns_size()) * 1000 ||
      out.outcome_names_size() != q.outcomes_size())
    __builtin_trap();
  for (const auto& c : out.cells()) {
    if (c.outcomes_size() != q.outcomes_size() ||
        c.labels_size() != q.breakdowns_size())
      __builtin_trap();
    if (!c.cohort().suppressed() && c.cohort().value() > 400 + 2 + 5)
      __builtin_trap();  // more people than records
  }
  // In a project with a privacy budget: the rows come from the codelists
  // (a fixed count), whatever the data; the noise comes from a fixed
  // keyed stream so that a crash replays.
  if (cohortlink::cohort::CheckPrivateShape(q, space).ok()) {
    cohortlink::cohort::UniformSource noise(cohortlink::cohort::FixedRandom(1));
    auto sigma2 = cohortlink::cohort::NoiseVariance(
        cohortlink::cohort::CountsPerPerson(q), 50'000);
    if (!sigma2.ok()) __builtin_trap();
    auto dp =
        cohortlink::cohort::PrivateAnswer(*raw, space, *policy, *sigma2, noise);
    if (!dp.ok()) __builtin_trap();
    int rows = 1;
    for (const auto& b : q.breakdowns())
      rows *= static_cast<int>(space.codelists.at(b).size()) + 2;
    if (dp->cells_size() != rows) __builtin_trap();
    for (const auto& c : dp->cells())
      if (c.outcomes_size() != q.outcomes_size() ||
          c.rates_size() != q.outcomes_size())
        __builtin_trap();
  }
  return 0;
}
