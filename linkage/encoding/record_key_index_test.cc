#include "linkage/encoding/record_key_index.h"

#include "gtest/gtest.h"

namespace cohortlink::encoding {
namespace {

TEST(RecordKeyIndexTest, ReportsTheFirstValueOfARepeatedKey) {
  RecordKeyIndex index;
  const std::string hmac = "c4d1ec629cedad2a67b9e771a72f04fa";
  EXPECT_FALSE(index.Insert(hmac, 2));
  EXPECT_FALSE(index.Insert("c4d1ec629cedad2a67b9e771a72f04fb", 3));
  EXPECT_EQ(index.Insert(hmac, 9), 2u);
  // Non-HMAC keys (row numbers, clkhash) and 32-character non-hex keys.
  EXPECT_FALSE(index.Insert("17", 4));
  EXPECT_EQ(index.Insert("17", 5), 4u);
  const std::string not_hex(32, 'z');
  EXPECT_FALSE(index.Insert(not_hex, 6));
  EXPECT_EQ(index.Insert(not_hex, 7), 6u);
}

}  // namespace
}  // namespace cohortlink::encoding
