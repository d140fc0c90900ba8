#ifndef COHORTLINK_LINKAGE_STORE_STORE_H_
#define COHORTLINK_LINKAGE_STORE_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "rocksdb/db.h"
#include "rocksdb/file_system.h"

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
  kPublished,     // true count, set digest -> sketch of a published set
};
inline constexpr int kFamilyCount = 10;
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

// The layout of keys and values this build reads and writes. A change of
// layout raises it and adds the migration from the previous format to
// Store::Open. Format 0 is a database from before the format was recorded
// (its layout is format 1's).
inline constexpr uint64_t kStorageFormat = 1;

struct StoreOptions {
  // With a data key file, every file is encrypted
  // (linkage/store/encryption.h).
  std::string data_key_file;
  // The file system RocksDB reads and writes through (default: the
  // operating system's). Tests inject faults here, as RocksDB's own
  // fault-injection tests do.
  std::shared_ptr<rocksdb::FileSystem> file_system;
  // Free space kept in reserve on the database's file system (0: none).
  // Below it, writes larger than kSmallWrite are refused with
  // RESOURCE_EXHAUSTED before they reach RocksDB, and small ones (access-log
  // entries, status changes) below a quarter of it; Health() reports the
  // shortage. The disk then never fills under RocksDB, which recovers from
  // a full disk only with 64 MiB free, and whose 7.8 release can abort on
  // an assertion after a failed log write.
  uint64_t disk_reserve_bytes = 0;
  // Tests of read faults turn RocksDB's block cache off, so that every read
  // reaches the file system.
  bool cache_blocks = true;
};

// Writes up to this size may use the last three quarters of the reserve.
inline constexpr uint64_t kSmallWrite = 64 << 10;

// Owns the RocksDB instance and its column families. Thread-safe (RocksDB
// is); the handles live as long as the Store.
//
// Fails closed: the database is opened with paranoid checks, and its
// write-ahead log is replayed so that damage anywhere but a torn last
// record (what a crash mid-write leaves, never acknowledged) is an error,
// not a silent truncation. Whether acknowledged writes were lost at the
// tail is checked above the store, against the access-log checkpoint
// (server/integrity.h).
class Store {
 public:
  // Opens or creates the database in `dir`, creating `dir` with mode 0700.
  static absl::StatusOr<std::unique_ptr<Store>> Open(const std::string& dir,
                                                     StoreOptions options);
  static absl::StatusOr<std::unique_ptr<Store>> Open(
      const std::string& dir, const std::string& data_key_file = "") {
    StoreOptions options;
    options.data_key_file = data_key_file;
    return Open(dir, options);
  }
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

  // The value of `key` in `family` (at `snap` when given); nullopt when it
  // is absent. Every other error (I/O, corruption) is returned.
  absl::StatusOr<std::optional<std::string>> Get(
      Family family, absl::string_view key,
      const rocksdb::Snapshot* snap = nullptr) const;
  // Writes `batch` in one atomic write, synced to disk when `sync`. A
  // failure is also remembered as the store's health (below):
  // RESOURCE_EXHAUSTED when the disk is full.
  absl::Status Write(rocksdb::WriteBatch* batch, bool sync = true);

  // A consistent point-in-time copy of the database in `dir`, which must
  // not exist and must be on the database's file system: RocksDB flushes
  // every column family and hard-links the table files (so the copy takes
  // little space or time), and copies the rest. Files stay encrypted when
  // the database is.
  absl::Status Checkpoint(const std::string& dir);

  // OK while writes succeed; after a failed write, the error, until
  // TryResume() succeeds (RocksDB stops writing after an I/O error such as
  // a full disk, and resumes only when asked); RESOURCE_EXHAUSTED while the
  // free space is below the reserve.
  absl::Status Health() const;
  // After a failed write: asks RocksDB to resume (it flushes what it holds
  // and checks the disk again) and clears the health when it does. OK and
  // a no-op when healthy.
  absl::Status TryResume();

 private:
  // Stored format against kStorageFormat: refuses a newer one, migrates an
  // older one (Open).
  absl::Status CheckFormat();
  Store() = default;
  void NoteWriteError(const absl::Status& s);
  // RESOURCE_EXHAUSTED when less than `needed` bytes are free.
  absl::Status CheckSpace(uint64_t needed) const;
  std::string dir_;
  uint64_t reserve_ = 0;
  mutable absl::Mutex health_mu_;
  absl::Status health_ ABSL_GUARDED_BY(health_mu_);
  std::shared_ptr<rocksdb::FileSystem> fs_;      // outlives env_
  std::unique_ptr<rocksdb::Env> composite_env_;  // over fs_, outlives env_
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first)
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // index = Family
  rocksdb::ColumnFamilyHandle* default_ = nullptr;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_STORE_H_
