// Query semantics on a hand-built linkage with exact expected counts, and
// the disclosure-control properties.

#include <cmath>
#include <functional>
#include <map>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "linkage/cohort/engine.h"
#include "linkage/cohort/query_space.h"
#include "linkage/cohort/query_spec.h"

namespace cohortlink::cohort {
namespace {

using cohortlink::v1::CohortQuery;
using cohortlink::v1::EncodedRecord;

EncodedRecord Event(const std::string& type, const std::string& date,
                    const std::string& sex = "") {
  EncodedRecord r;
  static int n = 0;
  r.set_record_key("k" + std::to_string(n++));
  r.set_event_type(type);
  r.set_event_date(date);
  auto* a = r.add_attributes();
  a->set_name("sex");
  a->set_value(sex);
  return r;
}

// Six people:
//  1 F released 2024-03-01; charged 2024-03-01 (day 0), 2024-03-02 (day 1)
//    and 2025-03-01 (day 365).
//  2 M released 2024-01-01 and 2024-06-01 (index: the first); charged
//    2025-01-02 (day 367); arrested 2023-06-01 (before).
//  3 M released 2024-12-31 (the window's last day); nothing else.
//  4 M released 2025-01-01: outside the window.
//  5 M released 2024-05-01; charged 2024-05-05 on a link of 0.5.
//  6 F released 2024-07-01 on a link of 0.6; charged 2024-07-02.
std::shared_ptr<const QueryIndex> Fixture() {
  QueryIndexBuilder b("fixture secret");
  auto add = [&](const char* type, uint64_t entity, EncodedRecord r,
                 float p = 1.0f) {
    ASSERT_TRUE(b.Add(type, type, "x", r, entity, p).ok());
  };
  add("prison", 1, Event("release", "2024-03-01", "F"));
  add("police", 1, Event("charge", "2024-03-01"));
  add("police", 1, Event("charge", "2024-03-02"));
  add("police", 1, Event("charge", "2025-03-01"));
  add("prison", 2, Event("release", "2024-06-01", "M"));
  add("prison", 2, Event("release", "2024-01-01", "M"));
  add("police", 2, Event("charge", "2025-01-02"));
  add("police", 2, Event("arrest", "2023-06-01"));
  add("prison", 3, Event("release", "2024-12-31", "M"));
  add("prison", 4, Event("release", "2025-01-01", "M"));
  add("prison", 5, Event("release", "2024-05-01", "M"));
  add("police", 5, Event("charge", "2024-05-05"), 0.5f);
  add("prison", 6, Event("release", "2024-07-01", "F"), 0.6f);
  add("police", 6, Event("charge", "2024-07-02"));
  return *b.Build();
}

CohortQuery Query() {
  auto q = ParseQuerySpec(R"({
    "name": "reoffending",
    "cohort": {"agency_type": "prison", "event_type": "release",
               "from": "2024-01-01", "to": "2024-12-31"},
    "outcomes": [
      {"name": "charged_12m", "agency_type": "police", "event_type": "charge",
       "window_days": [1, 365]},
      {"name": "arrested_before", "agency_type": "police",
       "event_type": "arrest", "window_days": [-365, -1]}
    ],
    "breakdowns": ["sex"],
    "min_match_probability": 0.9
  })",
                          "test");
  EXPECT_TRUE(q.ok()) << q.status();
  return *q;
}

const RawCell& CellFor(const RawTable& t, int label) {
  for (const auto& c : t.cells)
    if (c.labels[0] == label) return c;
  ADD_FAILURE() << "no cell";
  return t.cells[0];
}

TEST(CohortEngineTest, ExactCountsAtTheEdges) {
  auto index = Fixture();
  auto t = Evaluate(*index, Query());
  ASSERT_TRUE(t.ok()) << t.status();
  // Members 1, 2, 3, 5 and 6 (alone, uncertain); 4 is outside the window.
  const RawCell& all = t->cells[0];
  EXPECT_EQ(all.labels[0], -1);
  EXPECT_EQ(all.cohort, 5u);
  // Charged in days 1..365: only 1 (day 0 does not count; 2's charge is on
  // day 367 of its first release; 5's is on a link below 0.9; 6's record
  // is alone).
  EXPECT_EQ(all.outcomes[0], 1u);
  // Arrested before: 2.
  EXPECT_EQ(all.outcomes[1], 1u);
  EXPECT_EQ(t->uncertain, 1u);
  int f = index->attribute_values(index->AttributeId("sex")).Find("F");
  int m = index->attribute_values(index->AttributeId("sex")).Find("M");
  EXPECT_EQ(CellFor(*t, f).cohort, 2u);
  EXPECT_EQ(CellFor(*t, f).outcomes[0], 1u);
  EXPECT_EQ(CellFor(*t, m).cohort, 3u);
  EXPECT_EQ(CellFor(*t, m).outcomes[1], 1u);
}

TEST(CohortEngineTest, ProbabilityFloorDecidesWhatCounts) {
  auto index = Fixture();
  CohortQuery q = Query();
  q.set_min_match_probability(0.4);
  auto t = Evaluate(*index, q);
  ASSERT_TRUE(t.ok());
  // Now 5's charge counts (day 4) and 6 is linked to its charge (day 1).
  EXPECT_EQ(t->cells[0].outcomes[0], 3u);
  EXPECT_EQ(t->uncertain, 0u);
}

TEST(CohortEngineTest, UnknownBreakdownAndBadSpecsAreRefused) {
  auto index = Fixture();
  CohortQuery q = Query();
  q.add_breakdowns("area");
  auto t = Evaluate(*index, q);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("no attribute 'area'"),
            std::string::npos);
  // A budgeted project's answer: everyone is "unknown" on it instead.
  auto u = Evaluate(*index, q, nullptr, {.absent_breakdowns_unknown = true});
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->label_names[1], std::vector<std::string>{"unknown"});
  for (const auto& c : u->cells) EXPECT_LE(c.labels[1], 0);
  EXPECT_EQ(CellFor(*u, -1).cohort, Evaluate(*index, Query())->cells[0].cohort);
  auto bad = ParseQuerySpec(R"({"cohort": {"agency_type": "prisons",
    "event_type": "release", "from": "2024-01-01", "to": "2024-12-31"},
    "outcomes": [{"name": "x", "agency_type": "police", "event_type": "charge",
                  "window_days": [5, 1]}]})",
                            "spec.json");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("spec.json: cohort.agency_type"),
            std::string::npos)
      << bad.status();
}

// Every limit of a query's shape: accepted at its value, refused with the
// field named at value + 1.
TEST(QueryLimitsTest, EachLimitHoldsAtItsValueAndFailsOneBeyond) {
  struct Limit {
    const char* what;
    std::function<void(CohortQuery*, int)> set;  // to `n` of the thing
    int value;
    const char* message;
  };
  auto filter = [](CohortQuery* q) {
    return &(*q->mutable_cohort()->mutable_event()->mutable_filters())["sex"];
  };
  const Limit limits[] = {
      {"breakdowns",
       [](CohortQuery* q, int n) {
         q->clear_breakdowns();
         for (int i = 0; i < n; ++i) q->add_breakdowns("b" + std::to_string(i));
       },
       kMaxBreakdowns, "breakdowns: at most 3"},
      {"outcomes",
       [](CohortQuery* q, int n) {
         for (int i = q->outcomes_size(); i < n; ++i) {
           auto* o = q->add_outcomes();
           *o = q->outcomes(0);
           o->set_name("o" + std::to_string(i));
         }
       },
       kMaxOutcomes, "outcomes: at most 16"},
      {"filters",
       [](CohortQuery* q, int n) {
         auto* f = q->mutable_cohort()->mutable_event()->mutable_filters();
         for (int i = 0; i < n; ++i)
           (*f)["a" + std::to_string(i)].add_values("x");
       },
       kMaxFilters, "cohort.filters: at most 8 attributes"},
      {"filter values",
       [&](CohortQuery* q, int n) {
         for (int i = 0; i < n; ++i) filter(q)->add_values(std::to_string(i));
       },
       kMaxFilterValues, "cohort.filters.sex: at most 64 values"},
      {"value bytes",
       [&](CohortQuery* q, int n) {
         filter(q)->add_values(std::string(n, 'v'));
       },
       static_cast<int>(kMaxLabelBytes),
       "cohort.filters.sex: a value is at most 64"},
      {"window",
       [](CohortQuery* q, int n) { q->mutable_outcomes(0)->set_to_day(n); },
       kMaxWindowDays, "outcomes[0].window_days: days lie within"},
      {"history window",
       [](CohortQuery* q, int n) { q->mutable_outcomes(0)->set_from_day(-n); },
       kMaxWindowDays, "outcomes[0].window_days: days lie within"},
      {"threshold",
       [](CohortQuery* q, int n) { q->mutable_disclosure()->set_threshold(n); },
       static_cast<int>(kMaxThreshold), "disclosure.threshold: at most 1000"},
      {"rounding",
       [](CohortQuery* q, int n) { q->mutable_disclosure()->set_rounding(n); },
       static_cast<int>(kMaxRounding), "disclosure.rounding: at most 1000"},
      {"outcome name",
       [](CohortQuery* q, int n) {
         q->mutable_outcomes(0)->set_name(std::string(n, 'o'));
       },
       static_cast<int>(kMaxLabelBytes), "outcomes[0].name: '"},
      {"query name",
       [](CohortQuery* q, int n) { q->set_name(std::string(n, 'q')); },
       static_cast<int>(kMaxQueryNameBytes), "name: at most 256"},
  };
  for (const Limit& l : limits) {
    CohortQuery at = Query(), over = Query();
    l.set(&at, l.value);
    l.set(&over, l.value + 1);
    EXPECT_TRUE(ValidateQuery(at).ok()) << l.what << ": " << ValidateQuery(at);
    absl::Status s = ValidateQuery(over);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << l.what;
    EXPECT_NE(s.message().find(l.message), std::string::npos)
        << l.what << ": " << s;
  }
  CohortQuery nan = Query();
  nan.set_min_match_probability(std::nan(""));
  EXPECT_FALSE(ValidateQuery(nan).ok());
  // Windows beyond an int in the JSON are refused, not converted.
  for (const char* w :
       {"[-2147483648, 2147483647]", "[0, 1e300]", "[0.5, 2]"}) {
    auto q = ParseQuerySpec(
        absl::StrCat(R"({"cohort": {"agency_type": "prison", "event_type":
          "release", "from": "2024-01-01", "to": "2024-12-31"},
          "outcomes": [{"name": "x", "agency_type": "police",
          "event_type": "charge", "window_days": )",
                     w, "}]}"),
        "spec.json");
    EXPECT_NE(q.status().message().find("window_days: whole days within"),
              std::string::npos)
        << w << ": " << q.status();
  }
}

TEST(QueryLimitsTest, TheEvaluatorStopsWhenTheCallerHasGone) {
  auto index = Fixture();
  auto t = Evaluate(*index, Query(), [] { return true; });
  // The fixture is smaller than one stride: it finishes before it checks.
  EXPECT_TRUE(t.ok());
  QueryIndexBuilder b("secret");
  for (int i = 0; i < 10'000; ++i)
    ASSERT_TRUE(
        b.Add("prison", "prison", "x", Event("release", "2024-03-01"), i, 1)
            .ok());
  auto big = *b.Build();
  EXPECT_TRUE(Evaluate(*big, Query(), [] { return false; }).ok());
  EXPECT_EQ(Evaluate(*big, Query(), [] { return true; }).status().code(),
            absl::StatusCode::kCancelled);
}

TEST(QueryLimitsTest, AFullDictionaryRefusesTheRecordInsteadOfWrapping) {
  QueryIndexBuilder b("secret");
  for (int i = 0; i < 65'535; ++i) {
    ASSERT_TRUE(
        b.AddFacts("police", "police", "x",
                   Event("arrest", "2024-01-01", "v" + std::to_string(i)))
            .ok())
        << i;
  }
  // 65,536 names with "" (unknown): the next new value does not fit.
  auto full = b.AddFacts("police", "police", "x",
                         Event("arrest", "2024-01-01", "one-more"));
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_NE(full.message().find("attribute 'sex'"), std::string::npos) << full;
  EXPECT_EQ(b.size(), 65'535u);  // nothing of the refused record was added
  EXPECT_TRUE(
      b.AddFacts("police", "police", "x", Event("arrest", "2024-01-01", "v7"))
          .ok());
}

// A random one-breakdown table: totals are sums of their cells.
RawTable RandomTable(std::mt19937_64& rng, int values) {
  RawTable t;
  t.breakdowns = {"b"};
  t.outcome_names = {"o"};
  t.label_names = {{}};
  RawCell total{{-1}, 0, 0, {0}, {0}};
  std::uniform_int_distribution<int> size(0, 60);
  for (int v = 0; v < values; ++v) {
    t.label_names[0].push_back("v" + std::to_string(v));
    uint64_t n = size(rng);
    uint64_t o = n == 0 ? 0 : rng() % (n + 1);
    uint8_t k = rng(), ko = rng();
    t.cells.push_back({{v}, n, k, {o}, {ko}});
    total.cohort += n;
    total.cohort_key += k;
    total.outcomes[0] += o;
    total.outcome_keys[0] += ko;
  }
  t.cells.insert(t.cells.begin(), total);
  return t;
}

cohortlink::v1::DisclosurePolicy Policy(uint32_t threshold, uint32_t rounding) {
  cohortlink::v1::DisclosurePolicy p;
  p.set_threshold(threshold);
  p.set_rounding(rounding);
  return p;
}

TEST(DisclosureTest, PublishedCountsRespectThresholdRoundingAndMargins) {
  std::mt19937_64 rng(3);
  for (int trial = 0; trial < 300; ++trial) {
    RawTable raw = RandomTable(rng, 2 + trial % 6);
    auto out = Protect(raw, Policy(10, 5), 10);
    for (const auto& cell : out.cells()) {
      for (const auto* pc : {&cell.cohort(), &cell.outcomes(0)}) {
        if (pc->suppressed()) continue;
        EXPECT_GE(pc->value(), 10u);
        EXPECT_EQ(pc->value() % 5, 0u);
      }
    }
    // No relation (total = sum of cells) has exactly one hidden term.
    for (int m = 0; m < 2; ++m) {
      auto hidden = [&](int c) {
        return m == 0 ? out.cells(c).cohort().suppressed()
                      : out.cells(c).outcomes(0).suppressed();
      };
      int n = 0;
      for (int c = 0; c < out.cells_size(); ++c) n += hidden(c);
      EXPECT_NE(n, 1) << "trial " << trial << " measure " << m;
    }
    // The same question gets the same answer.
    EXPECT_EQ(Protect(raw, Policy(10, 5), 10).SerializeAsString(),
              out.SerializeAsString());
  }
}

// A random two-breakdown table with all its margins.
RawTable RandomTable2d(std::mt19937_64& rng, int rows, int cols) {
  RawTable t;
  t.breakdowns = {"r", "c"};
  t.outcome_names = {"o"};
  t.label_names = {{}, {}};
  for (int i = 0; i < rows; ++i)
    t.label_names[0].push_back("r" + std::to_string(i));
  for (int j = 0; j < cols; ++j)
    t.label_names[1].push_back("c" + std::to_string(j));
  std::map<std::pair<int, int>, RawCell> cells;
  std::uniform_int_distribution<int> size(0, 40);
  auto at = [&](int i, int j) -> RawCell& {
    auto& c = cells[{i, j}];
    if (c.labels.empty()) c = {{i, j}, 0, 0, {0}, {0}};
    return c;
  };
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) {
      uint64_t n = size(rng), o = n == 0 ? 0 : rng() % (n + 1);
      uint8_t k = rng(), ko = rng();
      for (auto [a, b] : {std::pair{i, j}, {i, -1}, {-1, j}, {-1, -1}}) {
        RawCell& c = at(a, b);
        c.cohort += n;
        c.cohort_key += k;
        c.outcomes[0] += o;
        c.outcome_keys[0] += ko;
      }
    }
  }
  t.cells.push_back(cells.at({-1, -1}));
  for (auto& [k, c] : cells)
    if (k != std::pair{-1, -1}) t.cells.push_back(c);
  return t;
}

TEST(DisclosureTest, NoSuppressedCellIsRecoverableFromAnyTotal) {
  std::mt19937_64 rng(11);
  for (int trial = 0; trial < 200; ++trial) {
    RawTable raw = RandomTable2d(rng, 2 + trial % 4, 2 + trial % 5);
    auto out = Protect(raw, Policy(10, 5), 10);
    std::map<std::vector<std::string>, int> index;
    for (int c = 0; c < out.cells_size(); ++c)
      index[{out.cells(c).labels().begin(), out.cells(c).labels().end()}] = c;
    for (int m = 0; m < 2; ++m) {
      auto hidden = [&](int c) {
        return m == 0 ? out.cells(c).cohort().suppressed()
                      : out.cells(c).outcomes(0).suppressed();
      };
      // Every row, column and margin relation: total = sum of its cells.
      for (const auto& [labels, c] : index) {
        for (int b = 0; b < 2; ++b) {
          if (labels[b] != "all") continue;
          int n = hidden(c);
          for (const auto& [other, d] : index) {
            if (other[b] == "all" || other[1 - b] != labels[1 - b]) continue;
            n += hidden(d);
          }
          EXPECT_NE(n, 1) << "trial " << trial << " measure " << m;
        }
      }
    }
  }
}

TEST(DisclosureTest, StricterNeverRevealsWhatLooserHid) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 300; ++trial) {
    RawTable raw = RandomTable(rng, 2 + trial % 6);
    auto loose = Protect(raw, Policy(10, 5), 10);
    auto strict = Protect(raw, Policy(10 + trial % 15, 10), 10);
    for (int c = 0; c < loose.cells_size(); ++c) {
      if (loose.cells(c).cohort().suppressed()) {
        EXPECT_TRUE(strict.cells(c).cohort().suppressed()) << trial;
      }
      if (loose.cells(c).outcomes(0).suppressed()) {
        EXPECT_TRUE(strict.cells(c).outcomes(0).suppressed()) << trial;
      }
    }
  }
}

TEST(DisclosureTest, ThePeopleWithoutTheOutcomeAreProtectedToo) {
  RawTable t;
  t.breakdowns = {};
  t.outcome_names = {"o"};
  t.cells = {{{}, 50, 100, {47}, {100}}};  // 3 without the outcome
  auto out = Protect(t, Policy(10, 5), 10);
  EXPECT_FALSE(out.cells(0).cohort().suppressed());
  EXPECT_TRUE(out.cells(0).outcomes(0).suppressed());
  EXPECT_EQ(out.cells(0).rates(0), -1);
}

// The count of members with only uncertain links is protected like any
// other: a true 0 is as disclosive as a 3, so neither is published.
TEST(DisclosureTest, TheUncertainCountIsProtectedAndATrueZeroIsNotShown) {
  RawTable t;
  t.outcome_names = {"o"};
  t.cells = {{{}, 50, 100, {20}, {100}}};
  for (uint64_t uncertain : {0u, 3u}) {
    t.uncertain = uncertain;
    auto out = Protect(t, Policy(10, 5), 10);
    EXPECT_TRUE(out.uncertain().suppressed()) << uncertain;
    EXPECT_EQ(out.uncertain().value(), 0) << uncertain;
  }
  t.uncertain = 40;
  auto out = Protect(t, Policy(10, 5), 10);
  EXPECT_FALSE(out.uncertain().suppressed());
  EXPECT_EQ(out.uncertain().value() % 5, 0);
}

TEST(DisclosureTest, AnAnalystMayOnlyTightenThePolicy) {
  auto base = Policy(10, 5);
  EXPECT_EQ(EffectivePolicy(base, Policy(5, 5)).status().code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(EffectivePolicy(base, Policy(10, 3)).status().code(),
            absl::StatusCode::kPermissionDenied);
  auto p = EffectivePolicy(base, Policy(20, 10));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->threshold(), 20u);
  EXPECT_EQ(p->rounding(), 10u);
  EXPECT_EQ(EffectivePolicy(base, Policy(0, 0))->threshold(), 10u);
}

TEST(DisclosureTest, PerturbationTableIsBalanced) {
  int sum = 0, zero = 0;
  for (int k = 0; k < 256; ++k) {
    sum += Perturbation(static_cast<uint8_t>(k));
    zero += Perturbation(static_cast<uint8_t>(k)) == 0;
  }
  EXPECT_EQ(sum, 0);  // unbiased over the 256 cell keys
  EXPECT_EQ(zero, 128);
}

}  // namespace
// The grid: cohort periods of whole months (quarters, years), outcome
// windows from the menu; off it, the nearest allowed form is named.
TEST(QuerySpaceTest, CohortPeriodsFollowTheGridAndWindowsTheMenu) {
  auto query = [](const std::string& from, const std::string& to, int32_t a,
                  int32_t b) {
    CohortQuery q;
    q.mutable_cohort()->set_from(from);
    q.mutable_cohort()->set_to(to);
    auto* o = q.add_outcomes();
    o->set_from_day(a);
    o->set_to_day(b);
    return q;
  };
  QuerySpace month;
  EXPECT_TRUE(ValidateQuerySpace(month).ok());
  EXPECT_TRUE(
      CheckQuerySpace(query("2024-02-01", "2024-02-29", 1, 365), month).ok());
  EXPECT_TRUE(
      CheckQuerySpace(query("2024-01-01", "2024-12-31", 0, 1), month).ok());
  EXPECT_TRUE(
      CheckQuerySpace(query("2024-01-01", "2024-12-31", -365, -1), month).ok());
  EXPECT_TRUE(
      CheckQuerySpace(query("2024-01-01", "2024-12-31", 183, 730), month).ok());
  auto message = [&](const CohortQuery& q, const QuerySpace& s) {
    return std::string(CheckQuerySpace(q, s).message());
  };
  EXPECT_EQ(message(query("2024-01-20", "2024-12-31", 1, 365), month),
            "cohort.from: 2024-01-20 is not the first day of a month; cohort "
            "periods follow the server's month grid: the nearest allowed is "
            "2024-02-01");
  EXPECT_NE(message(query("2024-01-01", "2024-02-28", 1, 365), month)
                .find("the nearest allowed is 2024-02-29"),
            std::string::npos);
  QuerySpace quarter;
  quarter.grid = CohortGrid::kQuarter;
  EXPECT_TRUE(
      CheckQuerySpace(query("2025-01-01", "2025-03-31", 1, 365), quarter).ok());
  EXPECT_NE(message(query("2025-02-01", "2025-03-31", 1, 365), quarter)
                .find("first day of a quarter; cohort periods follow the "
                      "server's quarter grid: the nearest allowed is "
                      "2025-01-01"),
            std::string::npos);
  EXPECT_NE(message(query("2025-01-01", "2025-05-31", 1, 365), quarter)
                .find("the nearest allowed is 2025-06-30"),
            std::string::npos);
  QuerySpace year;
  year.grid = CohortGrid::kYear;
  EXPECT_NE(message(query("2025-01-01", "2025-06-30", 1, 365), year)
                .find("the nearest allowed is 2024-12-31"),
            std::string::npos);
  // Windows: the nearest allowed, forwards and backwards.
  EXPECT_NE(message(query("2024-01-01", "2024-12-31", 0, 120), month)
                .find("outcomes[0].window_days: [0, 120] is not a window of "
                      "the server's menu; the nearest allowed is [0, 91]"),
            std::string::npos);
  EXPECT_NE(message(query("2024-01-01", "2024-12-31", -400, -2), month)
                .find("the nearest allowed is [-365, -2]"),
            std::string::npos);
  EXPECT_NE(message(query("2024-01-01", "2024-12-31", 400, 500), month)
                .find("the nearest allowed is [183, 365]"),
            std::string::npos);
  // The menu itself is checked.
  QuerySpace bad;
  bad.windows = {7, 7};
  EXPECT_FALSE(ValidateQuerySpace(bad).ok());
  bad.windows = {0};
  EXPECT_FALSE(ValidateQuerySpace(bad).ok());
  bad.windows = {};
  EXPECT_FALSE(ValidateQuerySpace(bad).ok());
  bad.windows = {kMaxWindowDays + 1};
  EXPECT_FALSE(ValidateQuerySpace(bad).ok());
}

TEST(QuerySpaceTest, FiltersNameOnlyDeclaredValues) {
  QuerySpace space;
  space.codelists["sentence_band"] = {"under-12m", "12m-4y", "4y-plus"};
  ASSERT_TRUE(ValidateQuerySpace(space).ok());
  auto q = ParseQuerySpec(R"({
    "cohort": {"agency_type": "prison", "event_type": "release",
               "from": "2024-01-01", "to": "2024-12-31",
               "filters": {"sentence_band": ["4y-plus", "12m-4y"],
                           "area": ["anywhere"]}},
    "outcomes": [{"name": "o", "agency_type": "police", "event_type": "charge",
                  "window_days": [1, 365]}]})",
                          "q.json");
  ASSERT_TRUE(q.ok()) << q.status();
  // Declared values pass; an attribute without a codelist is open.
  EXPECT_TRUE(CheckQuerySpace(*q, space).ok()) << CheckQuerySpace(*q, space);
  CohortQuery bad = *q;
  (*bad.mutable_cohort()->mutable_event()->mutable_filters())["sentence_band"]
      .add_values("5y");
  EXPECT_EQ(CheckQuerySpace(bad, space).message(),
            "cohort.filters.sentence_band: '5y' is not a declared value of "
            "sentence_band (declared: 12m-4y, 4y-plus, under-12m)");
  CohortQuery outcome = *q;
  (*outcome.mutable_outcomes(0)
        ->mutable_event()
        ->mutable_filters())["sentence_band"]
      .add_values("life");
  EXPECT_NE(CheckQuerySpace(outcome, space)
                .message()
                .find("outcomes[0].filters.sentence_band: 'life'"),
            std::string::npos);
  QuerySpace empty;
  empty.codelists["x"] = {};
  EXPECT_EQ(ValidateQuerySpace(empty).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace cohortlink::cohort
