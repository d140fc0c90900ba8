// A hostile analyst against the real server and CLI, on a synthetic region
// of 20,000 people (prison and police extracts): differencing over date
// windows, differences over unions of attribute values, complements
// (cohort minus outcome, a total minus its cells) and many rephrasings of
// the same set of people, then the same again after a restart and after a
// new linkage run.
//
// The test knows the truth: it joins the exported linkage map with the
// key maps and the extracts, so it can name the set of people (entity ids)
// behind every count the server publishes. What must hold
// (docs/disclosure.md): no two published counts, in any phase, stand for
// sets that differ by 1 to 9 people; the same set always gets the same
// published value; and each published value is within the perturbation
// and rounding of its true count (which checks the test's truth too).

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cohortlink/v1/query.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/dates.h"
#include "tests/cli_runner.h"
#include "tests/server_process.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

constexpr int kThreshold = 10;  // the server's default

int Day(const std::string& iso) {
  auto d = encoding::ParseDate(iso, "%Y-%m-%d");
  return d.ok() ? static_cast<int>(encoding::DaysFromCivil(*d)) : INT32_MIN;
}

// One query of the attack, in the terms the test evaluates itself.
struct Ask {
  int from_month = 1, to_month = 12;  // 2024
  std::vector<std::string> bands;     // the cohort's filter; empty: none
  std::vector<std::pair<int, int>> windows = {{1, 365}};  // police charge
  bool by_sex = false;
};

// The linked region as the test sees it: per entity, its prison releases
// and police charges.
struct Person {
  struct Release {
    int day;
    std::string band, sex;
  };
  std::vector<Release> releases;
  std::vector<int> charges;
};

using Sets = std::vector<std::set<uint64_t>>;

class DisclosureAttackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server_.Start(&error)) << error;
    ASSERT_EQ(Cli({"synth", "--people", "20000", "--out", tmp_.File("region")})
                  .exit_code,
              0);
    std::ofstream(tmp_.File("secret")) << "attack test secret\n";
    for (std::string agency : {"prison", "police"}) {
      Encode(tmp_.File("region/" + agency + ".csv"), agency);
      Upload(agency, "main", agency);
    }
    WaitLinked();
  }

  testing::CliResult Cli(std::vector<std::string> args) {
    return testing::RunCli(args, tmp_.path());
  }
  testing::CliResult As(const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server_, who, std::move(args), tmp_.path());
  }
  void Encode(const std::string& csv, const std::string& name) {
    auto r =
        Cli({"encode", "--schema", tmp_.File("region/schema.json"), "--secret",
             tmp_.File("secret"), "--input", csv, "--output",
             tmp_.File(name + ".clx"), "--key-map", tmp_.File(name + ".keys")});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    extracts_.push_back({name, csv});
  }
  void Upload(const std::string& agency, const std::string& extract,
              const std::string& name) {
    auto r = As(agency, {"upload", "--extract", extract,
                         tmp_.File(name + ".clx"), "--retries", "0"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  void WaitLinked() {
    auto st = As("admin", {"status", "--wait", "300", "--format", "json"});
    ASSERT_EQ(st.exit_code, 0) << st.err;
    ASSERT_NE(st.out.find("\"state\": \"LINKED\""), std::string::npos)
        << st.out;
    LoadTruth();
  }

  // Reads a CSV with a header into rows of named fields.
  static std::vector<std::map<std::string, std::string>> ReadCsv(
      const std::string& path) {
    std::vector<std::map<std::string, std::string>> rows;
    auto reader = encoding::CsvReader::Open(path);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!reader.ok()) return rows;
    encoding::CsvRow header, row;
    if (!(*reader)->Next(&header).value_or(false)) return rows;
    while ((*reader)->Next(&row).value_or(false)) {
      std::map<std::string, std::string> named;
      for (size_t i = 0; i < header.fields.size() && i < row.fields.size(); ++i)
        named[header.fields[i]] = row.fields[i];
      rows.push_back(std::move(named));
    }
    return rows;
  }

  // The truth of the current linkage: the exported map, joined through
  // the key maps with the extracts' events.
  void LoadTruth() {
    auto ex = As("exporter", {"export-links", "--out", tmp_.File("links.csv")});
    ASSERT_EQ(ex.exit_code, 0) << ex.err;
    absl::flat_hash_map<std::string, uint64_t> entity_of;  // record key
    for (const auto& l : ReadCsv(tmp_.File("links.csv")))
      entity_of[l.at("record_key")] = std::stoull(l.at("entity_id"));
    people_.clear();
    for (const auto& [name, csv] : extracts_) {
      absl::flat_hash_map<std::string, std::string> key_of;
      for (const auto& k : ReadCsv(tmp_.File(name + ".keys")))
        key_of[k.at("local_id")] = k.at("record_key");
      for (const auto& r : ReadCsv(csv)) {
        auto e = entity_of.find(key_of[r.at("record_id")]);
        ASSERT_NE(e, entity_of.end()) << "record not linked: " << name;
        Person& p = people_[e->second];
        const int day = Day(r.at("event_date"));
        if (r.at("event_type") == "release") {
          std::string sex = r.at("sex");
          // As the schema's "sex" normaliser writes it.
          sex = sex.empty()
                    ? "unknown"
                    : std::string(1, static_cast<char>(std::tolower(
                                         static_cast<unsigned char>(sex[0]))));
          p.releases.push_back({day, r.at("sentence_band"), sex});
        } else if (r.at("event_type") == "charge") {
          p.charges.push_back(day);
        }
      }
    }
  }

  std::string SpecJson(const Ask& a) {
    const int last[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    std::string filters;
    if (!a.bands.empty()) {
      std::vector<std::string> quoted;
      for (const auto& b : a.bands) quoted.push_back("\"" + b + "\"");
      filters = absl::StrCat(R"(, "filters": {"sentence_band": [)",
                             absl::StrJoin(quoted, ", "), "]}");
    }
    std::vector<std::string> outcomes;
    for (size_t o = 0; o < a.windows.size(); ++o) {
      outcomes.push_back(absl::StrCat(
          R"({"name": "charged)", o, R"(", "agency_type": "police", )",
          R"("event_type": "charge", "window_days": [)", a.windows[o].first,
          ", ", a.windows[o].second, "]}"));
    }
    return absl::StrCat(
        R"({"name": "attack", "cohort": {"agency_type": "prison", )",
        R"("event_type": "release", "from": "2024-)",
        absl::StrFormat("%02d-01", a.from_month), R"(", "to": "2024-)",
        absl::StrFormat("%02d-%02d", a.to_month, last[a.to_month - 1]), "\"",
        filters, R"(}, "outcomes": [)", absl::StrJoin(outcomes, ", "), "]",
        a.by_sex ? R"(, "breakdowns": ["sex"])" : "",
        R"(, "min_match_probability": 0})");
  }

  // The true sets behind the answer's counts, in its order: per cell the
  // cohort, then each outcome. Cells are keyed by their sex label.
  std::map<std::string, Sets> TruthOf(const Ask& a) {
    const int from = Day(absl::StrFormat("2024-%02d-01", a.from_month));
    const int end =
        a.to_month == 12
            ? Day("2024-12-31")
            : Day(absl::StrFormat("2024-%02d-01", a.to_month + 1)) - 1;
    std::map<std::string, Sets> cells;
    for (const auto& [entity, p] : people_) {
      const Person::Release* index = nullptr;
      for (const auto& r : p.releases) {
        if (r.day < from || r.day > end) continue;
        if (!a.bands.empty() &&
            std::find(a.bands.begin(), a.bands.end(), r.band) == a.bands.end())
          continue;
        if (index == nullptr || r.day < index->day) index = &r;
      }
      if (index == nullptr) continue;
      std::vector<std::string> labels = {"all"};
      if (a.by_sex) labels.push_back(index->sex);
      for (const auto& l : labels) {
        Sets& s = cells[l];
        s.resize(1 + a.windows.size());
        s[0].insert(entity);
        for (size_t o = 0; o < a.windows.size(); ++o) {
          for (int c : p.charges) {
            if (c >= index->day + a.windows[o].first &&
                c <= index->day + a.windows[o].second) {
              s[1 + o].insert(entity);
              break;
            }
          }
        }
      }
    }
    return cells;
  }

  // Asks, records every published count with its true set, and returns
  // the published values (-1: suppressed) of the grand total's cohort and
  // outcomes.
  std::vector<int64_t> Run(const Ask& a) {
    std::ofstream(tmp_.File("spec.json")) << SpecJson(a);
    auto r = As("analyst", {"query", "--spec", tmp_.File("spec.json"),
                            "--format", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err << SpecJson(a);
    cohortlink::v1::QueryResult result;
    google::protobuf::util::JsonParseOptions opts;
    opts.ignore_unknown_fields = true;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(r.out, &result, opts).ok())
        << r.out;
    ++queries_;
    differenced_ += result.differenced();
    auto truth = TruthOf(a);
    std::vector<int64_t> total;
    for (const auto& cell : result.cells()) {
      std::string label = cell.labels_size() > 0 ? cell.labels(0) : "all";
      Sets sets = truth[label];
      sets.resize(1 + a.windows.size());
      std::vector<const cohortlink::v1::PublishedCount*> counts = {
          &cell.cohort()};
      for (const auto& o : cell.outcomes()) counts.push_back(&o);
      for (size_t m = 0; m < counts.size(); ++m) {
        const bool shown = !counts[m]->suppressed();
        const int64_t value = static_cast<int64_t>(counts[m]->value());
        if (label == "all") total.push_back(shown ? value : -1);
        ++counts_;
        if (!shown) continue;
        // Within the perturbation (2) and the rounding (to 5).
        EXPECT_LE(std::abs(value - static_cast<int64_t>(sets[m].size())), 4)
            << SpecJson(a) << " cell " << label << " measure " << m;
        errors_.push_back(
            std::abs(value - static_cast<int64_t>(sets[m].size())));
        published_.push_back({sets[m], value, SpecJson(a)});
      }
    }
    if (total.empty()) total.push_back(-1);
    return total;
  }

  // Every attack, in an order chosen by `phase` (so that what one phase
  // publishes is differenced by the next).
  struct Attack {
    std::map<int, std::map<std::string, int64_t>> with, without;  // month, B
  };
  void DateWindows(bool with_4y, Attack* out) {
    for (int m = 1; m <= 12; ++m) {
      for (std::string b : {"under-12m", "12m-4y"}) {
        Ask a;
        a.from_month = m;
        a.bands = with_4y ? std::vector<std::string>{"4y-plus", b}
                          : std::vector<std::string>{b};
        (with_4y ? out->with : out->without)[m][b] = Run(a)[0];
      }
    }
  }
  void Unions() {
    std::vector<std::vector<std::string>> filters = {{},
                                                     {"4y-plus"},
                                                     {"under-12m"},
                                                     {"12m-4y"},
                                                     {"under-12m", "12m-4y"},
                                                     {"4y-plus", "under-12m"},
                                                     {"4y-plus", "12m-4y"}};
    for (const auto& f : filters) {
      Ask a;
      a.bands = f;
      Run(a);
      a.by_sex = true;  // a total and its cells
      Run(a);
    }
    for (int m = 1; m <= 12; ++m) {  // the small count asked directly
      Ask a;
      a.from_month = a.to_month = m;
      a.bands = {"4y-plus"};
      Run(a);
    }
  }
  // The same cohort asked many ways: its count must never move.
  void Rephrasings() {
    std::vector<std::pair<int, int>> windows = {
        {0, 28}, {1, 91}, {0, 182}, {1, 365}, {0, 730}, {1, 7}, {0, 21}};
    std::set<int64_t> seen;
    for (size_t k = 0; k < windows.size(); ++k) {
      Ask a;
      a.bands = k % 2 ? std::vector<std::string>{"4y-plus", "under-12m"}
                      : std::vector<std::string>{"under-12m", "4y-plus"};
      a.windows = {windows[k], windows[(k + 1) % windows.size()]};
      seen.insert(Run(a)[0]);
    }
    EXPECT_EQ(seen.size(), 1u) << "one set of people, several answers";
  }

  // The attacker's estimate of each month's 4y-plus releases, from the
  // four counts around it (where all are published), against the truth.
  void Estimate(const Attack& a, int* months, int* hits) {
    auto truth = [&](int m, const std::string& b, bool with) {
      Ask q;
      q.from_month = m;
      q.bands = with ? std::vector<std::string>{"4y-plus", b}
                     : std::vector<std::string>{b};
      return static_cast<int64_t>(TruthOf(q)["all"][0].size());
    };
    for (int m = 1; m < 12; ++m) {
      const std::string b = "under-12m";
      int64_t x = (truth(m, b, true) - truth(m, b, false)) -
                  (truth(m + 1, b, true) - truth(m + 1, b, false));
      if (x < 1 || x >= kThreshold) continue;
      ++*months;
      std::vector<double> est;
      for (std::string bb : {"under-12m", "12m-4y"}) {
        int64_t v[] = {a.with.at(m).at(bb), a.without.at(m).at(bb),
                       a.with.at(m + 1).at(bb), a.without.at(m + 1).at(bb)};
        if (std::any_of(std::begin(v), std::end(v),
                        [](int64_t c) { return c < 0; }))
          continue;
        est.push_back(static_cast<double>((v[0] - v[1]) - (v[2] - v[3])));
      }
      if (est.empty()) continue;
      double mean = 0;
      for (double e : est) mean += e / static_cast<double>(est.size());
      if (std::llround(mean) == x) ++*hits;
    }
  }

  struct Published {
    std::set<uint64_t> people;
    int64_t value;
    std::string spec;
  };

  // No two published counts stand for sets 1 to 9 people apart; equal sets
  // have equal values.
  void CheckNoSmallDifferences() {
    std::map<size_t, std::vector<const Published*>> by_size;
    for (const auto& p : published_) by_size[p.people.size()].push_back(&p);
    int small = 0;
    for (const auto& p : published_) {
      for (size_t n = p.people.size(); n < p.people.size() + kThreshold; ++n) {
        auto it = by_size.find(n);
        if (it == by_size.end()) continue;
        for (const Published* q : it->second) {
          if (q == &p) continue;
          std::vector<uint64_t> d;
          std::set_symmetric_difference(p.people.begin(), p.people.end(),
                                        q->people.begin(), q->people.end(),
                                        std::back_inserter(d));
          if (d.empty()) {
            EXPECT_EQ(p.value, q->value) << p.spec << "\n" << q->spec;
          } else if (d.size() < static_cast<size_t>(kThreshold) &&
                     ++small <= 5) {
            ADD_FAILURE() << "published counts " << p.value << " and "
                          << q->value << " are of sets " << d.size()
                          << " people apart:\n"
                          << p.spec << "\n"
                          << q->spec;
          }
        }
      }
    }
    EXPECT_EQ(small, 0) << "pairs of published counts a small set apart";
  }

  util::TempDir tmp_{"disclosure_attack_test"};
  testing::ServerProcess server_{tmp_.File("data"), tmp_.File("server.log")};
  std::vector<std::pair<std::string, std::string>> extracts_;  // name, csv
  std::map<uint64_t, Person> people_;
  std::vector<Published> published_;
  std::vector<int64_t> errors_;  // |published - true| per published count
  int queries_ = 0, counts_ = 0;
  uint64_t differenced_ = 0;
};

TEST_F(DisclosureAttackTest, NoSequenceOfQueriesPublishesASmallDifference) {
  // Before: the date-window differencing over unions with 4y-plus.
  Attack attack;
  DateWindows(/*with_4y=*/true, &attack);
  Rephrasings();
  // After a restart, their complements: each differs from a count
  // published before the restart by the 4y-plus releases from its month on.
  server_.Stop(SIGTERM);
  std::string error;
  ASSERT_TRUE(server_.Start(&error)) << error;
  WaitLinked();
  DateWindows(/*with_4y=*/false, &attack);
  Unions();
  int months = 0, hits = 0;
  Estimate(attack, &months, &hits);

  // A new linkage run: three more 4y-plus releases in March, from people
  // the region did not have. Every count that includes them moves by 3.
  {
    auto rows = ReadCsv(tmp_.File("region/prison.csv"));
    std::ofstream late(tmp_.File("late.csv"));
    late << "record_id,given_name,surname,date_of_birth,sex,postcode,area,"
            "event_type,event_date,establishment,sentence_band\n";
    const char* names[] = {"ZEPHANIAH,QUORNBY", "XANTHE,VULPECULA",
                           "QUILLON,ZABRISKIE"};
    for (int k = 0; k < 3; ++k) {
      late << "LATE" << k << "," << names[k] << ",19" << 40 + k << "-0" << k + 1
           << "-1" << k << ",M,BS1 1AA,bristol,release,"
           << "2024-03-1" << k << ",HMP Bristol,4y-plus\n";
    }
  }
  Encode(tmp_.File("late.csv"), "late");
  Upload("prison", "late", "late");
  WaitLinked();
  Attack after;
  DateWindows(true, &after);
  DateWindows(false, &after);
  Unions();
  Rephrasings();

  CheckNoSmallDifferences();
  // The memory is visible to operators.
  const std::string page = testing::HttpGet(server_.metrics_port(), "/metrics");
  const size_t at = page.find("\ncohortlink_published_sets ");
  ASSERT_NE(at, std::string::npos) << page;
  EXPECT_GT(std::atof(page.c_str() + at + 27), 0.0) << page.substr(at, 40);
  EXPECT_GT(differenced_, 0u) << "the attack should have met the rule";
  // The rule costs some counts, not the answers: most are still shown.
  EXPECT_GT(published_.size() * 2, static_cast<size_t>(counts_) / 2)
      << published_.size() << " of " << counts_ << " counts published";
  // With a month grid and two unions, averaging leaves the attacker
  // guessing: most small monthly counts are not recovered.
  EXPECT_LE(hits * 2, months) << hits << " of " << months;
  // Utility: the error of what is shown (perturbation and rounding).
  ASSERT_FALSE(errors_.empty());
  std::sort(errors_.begin(), errors_.end());
  const int64_t median = errors_[errors_.size() / 2];
  EXPECT_LE(median, 3);
  std::cout << queries_ << " queries, " << counts_ << " counts, "
            << published_.size() << " published (median absolute error "
            << median << "), " << differenced_
            << " suppressed by the differencing rule; the estimate hit " << hits
            << " of " << months << " small monthly counts\n";
}

// Declared values (query_space.codelists in the server's config): an
// upload with a value outside its attribute's list is refused with the
// record and nothing is stored; a filter on an undeclared value is refused
// naming the field, and nothing is published or remembered.
TEST(DisclosureCodelistTest, OnlyDeclaredValuesAreStoredOrAskedFor) {
  util::TempDir tmp("disclosure_codelist_test");
  std::ofstream(tmp.File("server.json"))
      << R"({"query_space": {"codelists": {"sentence_band": )"
      << R"(["under-12m", "12m-4y"]}}})";
  testing::ServerProcess server(tmp.File("data"), tmp.File("server.log"));
  server.extra_args = {"--config", tmp.File("server.json")};
  std::string error;
  ASSERT_TRUE(server.Start(&error)) << error;
  auto cli = [&](std::vector<std::string> args) {
    return testing::RunCli(args, tmp.path());
  };
  auto as = [&](const std::string& who, std::vector<std::string> args) {
    return testing::RunCliAs(server, who, std::move(args), tmp.path());
  };
  ASSERT_EQ(
      cli({"synth", "--people", "3000", "--out", tmp.File("region")}).exit_code,
      0);
  std::ofstream(tmp.File("secret")) << "codelist secret\n";
  ASSERT_EQ(
      cli({"encode", "--schema", tmp.File("region/schema.json"), "--secret",
           tmp.File("secret"), "--input", tmp.File("region/prison.csv"),
           "--output", tmp.File("prison.clx")})
          .exit_code,
      0);
  // The region's prison extract has 4y-plus sentences, which the server
  // does not declare.
  auto up = as("prison", {"upload", "--extract", "main", tmp.File("prison.clx"),
                          "--retries", "0"});
  EXPECT_EQ(up.exit_code, 1) << up.out;
  EXPECT_NE(up.err.find("attributes.sentence_band"), std::string::npos)
      << up.err;
  EXPECT_NE(up.err.find("'4y-plus' is not a declared value"), std::string::npos)
      << up.err;
  auto st = as("prison", {"status", "--format", "json"});
  ASSERT_EQ(st.exit_code, 0) << st.err;
  EXPECT_EQ(st.out.find("\"main\""), std::string::npos) << st.out;

  // A filter on an undeclared value: refused, naming the field.
  std::ofstream(tmp.File("q.json")) << R"({"cohort": {"agency_type": "prison",
      "event_type": "release", "from": "2024-01-01", "to": "2024-12-31",
      "filters": {"sentence_band": ["12m-4y", "4y-plus"]}},
      "outcomes": [{"name": "o", "agency_type": "police",
                    "event_type": "charge", "window_days": [1, 365]}]})";
  auto q = as("analyst", {"query", "--spec", tmp.File("q.json")});
  EXPECT_EQ(q.exit_code, 1);
  EXPECT_NE(q.err.find("cohort.filters.sentence_band: '4y-plus' is not a "
                       "declared value of sentence_band (declared: 12m-4y, "
                       "under-12m)"),
            std::string::npos)
      << q.err;
}

}  // namespace
}  // namespace cohortlink
