// The access log's bounds: every entry is bounded as it is appended, and a
// page of entries stops at a byte budget.

#include "linkage/store/audit_log.h"

#include "gtest/gtest.h"
#include "keys/mac.h"
#include "linkage/store/store.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

TEST(AuditLogBoundsTest, AnEntryIsBoundedWhateverItsCallerSent) {
  cohortlink::v1::AuditEntry e;
  e.set_query(std::string(kMaxQueryBytes, 'q'));  // at the limit: whole
  BoundAuditEntry(&e);
  EXPECT_EQ(e.query().size(), kMaxQueryBytes);
  EXPECT_FALSE(e.query_truncated());
  EXPECT_EQ(e.query_sha256(),
            keys::Sha256::Digest(std::string(kMaxQueryBytes, 'q')));

  const std::string big(kMaxQueryBytes + 1, 'q');  // one beyond: a prefix
  e.set_query(big);
  e.set_message(std::string(5 << 20, 'm'));
  // A multi-byte character across the cut is not split.
  e.set_target(std::string(kMaxFieldBytes - 1, 't') + "\xc3\xa9");
  BoundAuditEntry(&e);
  EXPECT_TRUE(e.query_truncated());
  EXPECT_EQ(e.query(), big.substr(0, kQueryPrefixBytes));
  EXPECT_EQ(e.query_sha256(), keys::Sha256::Digest(big));
  EXPECT_EQ(e.message().size(), kMaxFieldBytes);
  EXPECT_EQ(e.target(), std::string(kMaxFieldBytes - 1, 't'));
}

TEST(AuditLogBoundsTest, APageStopsAtItsByteBudgetButHoldsAtLeastOneEntry) {
  util::TempDir tmp("audit_log_test");
  auto db = *Store::Open(tmp.File("db"));
  auto log = *AuditLog::Create(db.get());
  for (int i = 0; i < 10; ++i) {
    cohortlink::v1::AuditEntry e;
    e.set_message(std::string(1000, 'a' + i));
    ASSERT_TRUE(log->Append(e).ok());
  }
  auto all = *log->ReadRaw(0, 100);
  ASSERT_EQ(all.size(), 10u);
  const uint64_t three = all[0].size() + all[1].size() + all[2].size();
  EXPECT_EQ(log->ReadRaw(0, 100, three)->size(), 3u);  // at the budget
  EXPECT_EQ(log->ReadRaw(0, 100, three - 1)->size(), 2u);
  EXPECT_EQ(log->ReadRaw(4, 100, 1)->size(), 1u);  // never an empty page
  EXPECT_EQ(log->ReadRaw(0, 4)->size(), 4u);       // the count still holds
}

}  // namespace
}  // namespace cohortlink::store
