#include "linkage/synth/region.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cohortlink::synth {

std::vector<std::string> RegionNames() { return {"avon-and-somerset"}; }

absl::StatusOr<Region> FindRegion(const std::string& name) {
  if (name == "avon-and-somerset") {
    // Weights follow where people in contact with criminal justice agencies
    // live (urban Bristol over-represented), not raw population.
    return Region{
        name,
        {{"bristol",
          "Bristol",
          0.38,
          {"BS1", "BS2", "BS3", "BS4", "BS5", "BS6", "BS7", "BS8", "BS9",
           "BS10", "BS11", "BS13", "BS14"}},
         {"south-gloucestershire",
          "South Gloucestershire",
          0.15,
          {"BS15", "BS16", "BS30", "BS32", "BS34", "BS35", "BS36", "BS37"}},
         {"north-somerset",
          "North Somerset",
          0.14,
          {"BS20", "BS21", "BS22", "BS23", "BS24", "BS25", "BS29", "BS40",
           "BS41", "BS48", "BS49"}},
         {"bath-ne-somerset",
          "Bath and North East Somerset",
          0.10,
          {"BA1", "BA2", "BA3", "BS31", "BS39"}},
         {"somerset", "Somerset", 0.23, {"TA1",  "TA2",  "TA3",  "TA5",  "TA6",
                                         "TA7",  "TA8",  "TA9",  "TA10", "TA11",
                                         "TA12", "TA14", "TA18", "TA19", "TA20",
                                         "TA21", "TA24", "BA4",  "BA5",  "BA6",
                                         "BA7",  "BA9",  "BA11", "BA16", "BA20",
                                         "BA21", "BS26", "BS27", "BS28"}}},
        {"HMP Bristol", "HMP Leyhill", "HMP Erlestoke", "HMP Guys Marsh",
         "HMP Channings Wood", "HMP The Verne", "HMP Exeter"},
        {"HMP Eastwood Park"}};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown region '", name,
                   "' (known: ", absl::StrJoin(RegionNames(), ", "), ")"));
}

std::string RandomPostcode(const LocalAuthority& la, Rng& rng) {
  static constexpr char kInwardLetters[] = "ABDEFGHJLNPQRSTUWXYZ";
  std::uniform_int_distribution<size_t> d(0, la.districts.size() - 1);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int> letter(0, sizeof(kInwardLetters) - 2);
  std::string pc = la.districts[d(rng)];
  pc.push_back(' ');
  pc.push_back(static_cast<char>('0' + digit(rng)));
  pc.push_back(kInwardLetters[letter(rng)]);
  pc.push_back(kInwardLetters[letter(rng)]);
  return pc;
}

size_t RandomAuthority(const Region& r, Rng& rng) {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  double acc = 0;
  for (size_t i = 0; i < r.authorities.size(); ++i) {
    acc += r.authorities[i].weight;
    if (u < acc) return i;
  }
  return r.authorities.size() - 1;
}

}  // namespace cohortlink::synth
