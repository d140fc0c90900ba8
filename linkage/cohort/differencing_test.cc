// The set sketch's bounds, and the differencing rule over random queries:
// no two counts ever published, by one answer or by two, may stand for
// sets of people that differ by 1 to threshold - 1.

#include "linkage/cohort/differencing.h"

#include <algorithm>
#include <iostream>
#include <map>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "linkage/cohort/query_spec.h"

namespace cohortlink::cohort {
namespace {

using cohortlink::v1::CohortQuery;
using cohortlink::v1::EncodedRecord;

std::vector<uint64_t> Tokens(std::mt19937_64& rng, size_t n) {
  std::vector<uint64_t> t(n);
  for (auto& x : t) x = rng();
  return t;
}

SetSketch SketchOf(absl::Span<const uint64_t> tokens, uint32_t width) {
  SetSketch s(width);
  for (uint64_t t : tokens) s.Insert(t);
  return s;
}

TEST(SetSketchTest, NeverCallsASmallDifferenceLarge) {
  std::mt19937_64 rng(1);
  const uint32_t threshold = 10, width = SetSketch::WidthFor(threshold);
  std::map<uint64_t, int> missed;  // d >= threshold taken for small
  for (int trial = 0; trial < 20000; ++trial) {
    const size_t common = rng() % 300, only_a = rng() % 25,
                 only_b = trial % 2 ? rng() % 25 : 0;  // half of them nested
    auto shared = Tokens(rng, common), a_only = Tokens(rng, only_a),
         b_only = Tokens(rng, only_b);
    SetSketch a = SketchOf(shared, width), b = SketchOf(shared, width);
    for (uint64_t t : a_only) a.Insert(t);
    for (uint64_t t : b_only) b.Insert(t);
    const uint64_t d = only_a + only_b;
    auto got = SetSketch::Compare(a, b, threshold);
    ASSERT_EQ(got == SetSketch::Difference::kNone, d == 0) << d;
    if (d > 0 && d < threshold) {
      ASSERT_EQ(got, SetSketch::Difference::kUnder) << "d=" << d;
    }
    if (d >= threshold && got != SetSketch::Difference::kAtLeast) ++missed[d];
    if (d >= threshold && only_b == 0) {
      // Nested sets: what does not peel is bounded exactly.
      ASSERT_EQ(got, SetSketch::Difference::kAtLeast) << "nested d=" << d;
    }
  }
  // The cost of failing closed: a few differences of threshold or more
  // with people on both sides are taken for small, and only near the
  // threshold.
  int total = 0;
  for (const auto& [d, n] : missed) {
    EXPECT_LT(d, 3 * threshold) << n;
    total += n;
  }
  EXPECT_LT(total, 20000 / 100) << "over 1% of comparisons suppressed";
}

TEST(SetSketchTest, SerialisesExactlyAndRefusesDamage) {
  std::mt19937_64 rng(2);
  SetSketch s = SketchOf(Tokens(rng, 57), 18);
  auto back = SetSketch::Parse(s.Serialize(), 18);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->Serialize(), s.Serialize());
  EXPECT_EQ(back->Digest(), s.Digest());
  EXPECT_EQ(SetSketch::Compare(*back, s, 10), SetSketch::Difference::kNone);
  std::string bytes = s.Serialize();
  EXPECT_EQ(SetSketch::Parse(bytes.substr(1), 18).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SetSketch::Parse(bytes, 19).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SetSketch::Parse(bytes, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SetSketch::WidthFor(10), 18u);
  EXPECT_EQ(SetSketch::WidthFor(1), SetSketch::kMinWidth);
  EXPECT_EQ(SetSketch::WidthFor(1000000), SetSketch::kMaxWidth);
}

// A random region: people released in 2024 with a band (some bands tiny)
// and a sex, some charged by the police; a few links below 0.9.
std::shared_ptr<const QueryIndex> RandomIndex(std::mt19937_64& rng,
                                              int people) {
  QueryIndexBuilder b("differencing test secret");
  const char* bands[] = {"a", "b", "c", "x", "y"};
  const int weights[] = {400, 300, 200, 2, 1};  // x and y are rare
  std::discrete_distribution<int> band(std::begin(weights), std::end(weights));
  int key = 0;
  auto add = [&](const char* type, uint64_t entity, const std::string& event,
                 int day, const std::string& band_value, float p) {
    EncodedRecord r;
    r.set_record_key(absl::StrCat("r", key++));
    r.set_event_type(event);
    int month = day / 28 + 1, dom = day % 28 + 1;
    r.set_event_date(absl::StrFormat("%04d-%02d-%02d", 2024 + (month - 1) / 12,
                                     (month - 1) % 12 + 1, dom));
    auto* a = r.add_attributes();
    a->set_name("band");
    a->set_value(band_value);
    auto* s = r.add_attributes();
    s->set_name("sex");
    s->set_value(rng() % 2 ? "F" : "M");
    ASSERT_TRUE(b.Add(type, type, "x", r, entity, p).ok());
  };
  for (int e = 1; e <= people; ++e) {
    int day = static_cast<int>(rng() % (12 * 28));
    add("prison", e, "release", day, bands[band(rng)],
        rng() % 20 == 0 ? 0.5f : 1.0f);
    if (rng() % 3 == 0)
      add("police", e, "charge", day + static_cast<int>(rng() % 200), "", 1.0f);
  }
  return *b.Build();
}

CohortQuery RandomQuery(std::mt19937_64& rng) {
  CohortQuery q;
  q.set_name("q");
  auto* c = q.mutable_cohort();
  c->mutable_event()->set_agency_type("prison");
  c->mutable_event()->set_event_type("release");
  int from = static_cast<int>(rng() % 12),
      to = from + static_cast<int>(rng() % (12 - from));
  c->set_from(absl::StrFormat("2024-%02d-01", from + 1));
  const int last[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  c->set_to(absl::StrFormat("2024-%02d-%02d", to + 1, last[to]));
  if (rng() % 2) {
    auto& values = (*c->mutable_event()->mutable_filters())["band"];
    for (const char* v : {"a", "b", "c", "x", "y"})
      if (rng() % 2) values.add_values(v);
    if (values.values_size() == 0) values.add_values("x");
  }
  const int windows[] = {28, 91, 182, 365};
  for (int o = 0, n = 1 + static_cast<int>(rng() % 2); o < n; ++o) {
    auto* out = q.add_outcomes();
    out->set_name(absl::StrCat("o", o));
    out->mutable_event()->set_agency_type("police");
    out->mutable_event()->set_event_type("charge");
    out->set_from_day(rng() % 2);
    out->set_to_day(windows[rng() % 4]);
  }
  if (rng() % 2) q.add_breakdowns("band");
  if (rng() % 3 == 0) q.add_breakdowns("sex");
  q.set_min_match_probability(0.9);
  return q;
}

// The raw cell a row of the answer shows (rows may be left out);
// raw.cells.size() if none.
size_t RawCellOf(const RawTable& raw, const cohortlink::v1::ResultCell& row) {
  for (size_t c = 0; c < raw.cells.size(); ++c) {
    bool same = true;
    for (size_t b = 0; b < raw.breakdowns.size() && same; ++b) {
      const int l = raw.cells[c].labels[b];
      same = (l < 0 ? std::string("all") : raw.label_names[b][l]) ==
             row.labels(static_cast<int>(b));
    }
    if (same) return c;
  }
  return raw.cells.size();
}

// The people behind each published count of an answer, from the members
// (independently of the sketches).
std::vector<std::set<uint64_t>> PublishedSetsOf(
    const RawTable& raw, const cohortlink::v1::QueryResult& r) {
  const size_t nc = raw.cells.size(), nm = raw.outcome_names.size() + 1;
  const size_t nmask = size_t{1} << raw.breakdowns.size();
  std::vector<std::set<uint64_t>> sets(nc * nm + 1);
  for (const auto& m : raw.members) {
    if (m.uncertain) sets[nc * nm].insert(m.token);
    for (size_t mask = 0; mask < nmask; ++mask) {
      size_t c = raw.ancestors[m.combo * nmask + mask];
      sets[c * nm].insert(m.token);
      for (size_t o = 0; o + 1 < nm; ++o)
        if (m.outcomes >> o & 1) sets[c * nm + o + 1].insert(m.token);
    }
  }
  for (size_t c = 0; c < nc; ++c) {
    EXPECT_EQ(sets[c * nm].size(), raw.cells[c].cohort);
    for (size_t m = 1; m < nm; ++m)
      EXPECT_EQ(sets[c * nm + m].size(), raw.cells[c].outcomes[m - 1]);
  }
  std::vector<std::set<uint64_t>> shown;
  for (const auto& row : r.cells()) {
    const size_t c = RawCellOf(raw, row);
    EXPECT_LT(c, nc);
    if (c >= nc) continue;
    if (!row.cohort().suppressed()) shown.push_back(sets[c * nm]);
    for (size_t m = 1; m < nm; ++m) {
      if (!row.outcomes(static_cast<int>(m - 1)).suppressed())
        shown.push_back(sets[c * nm + m]);
    }
  }
  EXPECT_EQ(sets[nc * nm].size(), raw.uncertain);
  if (!r.uncertain().suppressed()) shown.push_back(sets[nc * nm]);
  return shown;
}

size_t SymmetricDifference(const std::set<uint64_t>& a,
                           const std::set<uint64_t>& b) {
  std::vector<uint64_t> d;
  std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(),
                                std::back_inserter(d));
  return d.size();
}

cohortlink::v1::DisclosurePolicy Policy() {
  cohortlink::v1::DisclosurePolicy p;
  p.set_threshold(10);
  p.set_rounding(5);
  return p;
}

// Runs `queries` random queries; counts the pairs of published counts
// whose sets differ by 1 to 9 people.
int SmallDifferences(std::mt19937_64& rng, const QueryIndex& index, int queries,
                     DifferencingControl* control, int* differenced) {
  std::map<size_t, std::vector<std::set<uint64_t>>> published;  // by size
  int small = 0;
  for (int k = 0; k < queries; ++k) {
    CohortQuery q = RandomQuery(rng);
    EXPECT_TRUE(ValidateQuery(q).ok()) << ValidateQuery(q);
    auto raw = Evaluate(index, q);
    EXPECT_TRUE(raw.ok()) << raw.status();
    if (!raw.ok()) return -1;
    cohortlink::v1::QueryResult r;
    if (control != nullptr) {
      auto p = control->Protect(*raw, Policy(), 10);
      EXPECT_TRUE(p.ok()) << p.status();
      if (!p.ok()) return -1;
      r = *p;
      *differenced += static_cast<int>(p->differenced());
    } else {
      r = Protect(*raw, Policy(), 10);
    }
    for (auto& s : PublishedSetsOf(*raw, r)) {
      // Sets whose sizes differ by 10 or more differ by at least that.
      for (size_t n = s.size() > 9 ? s.size() - 9 : 0; n <= s.size() + 9; ++n) {
        auto it = published.find(n);
        if (it == published.end()) continue;
        for (const auto& old : it->second) {
          size_t d = SymmetricDifference(s, old);
          if (d >= 1 && d < 10) ++small;
        }
      }
      published[s.size()].push_back(std::move(s));
    }
  }
  return small;
}

TEST(DifferencingTest, NoTwoPublishedCountsDifferByFewerThanTheThreshold) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    std::mt19937_64 rng(seed);
    auto index = RandomIndex(rng, 600 + 300 * static_cast<int>(seed));
    std::mt19937_64 queries(seed * 7919);
    // Without the rule, the same questions publish small differences: the
    // attack works, so the check below can fail.
    int unused = 0;
    std::mt19937_64 again = queries;
    EXPECT_GT(SmallDifferences(again, *index, 150, nullptr, &unused), 0)
        << "seed " << seed;
    InMemoryPublishedSets memory(SetSketch::WidthFor(10));
    DifferencingControl control(&memory);
    int differenced = 0;
    EXPECT_EQ(SmallDifferences(queries, *index, 150, &control, &differenced), 0)
        << "seed " << seed;
    EXPECT_GT(differenced, 0);
    EXPECT_GT(memory.size(), 0u);
  }
}

TEST(DifferencingTest, TheUnionAttackIsSuppressedAndTheSameSetRepublished) {
  std::mt19937_64 rng(11);
  auto index = RandomIndex(rng, 3000);
  InMemoryPublishedSets memory(SetSketch::WidthFor(10));
  DifferencingControl control(&memory);
  auto ask = [&](std::vector<std::string> bands) {
    CohortQuery q;
    q.set_name("union");
    auto* c = q.mutable_cohort();
    c->mutable_event()->set_agency_type("prison");
    c->mutable_event()->set_event_type("release");
    c->set_from("2024-01-01");
    c->set_to("2024-12-31");
    auto& f = (*c->mutable_event()->mutable_filters())["band"];
    for (const auto& b : bands) f.add_values(b);
    q.set_min_match_probability(0.9);
    auto raw = Evaluate(*index, q);
    EXPECT_TRUE(raw.ok());
    auto p = control.Protect(*raw, Policy(), 10);
    EXPECT_TRUE(p.ok());
    return std::make_pair(raw->cells[0].cohort, p->cells(0).cohort());
  };
  auto [c_true, c] = ask({"c"});
  auto [cx_true, cx] = ask({"c", "x"});
  ASSERT_GT(c_true, 100u);
  ASSERT_GT(cx_true - c_true, 0u);
  ASSERT_LT(cx_true - c_true, 10u) << "x is meant to be rare";
  EXPECT_FALSE(c.suppressed());
  EXPECT_TRUE(cx.suppressed()) << "c and c+x differ by " << cx_true - c_true;
  // The same people again: the same answer, not a refusal.
  auto [c_again_true, c_again] = ask({"c"});
  EXPECT_FALSE(c_again.suppressed());
  EXPECT_EQ(c_again.value(), c.value());
}

// A row is there only when someone has its values, so a row in which
// every count is suppressed is left out: showing it would say that a set
// too small to publish is not empty. Rows with a published count stay, and
// so does the grand total.
TEST(DifferencingTest, RowsWithEveryCountSuppressedAreLeftOut) {
  std::mt19937_64 rng(11);
  auto index = RandomIndex(rng, 3000);
  InMemoryPublishedSets memory(SetSketch::WidthFor(10));
  DifferencingControl control(&memory);
  CohortQuery q;
  q.set_name("by band");
  auto* c = q.mutable_cohort();
  c->mutable_event()->set_agency_type("prison");
  c->mutable_event()->set_event_type("release");
  c->set_from("2024-01-01");
  c->set_to("2024-12-31");
  q.add_breakdowns("band");
  q.set_min_match_probability(0.9);
  auto raw = Evaluate(*index, q);
  ASSERT_TRUE(raw.ok());
  // The raw table has a row for the rare band x (someone has it).
  bool x_in_raw = false;
  for (const auto& cell : raw->cells)
    x_in_raw |=
        cell.labels[0] >= 0 && raw->label_names[0][cell.labels[0]] == "x";
  ASSERT_TRUE(x_in_raw);
  auto r = control.Protect(*raw, Policy(), 10);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_GE(r->rows_left_out(), 1u);
  EXPECT_EQ(static_cast<size_t>(r->cells_size() + r->rows_left_out()),
            raw->cells.size());
  EXPECT_EQ(r->cells(0).labels(0), "all");
  for (int i = 1; i < r->cells_size(); ++i) {
    const auto& cell = r->cells(i);
    EXPECT_NE(cell.labels(0), "x");
    bool published = !cell.cohort().suppressed();
    for (const auto& o : cell.outcomes()) published |= !o.suppressed();
    EXPECT_TRUE(published) << cell.labels(0);
  }
}

// A memory that cannot be read or written: the answer is an error, never
// counts that were not checked or not remembered.
class BrokenMemory final : public PublishedSets {
 public:
  explicit BrokenMemory(bool reads) : reads_(reads) {}
  uint32_t width() const override { return SetSketch::WidthFor(10); }
  absl::StatusOr<bool> NearOne(const PublishedSet&, uint32_t) override {
    if (!reads_) return absl::UnavailableError("read failed");
    return false;
  }
  absl::Status Remember(absl::Span<const PublishedSet>) override {
    return absl::UnavailableError("write failed");
  }

 private:
  bool reads_;
};

TEST(DifferencingTest, AMemoryThatFailsFailsTheAnswer) {
  std::mt19937_64 rng(5);
  auto index = RandomIndex(rng, 2000);
  CohortQuery q;
  std::mt19937_64 queries(3);
  do {
    q = RandomQuery(queries);
  } while (!q.cohort().event().filters().empty());
  auto raw = Evaluate(*index, q);
  ASSERT_TRUE(raw.ok());
  for (bool reads : {false, true}) {
    BrokenMemory memory(reads);
    DifferencingControl control(&memory);
    auto r = control.Protect(*raw, Policy(), 10);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_EQ(r.status().message(), reads ? "write failed" : "read failed");
  }
}

// The linear-constraint adversary, over every question of a small query
// space with rounding 1 (the least noise). Without the rule it pins no
// cell either on these regions: an exact pin needs rare coincidences of
// the perturbation, and the rule's effect on what can be differenced is
// the test above; this one asserts that what the rule publishes leaves
// every small cell provably free.
//
// Every published count is the sum of
// some cells of the population ("atoms"), known to within the
// perturbation. An atom is pinned when every integer solution of those
// constraints gives it the same value. Pinning is proved by bounds
// propagation (sound: it only removes values no solution has); not being
// pinned is proved by exhibiting a second solution in which the atom has
// another value (found by repairing the truth after moving it by one).
class Adversary {
 public:
  Adversary(std::vector<int64_t> truth) : truth_(std::move(truth)) {}
  void Add(uint64_t atoms, int64_t lo, int64_t hi) {
    constraints_.push_back({atoms, lo, hi});
  }
  // Adds, for every two constraints on nested sets of atoms, the one their
  // difference implies (what an analyst differencing two counts knows).
  void AddDifferences() {
    const size_t n = constraints_.size();
    for (size_t i = 0; i < n; ++i)
      for (size_t j = 0; j < n; ++j) {
        const auto &big = constraints_[i], &small = constraints_[j];
        if (i == j || big.atoms == small.atoms ||
            (big.atoms & small.atoms) != small.atoms)
          continue;
        constraints_.push_back(
            {big.atoms & ~small.atoms, big.lo - small.hi, big.hi - small.lo});
      }
  }
  // Propagation alone fixes atom a.
  bool ProvablyPinned(int a) const {
    auto [l, h] = Bounds(a);
    return l == h;
  }
  // Propagation alone proves that atom a holds 1 to threshold - 1 people:
  // a small count exposed, though not pinned.
  bool ProvablySmall(int a, int64_t threshold) const {
    auto [l, h] = Bounds(a);
    return l >= 1 && h <= threshold - 1;
  }
  // Sound bounds on atom a (each atom is >= 0), by propagating every
  // constraint to a fixed point.
  std::pair<int64_t, int64_t> Bounds(int a) const {
    std::vector<int64_t> l(truth_.size(), 0), h(truth_.size(), 1 << 20);
    for (bool changed = true; changed;) {
      changed = false;
      for (const auto& c : constraints_) {
        int64_t sl = 0, sh = 0;
        for (uint64_t m = c.atoms; m; m &= m - 1) {
          sl += l[__builtin_ctzll(m)];
          sh += h[__builtin_ctzll(m)];
        }
        for (uint64_t m = c.atoms; m; m &= m - 1) {
          const int i = __builtin_ctzll(m);
          const int64_t nh = std::min(h[i], c.hi - (sl - l[i]));
          const int64_t nl = std::max(l[i], c.lo - (sh - h[i]));
          if (nh != h[i] || nl != l[i]) {
            sl += nl - l[i];
            sh += nh - h[i];
            l[i] = nl;
            h[i] = nh;
            changed = true;
          }
        }
      }
    }
    return {l[a], h[a]};
  }
  // A solution with atom a moved by one, if repair finds one.
  bool HasAnotherValue(int a, std::mt19937_64& rng) const {
    for (int delta : {1, -1}) {
      if (truth_[a] + delta < 0) continue;
      for (int attempt = 0; attempt < 200; ++attempt) {
        std::vector<int64_t> y = truth_;
        y[a] += delta;
        bool ok = false;
        for (int step = 0; step < 40; ++step) {
          const Constraint* bad = nullptr;
          int64_t sum = 0;
          for (const auto& c : constraints_) {
            sum = Sum(c, y);
            if (sum < c.lo || sum > c.hi) {
              bad = &c;
              break;
            }
          }
          if (bad == nullptr) {
            ok = true;
            break;
          }
          // Move another atom of the violated constraint back towards it.
          const int64_t fix = sum > bad->hi ? -1 : 1;
          std::vector<int> options;
          for (uint64_t m = bad->atoms; m; m &= m - 1) {
            const int i = __builtin_ctzll(m);
            if (i != a && y[i] + fix >= 0) options.push_back(i);
          }
          if (options.empty()) break;
          y[options[rng() % options.size()]] += fix;
        }
        if (ok) return true;
      }
    }
    return false;
  }

 private:
  struct Constraint {
    uint64_t atoms;
    int64_t lo, hi;
  };
  static int64_t Sum(const Constraint& c, const std::vector<int64_t>& y) {
    int64_t s = 0;
    for (uint64_t m = c.atoms; m; m &= m - 1) s += y[__builtin_ctzll(m)];
    return s;
  }
  std::vector<int64_t> truth_;
  std::vector<Constraint> constraints_;
};

// Atoms: release month (4), band (a, b, x: x rare), sex (2), charged
// within 28 days or not: 48.
int AtomOf(int month, int band, int sex, int charged) {
  return ((month * 3 + band) * 2 + sex) * 2 + charged;
}

// A random region of 1,200 people over the atoms, as a query index, with
// the true size of each atom.
struct AtomRegion {
  std::shared_ptr<const QueryIndex> index;
  std::vector<int64_t> sizes = std::vector<int64_t>(48, 0);
};

AtomRegion MakeAtomRegion(uint64_t seed) {
  AtomRegion region;
  std::mt19937_64 rng(seed);
  QueryIndexBuilder b("atoms");
  std::discrete_distribution<int> band({60, 36, 4});
  int key = 0;
  auto add = [&](const char* type, uint64_t e, const char* event,
                 const std::string& date, const std::string& band_value,
                 const std::string& sex) {
    EncodedRecord r;
    r.set_record_key(absl::StrCat("r", key++));
    r.set_event_type(event);
    r.set_event_date(date);
    auto* a = r.add_attributes();
    a->set_name("band");
    a->set_value(band_value);
    auto* s = r.add_attributes();
    s->set_name("sex");
    s->set_value(sex);
    EXPECT_TRUE(b.Add(type, type, "x", r, e, 1.0f).ok());
  };
  for (int e = 1; e <= 1200; ++e) {
    const int month = static_cast<int>(rng() % 4), bd = band(rng),
              sex = static_cast<int>(rng() % 2), charged = rng() % 3 == 0;
    add("prison", e, "release", absl::StrFormat("2024-%02d-01", month + 1),
        std::string(1, "abx"[bd]), sex ? "M" : "F");
    if (charged) {
      add("police", e, "charge", absl::StrFormat("2024-%02d-10", month + 1), "",
          "");
    }
    ++region.sizes[AtomOf(month, bd, sex, charged)];
  }
  region.index = *b.Build();
  return region;
}

// Asks every question of a small space (month ranges x band unions x with
// and without a breakdown by sex) with or without the differencing rule,
// at rounding 1 (the least noise: the adversary's best case), and gives
// the adversary each published count as a constraint on its atoms to
// within the perturbation (at most 2 either way).
void AskEverything(const AtomRegion& region, bool rule, Adversary* adversary) {
  InMemoryPublishedSets memory(SetSketch::WidthFor(10));
  DifferencingControl control(&memory);
  cohortlink::v1::DisclosurePolicy p;
  p.set_threshold(10);
  p.set_rounding(1);
  for (int m1 = 0; m1 < 4; ++m1)
    for (int m2 = m1; m2 < 4; ++m2)
      for (uint32_t bands = 1; bands < 8; ++bands)
        for (bool by_sex : {false, true}) {
          CohortQuery q;
          q.set_name("atoms");
          auto* c = q.mutable_cohort();
          c->mutable_event()->set_agency_type("prison");
          c->mutable_event()->set_event_type("release");
          c->set_from(absl::StrFormat("2024-%02d-01", m1 + 1));
          const int last[] = {31, 29, 31, 30};
          c->set_to(absl::StrFormat("2024-%02d-%02d", m2 + 1, last[m2]));
          if (bands != 7) {
            auto& f = (*c->mutable_event()->mutable_filters())["band"];
            for (int bd = 0; bd < 3; ++bd)
              if (bands >> bd & 1) f.add_values(std::string(1, "abx"[bd]));
          }
          auto* o = q.add_outcomes();
          o->set_name("charged");
          o->mutable_event()->set_agency_type("police");
          o->mutable_event()->set_event_type("charge");
          o->set_from_day(1);
          o->set_to_day(28);
          if (by_sex) q.add_breakdowns("sex");
          q.set_min_match_probability(0.9);
          auto raw = Evaluate(*region.index, q);
          ASSERT_TRUE(raw.ok()) << raw.status();
          cohortlink::v1::QueryResult r;
          if (rule) {
            auto pr = control.Protect(*raw, p, 10);
            ASSERT_TRUE(pr.ok()) << pr.status();
            r = *pr;
          } else {
            r = Protect(*raw, p, 10);
          }
          for (int cell = 0; cell < r.cells_size(); ++cell) {
            const std::string label = by_sex ? r.cells(cell).labels(0) : "all";
            for (int m = 0; m < 2; ++m) {
              const auto& pc =
                  m == 0 ? r.cells(cell).cohort() : r.cells(cell).outcomes(0);
              uint64_t atoms = 0;
              int64_t truth = 0;
              for (int mo = m1; mo <= m2; ++mo)
                for (int bd = 0; bd < 3; ++bd)
                  for (int sx = 0; sx < 2; ++sx)
                    for (int ch = m; ch < 2; ++ch) {
                      if (!(bands >> bd & 1)) continue;
                      if (label != "all" && label != (sx ? "M" : "F")) continue;
                      const int a = AtomOf(mo, bd, sx, ch);
                      atoms |= uint64_t{1} << a;
                      truth += region.sizes[a];
                    }
              const size_t rc = RawCellOf(*raw, r.cells(cell));
              ASSERT_LT(rc, raw->cells.size()) << label;
              const uint64_t count =
                  m == 0 ? raw->cells[rc].cohort : raw->cells[rc].outcomes[0];
              ASSERT_EQ(static_cast<uint64_t>(truth), count) << label;
              if (pc.suppressed()) continue;
              const int64_t v = static_cast<int64_t>(pc.value());
              adversary->Add(atoms, v - 2, v + 2);
            }
          }
        }
}

TEST(DifferencingTest, NoSmallCellIsPinnedByTheLinearConstraintsOfWhatIsShown) {
  int pinned_without = 0, pinned_with = 0, undecided = 0, small = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const AtomRegion region = MakeAtomRegion(seed);
    for (bool rule : {false, true}) {
      Adversary adversary(region.sizes);
      AskEverything(region, rule, &adversary);
      std::mt19937_64 search(seed);
      for (int a = 0; a < 48; ++a) {
        if (region.sizes[a] < 1 || region.sizes[a] >= 10) continue;
        small += rule;
        if (adversary.ProvablyPinned(a)) {
          ++(rule ? pinned_with : pinned_without);
        } else if (rule && !adversary.HasAnotherValue(a, search)) {
          ++undecided;
        }
      }
    }
  }
  std::cout << small << " small cells; pinned: " << pinned_without
            << " without the rule, " << pinned_with << " with it; " << undecided
            << " with the rule not shown to be free\n";
  EXPECT_EQ(pinned_with, 0);
  EXPECT_EQ(undecided, 0);
}

// The stronger adversary: it also differences every two nested counts (as
// the analyst of the date-window attack did) and propagates, and a cell is
// exposed when that proves it holds 1 to 9 people. Without the rule, the
// questions of this space expose small cells; with it, none.
TEST(DifferencingTest, NoSmallCellIsProvedSmallByDifferencesOfWhatIsShown) {
  int exposed_without = 0, exposed_with = 0, small = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const AtomRegion region = MakeAtomRegion(seed);
    for (bool rule : {false, true}) {
      Adversary adversary(region.sizes);
      AskEverything(region, rule, &adversary);
      adversary.AddDifferences();
      for (int a = 0; a < 48; ++a) {
        if (region.sizes[a] < 1 || region.sizes[a] >= 10) continue;
        small += rule;
        if (adversary.ProvablySmall(a, 10))
          ++(rule ? exposed_with : exposed_without);
      }
    }
  }
  std::cout << small
            << " small cells; proved to hold 1 to 9 people: " << exposed_without
            << " without the rule, " << exposed_with << " with it\n";
  EXPECT_GT(exposed_without, 0);
  EXPECT_EQ(exposed_with, 0);
}

}  // namespace
}  // namespace cohortlink::cohort
