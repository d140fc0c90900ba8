#ifndef COHORTLINK_LINKAGE_SYNTH_REGION_H_
#define COHORTLINK_LINKAGE_SYNTH_REGION_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "linkage/synth/names.h"

namespace cohortlink::synth {

struct LocalAuthority {
  std::string code;  // attribute value, e.g. "bristol"
  std::string name;  // display name
  double weight;     // share of the region's agency-known population
  std::vector<std::string> districts;  // postcode outward codes
};

struct Region {
  std::string name;
  std::vector<LocalAuthority> authorities;
  std::vector<std::string> prisons;  // establishments releasing here
  std::vector<std::string> womens_prisons;
};

// Known regions: "avon-and-somerset" (default: Bristol, South
// Gloucestershire, North Somerset, Bath and North East Somerset, Somerset).
absl::StatusOr<Region> FindRegion(const std::string& name);
std::vector<std::string> RegionNames();

// A UK-format postcode in one of `la`'s districts ("BS5 6QT").
std::string RandomPostcode(const LocalAuthority& la, Rng& rng);
// Index of an authority drawn by weight.
size_t RandomAuthority(const Region& r, Rng& rng);

}  // namespace cohortlink::synth

#endif  // COHORTLINK_LINKAGE_SYNTH_REGION_H_
