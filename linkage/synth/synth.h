#ifndef COHORTLINK_LINKAGE_SYNTH_SYNTH_H_
#define COHORTLINK_LINKAGE_SYNTH_SYNTH_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "linkage/encoding/dates.h"
#include "linkage/synth/corrupt.h"
#include "linkage/synth/region.h"

namespace cohortlink::synth {

inline constexpr std::array<const char*, 5> kAgencies = {
    "police", "probation", "prison", "health", "local-authority"};
enum Agency { kPolice, kProbation, kPrison, kHealth, kLocalAuthority };

// Rates of the life-course model. Defaults give proven reoffending within
// 12 months of release of roughly 30-45%, higher for young men.
struct LifeCourseParams {
  double female = 0.22;            // share of women among agency-known people
  double arrests_per_year = 0.15;  // per unit of offending propensity
  double charge = 0.55;            // arrest -> charge
  double custody = 0.30;           // adult charge -> custody
  double community = 0.35;         // charge without custody -> probation
  double child_ooc = 0.5;  // arrest of a child -> out-of-court resolution
  double licence = 0.95;   // release -> probation supervision
  double iom = 0.6;        // high-propensity release -> IOM
  double accommodation_release = 0.85;  // LA assessment on night of release
  double accommodation_3m = 0.6;        // LA assessment at 3 months
  double accommodation_12m = 0.45;      // LA assessment at 12 months
  double drug_misuse = 0.30;
  double drug_treatment = 0.5;    // drug misuse + release -> treatment start
  double gp_registration = 0.55;  // release -> GP registration
  double recall = 0.12;
  // Reoffending within 12 months of release for men by age band
  // (18-24, 25-34, 35-49, 50+); women x `female_reoffending_factor`.
  std::array<double, 4> reoffending = {0.38, 0.30, 0.22, 0.12};
  double female_reoffending_factor = 0.7;
};

struct Event {
  Agency agency;
  std::string type;
  encoding::Date date;
  std::vector<std::pair<std::string, std::string>> attributes;
};

struct Person {
  uint64_t index = 0;
  Identity identity;  // the truth
  int age = 0;        // at 2024-01-01
  double propensity = 0;
  bool drug_misuse = false;
  std::vector<Event> events;  // in the window 2022-01-01 .. 2025-12-31
};

// Generates person `index` of the population for `seed`: deterministic,
// independent of any other person (so generation streams and could run in
// parallel).
Person GeneratePerson(uint64_t seed, uint64_t index, const Region& region,
                      const NameTables& names, const LifeCourseParams& params);

struct SynthOptions {
  uint64_t people = 1000;
  uint64_t seed = 1;
  CorruptionRates rates;    // per-error rates (defaults: see corrupt.h)
  double error_rate = 1.0;  // multiplies every corruption rate
  std::string region = "avon-and-somerset";
  std::string out_dir;
  LifeCourseParams params;
  std::function<void(uint64_t people_done)> progress;
  const std::atomic<bool>* cancel = nullptr;
};

struct SynthSummary {
  uint64_t people = 0;
  std::array<uint64_t, 5> rows = {};
  std::vector<std::string> files;
};

// Writes <out>/<agency>.csv for the five agencies, <out>/truth.csv
// (agency,local_id,person_id: keep it beside the extracts, never upload
// it), <out>/schema.json (a native schema that fits every extract) and
// <out>/queries/*.json (example cohort queries). Streams: memory does not
// grow with --people. Each file appears only when complete.
absl::StatusOr<SynthSummary> GenerateRegion(const SynthOptions& options);

// The native schema synth writes (shared by all five extracts).
const char* SynthSchemaJson();

}  // namespace cohortlink::synth

#endif  // COHORTLINK_LINKAGE_SYNTH_SYNTH_H_
