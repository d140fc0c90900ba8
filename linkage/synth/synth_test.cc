#include "linkage/synth/synth.h"

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "gtest/gtest.h"
#include "linkage/encoding/normalise.h"
#include "util/atomic_file.h"
#include "util/temp_dir.h"

namespace cohortlink::synth {
namespace {

using encoding::DaysFromCivil;

const Region& AvonAndSomerset() {
  static const Region* r = new Region(*FindRegion("avon-and-somerset"));
  return *r;
}

std::vector<Person> Population(uint64_t seed, uint64_t n,
                               const LifeCourseParams& p = {}) {
  NameTables names;
  std::vector<Person> out;
  for (uint64_t i = 0; i < n; ++i)
    out.push_back(GeneratePerson(seed, i, AvonAndSomerset(), names, p));
  return out;
}

TEST(SynthTest, PersonsAreDeterministicBySeedAndIndex) {
  NameTables names;
  Person a = GeneratePerson(42, 17, AvonAndSomerset(), names, {});
  Person b = GeneratePerson(42, 17, AvonAndSomerset(), names, {});
  Person c = GeneratePerson(43, 17, AvonAndSomerset(), names, {});
  EXPECT_EQ(a.identity.given + a.identity.surname,
            b.identity.given + b.identity.surname);
  EXPECT_EQ(a.events.size(), b.events.size());
  EXPECT_FALSE(a.identity.given == c.identity.given &&
               a.identity.surname == c.identity.surname &&
               a.identity.dob == c.identity.dob);
}

TEST(SynthTest, FilesAreDeterministicBySeed) {
  util::TempDir t1("synth_a"), t2("synth_b"), t3("synth_c");
  SynthOptions o;
  o.people = 500;
  o.seed = 9;
  o.out_dir = t1.path().string();
  ASSERT_TRUE(GenerateRegion(o).ok());
  o.out_dir = t2.path().string();
  ASSERT_TRUE(GenerateRegion(o).ok());
  o.seed = 10;
  o.out_dir = t3.path().string();
  ASSERT_TRUE(GenerateRegion(o).ok());
  for (const char* f :
       {"police.csv", "prison.csv", "truth.csv", "local-authority.csv"}) {
    EXPECT_EQ(*util::ReadFile(t1.File(f)), *util::ReadFile(t2.File(f))) << f;
    EXPECT_NE(*util::ReadFile(t1.File(f)), *util::ReadFile(t3.File(f))) << f;
  }
}

// Rates of the life course within tolerance of the configured ones.
TEST(SynthTest, EventRatesFollowParameters) {
  LifeCourseParams params;
  auto people = Population(3, 30000, params);
  int female = 0, releases = 0, licensed = 0, housed_checked = 0, recalled = 0;
  int early_releases = 0, child_police = 0, child_ooc = 0;
  int reoff_n[2] = {0, 0}, reoff_x[2] = {0, 0};
  for (const auto& p : people) {
    female += p.identity.female;
    for (const auto& e : p.events) {
      int age = encoding::AgeInYears(p.identity.dob, e.date);
      if (e.agency == kPolice && age < 18 && e.type != "charge") {
        ++child_police;
        child_ooc += e.type == "out_of_court_resolution";
      }
      if (e.type != "release") continue;
      int64_t r = DaysFromCivil(e.date);
      ++releases;
      bool lic = false, housed = false, recall = false, reoff = false;
      for (const auto& f : p.events) {
        int64_t d = DaysFromCivil(f.date) - r;
        lic |= f.type == "supervision_start" && d == 0;
        housed |= f.type == "accommodation_assessment" && d == 0;
        recall |= f.type == "recall" && d >= 20 && d <= 300;
        reoff |= f.type == "charge" && d >= 1 && d <= 365;
      }
      licensed += lic;
      housed_checked += housed;
      if (e.date.year <= 2024) {  // the window covers the following year
        ++early_releases;
        recalled += recall;
        reoff_n[p.identity.female]++;
        reoff_x[p.identity.female] += reoff;
      }
    }
  }
  ASSERT_GT(releases, 1000);
  EXPECT_NEAR(female / 30000.0, params.female, 0.01);
  // Supervision and assessments on the release day; other events of the
  // same kind can coincide, so allow a little above the configured rate.
  EXPECT_NEAR(static_cast<double>(licensed) / releases, params.licence, 0.02);
  EXPECT_NEAR(static_cast<double>(housed_checked) / releases,
              params.accommodation_release, 0.03);
  EXPECT_NEAR(static_cast<double>(recalled) / early_releases, params.recall,
              0.04);
  EXPECT_NEAR(static_cast<double>(child_ooc) / child_police, params.child_ooc,
              0.05);
  double men = static_cast<double>(reoff_x[0]) / reoff_n[0];
  double women = static_cast<double>(reoff_x[1]) / reoff_n[1];
  double all =
      static_cast<double>(reoff_x[0] + reoff_x[1]) / (reoff_n[0] + reoff_n[1]);
  EXPECT_GT(all, 0.25);
  EXPECT_LT(all, 0.50);
  EXPECT_GT(men, women);
}

TEST(SynthTest, WomenAndYoungAdultsArePresent) {
  auto people = Population(5, 5000);
  int young = 0;
  for (const auto& p : people) young += p.age >= 18 && p.age <= 24;
  EXPECT_NEAR(young / 5000.0, 0.20, 0.03);
}

Identity Truth() {
  Identity t;
  t.given = "Christopher";
  t.surname = "Thompson";
  t.dob = {1988, 5, 7};
  t.postcode = "BS5 6QT";
  t.area = "bristol";
  t.female = true;
  return t;
}

double Rate(const CorruptionRates& r,
            const std::function<bool(const Identity&)>& changed,
            int n = 20000) {
  NameTables names;
  Rng rng(11);
  int k = 0;
  for (int i = 0; i < n; ++i)
    k += changed(Corrupt(Truth(), 35, r, names, AvonAndSomerset(), rng));
  return static_cast<double>(k) / n;
}

CorruptionRates None() { return CorruptionRates().Scaled(0); }

TEST(CorruptTest, ZeroRatesChangeNothing) {
  EXPECT_EQ(Rate(None(),
                 [](const Identity& id) {
                   return id.given != "Christopher" ||
                          id.surname != "Thompson" ||
                          !(id.dob == encoding::Date{1988, 5, 7}) ||
                          id.postcode != "BS5 6QT" || id.dob_missing;
                 }),
            0.0);
}

TEST(CorruptTest, EachErrorAppearsAtItsRate) {
  CorruptionRates r = None();
  r.missing_dob = 0.3;
  EXPECT_NEAR(Rate(r, [](const Identity& id) { return id.dob_missing; }), 0.3,
              0.015);
  r = None();
  r.dob_day_month = 0.4;  // day 7 <= 12, so always swappable
  EXPECT_NEAR(Rate(r, [](const Identity& id) { return id.dob.month == 7; }),
              0.4, 0.015);
  r = None();
  r.moved = 0.25;
  EXPECT_NEAR(
      Rate(r, [](const Identity& id) { return id.postcode != "BS5 6QT"; }),
      0.25, 0.015);
  r = None();
  r.nickname = 0.5;  // Christopher has one known nickname: Chris
  EXPECT_NEAR(Rate(r, [](const Identity& id) { return id.given == "Chris"; }),
              0.5, 0.015);
  r = None();
  r.marriage = 0.2;  // a new surname drawn from the table (may repeat rarely)
  EXPECT_NEAR(
      Rate(r, [](const Identity& id) { return id.surname != "Thompson"; }), 0.2,
      0.015);
  r = None();
  r.typo = 0.6;  // per name; a substitution can redraw the same letter
  double typo =
      Rate(r, [](const Identity& id) { return id.surname != "Thompson"; });
  EXPECT_GT(typo, 0.55);
  EXPECT_LT(typo, 0.61);
}

TEST(CorruptTest, RatesFromJson) {
  auto r = CorruptionRates::FromJson(R"({"typo": 0.25, "moved": 0})", "p.json");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_DOUBLE_EQ(r->typo, 0.25);
  EXPECT_DOUBLE_EQ(r->moved, 0.0);
  EXPECT_DOUBLE_EQ(r->nickname, CorruptionRates().nickname);
  EXPECT_NE(std::string(CorruptionRates::FromJson(R"({"typos": 0.1})", "p.json")
                            .status()
                            .message())
                .find("typos: unknown field"),
            std::string::npos);
  EXPECT_NE(std::string(CorruptionRates::FromJson(R"({"typo": 1.5})", "p.json")
                            .status()
                            .message())
                .find("between 0 and 1"),
            std::string::npos);
}

TEST(SynthTest, EveryPersonAppearsInSomeExtract) {
  for (const auto& p : Population(8, 3000))
    EXPECT_FALSE(p.events.empty()) << p.index;
}

TEST(CorruptTest, EditsAreSingleEdits) {
  Rng rng(1);
  for (int i = 0; i < 200; ++i) {
    std::string t = Typo("Thompson", rng);
    EXPECT_LE(std::abs(static_cast<int>(t.size()) - 8), 1);
  }
  EXPECT_EQ(OcrConfuse("xyz", rng), "xyz");
  std::string o = OcrConfuse("BOB", rng);
  EXPECT_NE(o, "BOB");
}

TEST(RegionTest, PostcodesAreUkShapedAndInTheirAuthority) {
  Rng rng(2);
  for (const auto& la : AvonAndSomerset().authorities) {
    for (int i = 0; i < 50; ++i) {
      std::string pc = RandomPostcode(la, rng);
      EXPECT_EQ(encoding::NormalisePostcodeUk(pc), pc);
      std::string outward = pc.substr(0, pc.find(' '));
      EXPECT_NE(std::find(la.districts.begin(), la.districts.end(), outward),
                la.districts.end());
    }
  }
  EXPECT_FALSE(FindRegion("atlantis").ok());
}

TEST(NamesTest, FrequenciesAreZipfLike) {
  NameTables names;
  Rng rng(4);
  std::map<std::string, int> counts;
  for (int i = 0; i < 50000; ++i) ++counts[names.Surname(rng)];
  EXPECT_GT(counts["Smith"], 4 * counts["Barnett"]);
  EXPECT_GT(counts.size(), 250u);  // the long tail is drawn too
  EXPECT_EQ(names.Nickname("William", rng).empty(), false);
  EXPECT_EQ(names.Variant("Steven", rng), "Stephen");
}

}  // namespace
}  // namespace cohortlink::synth
