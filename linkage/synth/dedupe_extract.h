#ifndef COHORTLINK_LINKAGE_SYNTH_DEDUPE_EXTRACT_H_
#define COHORTLINK_LINKAGE_SYNTH_DEDUPE_EXTRACT_H_

// A hard dedupe extract in Febrl's CSV layout, for measuring clustering.
//
// Febrl's own dedupe sets derive every duplicate from one original with a
// few edits, so a person's records all stay close to that original and
// are nearly all linked to each other directly. An administrative extract
// is harder: one person recorded many times over years, each record keyed
// independently, so two records of one person can each differ from the
// truth in different ways and share little. This draws people from a
// Febrl file's originals and writes 1 to `max_records` records of each,
// every one corrupted independently of the others: typos in names, names
// missing or swapped, dates of birth missing, mistyped or with day and
// month swapped, a different address (another original's, never one of
// the people written), address parts mistyped or missing, the identity
// number missing or mistyped.
//
// Record ids are rec-N-org and rec-N-dup-K (N the person), as Febrl's, so
// `cohortlink evaluate --truth-from febrl` scores the result.

#include <cstdint>
#include <string>

#include "absl/status/status.h"

namespace cohortlink::synth {

struct DedupeExtractOptions {
  uint64_t people = 1000;  // at most half the source's originals
  uint64_t seed = 1;
  int max_records = 8;
  double mean_extra_records = 2.5;  // beyond the first (geometric)
  double moved = 0.25;              // a record with a different address
};

// Reads the Febrl CSV `source` (a header with rec_id, given_name, surname,
// street_number, address_1, address_2, suburb, postcode, state,
// date_of_birth and soc_sec_id; ", " separators allowed) and writes the
// extract to `out`. INVALID_ARGUMENT for a missing column or too few
// originals.
absl::Status WriteDedupeExtract(const std::string& source,
                                const std::string& out,
                                const DedupeExtractOptions& options = {});

}  // namespace cohortlink::synth

#endif  // COHORTLINK_LINKAGE_SYNTH_DEDUPE_EXTRACT_H_
