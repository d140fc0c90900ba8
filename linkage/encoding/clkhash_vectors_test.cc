// Interop: our CLKs must equal clkhash's, bit for bit, on the published
// vectors in ../shared/datasets.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "linkage/encoding/clkhash_encoder.h"
#include "linkage/encoding/clkhash_schema.h"
#include "linkage/encoding/csv_reader.h"
#include "linkage/encoding/json.h"
#include "linkage/encoding/test_data.h"
#include "util/atomic_file.h"
#include "util/text.h"

namespace cohortlink::encoding {
namespace {

using google::protobuf::Value;

Value LoadJson(const std::string& rel) {
  auto text = util::ReadFile(testing::DatasetPath(rel));
  EXPECT_TRUE(text.ok()) << text.status();
  auto v = ParseJson(*text, rel);
  EXPECT_TRUE(v.ok()) << v.status();
  return *v;
}

std::vector<std::string> Clks(const Value& doc) {
  std::vector<std::string> out;
  for (const Value& v :
       doc.struct_value().fields().at("clks").list_value().values()) {
    out.push_back(v.string_value());
  }
  return out;
}

TEST(ClkhashVectorsTest, RegressionVectorV1SchemaNonAscii) {
  REQUIRE_DATASET("clkhash/test-vectors.json");
  Value doc = LoadJson("clkhash/test-vectors.json");
  const auto& f = doc.struct_value().fields();
  auto schema = ParseClkhashSchema(f.at("schema"));
  ASSERT_TRUE(schema.ok()) << schema.status();
  EXPECT_EQ(schema->version, 1);
  auto enc = ClkhashEncoder::Create(*schema, f.at("secret").string_value());
  ASSERT_TRUE(enc.ok()) << enc.status();

  std::vector<std::string> expected = {
      f.at("expected_clks_base64_from_repo")
          .struct_value()
          .fields()
          .at("0")
          .string_value(),
      f.at("expected_clks_base64_from_repo")
          .struct_value()
          .fields()
          .at("1")
          .string_value(),
      f.at("expected_clk_row2_computed_here_not_in_repo").string_value()};
  const auto& rows = f.at("rows").list_value().values();
  ASSERT_EQ(rows.size(), 3);
  for (int r = 0; r < 3; ++r) {
    std::vector<std::string> fields;
    for (const Value& v : rows[r].list_value().values())
      fields.push_back(v.string_value());
    std::string clk;
    ASSERT_TRUE((*enc)->Encode(fields, &clk).ok()) << "row " << r;
    EXPECT_EQ(util::Base64Encode(clk), expected[r]) << "row " << r;
  }
}

// Encodes every row of `csv` (header first) with `schema_file` and
// `secret`, and compares each CLK with the row's in `clks`.
void CheckFile(const std::string& schema_file, const std::string& secret,
               const std::string& csv, const std::string& clks, size_t rows) {
  REQUIRE_DATASET(schema_file);
  REQUIRE_DATASET(csv);
  REQUIRE_DATASET(clks);
  auto schema = ParseClkhashSchema(LoadJson(schema_file));
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto enc = ClkhashEncoder::Create(*schema, secret);
  ASSERT_TRUE(enc.ok()) << enc.status();
  std::vector<std::string> expected = Clks(LoadJson(clks));
  ASSERT_EQ(expected.size(), rows);

  auto reader = CsvReader::Open(testing::DatasetPath(csv));
  ASSERT_TRUE(reader.ok());
  CsvRow row;
  ASSERT_TRUE(*(*reader)->Next(&row));  // header
  size_t i = 0, mismatches = 0;
  while (*(*reader)->Next(&row)) {
    std::string clk;
    ASSERT_TRUE((*enc)->Encode(row.fields, &clk).ok()) << "line " << row.line;
    ASSERT_LT(i, expected.size());
    if (util::Base64Encode(clk) != expected[i]) {
      ++mismatches;
      ADD_FAILURE() << csv << " line " << row.line << ": CLK differs";
      if (mismatches >= 10) break;
    }
    ++i;
  }
  EXPECT_EQ(mismatches, 0u);
  if (mismatches == 0) {
    EXPECT_EQ(i, rows);
  }
}

void CheckNcvrFile(const std::string& csv, const std::string& clks) {
  CheckFile("ncvr/novt_schema.json", "secret", csv, clks, 5000);
}

// Empty and missing values of every feature type (2-grams, exact with and
// without a sentinel, dates, positional 1-grams, a replaced sentinel),
// made by clkhash 0.18.3.
TEST(ClkhashVectorsTest, EmptyValuesOfEveryFeatureType) {
  CheckFile("clkhash/empty-values/schema.json", "empty values 7",
            "clkhash/empty-values/rows.csv", "clkhash/empty-values/clks.json",
            61);
}

TEST(ClkhashVectorsTest, NcvrParty0MatchesAnonlinkClientClks) {
  CheckNcvrFile("ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_0_nump_10.csv",
                "anonlink-client/novt_clk_0.json");
}

TEST(ClkhashVectorsTest, NcvrParty1MatchesAnonlinkClientClks) {
  CheckNcvrFile("ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_1_nump_10.csv",
                "anonlink-client/novt_clk_1.json");
}

}  // namespace
}  // namespace cohortlink::encoding
