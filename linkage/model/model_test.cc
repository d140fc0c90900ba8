// EM recovers a known model: records are simulated from known m and u
// (field values drawn from a vocabulary, so u is known; matched records
// corrupt each field with a known probability), and Train must find them.

#include "linkage/model/model.h"

#include <random>

#include "gtest/gtest.h"
#include "linkage/blocking/blocking.h"

namespace cohortlink::model {
namespace {

constexpr int kFields = 4;
constexpr int kSegmentBytes = 32;  // 256 bits per field

// A fixed random filter per (field, value): about 40 of 256 bits set.
std::string ValueFilter(int field, int value) {
  std::mt19937_64 rng(1000 * field + value);
  std::string s(kSegmentBytes, '\0');
  for (int k = 0; k < 40; ++k) {
    int bit = static_cast<int>(rng() % (kSegmentBytes * 8));
    s[bit / 8] |= static_cast<char>(0x80 >> (bit % 8));
  }
  return s;
}

cohortlink::v1::FilterLayout Layout() {
  cohortlink::v1::FilterLayout l;
  l.set_total_bits(kFields * kSegmentBytes * 8);
  for (int f = 0; f < kFields; ++f) {
    auto* s = l.add_segments();
    s->set_name("field" + std::to_string(f));
    s->set_kind(cohortlink::v1::FilterSegment::FIELD);
    s->set_offset_bits(f * kSegmentBytes * 8);
    s->set_length_bits(kSegmentBytes * 8);
  }
  return l;
}

// Measured limitation: with tiny vocabularies (25-80 values, where random
// records agree on a field 1-4% of the time) the sessions' EM drifts to
// m_top ~0.98 for every field; with vocabularies of hundreds, as names and
// dates have, it recovers m within 0.05.
TEST(ModelTest, EmRecoversKnownMAndU) {
  // Vocabulary sizes give u at the top level: 1 / V.
  const int vocab[kFields] = {300, 800, 500, 200};
  // A matched record keeps each field with probability m_top; otherwise
  // the value is replaced by a random one.
  const double m_top[kFields] = {0.9, 0.75, 0.85, 0.8};
  const int people = 1500;
  std::mt19937_64 rng(7);
  auto data = *blocking::Dataset::ForLayout(Layout());
  std::vector<std::array<int, kFields>> values(people);
  for (auto& v : values)
    for (int f = 0; f < kFields; ++f) v[f] = static_cast<int>(rng() % vocab[f]);
  auto add = [&](uint32_t source, const std::array<int, kFields>& v) {
    cohortlink::v1::EncodedRecord r;
    std::string filters;
    for (int f = 0; f < kFields; ++f) filters += ValueFilter(f, v[f]);
    r.set_filters(filters);
    ASSERT_TRUE(data.Add(source, r).ok());
  };
  std::uniform_real_distribution<double> unit(0, 1);
  auto corrupt = [&](std::array<int, kFields> v) {
    for (int f = 0; f < kFields; ++f)
      if (unit(rng) > m_top[f]) v[f] = static_cast<int>(rng() % vocab[f]);
    return v;
  };
  // Source 0: every person, and a corrupted second record of every tenth
  // (duplicates within the extract); source 1: every person, corrupted.
  const int dups = people / 10;
  for (int p = 0; p < people; ++p) add(0, values[p]);
  for (int p = 0; p < dups; ++p) add(0, corrupt(values[p * 10]));
  for (int p = 0; p < people; ++p) add(1, corrupt(values[p]));
  // Every pair is a candidate (small data).
  std::vector<std::pair<uint32_t, uint32_t>> all;
  for (uint32_t i = 0; i < data.size(); ++i)
    for (uint32_t j = i + 1; j < data.size(); ++j) all.push_back({i, j});

  auto m = Train(data, all);
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->fields.size(), static_cast<size_t>(kFields));  // independent
  for (int f = 0; f < kFields; ++f) {
    // A replaced value can by chance equal the old one: m_top' = m + (1-m)/V.
    double want_m = m_top[f] + (1 - m_top[f]) / vocab[f];
    EXPECT_NEAR(m->fields[f].m[0], want_m, 0.05) << "field " << f;
    EXPECT_NEAR(m->fields[f].u[0], 1.0 / vocab[f], 0.4 / vocab[f])
        << "field " << f;
  }
  // The priors of pairs across and within the sources: each person's
  // records match across (two pairs for a duplicated person), and each
  // duplicate matches within source 1.
  const double across = (people + dups) / (double{people} * (people + dups));
  const double n0 = people + dups, n1 = people;
  const double within = dups / (n0 * (n0 - 1) / 2 + n1 * (n1 - 1) / 2);
  EXPECT_GT(m->prior, across / 2);
  EXPECT_LT(m->prior, across * 2);
  EXPECT_GT(m->within_source_prior, within / 2);
  EXPECT_LT(m->within_source_prior, within * 2);
}

// A record-level CLK: one filter holding every field's tokens. The model
// is the Beta mixture; its prior is near the truth, its weights never rise
// as similarity falls, and true matches score above non-matches.
TEST(ModelTest, OneComparisonIsFittedAsAMixture) {
  constexpr int kBits = 1024, kTokens = 12, kPeople = 600;
  cohortlink::v1::FilterLayout layout;
  layout.set_total_bits(kBits);
  auto* seg = layout.add_segments();
  seg->set_name("clk");
  seg->set_kind(cohortlink::v1::FilterSegment::FIELD);
  seg->set_length_bits(kBits);
  auto data = *blocking::Dataset::ForLayout(layout);
  std::mt19937_64 rng(11);
  auto clk = [&](const std::vector<uint32_t>& tokens) {
    std::string s(kBits / 8, '\0');
    for (uint32_t t : tokens) {
      std::mt19937_64 h(t);
      for (int k = 0; k < 30; ++k) {
        int bit = static_cast<int>(h() % kBits);
        s[bit / 8] |= static_cast<char>(0x80 >> (bit % 8));
      }
    }
    return s;
  };
  std::vector<std::vector<uint32_t>> people(kPeople);
  for (auto& p : people)
    for (int t = 0; t < kTokens; ++t)
      p.push_back(static_cast<uint32_t>(t * 1000 + rng() % 1000));
  std::uniform_real_distribution<double> unit(0, 1);
  for (uint32_t source = 0; source < 2; ++source) {
    for (auto p : people) {
      if (source == 1)
        for (auto& t : p)
          if (unit(rng) < 0.15) t = t / 1000 * 1000 + rng() % 1000;
      cohortlink::v1::EncodedRecord r;
      r.set_filters(clk(p));
      ASSERT_TRUE(data.Add(source, r).ok());
    }
  }
  std::vector<std::pair<uint32_t, uint32_t>> all;
  for (uint32_t i = 0; i < data.size(); ++i)
    for (uint32_t j = i + 1; j < data.size(); ++j) all.push_back({i, j});
  auto m = Train(data, all);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->method, "beta mixture");
  ASSERT_EQ(m->fields.size(), 1u);
  // One match per person across the sources, none within either.
  double true_prior = 1.0 / kPeople;
  EXPECT_GT(m->prior, true_prior / 2);
  EXPECT_LT(m->prior, true_prior * 2);
  EXPECT_LT(m->within_source_prior, true_prior / 100);
  for (size_t l = 1; l < m->fields[0].m.size(); ++l) {
    EXPECT_GE(m->LevelWeight(0, static_cast<uint8_t>(l - 1)) + 1e-9,
              m->LevelWeight(0, static_cast<uint8_t>(l)))
        << "level " << l;
  }
  // Nearly every true pair is above 0.5, nearly no other pair.
  std::vector<uint8_t> lv(1);
  int matched = 0, false_links = 0;
  for (auto [i, j] : all) {
    Compare(data, i, j, m->thresholds, absl::MakeSpan(lv));
    bool same = j == i + kPeople;
    bool linked = m->Probability(lv, data.source(i) == data.source(j)) >= 0.5;
    matched += same && linked;
    false_links += !same && linked;
  }
  EXPECT_GE(matched, kPeople * 0.97);
  EXPECT_LE(false_links, kPeople * 0.025);  // scored alone, no one-to-one
}

TEST(ModelTest, TooLittleDataIsAPreconditionFailure) {
  auto data = *blocking::Dataset::ForLayout(Layout());
  cohortlink::v1::EncodedRecord r;
  r.set_filters(std::string(kFields * kSegmentBytes, '\x0f'));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(data.Add(0, r).ok());
  auto m = Train(data, {{0, 1}});
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cohortlink::model
