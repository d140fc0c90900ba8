#ifndef COHORTLINK_LINKAGE_ENCODING_HARDENING_H_
#define COHORTLINK_LINKAGE_ENCODING_HARDENING_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "keys/random.h"

namespace cohortlink::encoding {

// Bloom-filter hardening steps (Christen, Ranbaduge, Vatsalan, Schnell,
// "Linking Sensitive Data", 2020, ch. 9). Filters use clkhash bit order.

// XOR-folding (Schnell, Borgs, Encina 2016) is XorFold in bloom.h.

// Rule 90 (Schnell & Borgs 2018): bit i becomes b[i-1] XOR b[i+1], indices
// taken cyclically. Length unchanged.
std::string Rule90(const std::string& filter);

// BLIP (Alaggan, Gambs, Kermarrec 2012; Schnell & Borgs 2016): every bit is
// flipped independently with probability p = 1 / (1 + e^epsilon). That is
// epsilon-differentially private for each bit position (randomised
// response); a token that sets k bits is protected with k * epsilon.
// Randomness comes from `stream` under (record, filter) so output does not
// depend on threading.
double BlipFlipProbability(double epsilon);
absl::Status Blip(double epsilon, keys::KeyStream* stream, uint64_t record,
                  uint32_t filter_index, std::string* filter);

// Balancing (Berger et al. 2017 / Schnell's balanced Bloom filters): the
// filter is concatenated with its complement and the 2L bits permuted by a
// fixed keyed permutation. Popcount is then exactly L. The permutation is
// computed once per filter layout.
class Balancer {
 public:
  // `stream` seeds the permutation (Fisher-Yates over its output).
  static absl::StatusOr<Balancer> Create(keys::KeyStream* stream,
                                         uint32_t filter_index, size_t bits);
  std::string Apply(const std::string& filter) const;
  size_t input_bits() const { return perm_.size() / 2; }

 private:
  explicit Balancer(std::vector<uint32_t> perm) : perm_(std::move(perm)) {}
  std::vector<uint32_t> perm_;  // output bit j takes input bit perm_[j]
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_HARDENING_H_
