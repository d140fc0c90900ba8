// The exact samplers against their distributions: Bernoulli(exp(-gamma))
// frequencies, and the discrete Gaussian's probabilities by a chi-squared
// test, on a fixed keyed stream (so the test is repeatable).

#include "linkage/cohort/discrete_gaussian.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "gtest/gtest.h"

namespace cohortlink::cohort {
namespace {

TEST(DiscreteGaussianTest, UniformDrawsStayInRangeAndCoverIt) {
  UniformSource u(FixedRandom(1));
  std::map<int, int> seen;
  for (int i = 0; i < 7000; ++i) {
    auto v = u.Below(7);
    ASSERT_TRUE(v.ok());
    ASSERT_LT(*v, 7);
    ++seen[static_cast<int>(*v)];
  }
  ASSERT_EQ(seen.size(), 7u);
  for (const auto& [v, n] : seen) EXPECT_NEAR(n, 1000, 150) << v;
  // A range wider than 64 bits.
  const absl::uint128 wide = absl::MakeUint128(3, 5);
  for (int i = 0; i < 100; ++i) ASSERT_LT(*u.Below(wide), wide);
}

TEST(DiscreteGaussianTest, BernoulliExpMinusHasItsProbability) {
  UniformSource u(FixedRandom(2));
  const int n = 40000;
  for (auto [num, den] :
       {std::pair<int, int>{0, 1}, {3, 10}, {1, 1}, {5, 2}, {7, 3}}) {
    int ones = 0;
    for (int i = 0; i < n; ++i) {
      auto b = BernoulliExpMinus(num, den, u);
      ASSERT_TRUE(b.ok());
      ones += *b;
    }
    const double p = std::exp(-static_cast<double>(num) / den);
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(ones, n * p, 5 * sd + 1) << num << "/" << den;
  }
}

// Chi-squared of 200,000 draws against the exact probabilities, over the
// values within 4 sigma (the rest pooled): far below the 1e-6 tail of a
// chi-squared with that many degrees of freedom.
void ExpectDiscreteGaussian(uint64_t sigma2, uint64_t seed) {
  UniformSource u(FixedRandom(seed));
  const int n = 200000;
  const int range = static_cast<int>(4 * std::sqrt(sigma2)) + 1;
  std::map<int64_t, int> counts;
  double sum = 0, sq = 0;
  for (int i = 0; i < n; ++i) {
    auto y = SampleDiscreteGaussian(sigma2, u);
    ASSERT_TRUE(y.ok()) << y.status();
    ++counts[std::clamp<int64_t>(*y, -(range + 1), range + 1)];
    sum += *y;
    sq += static_cast<double>(*y) * *y;
  }
  std::map<int64_t, double> p;
  double z = 0;
  for (int64_t x = -50 * range; x <= 50 * range; ++x)
    z += std::exp(-static_cast<double>(x * x) / (2.0 * sigma2));
  for (int64_t x = -50 * range; x <= 50 * range; ++x) {
    p[std::clamp<int64_t>(x, -(range + 1), range + 1)] +=
        std::exp(-static_cast<double>(x * x) / (2.0 * sigma2)) / z;
  }
  double chi2 = 0;
  for (const auto& [bin, prob] : p) {
    const double expected = n * prob;
    const double got = counts.contains(bin) ? counts[bin] : 0;
    chi2 += (got - expected) * (got - expected) / expected;
  }
  const double dof = static_cast<double>(p.size() - 1);
  // The 1e-6 upper tail of chi-squared(k) is below k + 7 sqrt(2k) + 25.
  EXPECT_LT(chi2, dof + 7 * std::sqrt(2 * dof) + 25)
      << "sigma2 " << sigma2 << ", " << dof << " degrees of freedom";
  EXPECT_NEAR(sum / n, 0, 5 * std::sqrt(static_cast<double>(sigma2) / n));
  // The discrete Gaussian's variance is at most sigma2 (and close to it).
  EXPECT_NEAR(sq / n, static_cast<double>(sigma2), 0.05 * sigma2 + 0.05);
}

TEST(DiscreteGaussianTest, DrawsFollowTheDiscreteGaussian) {
  ExpectDiscreteGaussian(1, 3);
  ExpectDiscreteGaussian(4, 4);
  ExpectDiscreteGaussian(137, 5);
}

// A sampler of a slightly wrong variance would be caught: P(|Y| <= 1) is
// 0.5515 for sigma2 = 4 and 0.5013 for sigma2 = 5, and 200,000 draws pin
// it to +-0.006 (5 standard errors).
TEST(DiscreteGaussianTest, ASlightlyWrongVarianceWouldBeCaught) {
  UniformSource u(FixedRandom(6));
  const int n = 200000;
  int within_one = 0;
  for (int i = 0; i < n; ++i) {
    auto y = SampleDiscreteGaussian(4, u);
    ASSERT_TRUE(y.ok());
    within_one += std::abs(*y) <= 1;
  }
  EXPECT_NEAR(static_cast<double>(within_one) / n, 0.5515, 0.006);
}

TEST(DiscreteGaussianTest, LimitsAndRandomFailuresAreErrors) {
  UniformSource u(FixedRandom(7));
  EXPECT_FALSE(SampleDiscreteGaussian(0, u).ok());
  EXPECT_FALSE(SampleDiscreteGaussian(kMaxSigma2 + 1, u).ok());
  EXPECT_TRUE(SampleDiscreteGaussian(kMaxSigma2, u).ok());
  UniformSource broken(
      [](uint8_t*, size_t) { return absl::InternalError("no entropy"); });
  auto y = SampleDiscreteGaussian(4, broken);
  EXPECT_EQ(y.status().message(), "no entropy");
  // A generator stuck on one value ends in an error, not a hang.
  for (uint8_t stuck : {0x00, 0xff, 0x5a}) {
    UniformSource constant([stuck](uint8_t* out, size_t n) {
      std::fill(out, out + n, stuck);
      return absl::OkStatus();
    });
    auto c = SampleDiscreteGaussian(100, constant);
    if (!c.ok()) {
      EXPECT_NE(c.status().message().find("looks broken"), std::string::npos)
          << c.status();
    }
  }
  UniformSource system(SystemRandom());
  EXPECT_TRUE(SampleDiscreteGaussian(100, system).ok());
}

}  // namespace
}  // namespace cohortlink::cohort
