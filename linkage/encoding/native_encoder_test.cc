#include <set>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "linkage/encoding/bloom.h"
#include "linkage/encoding/record_encoder.h"

namespace cohortlink::encoding {
namespace {

using cohortlink::v1::EncodedRecord;

constexpr char kSchema[] = R"({
  "cohortlink_schema": 1,
  "name": "test",
  "record_key": {"column": "id"},
  "identifiers": [
    {"name": "surname", "normalise": ["fold", "letters", "name"],
     "segment": {"bits": 256, "insert": {"bits_per_token": 8}},
     "clk": {"bits_per_token": 10}},
    {"name": "dob", "type": "date", "date_formats": ["%d/%m/%Y", "%Y-%m-%d"],
     "tokens": {"q": 1, "positional": true},
     "segment": {"bits": 128, "insert": {"bits_per_token": 6}}},
    {"name": "sex", "normalise": ["sex"], "tokens": {"kind": "exact"}}
  ],
  "clk": {"bits": 512},
  "blocking": [{"name": "sx-yob", "parts": [
      {"identifier": "surname", "transform": "soundex"},
      {"identifier": "dob", "transform": "year"}]}],
  "event": {"type": {"column": "event"}, "date_column": "date"},
  "attributes": [{"name": "area", "allowed": ["bristol", "bath"]}],
  "derived": [{"name": "age_band", "kind": "age_band", "from": "dob",
               "bands": [10, 18, 25, 35, 50]}]
})";

const std::vector<std::string> kHeader = {"id",    "surname", "dob", "sex",
                                          "event", "date",    "area"};

std::unique_ptr<RecordEncoder> Make(const std::string& json = kSchema,
                                    const std::string& secret = "s3cret",
                                    const std::string& seed = "") {
  auto schema = ParseNativeSchema(json, "test");
  EXPECT_TRUE(schema.ok()) << schema.status();
  LoadedSchema loaded{*schema, "test"};
  EncoderOptions opts;
  opts.blip_seed = seed;
  auto enc = NewRecordEncoder(loaded, secret, opts);
  EXPECT_TRUE(enc.ok()) << enc.status();
  EXPECT_TRUE((*enc)->BindHeader(kHeader).ok());
  return *std::move(enc);
}

EncodedRecord Encode(RecordEncoder& enc, std::vector<std::string> fields,
                     uint64_t index = 0) {
  EncodedRecord r;
  CsvRow row{std::move(fields), 2};
  auto s = enc.Encode(row, index, &r);
  EXPECT_TRUE(s.ok()) << s;
  return r;
}

std::string Segment(const RecordEncoder& enc, const EncodedRecord& r,
                    const std::string& name) {
  for (const auto& s : enc.header().layout().segments()) {
    if (s.name() == name)
      return r.filters().substr(s.offset_bits() / 8, s.length_bits() / 8);
  }
  return "";
}

TEST(NativeEncoderTest, LayoutPutsClkFirstThenSegments) {
  auto enc = Make();
  const auto& layout = enc->header().layout();
  ASSERT_EQ(layout.segments_size(), 3);
  EXPECT_EQ(layout.segments(0).name(), "clk");
  EXPECT_EQ(layout.segments(1).name(), "surname");
  EXPECT_EQ(layout.segments(1).offset_bits(), 512u);
  EXPECT_EQ(layout.segments(2).name(), "dob");
  EXPECT_EQ(layout.total_bits(), 512u + 256u + 128u);
}

TEST(NativeEncoderTest, NormalisationMakesVariantsEqual) {
  auto enc = Make();
  auto a = Encode(*enc, {"1", "O'Brien", "01/02/1990", "M", "release",
                         "2025-01-10", "bath"});
  auto b = Encode(*enc, {"2", "  OBRIEN ", "1990-02-01", "male", "release",
                         "2025-01-10", ""});
  EXPECT_EQ(Segment(*enc, a, "surname"), Segment(*enc, b, "surname"));
  EXPECT_EQ(Segment(*enc, a, "dob"), Segment(*enc, b, "dob"));
  EXPECT_EQ(a.blocking_tokens(0), b.blocking_tokens(0));
  EXPECT_NE(a.record_key(), b.record_key());
  EXPECT_EQ(a.record_key().size(), 32u);  // hex of 128 bits, never the raw id
  auto c = Encode(
      *enc, {"3", "Smith", "01/02/1990", "M", "release", "2025-01-10", ""});
  EXPECT_NE(Segment(*enc, a, "surname"), Segment(*enc, c, "surname"));
}

TEST(NativeEncoderTest, SecretChangesEverythingKeyed) {
  auto a = Make(kSchema, "one"), b = Make(kSchema, "two");
  std::vector<std::string> row = {
      "1", "Smith", "01/02/1990", "F", "arrest", "2024-05-01", ""};
  auto ra = Encode(*a, row), rb = Encode(*b, row);
  EXPECT_NE(ra.filters(), rb.filters());
  EXPECT_NE(ra.record_key(), rb.record_key());
  EXPECT_NE(ra.blocking_tokens(0), rb.blocking_tokens(0));
  EXPECT_NE(a->header().key_check_value(), b->header().key_check_value());
  EXPECT_EQ(a->header().schema_fingerprint(), b->header().schema_fingerprint());
}

// An unordered rule sorts its parts' values: given name and surname
// swapped give the same token, which an ordered rule does not.
TEST(NativeEncoderTest, UnorderedBlockingRuleIgnoresTheOrderOfItsParts) {
  auto schema = ParseNativeSchema(R"({
    "cohortlink_schema": 1, "name": "t", "record_key": {"column": "id"},
    "identifiers": [
      {"name": "given", "normalise": ["fold", "letters", "name"],
       "segment": {"bits": 128, "insert": {"bits_per_token": 8}}},
      {"name": "surname", "normalise": ["fold", "letters", "name"],
       "segment": {"bits": 128, "insert": {"bits_per_token": 8}}}],
    "blocking": [
      {"name": "names", "parts": [
        {"identifier": "given", "transform": "soundex"},
        {"identifier": "surname", "transform": "soundex"}]},
      {"name": "names-any-order", "unordered": true, "parts": [
        {"identifier": "given", "transform": "metaphone"},
        {"identifier": "surname", "transform": "metaphone"}]}]
  })",
                                  "t");
  ASSERT_TRUE(schema.ok()) << schema.status();
  auto enc = NewRecordEncoder(LoadedSchema{*schema, "t"}, "s3cret", {});
  ASSERT_TRUE(enc.ok()) << enc.status();
  ASSERT_TRUE((*enc)->BindHeader({"id", "given", "surname"}).ok());
  auto tokens = [&](const char* given, const char* surname) {
    EncodedRecord r;
    CsvRow row{{"1", given, surname}, 2};
    auto st = (*enc)->Encode(row, 0, &r);
    EXPECT_TRUE(st.ok()) << st;
    return std::vector<uint64_t>(r.blocking_tokens().begin(),
                                 r.blocking_tokens().end());
  };
  auto a = tokens("Wei", "Zhang"), b = tokens("Zhang", "Wei");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_NE(a[0], b[0]);  // ordered: "W000 Z520" against "Z520 W000"
  std::set<uint64_t> unordered_a(a.begin() + 1, a.end()),
      unordered_b(b.begin() + 1, b.end());
  EXPECT_FALSE(unordered_a.empty());
  EXPECT_EQ(unordered_a, unordered_b);
  // Distinct tokens only, though sorting can merge combinations.
  EXPECT_EQ(unordered_a.size(), a.size() - 1);
}

// compare_group reaches the layout, where the model reads it; a group
// must name only filtered identifiers and not clash with a name.
TEST(NativeEncoderTest, CompareGroupsAreCheckedAndCarriedInTheLayout) {
  auto schema_with = [](const std::string& town_extra) {
    return absl::StrCat(R"({
      "cohortlink_schema": 1, "name": "t", "record_key": {"column": "id"},
      "identifiers": [
        {"name": "street", "compare_group": "address",
         "segment": {"bits": 128, "insert": {"bits_per_token": 8}}},
        {"name": "town")",
                        town_extra, R"(}]})");
  };
  auto ok = ParseNativeSchema(schema_with(R"(, "compare_group": "address",
         "segment": {"bits": 128, "insert": {"bits_per_token": 8}})"),
                              "t");
  ASSERT_TRUE(ok.ok()) << ok.status();
  auto enc = NewRecordEncoder(LoadedSchema{*ok, "t"}, "s3cret", {});
  ASSERT_TRUE(enc.ok()) << enc.status();
  const auto& layout = (*enc)->header().layout();
  ASSERT_EQ(layout.segments_size(), 2);
  EXPECT_EQ(layout.segments(0).compare_group(), "address");
  EXPECT_EQ(layout.segments(1).compare_group(), "address");
  auto no_filter = ParseNativeSchema(
      schema_with(
          R"(, "compare_group": "address", "tokens": {"kind": "exact"})"),
      "t");
  ASSERT_FALSE(no_filter.ok());
  EXPECT_NE(no_filter.status().message().find(
                "identifiers[1].compare_group: only an identifier"),
            std::string::npos)
      << no_filter.status();
  auto clash = ParseNativeSchema(schema_with(R"(, "compare_group": "street",
         "segment": {"bits": 128, "insert": {"bits_per_token": 8}})"),
                                 "t");
  ASSERT_FALSE(clash.ok());
  EXPECT_NE(clash.status().message().find("must not be an identifier's name"),
            std::string::npos)
      << clash.status();
}

TEST(NativeEncoderTest, MissingValuesAreFlaggedAndEmpty) {
  auto enc = Make();
  auto r = Encode(*enc, {"1", "n/a", "", "", "arrest", "2024-05-01", ""});
  EXPECT_EQ(r.missing_mask(),
            0b111u);  // clk (no members present), surname, dob
  EXPECT_EQ(Popcount(r.filters()), 0u);
  EXPECT_EQ(r.blocking_tokens_size(), 0);
}

TEST(NativeEncoderTest, EventAttributesAndAgeBand) {
  auto enc = Make();
  auto r = Encode(*enc, {"1", "Smith", "15/06/2000", "F", " release ",
                         "2018-06-14", "bristol"});
  EXPECT_EQ(r.event_type(), "release");
  EXPECT_EQ(r.event_date(), "2018-06-14");
  ASSERT_EQ(r.attributes_size(), 2);
  EXPECT_EQ(r.attributes(0).name(), "area");
  EXPECT_EQ(r.attributes(0).value(), "bristol");
  EXPECT_EQ(r.attributes(1).name(), "age_band");
  EXPECT_EQ(r.attributes(1).value(), "10-17");  // 17 the day before turning 18
  auto adult = Encode(
      *enc, {"2", "Smith", "15/06/1960", "F", "release", "2018-06-14", ""});
  EXPECT_EQ(adult.attributes(1).value(), "50+");
}

TEST(NativeEncoderTest, BadValuesNameTheColumnButNotTheValue) {
  auto enc = Make();
  EncodedRecord r;
  CsvRow row{
      {"1", "Smith", "01/02/1990", "F", "arrest", "31/31/2024", "bristol"}, 7};
  auto s = enc->Encode(row, 0, &r);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("column 6 \"date\""), std::string::npos) << s;
  EXPECT_EQ(s.message().find("31/31/2024"), std::string::npos) << s;
  row.fields = {"1",      "Smith",      "01/02/1990", "F",
                "arrest", "2024-01-01", "cardiff"};
  s = enc->Encode(row, 0, &r);
  EXPECT_NE(s.message().find("column 7 \"area\""), std::string::npos) << s;
  row.fields = {"", "Smith", "01/02/1990", "F", "arrest", "2024-01-01", ""};
  s = enc->Encode(row, 0, &r);
  EXPECT_NE(s.message().find("record key is empty"), std::string::npos) << s;
}

TEST(NativeEncoderTest, FingerprintIgnoresColumnMappingOnly) {
  std::string renamed = kSchema;
  renamed.replace(renamed.find("\"name\": \"surname\","),
                  std::string("\"name\": \"surname\",").size(),
                  "\"name\": \"surname\", \"column\": \"last_name\",");
  auto a = ParseNativeSchema(kSchema, "a"), b = ParseNativeSchema(renamed, "b");
  ASSERT_TRUE(a.ok() && b.ok()) << b.status();
  EXPECT_EQ(a->fingerprint, b->fingerprint);
  std::string other_bits = kSchema;
  other_bits.replace(other_bits.find("\"bits\": 128"), 11, "\"bits\": 192");
  auto c = ParseNativeSchema(other_bits, "c");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(a->fingerprint, c->fingerprint);
}

TEST(NativeEncoderTest, HardeningBalanceSaltAndBlip) {
  std::string hardened = kSchema;
  hardened.replace(
      hardened.find(
          "\"segment\": {\"bits\": 256, \"insert\": {\"bits_per_token\": 8}}"),
      std::string(
          "\"segment\": {\"bits\": 256, \"insert\": {\"bits_per_token\": 8}}")
          .size(),
      "\"segment\": {\"bits\": 256, \"insert\": {\"bits_per_token\": 8},"
      " \"hardening\": {\"salt\": [{\"identifier\": \"dob\", \"transform\": "
      "\"year\"}],"
      " \"xor_fold\": 1, \"blip_epsilon\": 3, \"balance\": true}}");
  auto enc = Make(hardened, "k", "seed");
  const auto& seg = enc->header().layout().segments(1);
  EXPECT_EQ(seg.length_bits(), 256u);  // 256 folded to 128, balanced to 256
  EXPECT_EQ(
      std::vector<std::string>(seg.hardening().begin(), seg.hardening().end()),
      (std::vector<std::string>{"salt", "xor_fold", "blip", "balance"}));
  auto r1 =
      Encode(*enc, {"1", "Smith", "01/02/1990", "F", "a", "2024-01-01", ""}, 5);
  EXPECT_EQ(Popcount(Segment(*enc, r1, "surname")), 128u);
  // Same record, same index, same seed: identical. Another index: new noise.
  auto again = Make(hardened, "k", "seed");
  auto r2 = Encode(*again,
                   {"1", "Smith", "01/02/1990", "F", "a", "2024-01-01", ""}, 5);
  EXPECT_EQ(r1.filters(), r2.filters());
  auto r3 = Encode(*again,
                   {"1", "Smith", "01/02/1990", "F", "a", "2024-01-01", ""}, 6);
  EXPECT_NE(Segment(*enc, r1, "surname"), Segment(*enc, r3, "surname"));
}

TEST(NativeSchemaTest, ErrorsNameTheField) {
  auto bad = [](const std::string& json) -> std::string {
    return std::string(ParseNativeSchema(json, "s.json").status().message());
  };
  EXPECT_NE(bad(R"({"cohortlink_schema": 1, "identifiers": [{"name": "a",
      "segment": {"bits": 100, "insert": {"bits_per_token": 5}}}]})")
                .find("identifiers[0].segment.bits"),
            std::string::npos);
  EXPECT_NE(bad(R"({"cohortlink_schema": 1, "identifiers": [{"name": "a",
      "normalise": ["shout"], "segment": {"bits": 64, "insert": {"bits_per_token": 5}}}]})")
                .find("identifiers[0].normalise[0]"),
            std::string::npos);
  EXPECT_NE(
      bad(R"({"cohortlink_schema": 1, "identifierz": []})").find("s.json"),
      std::string::npos);
  EXPECT_NE(bad(R"({"cohortlink_schema": 2})").find("cohortlink_schema"),
            std::string::npos);
  EXPECT_NE(bad(R"({"cohortlink_schema": 1, "identifiers": [{"name": "a"}]})")
                .find("no filter"),
            std::string::npos);
}

}  // namespace
}  // namespace cohortlink::encoding
