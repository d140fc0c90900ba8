#ifndef COHORTLINK_LINKAGE_STORE_STORE_H_
#define COHORTLINK_LINKAGE_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "rocksdb/db.h"

namespace cohortlink::store {

// The one place RocksDB statuses become absl statuses.
absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what);

// Column families (DESIGN.md, Storage). Keys are big-endian so that prefix
// scans are ordered.
enum class Family {
  kMeta,          // linkage-wide settings (schema fingerprint, key check value)
  kExtracts,      // agency ␟ extract name -> ExtractStatus
  kRecords,       // extract id, version, index -> EncodedRecord
  kBlocks,        // block index (linkage engine)
  kEntities,      // entities (linkage engine)
  kRecordEntity,  // record -> entity (linkage engine)
  kEvents,        // events by type and date (cohort queries)
  kModel,         // model parameters
  kAudit,         // audit log
};
inline constexpr int kFamilyCount = 9;
const char* FamilyName(Family f);

// Big-endian fixed-width integers for keys.
void AppendBigEndian64(uint64_t v, std::string* out);
uint64_t ReadBigEndian64(absl::string_view s);

// Owns the RocksDB instance and its column families. Thread-safe (RocksDB
// is); the handles live as long as the Store.
class Store {
 public:
  // Opens or creates the database in `dir`.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Family f) const {
    return handles_[static_cast<int>(f)];
  }

 private:
  Store() = default;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = Family
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_STORE_H_
