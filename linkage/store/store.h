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
std::string BigEndian64(uint64_t v);
uint64_t ReadBigEndian64(absl::string_view s);

// The key of record `index` of version `version` of extract `id`, in the
// records column family and, for the same record, in record_entity.
std::string RecordKey(uint64_t id, uint64_t version, uint64_t index);
// The prefix every record key of one version shares.
std::string VersionPrefix(uint64_t id, uint64_t version);

// Owns the RocksDB instance and its column families. Thread-safe (RocksDB
// is); the handles live as long as the Store.
class Store {
 public:
  // Opens or creates the database in `dir`; with `data_key_file`, every
  // file is encrypted (linkage/store/encryption.h).
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir, const std::string& data_key_file = "");
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Rewrites the database in `dir` (encrypted with `old_key_file`, or not
  // when empty) into one encrypted with `new_key_file`, then puts it in
  // place; the old one is kept beside it as `dir`.old until removed by
  // hand. The server must be stopped.
  static absl::Status RotateDataKey(const std::string& dir,
                                    const std::string& old_key_file,
                                    const std::string& new_key_file);

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* cf(Family f) const {
    return handles_[static_cast<int>(f)];
  }

 private:
  Store() = default;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first)
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = Family
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_STORE_H_
