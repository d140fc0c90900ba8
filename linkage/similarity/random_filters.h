#ifndef COHORTLINK_LINKAGE_SIMILARITY_RANDOM_FILTERS_H_
#define COHORTLINK_LINKAGE_SIMILARITY_RANDOM_FILTERS_H_

// Random filters for tests and benchmarks of the kernels.

#include <random>
#include <string>

namespace cohortlink::similarity {

// `bytes` bytes in which each bit is set with probability `fill`.
inline std::string RandomFilter(std::mt19937_64& rng, size_t bytes,
                                double fill) {
  std::bernoulli_distribution bit(fill);
  std::string s(bytes, '\0');
  for (size_t i = 0; i < bytes * 8; ++i)
    if (bit(rng)) s[i / 8] |= static_cast<char>(0x80 >> (i % 8));
  return s;
}

}  // namespace cohortlink::similarity

#endif  // COHORTLINK_LINKAGE_SIMILARITY_RANDOM_FILTERS_H_
