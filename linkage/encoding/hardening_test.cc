#include "linkage/encoding/hardening.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "linkage/encoding/bloom.h"

namespace cohortlink::encoding {
namespace {

std::string RandomFilter(size_t bytes, uint32_t seed, double fill = 0.3) {
  std::mt19937 rng(seed);
  std::bernoulli_distribution bit(fill);
  std::string f(bytes, '\0');
  auto p = reinterpret_cast<uint8_t*>(f.data());
  for (size_t i = 0; i < bytes * 8; ++i) {
    if (bit(rng)) SetBit(p, i);
  }
  return f;
}

std::unique_ptr<keys::KeyStream> Stream(char c) {
  return *keys::KeyStream::Create(std::string(32, c));
}

TEST(HardeningTest, XorFoldHalvesAndIsXorOfHalves) {
  for (uint32_t seed = 0; seed < 20; ++seed) {
    std::string f = RandomFilter(128, seed);
    std::string g = XorFold(f);
    ASSERT_EQ(g.size(), 64u);
    for (size_t i = 0; i < 64; ++i) {
      EXPECT_EQ(static_cast<uint8_t>(g[i]),
                static_cast<uint8_t>(f[i] ^ f[64 + i]));
    }
  }
}

TEST(HardeningTest, Rule90IsNeighbourXorCyclic) {
  std::string f(8, '\0');
  auto p = reinterpret_cast<uint8_t*>(f.data());
  SetBit(p, 0);
  std::string g = Rule90(f);
  auto q = reinterpret_cast<const uint8_t*>(g.data());
  EXPECT_TRUE(GetBit(q, 1));
  EXPECT_TRUE(GetBit(q, 63));  // wraps around
  EXPECT_EQ(Popcount(g), 2u);
  // Property: every output bit is the XOR of its neighbours.
  std::string r = RandomFilter(32, 7);
  std::string h = Rule90(r);
  auto rp = reinterpret_cast<const uint8_t*>(r.data());
  auto hp = reinterpret_cast<const uint8_t*>(h.data());
  for (size_t i = 0; i < 256; ++i) {
    EXPECT_EQ(GetBit(hp, i),
              GetBit(rp, (i + 255) % 256) != GetBit(rp, (i + 1) % 256));
  }
}

TEST(HardeningTest, BalancingKeepsPopcountExactlyHalf) {
  auto stream = Stream('b');
  auto bal = Balancer::Create(stream.get(), 3, 512);
  ASSERT_TRUE(bal.ok());
  for (uint32_t seed = 0; seed < 50; ++seed) {
    std::string f = RandomFilter(64, seed, seed / 50.0);
    std::string g = bal->Apply(f);
    ASSERT_EQ(g.size(), 128u);
    EXPECT_EQ(Popcount(g), 512u);
  }
  // Same key, same permutation; another key, another one.
  auto again = Balancer::Create(Stream('b').get(), 3, 512);
  auto other = Balancer::Create(Stream('c').get(), 3, 512);
  std::string f = RandomFilter(64, 99);
  EXPECT_EQ(bal->Apply(f), again->Apply(f));
  EXPECT_NE(bal->Apply(f), other->Apply(f));
}

TEST(HardeningTest, BlipFlipsAtTheStatedRateDeterministically) {
  const double epsilon = std::log(9.0);  // p = 0.1
  EXPECT_NEAR(BlipFlipProbability(epsilon), 0.1, 1e-12);
  auto stream = Stream('z');
  size_t flipped = 0, total = 0;
  for (uint64_t rec = 0; rec < 200; ++rec) {
    std::string f = RandomFilter(128, static_cast<uint32_t>(rec));
    std::string g = f;
    ASSERT_TRUE(Blip(epsilon, stream.get(), rec, 0, &g).ok());
    std::string x(f.size(), '\0');
    for (size_t i = 0; i < f.size(); ++i) x[i] = static_cast<char>(f[i] ^ g[i]);
    flipped += Popcount(x);
    total += f.size() * 8;
    std::string h = f;
    ASSERT_TRUE(Blip(epsilon, stream.get(), rec, 0, &h).ok());
    EXPECT_EQ(g, h);  // deterministic per (key, record, filter)
  }
  double rate = static_cast<double>(flipped) / total;
  // 204,800 Bernoulli(0.1) draws: sd ~ 0.00066.
  EXPECT_NEAR(rate, 0.1, 0.004);
}

}  // namespace
}  // namespace cohortlink::encoding
