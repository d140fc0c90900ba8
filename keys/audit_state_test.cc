#include "keys/audit_state.h"

#include "gtest/gtest.h"

namespace cohortlink::keys {
namespace {

AuditState Example(int leaves) {
  AuditState st;
  st.tree_size = leaves;
  st.timestamp_ms = 1'750'000'000'123;
  st.root_hash = std::string(32, '\x01');
  st.signature = std::string(64, '\x02');
  for (int i = 0; i < leaves; ++i)
    st.leaves.push_back(std::string(32, 'a' + i));
  return st;
}

TEST(AuditStateTest, RoundTrips) {
  for (int n : {0, 1, 3}) {
    auto st = ParseAuditState(FormatAuditState(Example(n)), "s");
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->tree_size, static_cast<uint64_t>(n));
    EXPECT_EQ(st->leaves, Example(n).leaves);
    EXPECT_EQ(st->signature, Example(n).signature);
  }
}

TEST(AuditStateTest, ForgedOrDamagedFilesAreRefused) {
  const std::string good = FormatAuditState(Example(2));
  const std::string forged[] = {
      "", "hello\n",
      // A size far beyond the lines that follow (nothing is allocated).
      "cohortlink-audit-state-v1 18446744073709551615 0 " +
          std::string(64, '0') + " " + std::string(128, '0') + "\n",
      good.substr(0, good.size() - 66),             // a leaf cut off
      good + std::string(64, 'f') + "\n",           // a leaf too many
      good.substr(0, 40) + "zz" + good.substr(42),  // not hex
  };
  for (const auto& text : forged) {
    auto st = ParseAuditState(text, "state");
    EXPECT_EQ(st.status().code(), absl::StatusCode::kDataLoss) << text;
  }
  std::string short_leaf = good;
  short_leaf.replace(short_leaf.rfind('\n', short_leaf.size() - 2) + 1, 2, "");
  EXPECT_FALSE(ParseAuditState(short_leaf, "state").ok());
}

}  // namespace
}  // namespace cohortlink::keys
