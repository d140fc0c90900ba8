#include "linkage/store/published_sets.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "linkage/store/meta_keys.h"
#include "util/status_macros.h"

namespace cohortlink::store {

absl::StatusOr<std::unique_ptr<PublishedSetStore>> PublishedSetStore::Open(
    Store* store, uint32_t width) {
  ASSIGN_OR_RETURN(auto stored,
                   store->Get(Family::kMeta, meta::kPublishedSetWidth));
  if (stored.has_value()) {
    if (stored->size() != 8)
      return absl::DataLossError("corrupt published-set sketch width");
    uint64_t w = ReadBigEndian64(*stored);
    if (w < cohort::SetSketch::kMinWidth || w > cohort::SetSketch::kMaxWidth) {
      return absl::DataLossError(absl::StrCat(
          "stored published-set sketch width ", w, " is outside its bounds"));
    }
    width = static_cast<uint32_t>(w);
  }
  return std::unique_ptr<PublishedSetStore>(
      new PublishedSetStore(store, width, stored.has_value()));
}

absl::StatusOr<bool> PublishedSetStore::NearOne(const cohort::PublishedSet& set,
                                                uint32_t threshold) {
  const uint64_t reach = threshold > 0 ? threshold - 1 : 0;
  const uint64_t lo = set.count > reach ? set.count - reach : 0;
  const uint64_t hi = set.count + reach;
  std::string upper = BigEndian64(hi + 1);
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  if (hi != UINT64_MAX) ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->cf(Family::kPublished)));
  for (it->Seek(BigEndian64(lo)); it->Valid(); it->Next()) {
    if (it->key().size() != 16)
      return absl::DataLossError("corrupt published-set key");
    const uint64_t count =
        ReadBigEndian64(absl::string_view(it->key().data(), 8));
    auto sketch = cohort::SetSketch::Parse(
        absl::string_view(it->value().data(), it->value().size()), width_);
    if (!sketch.ok()) {
      return absl::DataLossError(
          absl::StrCat("corrupt published set: ", sketch.status().message()));
    }
    if (cohort::Near({count, *std::move(sketch)}, set, threshold)) return true;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read published sets"));
  return false;
}

uint64_t PublishedSetStore::EstimatedEntries() const {
  uint64_t n = 0;
  if (!store_->db()->GetIntProperty(store_->cf(Family::kPublished),
                                    "rocksdb.estimate-num-keys", &n))
    return 0;
  return n;
}

absl::Status PublishedSetStore::Remember(
    absl::Span<const cohort::PublishedSet> sets) {
  if (sets.empty()) return absl::OkStatus();
  rocksdb::WriteBatch batch;
  if (!width_stored_) {
    batch.Put(store_->cf(Family::kMeta), meta::kPublishedSetWidth,
              BigEndian64(width_));
  }
  for (const cohort::PublishedSet& s : sets) {
    std::string key = BigEndian64(s.count);
    AppendBigEndian64(s.sketch.Digest(), &key);
    batch.Put(store_->cf(Family::kPublished), key, s.sketch.Serialize());
  }
  RETURN_IF_ERROR(store_->Write(&batch));
  width_stored_ = true;
  return absl::OkStatus();
}

}  // namespace cohortlink::store
