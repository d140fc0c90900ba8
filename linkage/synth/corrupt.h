#ifndef COHORTLINK_LINKAGE_SYNTH_CORRUPT_H_
#define COHORTLINK_LINKAGE_SYNTH_CORRUPT_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "linkage/encoding/dates.h"
#include "linkage/synth/names.h"
#include "linkage/synth/region.h"

namespace cohortlink::synth {

// Probabilities that one agency's record of a person carries each kind of
// error. The defaults are deliberately hard but realistic (they resemble
// the error rates reported for English administrative data); `Scaled`
// multiplies all of them (the CLI's --error-rate).
struct CorruptionRates {
  double typo = 0.04;       // per name: insert, delete, substitute, transpose
  double ocr = 0.01;        // per name: O/0, I/1/l, S/5, B/8, rn/m ...
  double nickname = 0.06;   // given name recorded as a nickname
  double variant = 0.03;    // per name: another common spelling
  double name_swap = 0.01;  // given name and surname swapped
  double marriage = 0.06;   // women 18+: a different surname
  double dob_day_month = 0.015;  // day and month swapped (day <= 12)
  double dob_year = 0.01;        // year off by one or a digit
  double dob_day = 0.01;         // day off by a few
  double missing_given = 0.01;
  double missing_surname = 0.005;
  double missing_dob = 0.02;
  double missing_postcode = 0.08;
  double moved = 0.15;      // a different (older or newer) address
  double duplicate = 0.03;  // a second record for the person in one agency

  CorruptionRates Scaled(double factor) const;

  // Reads rates from a JSON object whose keys are the field names above
  // (e.g. {"typo": 0.1, "moved": 0.3}); unnamed rates keep their
  // defaults. INVALID_ARGUMENT names an unknown key or a value outside
  // [0, 1].
  static absl::StatusOr<CorruptionRates> FromJson(absl::string_view json,
                                                  absl::string_view source);
};

// One agency's view of a person's identifiers.
struct Identity {
  std::string given, surname, postcode, area;
  encoding::Date dob;
  bool dob_missing = false;
  bool female = false;
};

// Applies errors at `rates` to a copy of `truth`.
Identity Corrupt(const Identity& truth, int age, const CorruptionRates& rates,
                 const NameTables& names, const Region& region, Rng& rng);

// True with probability p.
bool Chance(double p, Rng& rng);

// Single edits (exposed for tests).
std::string Typo(const std::string& s, Rng& rng);
std::string OcrConfuse(const std::string& s, Rng& rng);

}  // namespace cohortlink::synth

#endif  // COHORTLINK_LINKAGE_SYNTH_CORRUPT_H_
