#include "linkage/cohort/discrete_gaussian.h"

#include <openssl/rand.h>

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "keys/random.h"
#include "util/status_macros.h"

namespace cohortlink::cohort {
namespace {

constexpr size_t kBufferBytes = 4096;
// |candidate| above this is rejected: with sigma <= 2^20 its probability
// under the discrete Laplace proposal is below exp(-2^19), so no draw is
// ever affected, and (|y| t - sigma2)^2 stays below 2^122.
constexpr uint64_t kMaxMagnitude = uint64_t{1} << 40;
// Loops that end with a constant probability each time are cut off far
// beyond any real run (the chance of reaching these is below 10^-80 with
// a working generator), so that a broken generator is an error, not a
// hang.
constexpr uint64_t kMaxTrials = 64;        // K in Bernoulli(exp(-gamma))
constexpr uint64_t kMaxProposals = 10000;  // rejections in the sampler

int BitLength(absl::uint128 v) {
  int n = 0;
  while (v != 0) {
    v >>= 1;
    ++n;
  }
  return n;
}

// floor(sqrt(v)), exactly.
uint64_t ISqrt(uint64_t v) {
  uint64_t r = static_cast<uint64_t>(std::sqrt(static_cast<double>(v)));
  while (r > 0 && r * r > v) --r;
  while ((r + 1) * (r + 1) <= v) ++r;
  return r;
}

}  // namespace

RandomFill SystemRandom() {
  return [](uint8_t* out, size_t n) -> absl::Status {
    if (RAND_bytes(out, static_cast<int>(n)) != 1)
      return absl::InternalError("the system random generator failed");
    return absl::OkStatus();
  };
}

RandomFill FixedRandom(uint64_t seed) {
  std::string key(32, '\0');
  for (int i = 0; i < 8; ++i) key[i] = static_cast<char>(seed >> (8 * i));
  std::shared_ptr<keys::KeyStream> stream = *keys::KeyStream::Create(key);
  auto block = std::make_shared<uint32_t>(0);
  return [stream, block](uint8_t* out, size_t n) {
    return stream->Fill(0, (*block)++, out, n);
  };
}

absl::StatusOr<uint64_t> UniformSource::Next64() {
  if (used_ + 8 > buffer_.size()) {
    buffer_.resize(kBufferBytes);
    RETURN_IF_ERROR(fill_(buffer_.data(), buffer_.size()));
    used_ = 0;
  }
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | buffer_[used_ + i];
  used_ += 8;
  return v;
}

absl::StatusOr<absl::uint128> UniformSource::Below(absl::uint128 n) {
  if (n == 0) return absl::InternalError("uniform draw from an empty range");
  if (n == 1) return 0;
  // Rejection from the smallest power of two covering [0, n): exact, and
  // fewer than two tries expected.
  const int bits = BitLength(n - 1);
  for (int attempt = 0;; ++attempt) {
    if (attempt > 128)  // each is refused with probability below 1/2
      return absl::InternalError(
          "the random generator looks broken (no uniform draw was in range)");
    ASSIGN_OR_RETURN(uint64_t lo, Next64());
    absl::uint128 v = lo;
    if (bits > 64) {
      ASSIGN_OR_RETURN(uint64_t hi, Next64());
      v |= absl::uint128(hi) << 64;
    }
    if (bits < 128) v &= (absl::uint128(1) << bits) - 1;
    if (v < n) return v;
  }
}

absl::StatusOr<bool> BernoulliExpMinus(absl::uint128 num, absl::uint128 den,
                                       UniformSource& u) {
  if (den == 0 || BitLength(den) > 88)
    return absl::InternalError(
        "Bernoulli(exp(-x)) with a denominator out of "
        "range");
  if (num <= den) {
    // gamma in [0, 1]: K is the first k with not Bernoulli(gamma / k);
    // P(K odd) = exp(-gamma) (CKS 2020, Algorithm 1).
    for (uint64_t k = 1;; ++k) {
      if (k > kMaxTrials)
        return absl::InternalError(
            "the random generator looks broken (a Bernoulli trial did not "
            "end)");
      ASSIGN_OR_RETURN(absl::uint128 draw, u.Below(den * k));
      if (draw >= num) return k % 2 == 1;
    }
  }
  // gamma > 1: exp(-gamma) = exp(-1)^floor(gamma) * exp(-(gamma mod 1)).
  const absl::uint128 whole = num / den;
  for (absl::uint128 i = 0; i < whole; ++i) {
    if (i > kMaxProposals)
      return absl::InternalError(
          "the random generator looks broken (exp(-1) held too often)");
    ASSIGN_OR_RETURN(bool b, BernoulliExpMinus(1, 1, u));
    if (!b) return false;
  }
  return BernoulliExpMinus(num % den, den, u);
}

absl::StatusOr<int64_t> SampleDiscreteGaussian(uint64_t sigma2,
                                               UniformSource& u) {
  if (sigma2 < 1 || sigma2 > kMaxSigma2) {
    return absl::InvalidArgumentError(absl::StrCat(
        "discrete Gaussian variance ", sigma2, ": must be 1 to ", kMaxSigma2));
  }
  const uint64_t t = ISqrt(sigma2) + 1;  // floor(sigma) + 1
  for (uint64_t proposal = 0;; ++proposal) {
    if (proposal > kMaxProposals)
      return absl::InternalError(
          "the random generator looks broken (no sample was accepted)");
    // A discrete Laplace proposal of scale t (CKS 2020, Algorithm 2).
    ASSIGN_OR_RETURN(absl::uint128 uu, u.Below(t));
    const uint64_t low = static_cast<uint64_t>(uu);
    ASSIGN_OR_RETURN(bool d, BernoulliExpMinus(low, t, u));
    if (!d) continue;
    uint64_t v = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool a, BernoulliExpMinus(1, 1, u));
      if (!a) break;
      if (++v > kMaxProposals)
        return absl::InternalError(
            "the random generator looks broken (a geometric draw did not "
            "end)");
    }
    ASSIGN_OR_RETURN(absl::uint128 sign, u.Below(2));
    if (sign == 1 && low == 0 && v == 0) continue;
    if (v > kMaxMagnitude / t) continue;
    const uint64_t magnitude = low + t * v;
    if (magnitude > kMaxMagnitude) continue;
    // Accepted with probability exp(-(|y| - sigma2/t)^2 / (2 sigma2))
    // (Algorithm 3), as the exact fraction (|y| t - sigma2)^2 /
    // (2 sigma2 t^2).
    const absl::int128 diff = absl::int128(absl::uint128(magnitude) * t) -
                              absl::int128(absl::uint128(sigma2));
    const absl::uint128 mag = absl::uint128(diff < 0 ? -diff : diff);
    ASSIGN_OR_RETURN(
        bool c,
        BernoulliExpMinus(mag * mag, absl::uint128(2) * sigma2 * t * t, u));
    if (!c) continue;
    const int64_t y = static_cast<int64_t>(magnitude);
    return sign == 1 ? -y : y;
  }
}

}  // namespace cohortlink::cohort
