#ifndef COHORTLINK_LINKAGE_STORE_EXTRACT_STORE_H_
#define COHORTLINK_LINKAGE_STORE_EXTRACT_STORE_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/numeric/int128.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cohortlink/v1/ingest.pb.h"
#include "keys/mac.h"
#include "linkage/encoding/record_key_index.h"
#include "linkage/store/audit_log.h"
#include "linkage/store/key_epoch.h"
#include "linkage/store/store.h"

namespace cohortlink::store {

// The limits of one upload (docs/limits.md). The header's are checked at
// BeginUpload, before anything is staged; a record's as it arrives.
inline constexpr size_t kMaxAttributes = 32;          // names declared
inline constexpr size_t kMaxAttributeNameBytes = 64;  // and event types
inline constexpr size_t kMaxValueBytes = 64;          // one value
inline constexpr size_t kMaxDistinctValues = 1000;    // per attribute
// Distinct values per attribute over all of one agency's current extracts:
// with at most kMaxAgencies agencies, no attribute of the linkage has more
// than 64,000 (the query index's dictionaries hold 65,536).
inline constexpr size_t kMaxAgencyDistinctValues = 1000;
inline constexpr size_t kMaxAgencies = 64;
inline constexpr size_t kMaxBlockingRules = 32;
inline constexpr size_t kMaxBlockingTokens = 256;    // per record
inline constexpr size_t kMaxSegments = 32;           // the missing mask
inline constexpr uint32_t kMaxFilterBits = 1 << 16;  // per record
inline constexpr size_t kMaxHeaderTextBytes = 256;   // schema name etc.

struct ExtractStoreOptions {
  std::function<absl::Time()> now = [] { return absl::Now(); };
  uint64_t max_records = 50'000'000;
  // Called after every committed change of stored records (a new version,
  // a withdrawal): the linkage worker's cue. It may run with the store's
  // lock held, so it must only signal.
  std::function<void()> on_change;
};

// The current version of one extract, as the linkage sees it.
struct ExtractVersion {
  cohortlink::v1::ExtractStatus status;
  uint64_t extract_id = 0;
};

// A consistent view of every stored extract for a linkage run: the current
// versions and their records as of one instant, unaffected by uploads that
// commit meanwhile. REQUIRES: destroyed before its ExtractStore.
class ExtractSnapshot {
 public:
  ~ExtractSnapshot();
  ExtractSnapshot(const ExtractSnapshot&) = delete;
  ExtractSnapshot& operator=(const ExtractSnapshot&) = delete;

  const std::vector<ExtractVersion>& versions() const { return versions_; }
  // Every record of versions()[v], in order, with its index.
  absl::Status ForEachRecord(
      size_t v,
      const std::function<void(
          uint64_t index, const cohortlink::v1::EncodedRecord&)>& fn) const;

 private:
  friend class ExtractStore;
  class LinkageWrite;
  friend class LinkageStore;  // reads the linkage at the same instant
  const rocksdb::Snapshot* snapshot() const { return snap_; }
  ExtractSnapshot(Store* store, const rocksdb::Snapshot* snap)
      : store_(store), snap_(snap) {}
  Store* store_;
  const rocksdb::Snapshot* snap_;
  std::vector<ExtractVersion> versions_;
};

class ExtractStore;
class LinkageWrite;

// What one agency's records may carry, from its agency type (the server's
// configuration). Records with an empty event type (linkage only) are always
// allowed; attributes outside `attributes` must be empty.
struct RecordPolicy {
  std::string agency_type;  // named in error messages
  absl::flat_hash_set<std::string> event_types;
  absl::flat_hash_set<std::string> attributes;
  // Declared values of attributes (the server's query_space.codelists): a
  // value outside its attribute's list is refused; attributes without one
  // are open.
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> codelists;
};

// One upload in progress. REQUIRES: destroyed before its ExtractStore. Records
// are validated as they arrive and staged under a new version of the extract,
// invisible until Commit(). Destroying an uncommitted session removes what it
// staged. Not thread-safe.
//
// Durability: staged writes go to the WAL; Commit() syncs the WAL and then
// writes the version switch with sync=true, so an acknowledged upload
// survives a crash and an unacknowledged one is never half visible.
class UploadSession {
 public:
  ~UploadSession();
  UploadSession(const UploadSession&) = delete;
  UploadSession& operator=(const UploadSession&) = delete;

  // Adds a run of varint-length-prefixed EncodedRecords (the .clx records
  // section, in any split). INVALID_ARGUMENT names the 0-based record index
  // and field; the session is then unusable.
  [[nodiscard]] absl::Status AddFramedRecords(absl::string_view framed);

  // Checks the record count and content digest against the header, then,
  // under the store's lock, the admission again (BeginUpload) and that the
  // extract is still the version it was when the upload began, and makes
  // this version current in one atomic, synced write, which also appends
  // `audit` (outcome OK) to the access log. ABORTED when the extract was
  // withdrawn or replaced by another upload meanwhile: nothing is stored.
  // Uploading identical content to the current version changes nothing
  // (receipt.unchanged; the call is still audited).
  absl::StatusOr<cohortlink::v1::UploadReceipt> Commit(
      cohortlink::v1::AuditEntry audit = {});

 private:
  friend class ExtractStore;
  class LinkageWrite;
  UploadSession(ExtractStore* store, std::string agency, std::string uploader,
                cohortlink::v1::UploadHeader header, uint64_t extract_id,
                uint64_t upload_id, uint64_t base_token,
                std::optional<RecordPolicy> policy);
  absl::Status AddRecord(absl::string_view bytes);
  // The policy and header checks of one parsed record.
  absl::Status CheckContent(uint64_t index,
                            const cohortlink::v1::EncodedRecord& rec) const;
  void Discard();

  ExtractStore* store_;
  std::string agency_, uploader_;
  cohortlink::v1::UploadHeader header_;
  uint64_t extract_id_, upload_id_;  // records staged under (extract, upload)
  // The extract's change token (ExtractStore::ChangeToken) when this upload
  // began. The commit is refused (ABORTED) if it changed meanwhile.
  uint64_t base_token_;
  std::optional<RecordPolicy> policy_;
  absl::flat_hash_set<std::string> declared_attributes_;
  // The distinct values seen of each attribute (at most kMaxDistinctValues).
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>> values_;
  uint64_t count_ = 0;
  keys::Sha256 digest_;
  std::string pending_;  // a record split across AddFramedRecords calls
  rocksdb::WriteBatch batch_;
  encoding::RecordKeyIndex seen_keys_;
  bool failed_ = false, done_ = false;
};

// Extracts: upload (atomic, versioned), list, get, withdraw.
// Thread-safe; uploads of different extracts proceed in parallel, two
// uploads of one extract are serialised at commit.
class ExtractStore {
 public:
  // Removes versions left behind by uploads that never committed (after a
  // crash) and returns the store.
  // `audit` may be null (then changes are not audited: tests only).
  static absl::StatusOr<std::unique_ptr<ExtractStore>> Create(
      Store* store, ExtractStoreOptions options = {},
      AuditLog* audit = nullptr);

  // Starts an upload of `header.extract_name` for `agency` by `uploader`.
  // FAILED_PRECONDITION, with what to do, when the admission fails: the
  // schema fingerprint or filter layout differs from the linkage's (fixed
  // by the first upload), the key check value from the key epoch's, the
  // epoch is retired, or it would open ahead of the next epoch. The commit
  // checks the admission again under the lock. Records are checked against
  // `policy` when given.
  absl::StatusOr<std::unique_ptr<UploadSession>> BeginUpload(
      const std::string& agency, const std::string& uploader,
      const cohortlink::v1::UploadHeader& header,
      std::optional<RecordPolicy> policy = std::nullopt);

  absl::StatusOr<cohortlink::v1::ExtractStatus> Get(const std::string& agency,
                                                    const std::string& name);
  // All extracts, or one agency's when `agency` is non-empty.
  absl::StatusOr<std::vector<cohortlink::v1::ExtractStatus>> List(
      const std::string& agency);
  // Withdraws an extract: its status and records go in one write, with
  // `audit` appended to the access log in the same write.
  absl::StatusOr<cohortlink::v1::DeleteExtractResponse> Delete(
      const std::string& agency, const std::string& name,
      cohortlink::v1::AuditEntry audit = {}) ABSL_LOCKS_EXCLUDED(mu_);
  // The filter layout the first upload fixed (none before it).
  absl::StatusOr<std::optional<cohortlink::v1::FilterLayout>> Layout();
  // Every stored extract's current version, for a linkage run.
  absl::StatusOr<std::unique_ptr<ExtractSnapshot>> Snapshot();
  // Sets the linkage state of those `versions` that are still current
  // (skipping any replaced or withdrawn since; LINKING leaves LINKED ones
  // as they are), adding the updates to `write`, and writes it (synced) in
  // one write under the store's commit lock, so no commit interleaves.
  absl::Status WriteLinkageState(const std::vector<ExtractVersion>& versions,
                                 cohortlink::v1::LinkageState state,
                                 LinkageWrite* write) ABSL_LOCKS_EXCLUDED(mu_);

  // Retires a key epoch once every agency with extracts in it also has
  // extracts in a newer one: its remaining extracts are withdrawn and
  // further uploads to it refused, in one write with `audit`. Returns the
  // records removed. FAILED_PRECONDITION names an agency that has not moved.
  absl::StatusOr<uint64_t> RetireEpoch(uint32_t epoch,
                                       cohortlink::v1::AuditEntry audit = {})
      ABSL_LOCKS_EXCLUDED(mu_);
  // Opens a key epoch with its secret's key check value, in one write with
  // `audit`: uploads under an epoch after the first are refused until an
  // admin opens it, so no submitter can fix another epoch's secret. Epochs
  // open in order; ALREADY_EXISTS when `epoch` is open, FAILED_PRECONDITION
  // when it is retired or epoch - 1 is not open.
  absl::Status OpenEpoch(uint32_t epoch, const std::string& key_check_value,
                         cohortlink::v1::AuditEntry audit = {})
      ABSL_LOCKS_EXCLUDED(mu_);

  // Reads every record of the current version of an extract, in order.
  absl::Status ForEachRecord(
      const std::string& agency, const std::string& name,
      const std::function<void(const cohortlink::v1::EncodedRecord&)>& fn);

 private:
  friend class UploadSession;
  ExtractStore(Store* store, ExtractStoreOptions options, AuditLog* audit)
      : store_(store), options_(std::move(options)), audit_(audit) {}
  // Writes `batch` with sync, with `audit` in it when there is a log.
  absl::Status WriteAudited(rocksdb::WriteBatch* batch,
                            cohortlink::v1::AuditEntry audit);
  absl::Status Recover();
  // The admission check of an upload's header (BeginUpload). With
  // `settings`, adds the settings this upload fixes (the first upload's
  // schema and layout, a new epoch's key check value) to it.
  // REQUIRES: mu_ held when `settings` is given (the commit).
  absl::Status Admit(const std::string& agency,
                     const cohortlink::v1::UploadHeader& header,
                     rocksdb::WriteBatch* settings);
  // Refuses an upload that would give `agency` more than
  // kMaxAgencyDistinctValues distinct values of an attribute over its
  // current extracts (`name`'s own replaced by `values`), and adds `values`
  // as `name`'s to `write`. REQUIRES: mu_ held (the commit).
  absl::Status BoundAgencyValues(
      const std::string& agency, const std::string& name,
      const absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>&
          values,
      rocksdb::WriteBatch* write);
  // The extract's status; nullopt when there is none.
  absl::StatusOr<std::optional<cohortlink::v1::ExtractStatus>> Current(
      const std::string& agency, const std::string& name);
  // What an upload compares at commit to tell whether its extract changed
  // since it began: 2u for a current version of upload id u; 2u+1 for none,
  // the version last removed having been u's (0 if never). Upload ids are
  // never reused, so the token never comes back to an earlier value: an
  // extract created and withdrawn again meanwhile does not read as
  // unchanged (its withdrawal removed what the upload had staged).
  absl::StatusOr<uint64_t> ChangeToken(
      const std::optional<cohortlink::v1::ExtractStatus>& current,
      const std::string& agency, const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds to `b` the marker ChangeToken reads once `st` is withdrawn or
  // retired.
  void MarkRemoved(const cohortlink::v1::ExtractStatus& st,
                   rocksdb::WriteBatch* b);
  absl::StatusOr<uint64_t> ExtractId(const std::string& agency,
                                     const std::string& name)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<uint64_t> NextCounter(const char* key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The id of an extract that exists (NOT_FOUND otherwise).
  absl::StatusOr<uint64_t> StoredExtractId(const std::string& agency,
                                           const std::string& name);

  void Changed() const {
    if (options_.on_change) options_.on_change();
  }

  Store* store_;
  ExtractStoreOptions options_;
  AuditLog* audit_;  // may be null
  absl::Mutex mu_;   // serialises commits, deletes and id allocation
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_EXTRACT_STORE_H_
