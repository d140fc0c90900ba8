// End-to-end linkage quality on public datasets with ground truth: encode
// (the real encoder, a fixed secret), link with default settings, score
// against the truth. Skips when ../shared/datasets is absent.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "gtest/gtest.h"
#include "linkage/encoding/encode_pipeline.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/entities/linker.h"
#include "linkage/eval/evaluate.h"
#include "linkage/synth/dedupe_extract.h"
#include "linkage/synth/synth.h"
#include "util/temp_dir.h"

namespace cohortlink::entities {
namespace {

std::string Datasets() {
  const char* env = std::getenv("COHORTLINK_DATASETS_DIR");
  return env ? env : COHORTLINK_DATASETS_DIR;
}

struct Source {
  std::string agency, csv;
};

struct LinkRun {
  LinkResult result;
  eval::Metrics metrics;
  double pair_completeness = 0;
};

// Encodes each source with `schema`, links them all and evaluates.
LinkRun LinkAndScore(const std::string& schema_path,
                     const std::vector<Source>& sources,
                     const std::string& derivation, bool skip_initial_space,
                     const std::string& truth_csv = "") {
  util::TempDir tmp("linkage_quality_test");
  auto schema = encoding::LoadSchemaFile(schema_path);
  EXPECT_TRUE(schema.ok()) << schema.status();
  eval::Truth truth;
  std::vector<std::vector<cohortlink::v1::EncodedRecord>> records;
  std::optional<blocking::Dataset> data;
  std::vector<std::pair<size_t, std::string>> keys;  // source, record key
  for (size_t s = 0; s < sources.size(); ++s) {
    auto enc =
        encoding::NewRecordEncoder(*schema, "linkage quality secret", {});
    EXPECT_TRUE(enc.ok()) << enc.status();
    encoding::EncodeOptions eo;
    eo.threads = 2;
    eo.csv.skip_initial_space = skip_initial_space;
    eo.key_map_path = tmp.File(sources[s].agency + ".keys");
    std::string out = tmp.File(sources[s].agency + ".clx");
    auto r = encoding::EncodeCsv(**enc, sources[s].csv, out, eo);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!schema->is_native()) {
      // A clkhash schema's record key is the row number: map it to the
      // first column (the dataset's record id), as a user scoring these
      // files would.
      std::ifstream in(sources[s].csv);
      std::ofstream km(eo.key_map_path);
      std::string line;
      std::getline(in, line);
      km << "local_id,record_key\n";
      for (uint64_t row = 0; std::getline(in, line); ++row) {
        std::string id = line.substr(0, line.find(','));
        km << id << ',' << row << '\n';
      }
    }
    EXPECT_TRUE(truth.LoadKeyMap(sources[s].agency, eo.key_map_path).ok());
    auto reader = encoding::ExtractReader::Open(out);
    EXPECT_TRUE(reader.ok()) << reader.status();
    if (!data)
      data = *blocking::Dataset::ForLayout((*reader)->header().layout());
    std::string bytes;
    cohortlink::v1::EncodedRecord rec;
    while (*(*reader)->Next(&bytes)) {
      EXPECT_TRUE(rec.ParseFromString(bytes));
      EXPECT_TRUE(data->Add(static_cast<uint32_t>(s), rec).ok());
      keys.push_back({s, rec.record_key()});
    }
  }
  if (!derivation.empty()) {
    EXPECT_TRUE(truth.SetDerivation(derivation).ok());
  }
  if (!truth_csv.empty()) {
    EXPECT_TRUE(truth.LoadTruthCsv(truth_csv).ok());
  }
  LinkRun run;
  auto linked = LinkAll(*std::move(data));
  EXPECT_TRUE(linked.ok()) << linked.status();
  run.result = *std::move(linked);
  // Weights never rise as a field's similarity falls.
  const model::Model& model = run.result.model;
  for (size_t c = 0; c < model.fields.size(); ++c) {
    if (model.fields[c].members.size() != 1) continue;
    for (size_t l = 1; l < model.fields[c].m.size(); ++l) {
      // (pooled levels are equal up to rounding)
      EXPECT_GE(model.LevelWeight(c, static_cast<uint8_t>(l - 1)) + 1e-9,
                model.LevelWeight(c, static_cast<uint8_t>(l)))
          << model.fields[c].name << " level " << l;
    }
  }
  std::vector<eval::LinkRow> rows;
  for (size_t i = 0; i < keys.size(); ++i) {
    rows.push_back({sources[keys[i].first].agency, "x", keys[i].second,
                    std::to_string(run.result.clustering.entity[i]),
                    run.result.clustering.probability[i]});
  }
  run.metrics = eval::Evaluate(rows, truth);
  // Pair completeness: the share of true same-person pairs that are
  // identical (linked directly) or whose representatives were candidates
  // (LinkState::Candidates, the pairs the run scored).
  std::map<std::string, std::vector<uint32_t>> by_person;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string* p =
        truth.PersonOf(sources[keys[i].first].agency, keys[i].second);
    if (p != nullptr) by_person[*p].push_back(static_cast<uint32_t>(i));
  }
  const LinkState& state = *run.result.state;
  auto candidates = state.Candidates();
  std::set<std::pair<uint32_t, uint32_t>> candidate_set(candidates.begin(),
                                                        candidates.end());
  uint64_t true_pairs = 0, found = 0;
  for (const auto& [person, recs] : by_person) {
    for (size_t x = 0; x < recs.size(); ++x) {
      for (size_t y = x + 1; y < recs.size(); ++y) {
        ++true_pairs;
        uint32_t a = state.representative(recs[x]),
                 b = state.representative(recs[y]);
        found +=
            a == b || candidate_set.contains({std::min(a, b), std::max(a, b)});
      }
    }
  }
  run.pair_completeness =
      true_pairs == 0 ? 1.0 : static_cast<double>(found) / true_pairs;
  const auto& b = run.result.blocking;
  std::printf(
      "records=%zu candidates=%llu reduction=%.6f completeness=%.4f "
      "lsh=%dx%d "
      "em_iterations=%d prior=%.3g within_prior=%.3g entities=%llu "
      "refused_merges=%llu "
      "precision=%.4f recall=%.4f f1=%.4f within-agency precision=%.4f "
      "recall=%.4f\n",
      keys.size(), static_cast<unsigned long long>(b.candidates),
      b.reduction_ratio(), run.pair_completeness, b.lsh.tables, b.lsh.bits,
      run.result.model.em_iterations, run.result.model.prior,
      run.result.model.within_source_prior,
      static_cast<unsigned long long>(run.result.clustering.stats.entities),
      static_cast<unsigned long long>(
          run.result.clustering.stats.refused_merges),
      run.metrics.pairwise.precision, run.metrics.pairwise.recall,
      run.metrics.pairwise.f1, run.metrics.within_agency.precision,
      run.metrics.within_agency.recall);
  for (const auto& f : run.result.model.fields) {
    std::printf("  %-14s", f.name.c_str());
    for (size_t l = 0; l < f.m.size(); ++l)
      std::printf(" m=%.3f u=%.2e |", f.m[l], f.u[l]);
    std::printf("\n");
  }
  return run;
}

class LinkageQualityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!std::filesystem::exists(Datasets() + "/febrl/dataset4a.csv"))
      GTEST_SKIP() << "datasets not found at " << Datasets();
  }
  std::string Schema(const std::string& name) {
    return std::string(COHORTLINK_SOURCE_DIR) + "/examples/schemas/" + name;
  }
  // synth::WriteDedupeExtract of Febrl 4a's people, linked with `schema`.
  LinkRun LinkHardDedupe(const std::string& schema) {
    util::TempDir tmp("linkage_quality_dedupe");
    const std::string csv = tmp.File("dedupe.csv");
    auto written =
        synth::WriteDedupeExtract(Datasets() + "/febrl/dataset4a.csv", csv);
    EXPECT_TRUE(written.ok()) << written;
    return LinkAndScore(Schema(schema), {{"a", csv}}, "febrl", false);
  }
};

TEST_F(LinkageQualityTest, Febrl4aAgainst4b) {
  LinkRun r = LinkAndScore(Schema("febrl-linkage.json"),
                           {{"a", Datasets() + "/febrl/dataset4a.csv"},
                            {"b", Datasets() + "/febrl/dataset4b.csv"}},
                           "febrl", true);
  EXPECT_GE(r.metrics.pairwise.f1, 0.998);
  EXPECT_GE(r.pair_completeness, 0.99);
}

TEST_F(LinkageQualityTest, Febrl3DuplicatesWithinOneFile) {
  LinkRun r =
      LinkAndScore(Schema("febrl-linkage.json"),
                   {{"a", Datasets() + "/febrl/dataset3.csv"}}, "febrl", true);
  EXPECT_GE(r.metrics.pairwise.f1, 0.95);
  EXPECT_GE(r.pair_completeness, 0.99);
}

TEST_F(LinkageQualityTest, Febrl1DuplicatesWithinOneFile) {
  LinkRun r =
      LinkAndScore(Schema("febrl-linkage.json"),
                   {{"a", Datasets() + "/febrl/dataset1.csv"}}, "febrl", true);
  EXPECT_GE(r.metrics.pairwise.f1, 0.98);
}

TEST_F(LinkageQualityTest, Febrl2DuplicatesWithinOneFile) {
  LinkRun r =
      LinkAndScore(Schema("febrl-linkage.json"),
                   {{"a", Datasets() + "/febrl/dataset2.csv"}}, "febrl", true);
  EXPECT_GE(r.metrics.pairwise.f1, 0.98);
}

// One extract where a person has 1 to 8 records, each corrupted
// independently (synth::WriteDedupeExtract), with only names, date of
// birth and town: many of a person's records are not linked to each other
// directly, and clustering must gather them without chaining different
// people. Requiring every same-extract pair to be linked directly gave
// recall 0.760 here; weighing every pair of a merge gives 0.845.
TEST_F(LinkageQualityTest, HardDedupeWithinOneFile) {
  LinkRun r = LinkHardDedupe("febrl-names-dob-town.json");
  EXPECT_GE(r.metrics.within_agency.precision, 0.99);
  EXPECT_GE(r.metrics.within_agency.recall, 0.82);
}

// The same extract with every identifier: a quarter of its records moved
// address, which changes all six address fields at once. Compared one by
// one, the address outweighs names and date of birth and EM takes "same
// address" for the match class (F1 0.72); compared as one group
// (febrl-address-grouped.json), 0.97.
TEST_F(LinkageQualityTest, HardDedupeWithMovesAddressAsOneComparison) {
  LinkRun r = LinkHardDedupe("febrl-address-grouped.json");
  EXPECT_GE(r.metrics.within_agency.f1, 0.95);
  bool grouped = false;
  for (const auto& f : r.result.model.fields) grouped |= f.grouped;
  EXPECT_TRUE(grouped);
}

// cohortlink synth's five-agency region at the size the targets name,
// 100,000 people (about 11 s on 2 cores); COHORTLINK_QUALITY_PEOPLE
// changes it.
TEST_F(LinkageQualityTest, SyntheticFiveAgencyRegion) {
  util::TempDir region("linkage_quality_region");
  synth::SynthOptions so;
  so.people = 100000;
  if (const char* people = std::getenv("COHORTLINK_QUALITY_PEOPLE"))
    so.people = std::strtoull(people, nullptr, 10);
  so.out_dir = region.path().string();
  ASSERT_TRUE(synth::GenerateRegion(so).ok());
  std::vector<Source> sources;
  for (const char* agency :
       {"police", "probation", "prison", "health", "local-authority"}) {
    sources.push_back({agency, region.File(std::string(agency) + ".csv")});
  }
  LinkRun r = LinkAndScore(region.File("schema.json"), sources, "", false,
                           region.File("truth.csv"));
  EXPECT_GE(r.metrics.pairwise.f1, 0.97);
  EXPECT_GE(r.pair_completeness, 0.99);
}

std::string ClkhashSchema(const std::string& name) {
  return Datasets() + "/" + name;
}

// clkhash's record-level CLK (one 1024-bit filter): the single-comparison
// model (a Beta mixture over each record's closest candidates). Blocking
// bounds recall here: bit sampling finds about 91% of the true pairs of
// these dense filters (the target is F1 0.995).
TEST_F(LinkageQualityTest, Febrl4RecordLevelClk) {
  LinkRun r = LinkAndScore(ClkhashSchema("clkhash/febrl_schema_v3_final.json"),
                           {{"a", Datasets() + "/febrl/dataset4a.csv"},
                            {"b", Datasets() + "/febrl/dataset4b.csv"}},
                           "febrl", true);
  EXPECT_GE(r.metrics.pairwise.precision, 0.99);
  EXPECT_GE(r.metrics.pairwise.f1, 0.94);
}

TEST_F(LinkageQualityTest, NcvrRecordLevelClk) {
  const std::string dir =
      Datasets() + "/ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_";
  LinkRun r = LinkAndScore(ClkhashSchema("ncvr/novt_schema.json"),
                           {{"p0", dir + "0_nump_10.csv"},
                            {"p1", dir + "1_nump_10.csv"},
                            {"p2", dir + "2_nump_10.csv"}},
                           "id", false);
  EXPECT_GE(r.metrics.pairwise.f1, 0.96);
}

TEST_F(LinkageQualityTest, NcvrThreePartiesWithCorruption) {
  const std::string dir =
      Datasets() + "/ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_";
  LinkRun r = LinkAndScore(Schema("ncvr-linkage.json"),
                           {{"p0", dir + "0_nump_10.csv"},
                            {"p1", dir + "1_nump_10.csv"},
                            {"p2", dir + "2_nump_10.csv"}},
                           "id", false);
  EXPECT_GE(r.metrics.pairwise.f1, 0.96);
}

}  // namespace
}  // namespace cohortlink::entities
