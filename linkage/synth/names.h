#ifndef COHORTLINK_LINKAGE_SYNTH_NAMES_H_
#define COHORTLINK_LINKAGE_SYNTH_NAMES_H_

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cohortlink::synth {

using Rng = std::mt19937_64;

// Embedded tables of common names in England and Wales, in rank order.
// Draws follow a Zipf law on rank (weight 1 / (rank + 2)^0.9), which gives
// the heavy head and long tail of real name frequencies.
class NameTables {
 public:
  NameTables();
  std::string Forename(bool female, Rng& rng) const;
  std::string Surname(Rng& rng) const;
  // A common nickname or short form of `forename`, or "" if none is known.
  std::string Nickname(absl::string_view forename, Rng& rng) const;
  // A common spelling variant ("Stephen" -> "Steven"), or "".
  std::string Variant(absl::string_view name, Rng& rng) const;

 private:
  struct Table {
    std::vector<const char*> names;
    std::vector<double> cdf;  // cumulative Zipf weights, normalised
    const char* Draw(Rng& rng) const;
  };
  static Table MakeTable(std::vector<const char*> names);
  Table female_, male_, surnames_;
};

}  // namespace cohortlink::synth

#endif  // COHORTLINK_LINKAGE_SYNTH_NAMES_H_
