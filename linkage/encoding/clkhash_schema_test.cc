#include "linkage/encoding/clkhash_schema.h"

#include "gtest/gtest.h"
#include "linkage/encoding/json.h"
#include "linkage/encoding/test_data.h"
#include "util/atomic_file.h"

namespace cohortlink::encoding {
namespace {

absl::StatusOr<ClkhashSchema> Load(const std::string& rel) {
  auto text = util::ReadFile(testing::DatasetPath(rel));
  if (!text.ok()) return text.status();
  auto v = ParseJson(*text, rel);
  if (!v.ok()) return v.status();
  return ParseClkhashSchema(*v);
}

absl::StatusOr<ClkhashSchema> FromText(const std::string& json) {
  auto v = ParseJson(json, "inline");
  if (!v.ok()) return v.status();
  return ParseClkhashSchema(*v);
}

TEST(ClkhashSchemaTest, AcceptsGoodSchemasOfEveryVersion) {
  REQUIRE_DATASET("clkhash/good-schema-v1.json");
  for (const char* f :
       {"clkhash/good-schema-v1.json", "clkhash/good-schema-v2.json",
        "clkhash/febrl_schema_v3_final.json", "clkhash/ignorant-schema-v3.json",
        "clkhash/simple-schema.json",
        "clkhash/randomnames-schema-num-bits-v2.json",
        "ncvr/novt_schema.json"}) {
    auto s = Load(f);
    EXPECT_TRUE(s.ok()) << f << ": " << s.status();
  }
}

TEST(ClkhashSchemaTest, ConvertsV1WeightsAndV2Strategies) {
  REQUIRE_DATASET("clkhash/good-schema-v2.json");
  auto v2 = Load("clkhash/good-schema-v2.json");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->features[1].bits_per_feature, 200u);  // numBits
  EXPECT_EQ(v2->features[2].bits_per_token, 20u);     // k
  EXPECT_EQ(v2->features[2].hash, ClkhashFeature::Hash::kBlakeHash);
  EXPECT_TRUE(v2->features[0].ignored);

  auto v1 = FromText(R"({"version":1,"clkConfig":{"l":1024,"k":30,
      "hash":{"type":"doubleHash"},"kdf":{"type":"HKDF"}},
      "features":[{"identifier":"a","format":{"type":"string"},
                   "hashing":{"ngram":2,"weight":0.5}},
                  {"identifier":"b","format":{"type":"string"},
                   "hashing":{"ngram":2,"weight":2.5}}]})");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_EQ(v1->features[0].bits_per_token, 15u);
  EXPECT_EQ(v1->features[1].bits_per_token, 75u);
  EXPECT_EQ(v1->features[1].hash, ClkhashFeature::Hash::kDoubleHash);
}

TEST(ClkhashSchemaTest, RejectsBadSchemasNamingTheField) {
  REQUIRE_DATASET("clkhash/bad-schema-v1.json");
  auto v1 = Load("clkhash/bad-schema-v1.json");
  EXPECT_EQ(v1.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v1.status().message().find("clkConfig.l"), std::string::npos)
      << v1.status();
  auto v2 = Load("clkhash/bad-schema-v2.json");
  EXPECT_EQ(v2.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(v2.status().message().find("features[0]"), std::string::npos)
      << v2.status();
  auto v3 = Load("clkhash/bad-schema-v3.json");
  EXPECT_EQ(v3.status().code(), absl::StatusCode::kInvalidArgument);
  auto v99 = Load("clkhash/good-but-unsupported-schema-v1.json");
  EXPECT_NE(v99.status().message().find("version"), std::string::npos);
}

TEST(ClkhashSchemaTest, RefusesNumericComparisonsClearly) {
  REQUIRE_DATASET("clkhash/good-schema-v3.json");
  auto s = Load("clkhash/good-schema-v3.json");
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("features[11].hashing.comparison.type"),
            std::string::npos)
      << s.status();
}

TEST(ClkhashSchemaTest, ErrorsNameThePath) {
  auto s =
      FromText(R"({"version":3,"clkConfig":{"l":1024,"kdf":{"type":"HKDF"}},
      "features":[{"identifier":"a","format":{"type":"string"},
      "hashing":{"comparison":{"type":"ngram","n":2},
                 "strategy":{"bitsPerToken":"ten"}}}]})");
  EXPECT_EQ(
      s.status().message(),
      "features[0].hashing.strategy.bitsPerToken: expected an integer >= 1");
  auto blake =
      FromText(R"({"version":3,"clkConfig":{"l":1000,"kdf":{"type":"HKDF"}},
      "features":[{"identifier":"a","format":{"type":"string"},
      "hashing":{"comparison":{"type":"ngram","n":2},
                 "strategy":{"bitsPerToken":10}}}]})");
  EXPECT_NE(blake.status().message().find("power of two"), std::string::npos);
}

TEST(PythonRegexTest, FullMatchSemantics) {
  auto re = PythonRegex::Compile("[a-z][a-z][a-z]\\d\\d\\d");
  ASSERT_TRUE(re.ok());
  EXPECT_TRUE((*re)->FullMatch("kev007"));
  EXPECT_FALSE((*re)->FullMatch("kev0071"));
  EXPECT_FALSE((*re)->FullMatch("xkev007"));
  auto z = PythonRegex::Compile("(?:\\d\\d\\d\\d/\\d\\d/\\d\\d)\\Z");
  ASSERT_TRUE(z.ok());
  EXPECT_TRUE((*z)->FullMatch("2001/02/03"));
  EXPECT_FALSE(PythonRegex::Compile("(unclosed").ok());
}

}  // namespace
}  // namespace cohortlink::encoding
