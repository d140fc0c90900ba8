#ifndef COHORTLINK_LINKAGE_STORE_LINKAGE_STORE_H_
#define COHORTLINK_LINKAGE_STORE_LINKAGE_STORE_H_

// What the linkage runner keeps in RocksDB: the linkage status, the models,
// the map from records to entities, the entities, the id counter and the
// cell-key secret. The runner reads and writes them only through these
// typed functions; the column families and key layouts stay in
// linkage/store.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cohortlink/v1/linkage.pb.h"
#include "keys/secret.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/store.h"

namespace rocksdb {
class Iterator;
class WriteBatch;
}  // namespace rocksdb

namespace cohortlink::store {

// One linkage run's changes, written in one atomic write together with the
// extracts' linkage states (ExtractStore::WriteLinkageState). Not
// thread-safe.
class LinkageWrite {
 public:
  explicit LinkageWrite(Store* store);
  ~LinkageWrite();
  LinkageWrite(const LinkageWrite&) = delete;
  LinkageWrite& operator=(const LinkageWrite&) = delete;

  // Removes every record link and entity (a full relink rewrites them all).
  void RemoveAllLinks();
  // Removes the links of one version of an extract (withdrawn or replaced).
  void RemoveVersionLinks(uint64_t extract_id, uint64_t upload_id);
  void RemoveEntity(uint64_t entity_id);
  // The link of record `index` of (extract_id, upload_id).
  void PutLink(uint64_t extract_id, uint64_t upload_id, uint64_t index,
               const cohortlink::v1::RecordLink& link);
  void PutEntity(uint64_t entity_id, uint64_t members);
  void SetNextEntityId(uint64_t next);
  // Stores `model` under its version and makes it current.
  void PutModel(const cohortlink::v1::LinkageModel& model);
  void SetStatus(const cohortlink::v1::LinkageStatus& status);

  rocksdb::WriteBatch* batch() { return batch_.get(); }  // linkage/store only

 private:
  Store* store_;
  std::unique_ptr<rocksdb::WriteBatch> batch_;
};

// Reads of the stored linkage. Thread-safe. Every read returns its error;
// "absent" is a value (nullopt, or the documented default), never an error
// taken for absence.
class LinkageStore {
 public:
  explicit LinkageStore(Store* store) : store_(store) {}

  // The last run's status (at the snapshot when given); nullopt before the
  // first run. DATA_LOSS when stored but unreadable.
  absl::StatusOr<std::optional<cohortlink::v1::LinkageStatus>> Status(
      const ExtractSnapshot* at = nullptr) const;
  // The current model; version 0 (an empty model) before the first.
  absl::StatusOr<cohortlink::v1::LinkageModel> CurrentModel() const;
  // The next entity id to hand out (1 before the first run).
  absl::StatusOr<uint64_t> NextEntityId() const;
  // The secret behind every entity's cell key, made (and stored, synced)
  // on first use.
  absl::StatusOr<keys::SecretBytes> CellKeySecret();
  // Every stored record link, with the extract id of its record.
  absl::Status ForEachStoredLink(
      const std::function<absl::Status(
          uint64_t extract_id, const cohortlink::v1::RecordLink&)>& fn) const;
  // The links of snap.versions()[v], in record order, at the snapshot.
  absl::Status ForEachLink(
      const ExtractSnapshot& snap, size_t v,
      const std::function<absl::Status(const cohortlink::v1::RecordLink&)>& fn)
      const;
  // The records of snap.versions()[v] with their links, in order. DATA_LOSS
  // when the links are out of step with the records.
  absl::Status ForEachLinkedRecord(
      const ExtractSnapshot& snap, size_t v,
      const std::function<absl::Status(const cohortlink::v1::EncodedRecord&,
                                       const cohortlink::v1::RecordLink&)>& fn)
      const;

 private:
  // An iterator over the links of snap.versions()[v] at the snapshot,
  // positioned at the first; `prefix` is the keys' common prefix.
  std::unique_ptr<rocksdb::Iterator> LinksOf(const ExtractSnapshot& snap,
                                             size_t v,
                                             std::string* prefix) const;
  Store* store_;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_LINKAGE_STORE_H_
