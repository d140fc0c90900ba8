#ifndef COHORTLINK_TESTS_ACCESS_LOG_H_
#define COHORTLINK_TESTS_ACCESS_LOG_H_

// The access log of a stopped server, read straight from the RocksDB in its
// data directory (tests link cohortlink_store for it).

#include <string>
#include <vector>

#include "cohortlink/v1/audit.pb.h"
#include "gtest/gtest.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/store.h"

namespace cohortlink::testing {

// Every entry of the log under `data_dir` (an unencrypted store), in order.
inline std::vector<cohortlink::v1::AuditEntry> ReadAccessLog(
    const std::string& data_dir) {
  auto db = store::Store::Open(data_dir + "/db");
  EXPECT_TRUE(db.ok()) << db.status();
  if (!db.ok()) return {};
  auto log = store::AuditLog::Create(db->get());
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return {};
  auto entries = (*log)->Read(0, (*log)->size());
  EXPECT_TRUE(entries.ok()) << entries.status();
  if (!entries.ok()) return {};
  return *std::move(entries);
}

}  // namespace cohortlink::testing

#endif  // COHORTLINK_TESTS_ACCESS_LOG_H_
