// `cohortlink keys secret`, `encode` and `schema check` through the real
// binary: results on good input, exit codes and messages on bad input, and
// no partial output on failure.

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/encoding/test_data.h"
#include "tests/cli_runner.h"
#include "util/temp_dir.h"

namespace cohortlink {
namespace {

namespace fs = std::filesystem;
using testing::RunCli;
using testing::Slurp;

constexpr char kSchema[] = R"({
  "cohortlink_schema": 1,
  "name": "cli-test",
  "record_key": {"column": "id"},
  "identifiers": [
    {"name": "given_name", "normalise": ["fold", "letters", "name"],
     "segment": {"bits": 256, "insert": {"bits_per_token": 8}}},
    {"name": "surname", "normalise": ["fold", "letters", "name"],
     "segment": {"bits": 256, "insert": {"bits_per_token": 8}}},
    {"name": "dob", "type": "date", "date_formats": ["%d/%m/%Y"], "on_invalid": "error",
     "tokens": {"q": 1, "positional": true},
     "segment": {"bits": 128, "insert": {"bits_per_token": 6}}}
  ],
  "blocking": [{"name": "sx", "parts": [{"identifier": "surname", "transform": "soundex"}]}],
  "event": {"type": {"constant": "arrest"}}
})";

class CliEncodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write("schema.json", kSchema);
    Write("secret", "correct horse battery staple\n");
    Write("good.csv",
          "id,given_name,surname,dob\n"
          "A1,Mary,O'Brien,01/02/1990\n"
          "A2,\"John, Jr\",Smith,15/11/1985\n"
          "A3,Zo\xC3\xAB,M\xC3\xBCller,29/02/2000\n");
  }
  std::string P(const std::string& name) const {
    return (dir_ / name).string();
  }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(P(name), std::ios::binary) << text;
  }
  testing::CliResult Run(std::vector<std::string> args) {
    return RunCli(args, dir_);
  }
  testing::CliResult Encode(const std::string& csv,
                            std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"encode",   "--schema",  P("schema.json"),
                                     "--secret", P("secret"), "--input",
                                     P(csv),     "--output",  P("out.clx")};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args);
  }
  // Only the inputs remain: no output, no temporary files.
  void ExpectNoOutput() {
    EXPECT_FALSE(fs::exists(P("out.clx")));
    for (const auto& e : fs::directory_iterator(dir_)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos)
          << "left behind: " << e.path();
    }
  }

  util::TempDir tmp_{"cli_encode_test"};
  const fs::path& dir_ = tmp_.path();
};

TEST_F(CliEncodeTest, KeysSecretCreatesPrivateFileAndRefusesOverwrite) {
  auto r = Run({"keys", "secret", "--out", P("new.secret")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat(P("new.secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string first = Slurp(P("new.secret"));
  EXPECT_EQ(first.size(), 44u);  // 43 base64url characters and a newline
  EXPECT_EQ(r.out.find(first.substr(0, 43)),
            std::string::npos);  // never printed
  auto again = Run({"keys", "secret", "--out", P("new.secret")});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(Slurp(P("new.secret")), first);
}

TEST_F(CliEncodeTest, EncodesNativeExtractInInputOrder) {
  auto r = Encode("good.csv", {"--key-map", P("keys.csv"), "--report", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"records\": 3"), std::string::npos) << r.out;
  auto reader = encoding::ExtractReader::Open(P("out.clx"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->record_count(), 3u);
  EXPECT_EQ((*reader)->header().layout().total_bits(), 640u);
  std::string keys = Slurp(P("keys.csv"));
  EXPECT_EQ(keys.substr(0, keys.find('\n')), "local_id,record_key");
  std::string bytes;
  std::vector<std::string> record_keys;
  while (*(*reader)->Next(&bytes)) {
    cohortlink::v1::EncodedRecord rec;
    ASSERT_TRUE(rec.ParseFromString(bytes));
    record_keys.push_back(rec.record_key());
    EXPECT_EQ(rec.event_type(), "arrest");
  }
  ASSERT_EQ(record_keys.size(), 3u);
  EXPECT_NE(keys.find("A1," + record_keys[0]), std::string::npos);
  EXPECT_NE(keys.find("A3," + record_keys[2]), std::string::npos);
  // The extract holds no raw identifier.
  std::string raw = Slurp(P("out.clx"));
  for (const char* s : {"Mary", "mary", "Smith", "smith", "1990", "A1"}) {
    EXPECT_EQ(raw.find(s), std::string::npos) << s;
  }
}

TEST_F(CliEncodeTest, OutputDoesNotDependOnThreadCount) {
  std::string csv = "id,given_name,surname,dob\n";
  for (int i = 0; i < 5000; ++i) {
    csv += "id" + std::to_string(i) + ",name" + std::to_string(i % 97) +
           ",sur" + std::to_string(i % 31) + ",0" + std::to_string(1 + i % 9) +
           "/01/1970\n";
  }
  Write("many.csv", csv);
  std::string digests[2];
  int threads[2] = {1, 3};
  for (int k = 0; k < 2; ++k) {
    auto r = Encode("many.csv", {"--threads", std::to_string(threads[k]),
                                 "--report", "json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto reader = encoding::ExtractReader::Open(P("out.clx"));
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ((*reader)->record_count(), 5000u);
    digests[k] = (*reader)->content_digest();
    fs::remove(P("out.clx"));
  }
  EXPECT_EQ(digests[0], digests[1]);
}

TEST_F(CliEncodeTest, MalformedCsvNamesLineAndColumnAndLeavesNothing) {
  Write("bad.csv",
        "id,given_name,surname,dob\nA1,Mary,Smith,01/02/1990\nA2,\"Jo\"hn,X,01/"
        "02/1990\n");
  auto r = Encode("bad.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.csv:3:8: unexpected character after closing quote"),
            std::string::npos)
      << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, WrongFieldCountNamesTheLine) {
  Write("short.csv",
        "id,given_name,surname,dob\nA1,Mary,Smith,01/02/1990\nA2,John\n");
  auto r = Encode("short.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("short.csv:3: row has 2 fields; the header has 4"),
            std::string::npos)
      << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, UnknownColumnIsNamed) {
  Write("cols.csv", "id,first_name,surname,dob\nA1,Mary,Smith,01/02/1990\n");
  auto r = Encode("cols.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("unknown column \"given_name\""), std::string::npos)
      << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, InvalidDateNamesRowAndColumnWithoutTheValue) {
  Write("date.csv",
        "id,given_name,surname,dob\nA1,Mary,Smith,01/02/1990\nA2,Ann,Lee,31/02/"
        "1990\n");
  auto r = Encode("date.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("date.csv:3: column 4 \"dob\""), std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("31/02/1990"), std::string::npos)
      << "value leaked: " << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, DuplicateRecordKeysNameBothLines) {
  Write("dup.csv",
        "id,given_name,surname,dob\nA1,Mary,Smith,01/02/1990\nA2,Ann,Lee,01/02/"
        "1990\nA1,Bob,Ray,01/02/1990\n");
  auto r = Encode("dup.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(
      r.err.find("dup.csv:4: duplicate record key: the same id as line 2"),
      std::string::npos)
      << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, SecretProblemsAreClear) {
  Write("empty.secret", "\n");
  auto r = Run({"encode", "--schema", P("schema.json"), "--secret",
                P("empty.secret"), "--input", P("good.csv"), "--output",
                P("out.clx")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is empty"), std::string::npos) << r.err;
  r = Run({"encode", "--schema", P("schema.json"), "--secret",
           P("missing.secret"), "--input", P("good.csv"), "--output",
           P("out.clx")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing.secret: not found"), std::string::npos)
      << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, InvalidSchemaAndUnreadableInput) {
  Write("bad-schema.json",
        R"({"cohortlink_schema": 1, "identifiers": [{"name": "a",
      "segment": {"bits": 100, "insert": {"bits_per_token": 5}}}]})");
  auto r =
      Run({"encode", "--schema", P("bad-schema.json"), "--secret", P("secret"),
           "--input", P("good.csv"), "--output", P("out.clx")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("identifiers[0].segment.bits"), std::string::npos)
      << r.err;
  r = Encode("nope.csv");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("nope.csv"), std::string::npos) << r.err;
  Write("notjson.json", "{not json");
  r = Run({"schema", "check", P("notjson.json")});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not valid JSON"), std::string::npos) << r.err;
  ExpectNoOutput();
}

TEST_F(CliEncodeTest, UsageErrorsExitTwoAndHelpExitsZero) {
  auto r = Run({"encode", "--schema", P("schema.json")});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  r = Run({"encode", "--format", "xml"});
  EXPECT_EQ(r.exit_code, 2);
  r = Run({"frobnicate"});
  EXPECT_EQ(r.exit_code, 2);
  for (std::vector<std::string> help : {std::vector<std::string>{"--help"},
                                        {"encode", "--help"},
                                        {"keys", "--help"},
                                        {"keys", "secret", "--help"},
                                        {"schema", "check", "--help"}}) {
    r = Run(help);
    EXPECT_EQ(r.exit_code, 0) << help.back();
    EXPECT_NE(r.out.find("Usage"), std::string::npos);
  }
}

TEST_F(CliEncodeTest, SchemaCheckSummarisesAndSpeaksJson) {
  auto r = Run({"schema", "check", P("schema.json")});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("valid cohortlink schema \"cli-test\""),
            std::string::npos);
  EXPECT_NE(r.out.find("given_name"), std::string::npos);
  r = Run({"schema", "check", P("schema.json"), "--format", "json"});
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("\"total_bits\": 640"), std::string::npos) << r.out;
}

TEST_F(CliEncodeTest, ClkhashJsonMatchesAnonlinkClient) {
  REQUIRE_DATASET("anonlink-client/novt_clk_1.json");
  Write("ncvr.secret", "secret");
  auto r =
      Run({"encode", "--schema", testing::DatasetPath("ncvr/novt_schema.json"),
           "--secret", P("ncvr.secret"), "--input",
           testing::DatasetPath(
               "ncvr/ncvr_numrec_5000_modrec_2_ocp_20_myp_1_nump_10.csv"),
           "--output", P("clks.json"), "--format", "clkhash-json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Compare the base64 strings in order, ignoring JSON whitespace.
  auto strings = [](const std::string& text) {
    std::vector<std::string> out;
    size_t p = text.find('[');
    while ((p = text.find('"', p)) != std::string::npos) {
      size_t q = text.find('"', p + 1);
      out.push_back(text.substr(p + 1, q - p - 1));
      p = q + 1;
    }
    return out;
  };
  auto ours = strings(Slurp(P("clks.json")));
  auto theirs =
      strings(Slurp(testing::DatasetPath("anonlink-client/novt_clk_1.json")));
  ASSERT_EQ(ours.size(), 5000u);
  EXPECT_TRUE(ours == theirs);
}

}  // namespace
}  // namespace cohortlink
