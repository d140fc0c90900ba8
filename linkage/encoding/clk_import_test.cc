#include "linkage/encoding/clk_import.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "util/text.h"

namespace cohortlink::encoding {
namespace {

absl::StatusOr<std::vector<std::string>> Parse(const std::string& doc,
                                               size_t clk_bytes) {
  std::vector<std::string> out;
  absl::Status s = ParseClkhashJson(doc, clk_bytes, [&](std::string_view c) {
    out.emplace_back(c);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

TEST(ClkImportTest, ReadsClkhashOutput) {
  std::string a = util::Base64Encode(std::string(16, '\x01'));
  std::string b = util::Base64Encode(std::string(16, '\xfe'));
  auto clks =
      Parse("{\"clks\": [\n  \"" + a + "\",\n  \"" + b + "\"\n]}\n", 16);
  ASSERT_TRUE(clks.ok()) << clks.status();
  ASSERT_EQ(clks->size(), 2u);
  EXPECT_EQ((*clks)[0], std::string(16, '\x01'));
  EXPECT_EQ((*clks)[1], std::string(16, '\xfe'));
  // JSON may escape '/'.
  std::string slashed = util::Base64Encode(std::string(16, '\xff'));
  ASSERT_NE(slashed.find('/'), std::string::npos);
  std::string escaped;
  for (char c : slashed)
    escaped += c == '/' ? std::string("\\/") : std::string(1, c);
  clks = Parse("{\"clks\":[\"" + escaped + "\"]}", 16);
  ASSERT_TRUE(clks.ok()) << clks.status();
  EXPECT_EQ((*clks)[0], std::string(16, '\xff'));
  EXPECT_TRUE(Parse("{\"clks\": []}", 16)->empty());
}

TEST(ClkImportTest, RefusesWhatIsNotClkhashOutputNamingWhere) {
  const std::string ok = util::Base64Encode(std::string(16, 'x'));
  struct Case {
    std::string doc, error;
  };
  for (const Case& c : std::vector<Case>{
           {"", "expected '{'"},
           {"{\"pairs\": []}", "expected the one key \"clks\""},
           {"{\"clks\": [\"AAAA\"]}", "CLK 0 is not 16 bytes"},
           {"{\"clks\": [\"" + ok + "\", \"" + ok + "==\"]}",
            "CLK 1 is not 16 bytes"},
           {"{\"clks\": [\"" + ok + "\"", "expected ',' or ']'"},
           {"{\"clks\": [\"" + ok + "\"]} x", "unexpected content"},
           {"{\"clks\": [\"" + ok.substr(0, 5) + "\\u0041", "not a base64"},
           {"{\"clks\": [\"" + ok.substr(0, 5), "unterminated string"},
       }) {
    auto r = Parse(c.doc, 16);
    ASSERT_FALSE(r.ok()) << c.doc;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.error), std::string::npos)
        << r.status() << " for " << c.doc;
    EXPECT_NE(r.status().message().find("at byte"), std::string::npos);
  }
}

}  // namespace
}  // namespace cohortlink::encoding
