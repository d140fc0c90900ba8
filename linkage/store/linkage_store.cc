#include "linkage/store/linkage_store.h"

#include "absl/strings/str_cat.h"
#include "keys/random.h"
#include "linkage/store/meta_keys.h"
#include "rocksdb/write_batch.h"
#include "util/status_macros.h"

namespace cohortlink::store {

using cohortlink::v1::LinkageModel;
using cohortlink::v1::LinkageStatus;
using cohortlink::v1::RecordLink;

namespace {

template <typename Message>
absl::StatusOr<std::optional<Message>> ReadMessage(
    const Store* store, Family family, absl::string_view key,
    const rocksdb::Snapshot* snap = nullptr) {
  ASSIGN_OR_RETURN(auto bytes, store->Get(family, key, snap));
  if (!bytes.has_value()) return std::nullopt;
  Message m;
  if (!m.ParseFromString(*bytes))
    return absl::DataLossError(absl::StrCat("corrupt ", key));
  return m;
}

}  // namespace

LinkageWrite::LinkageWrite(Store* store)
    : store_(store), batch_(std::make_unique<rocksdb::WriteBatch>()) {}

LinkageWrite::~LinkageWrite() = default;

void LinkageWrite::RemoveAllLinks() {
  // record_entity keys are RecordKey()s (24 bytes), entity keys 8 bytes.
  const std::string lo(24, '\0'), hi(25, '\xff');
  batch_->DeleteRange(store_->cf(Family::kRecordEntity), lo, hi);
  batch_->DeleteRange(store_->cf(Family::kEntities), lo.substr(0, 8),
                      hi.substr(0, 9));
}

void LinkageWrite::RemoveVersionLinks(uint64_t extract_id, uint64_t upload_id) {
  batch_->DeleteRange(store_->cf(Family::kRecordEntity),
                      VersionPrefix(extract_id, upload_id),
                      VersionPrefix(extract_id, upload_id + 1));
}

void LinkageWrite::RemoveEntity(uint64_t entity_id) {
  batch_->Delete(store_->cf(Family::kEntities), BigEndian64(entity_id));
}

void LinkageWrite::PutLink(uint64_t extract_id, uint64_t upload_id,
                           uint64_t index, const RecordLink& link) {
  batch_->Put(store_->cf(Family::kRecordEntity),
              RecordKey(extract_id, upload_id, index),
              link.SerializeAsString());
}

void LinkageWrite::PutEntity(uint64_t entity_id, uint64_t members) {
  batch_->Put(store_->cf(Family::kEntities), BigEndian64(entity_id),
              BigEndian64(members));
}

void LinkageWrite::SetNextEntityId(uint64_t next) {
  batch_->Put(store_->cf(Family::kMeta), meta::kNextEntityId,
              BigEndian64(next));
}

void LinkageWrite::PutModel(const LinkageModel& model) {
  batch_->Put(store_->cf(Family::kModel), BigEndian64(model.version()),
              model.SerializeAsString());
  batch_->Put(store_->cf(Family::kMeta), meta::kCurrentModel,
              BigEndian64(model.version()));
}

void LinkageWrite::SetStatus(const LinkageStatus& status) {
  batch_->Put(store_->cf(Family::kMeta), meta::kLinkageStatus,
              status.SerializeAsString());
}

absl::StatusOr<std::optional<LinkageStatus>> LinkageStore::Status(
    const ExtractSnapshot* at) const {
  return ReadMessage<LinkageStatus>(store_, Family::kMeta, meta::kLinkageStatus,
                                    at != nullptr ? at->snapshot() : nullptr);
}

absl::StatusOr<LinkageModel> LinkageStore::CurrentModel() const {
  ASSIGN_OR_RETURN(auto version,
                   store_->Get(Family::kMeta, meta::kCurrentModel));
  if (!version.has_value()) return LinkageModel();  // version 0: none yet
  if (version->size() != 8)
    return absl::DataLossError("corrupt current model version");
  ASSIGN_OR_RETURN(auto model,
                   ReadMessage<LinkageModel>(store_, Family::kModel, *version));
  if (!model.has_value()) {
    return absl::DataLossError(absl::StrCat("model version ",
                                            ReadBigEndian64(*version),
                                            " is current but not stored"));
  }
  return *std::move(model);
}

absl::StatusOr<uint64_t> LinkageStore::NextEntityId() const {
  ASSIGN_OR_RETURN(auto v, store_->Get(Family::kMeta, meta::kNextEntityId));
  if (!v.has_value()) return 1;
  if (v->size() != 8) return absl::DataLossError("corrupt next entity id");
  return ReadBigEndian64(*v);
}

absl::StatusOr<keys::SecretBytes> LinkageStore::CellKeySecret() {
  ASSIGN_OR_RETURN(auto stored,
                   store_->Get(Family::kMeta, meta::kCellKeySecret));
  if (stored.has_value()) {
    keys::SecretBytes secret(std::move(*stored));
    if (secret.size() != 32)
      return absl::DataLossError("corrupt cell-key secret");
    return secret;
  }
  ASSIGN_OR_RETURN(keys::SecretBytes fresh, keys::RandomBytes(32));
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), meta::kCellKeySecret,
        rocksdb::Slice(fresh.view().data(), fresh.view().size()));
  absl::Status s = store_->Write(&b);
  // The batch held a copy of the secret.
  b.Clear();
  RETURN_IF_ERROR(s);
  return fresh;
}

absl::Status LinkageStore::ForEachStoredLink(
    const std::function<absl::Status(uint64_t, const RecordLink&)>& fn) const {
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kRecordEntity)));
  RecordLink link;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key().size() < 8 ||
        !link.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size())))
      return absl::DataLossError("corrupt record link");
    // A record_entity key starts with the extract id (RecordKey).
    RETURN_IF_ERROR(
        fn(ReadBigEndian64(absl::string_view(it->key().data(), 8)), link));
  }
  return FromRocks(it->status(), "read record links");
}

std::unique_ptr<rocksdb::Iterator> LinkageStore::LinksOf(
    const ExtractSnapshot& snap, size_t v, std::string* prefix) const {
  const ExtractVersion& ver = snap.versions()[v];
  *prefix = VersionPrefix(ver.extract_id, ver.status.upload_id());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap.snapshot();
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->cf(Family::kRecordEntity)));
  it->Seek(*prefix);
  return it;
}

absl::Status LinkageStore::ForEachLink(
    const ExtractSnapshot& snap, size_t v,
    const std::function<absl::Status(const RecordLink&)>& fn) const {
  std::string prefix;
  auto it = LinksOf(snap, v, &prefix);
  RecordLink link;
  for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (!link.ParseFromArray(it->value().data(),
                             static_cast<int>(it->value().size())))
      return absl::DataLossError("corrupt record link");
    RETURN_IF_ERROR(fn(link));
  }
  return FromRocks(it->status(), "read record links");
}

absl::Status LinkageStore::ForEachLinkedRecord(
    const ExtractSnapshot& snap, size_t v,
    const std::function<absl::Status(const cohortlink::v1::EncodedRecord&,
                                     const RecordLink&)>& fn) const {
  std::string prefix;
  auto it = LinksOf(snap, v, &prefix);
  RecordLink link;
  absl::Status s = absl::OkStatus();
  RETURN_IF_ERROR(snap.ForEachRecord(
      v, [&](uint64_t, const cohortlink::v1::EncodedRecord& r) {
        if (!s.ok()) return;
        if (!it->Valid() || !it->key().starts_with(prefix) ||
            !link.ParseFromArray(it->value().data(),
                                 static_cast<int>(it->value().size()))) {
          s = it->status().ok()
                  ? absl::DataLossError("record links out of step with records")
                  : FromRocks(it->status(), "read record links");
          return;
        }
        s = fn(r, link);
        it->Next();
      }));
  RETURN_IF_ERROR(s);
  return FromRocks(it->status(), "read record links");
}

}  // namespace cohortlink::store
