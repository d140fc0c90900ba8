#include "linkage/model/mixture.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace cohortlink::model {
namespace {

// Draws n values from Beta(a, b) through two Gamma variates.
std::vector<double> Draw(std::mt19937_64* rng, double a, double b, int n) {
  std::gamma_distribution<double> ga(a, 1.0), gb(b, 1.0);
  std::vector<double> v;
  for (int i = 0; i < n; ++i) {
    double x = ga(*rng), y = gb(*rng);
    v.push_back(x / (x + y));
  }
  return v;
}

TEST(BetaMixtureTest, RecoversAKnownMixture) {
  // 15% matches near 0.93, the rest near 0.62: a record-level CLK's
  // closest candidates.
  std::mt19937_64 rng(3);
  std::vector<double> v = Draw(&rng, 60, 4.5, 1500);
  std::vector<double> non = Draw(&rng, 62, 38, 8500);
  v.insert(v.end(), non.begin(), non.end());
  BetaMixture f;
  ASSERT_TRUE(FitBetaMixture(v, &f));
  EXPECT_TRUE(f.converged);
  EXPECT_NEAR(f.match_share, 0.15, 0.01);
  EXPECT_NEAR(f.match.a / (f.match.a + f.match.b), 60 / 64.5, 0.01);
  EXPECT_NEAR(f.non_match.a / (f.non_match.a + f.non_match.b), 0.62, 0.01);
  // The match probability rises through the gap and is monotone.
  EXPECT_LT(f.Posterior(0.7), 0.01);
  EXPECT_GT(f.Posterior(0.9), 0.99);
  double last = 0;
  for (double x = 0.01; x < 1; x += 0.01) {
    EXPECT_GE(f.Posterior(x) + 1e-12, last) << x;
    last = f.Posterior(x);
  }
}

// A match class with a heavier lower tail than the non-matches' would
// call dissimilar pairs matches; the monotone ratio holds it at its
// lowest point below there.
TEST(BetaMixtureTest, DissimilarPairsNeverLookLikeMatches) {
  BetaMixture f;
  f.match_share = 0.3;
  f.match = {12, 0.8};         // wide, rising to 1
  f.non_match = {314, 111.7};  // narrow, about 0.74
  EXPECT_LT(f.Posterior(0.5), f.Posterior(0.74) + 1e-12);
  EXPECT_LT(f.Posterior(0.3), 0.5);
  EXPECT_GT(f.Posterior(0.95), 0.99);
}

TEST(BetaMixtureTest, DegenerateInputIsRefused) {
  BetaMixture f;
  EXPECT_FALSE(FitBetaMixture(std::vector<double>{}, &f));
  EXPECT_FALSE(FitBetaMixture(std::vector<double>(100, 0.8), &f));
}

TEST(BetaMixtureTest, MassIntegratesToOne) {
  Beta b{30, 3};
  EXPECT_NEAR(BetaMass(b, 0, 1), 1, 1e-3);
  EXPECT_NEAR(BetaMass(b, 0, 0.5) + BetaMass(b, 0.5, 1), 1, 1e-3);
  EXPECT_EQ(BetaMass(b, 0.6, 0.6), 0);
}

TEST(PoolAdjacentViolatorsTest, WeightsNeverRiseAsSimilarityFalls) {
  // Level 1 has a lower ratio than level 2: they are pooled.
  std::vector<double> m = {0.5, 0.1, 0.3, 0.1};
  const std::vector<double> u = {0.001, 0.01, 0.01, 0.979};
  std::vector<uint8_t> pooled;
  PoolAdjacentViolators(&m, u, &pooled);
  EXPECT_EQ(pooled, (std::vector<uint8_t>{0, 1, 1, 0}));
  EXPECT_DOUBLE_EQ(m[1] / u[1], m[2] / u[2]);
  EXPECT_NEAR(m[0] + m[1] + m[2] + m[3], 1.0, 1e-12);
  for (size_t l = 1; l < m.size(); ++l)
    EXPECT_GE(m[l - 1] / u[l - 1], m[l] / u[l]);
}

TEST(PoolAdjacentViolatorsTest, MonotoneLevelsAreLeftAlone) {
  std::vector<double> m = {0.7, 0.2, 0.1};
  const std::vector<double> u = {0.01, 0.09, 0.9};
  std::vector<uint8_t> pooled;
  PoolAdjacentViolators(&m, u, &pooled);
  EXPECT_EQ(m, (std::vector<double>{0.7, 0.2, 0.1}));
  EXPECT_EQ(pooled, (std::vector<uint8_t>{0, 0, 0}));
}

}  // namespace
}  // namespace cohortlink::model
