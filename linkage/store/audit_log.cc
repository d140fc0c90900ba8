#include "linkage/store/audit_log.h"

#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    Store* store, std::function<absl::Time()> now) {
  auto log = std::unique_ptr<AuditLog>(new AuditLog(store, std::move(now)));
  std::unique_ptr<rocksdb::Iterator> it(store->db()->NewIterator(
      rocksdb::ReadOptions(), store->cf(Family::kAudit)));
  it->SeekToLast();
  RETURN_IF_ERROR(FromRocks(it->status(), "read audit log"));
  absl::MutexLock lock(&log->mu_);
  if (it->Valid()) {
    log->next_ =
        ReadBigEndian64(absl::string_view(it->key().data(), it->key().size())) +
        1;
  }
  return log;
}

absl::Status AuditLog::Write(cohortlink::v1::AuditEntry entry,
                             rocksdb::WriteBatch* batch, bool sync) {
  absl::MutexLock lock(&mu_);
  entry.set_sequence(next_);
  entry.set_time(util::FormatUtc(now_(), /*millis=*/true));
  std::string key;
  AppendBigEndian64(next_, &key);
  batch->Put(store_->cf(Family::kAudit), key, entry.SerializeAsString());
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  RETURN_IF_ERROR(
      FromRocks(store_->db()->Write(wo, batch), "write audit entry"));
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
