#ifndef COHORTLINK_LINKAGE_COHORT_DISCRETE_GAUSSIAN_H_
#define COHORTLINK_LINKAGE_COHORT_DISCRETE_GAUSSIAN_H_

// Exact samplers for differentially private counts: the discrete Gaussian
// N_Z(0, sigma^2) of Canonne, Kamath and Steinke, "The Discrete Gaussian for
// Differential Privacy" (NeurIPS 2020), Algorithms 1-3. They use only
// uniform random integers and exact integer arithmetic (128-bit), never
// floating point, so the distribution is the one the privacy analysis
// assumes and there is no floating-point side channel (Mironov 2012).

#include <cstdint>
#include <functional>
#include <vector>

#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"

namespace cohortlink::cohort {

// Fills `n` bytes with uniform random bits; an error stops the sampler.
using RandomFill = std::function<absl::Status(uint8_t* out, size_t n)>;
// The server's: the OpenSSL CSPRNG (RAND_bytes).
RandomFill SystemRandom();
// A fixed stream (ChaCha20 under a key made from `seed`), for tests and for
// fuzzing that must replay; never for answers.
RandomFill FixedRandom(uint64_t seed);

// The largest variance sampled: sigma^2 <= 2^40 keeps every intermediate
// below 2^128.
inline constexpr uint64_t kMaxSigma2 = uint64_t{1} << 40;

// Draws uniform integers, buffering the random bytes. Thread-compatible.
class UniformSource {
 public:
  explicit UniformSource(RandomFill fill) : fill_(std::move(fill)) {}
  // Uniform on [0, n). REQUIRES: n > 0.
  absl::StatusOr<absl::uint128> Below(absl::uint128 n);

 private:
  absl::StatusOr<uint64_t> Next64();
  RandomFill fill_;
  std::vector<uint8_t> buffer_;
  size_t used_ = 0;
};

// Bernoulli(exp(-num/den)). REQUIRES: den > 0, den < 2^88.
absl::StatusOr<bool> BernoulliExpMinus(absl::uint128 num, absl::uint128 den,
                                       UniformSource& u);

// One draw of the discrete Gaussian: P(x) proportional to
// exp(-x^2 / (2 sigma2)) over the integers. INVALID_ARGUMENT unless
// 1 <= sigma2 <= kMaxSigma2.
absl::StatusOr<int64_t> SampleDiscreteGaussian(uint64_t sigma2,
                                               UniformSource& u);

}  // namespace cohortlink::cohort

#endif  // COHORTLINK_LINKAGE_COHORT_DISCRETE_GAUSSIAN_H_
