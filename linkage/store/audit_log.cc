#include "linkage/store/audit_log.h"

#include "absl/strings/str_cat.h"
#include "keys/merkle.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    Store* store, std::function<absl::Time()> now) {
  auto log = std::unique_ptr<AuditLog>(new AuditLog(store, std::move(now)));
  // The Merkle tree's leaves: every stored entry, in order, as stored.
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(), store->cf(Family::kAudit)));
  absl::MutexLock lock(&log->mu_);
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    uint64_t seq =
        ReadBigEndian64(absl::string_view(it->key().data(), it->key().size()));
    if (seq != log->next_) {
      return absl::DataLossError(absl::StrCat("access log: entry ", log->next_,
                                              " is missing (found ", seq, ")"));
    }
    log->tree_.Append(keys::MerkleLeafHash(
        absl::string_view(it->value().data(), it->value().size())));
    ++log->next_;
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read audit log"));
  return log;
}

absl::Status AuditLog::Write(cohortlink::v1::AuditEntry entry,
                             rocksdb::WriteBatch* batch, bool sync) {
  absl::MutexLock lock(&mu_);
  entry.set_sequence(next_);
  entry.set_time(util::FormatUtc(now_(), /*millis=*/true));
  std::string key;
  AppendBigEndian64(next_, &key);
  std::string bytes = entry.SerializeAsString();
  batch->Put(store_->cf(Family::kAudit), key, bytes);
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  RETURN_IF_ERROR(
      FromRocks(store_->db()->Write(wo, batch), "write audit entry"));
  tree_.Append(keys::MerkleLeafHash(bytes));
  ++next_;
  return absl::OkStatus();
}

absl::Status AuditLog::Append(cohortlink::v1::AuditEntry entry) {
  rocksdb::WriteBatch batch;
  return Write(std::move(entry), &batch, /*sync=*/true);
}

uint64_t AuditLog::size() const {
  absl::MutexLock lock(&mu_);
  return next_;
}

absl::StatusOr<std::vector<std::string>> AuditLog::ReadRaw(
    uint64_t from, uint64_t limit) const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kAudit)));
  std::string start;
  AppendBigEndian64(from, &start);
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next())
    out.push_back(it->value().ToString());
  RETURN_IF_ERROR(FromRocks(it->status(), "read audit log"));
  return out;
}

AuditLog::TreeHead AuditLog::Head() const {
  absl::MutexLock lock(&mu_);
  return {next_, tree_.Root(next_)};
}

absl::StatusOr<std::vector<std::string>> AuditLog::InclusionProof(
    uint64_t index, uint64_t size) const {
  absl::MutexLock lock(&mu_);
  if (size > next_ || index >= size) {
    return absl::OutOfRangeError(absl::StrCat("entry ", index,
                                              " is not in a tree of ", size,
                                              " (the log has ", next_, ")"));
  }
  return tree_.InclusionProof(index, size);
}

absl::StatusOr<std::vector<std::string>> AuditLog::ConsistencyProof(
    uint64_t first, uint64_t second) const {
  absl::MutexLock lock(&mu_);
  if (first == 0 || first > second || second > next_) {
    return absl::OutOfRangeError(
        absl::StrCat("no consistency proof from ", first, " to ", second,
                     " entries (the log has ", next_, ")"));
  }
  return tree_.ConsistencyProof(first, second);
}

absl::StatusOr<std::vector<cohortlink::v1::AuditEntry>> AuditLog::Read(
    uint64_t from, uint64_t limit) const {
  std::vector<cohortlink::v1::AuditEntry> out;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kAudit)));
  std::string start;
  AppendBigEndian64(from, &start);
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    cohortlink::v1::AuditEntry e;
    if (!e.ParseFromString(it->value().ToString())) {
      return absl::DataLossError("corrupt audit entry");
    }
    out.push_back(std::move(e));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "read audit log"));
  return out;
}

}  // namespace cohortlink::store
