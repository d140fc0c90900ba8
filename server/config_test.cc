#include "server/config.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace cohortlink::server {
namespace {

std::string Agencies(size_t n) {
  std::string list;
  for (size_t i = 0; i < n; ++i) {
    absl::StrAppend(&list, i ? "," : "", R"({"id": "a)", i,
                    R"(", "type": "police"})");
  }
  return absl::StrCat(R"({"data_dir": "/tmp/x", "agencies": [)", list, "]}");
}

// The agencies a server registers are bounded, so that the distinct values
// of an attribute (at most 1,000 per agency) fit the query index.
TEST(ConfigTest, AgenciesHoldAtTheirLimitAndFailOneBeyond) {
  auto at = ParseConfig(Agencies(store::kMaxAgencies), "c.json");
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_EQ(at->agencies.size(), store::kMaxAgencies);
  auto over = ParseConfig(Agencies(store::kMaxAgencies + 1), "c.json");
  ASSERT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("agencies: 65 agencies; at most 64"),
            std::string::npos)
      << over.status();
}

TEST(ConfigTest, LimitsAreRangeChecked) {
  auto ok = ParseConfig(
      R"({"data_dir": "/tmp/x", "limits": {"max_message_bytes": 65536}})",
      "c.json");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->max_message_bytes, 65536);
  auto small = ParseConfig(
      R"({"data_dir": "/tmp/x", "limits": {"max_message_bytes": 65535}})",
      "c.json");
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small.status().message().find("max_message_bytes"),
            std::string::npos)
      << small.status();
}

}  // namespace
}  // namespace cohortlink::server
