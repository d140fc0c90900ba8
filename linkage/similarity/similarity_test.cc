// Kernel property tests: every ISA this CPU has against a bit-by-bit
// reference, on random filters of many lengths, densities and alignments;
// threshold search against brute force, at threshold boundaries.

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "linkage/similarity/dice.h"
#include "linkage/similarity/kernels.h"
#include "linkage/similarity/random_filters.h"

namespace cohortlink::similarity {
namespace {

uint32_t RefCount(const uint64_t* a, size_t words) {
  uint32_t n = 0;
  for (size_t w = 0; w < words; ++w)
    for (int bit = 0; bit < 64; ++bit) n += (a[w] >> bit) & 1;
  return n;
}

uint32_t RefAndCount(const uint64_t* a, const uint64_t* b, size_t words) {
  uint32_t n = 0;
  for (size_t w = 0; w < words; ++w)
    for (int bit = 0; bit < 64; ++bit) n += ((a[w] & b[w]) >> bit) & 1;
  return n;
}

std::vector<Isa> SupportedIsas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kPortable, Isa::kAvx2, Isa::kAvx512})
    if (IsaSupported(isa)) out.push_back(isa);
  return out;
}

class KernelTest : public ::testing::TestWithParam<Isa> {};

TEST_P(KernelTest, CountsMatchTheReferenceAtEveryLengthAndOffset) {
  const KernelTable& k = Kernels(GetParam());
  std::mt19937_64 rng(7);
  std::vector<uint64_t> a(80), b(80);
  for (size_t words = 1; words <= 40; ++words) {
    for (size_t offset : {0, 1, 3}) {  // unaligned starts
      for (double fill : {0.0, 0.05, 0.5, 0.95, 1.0}) {
        std::bernoulli_distribution bit(fill);
        for (auto* v : {&a, &b})
          for (auto& w : *v) {
            w = 0;
            for (int i = 0; i < 64; ++i) w |= uint64_t{bit(rng)} << i;
          }
        ASSERT_EQ(k.count(a.data() + offset, words),
                  RefCount(a.data() + offset, words));
        ASSERT_EQ(k.and_count(a.data() + offset, b.data() + offset, words),
                  RefAndCount(a.data() + offset, b.data() + offset, words))
            << "words " << words << " offset " << offset << " fill " << fill;
      }
    }
  }
}

TEST_P(KernelTest, PanelMatchesPairwiseCounts) {
  const KernelTable& k = Kernels(GetParam());
  std::mt19937_64 rng(11);
  for (size_t bits : {64, 128, 512, 1024, 2048, 64 * 33}) {
    for (size_t nq : {1, 2, 3, 4, 5, 9}) {
      for (size_t nc : {1, 7, 8, 9, 16, 17, 40}) {
        FilterMatrix q(bits), c(bits);
        for (size_t i = 0; i < nq; ++i) q.Add(RandomFilter(rng, bits / 8, 0.4));
        for (size_t i = 0; i < nc; ++i) c.Add(RandomFilter(rng, bits / 8, 0.4));
        std::vector<uint32_t> ids(nc);
        for (size_t i = 0; i < nc; ++i) ids[i] = static_cast<uint32_t>(i);
        AlignedWords panel;
        PackPanel(c, ids, &panel);
        size_t blocks = (nc + 7) / 8;
        std::vector<const uint64_t*> qs;
        for (size_t i = 0; i < nq; ++i) qs.push_back(q.row(i));
        std::vector<uint32_t> out(nq * blocks * 8, 12345);
        k.and_count_panel(qs.data(), nq, panel.data(), blocks, q.words(),
                          out.data());
        for (size_t i = 0; i < nq; ++i) {
          for (size_t j = 0; j < blocks * 8; ++j) {
            uint32_t want =
                j < nc ? RefAndCount(q.row(i), c.row(j), q.words()) : 0;
            ASSERT_EQ(out[i * blocks * 8 + j], want)
                << "bits " << bits << " q " << i << " c " << j;
          }
        }
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelTest,
                         ::testing::ValuesIn(SupportedIsas()),
                         [](const auto& p) {
                           return std::string(IsaName(p.param));
                         });

TEST(DiceTest, KnownValuesAndEmptyFilters) {
  FilterMatrix m(64);
  m.Add(std::string("\xff\x00\x00\x00\x00\x00\x00\x00", 8));  // 8 bits
  m.Add(std::string("\x0f\x00\x00\x00\x00\x00\x00\x00", 8));  // 4 bits
  m.Add(std::string(8, '\0'));
  EXPECT_DOUBLE_EQ(PairDice(m, 0, m, 1), 2.0 * 4 / 12);
  EXPECT_DOUBLE_EQ(PairDice(m, 0, m, 0), 1.0);
  EXPECT_DOUBLE_EQ(PairDice(m, 2, m, 2), 0.0);
  EXPECT_DOUBLE_EQ(PairDice(m, 0, m, 2), 0.0);
}

TEST(DiceTest, SegmentsAndWholeInOnePass) {
  std::mt19937_64 rng(5);
  // 3 segments of 2, 4 and 2 words; the whole filter is 8 words.
  std::vector<SegmentWords> segs = {{0, 2}, {2, 6}, {6, 8}};
  FilterMatrix a(512, segs), b(512, segs);
  for (int i = 0; i < 50; ++i) {
    a.Add(RandomFilter(rng, 64, 0.3));
    b.Add(RandomFilter(rng, 64, 0.3));
  }
  for (Isa isa : SupportedIsas()) {
    const KernelTable& k = Kernels(isa);
    for (size_t i = 0; i < 50; ++i) {
      std::vector<double> seg(3);
      double whole = SegmentDice(a, i, b, i, absl::MakeSpan(seg), k);
      EXPECT_DOUBLE_EQ(whole, PairDice(a, i, b, i, k));
      for (size_t s = 0; s < 3; ++s) {
        uint32_t c =
            RefAndCount(a.row(i) + segs[s].begin, b.row(i) + segs[s].begin,
                        segs[s].end - segs[s].begin);
        EXPECT_DOUBLE_EQ(seg[s], Dice(c, a.segment_popcount(i, s),
                                      b.segment_popcount(i, s)));
      }
    }
  }
}

// Brute force with the same comparison: 2|A and B| >= t (|A| + |B|).
std::vector<std::pair<uint32_t, uint32_t>> BruteForce(const FilterMatrix& a,
                                                      const FilterMatrix& b,
                                                      double t) {
  std::vector<std::pair<uint32_t, uint32_t>> out;
  for (uint32_t i = 0; i < a.size(); ++i)
    for (uint32_t j = 0; j < b.size(); ++j) {
      uint32_t c = RefAndCount(a.row(i), b.row(j), a.words());
      uint32_t total = a.popcount(i) + b.popcount(j);
      if (total > 0 && 2.0 * c >= t * total) out.push_back({i, j});
    }
  return out;
}

TEST(DiceSearchTest, FindsExactlyThePairsAtOrAboveTheThreshold) {
  std::mt19937_64 rng(3);
  for (size_t bits : {128, 1024}) {
    FilterMatrix a(bits), b(bits);
    // Varied fills so that popcount pruning has work to do, and near
    // copies so that high thresholds have matches.
    std::uniform_real_distribution<double> fill(0.05, 0.6);
    for (int i = 0; i < 150; ++i) a.Add(RandomFilter(rng, bits / 8, fill(rng)));
    for (int i = 0; i < 230; ++i) {
      if (i % 3 == 0) {
        std::string s(reinterpret_cast<const char*>(a.row(i % 150)), bits / 8);
        s[i % (bits / 8)] ^= 0x11;
        b.Add(s);
      } else {
        b.Add(RandomFilter(rng, bits / 8, fill(rng)));
      }
    }
    // Thresholds at exact Dice values of existing pairs hit the boundary.
    std::vector<double> thresholds = {
        0.1, 0.5, 0.8, 0.95, 1.0, PairDice(a, 0, b, 0), PairDice(a, 3, b, 3)};
    for (double t : thresholds) {
      if (t <= 0) continue;
      for (Isa isa : SupportedIsas()) {
        for (int threads : {1, 2}) {
          SearchStats stats;
          auto got = DiceSearch(a, b, t, threads, &stats, Kernels(isa));
          std::vector<std::pair<uint32_t, uint32_t>> pairs;
          for (const auto& p : got) {
            pairs.push_back({p.a, p.b});
            EXPECT_FLOAT_EQ(p.dice,
                            static_cast<float>(PairDice(a, p.a, b, p.b)));
          }
          std::sort(pairs.begin(), pairs.end());
          ASSERT_EQ(pairs, BruteForce(a, b, t))
              << "bits " << bits << " t " << t << " " << IsaName(isa);
          EXPECT_EQ(stats.comparisons + stats.pruned, a.size() * b.size());
          if (t >= 0.8) {
            EXPECT_GT(stats.pruned, 0u);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace cohortlink::similarity
