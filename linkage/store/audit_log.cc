#include "linkage/store/audit_log.h"

#include "absl/strings/str_cat.h"
#include "keys/mac.h"
#include "keys/merkle.h"
#include "linkage/store/meta_keys.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Create(
    Store* store, std::function<absl::Time()> now,
    std::string checkpoint_path) {
  auto log = std::unique_ptr<AuditLog>(new AuditLog(store, std::move(now)));
  if (!checkpoint_path.empty()) {
    ASSIGN_OR_RETURN(auto cp, AuditCheckpoint::Open(checkpoint_path));
    absl::MutexLock lock(&log->mu_);
    log->checkpoint_ = std::move(cp);
  }
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

namespace {

// At most `max` bytes of `s`, not splitting a UTF-8 character.
void CutUtf8(std::string* s, size_t max) {
  if (s->size() <= max) return;
  size_t n = max;
  while (n > 0 && (static_cast<unsigned char>((*s)[n]) & 0xC0) == 0x80) --n;
  s->resize(n);
}

}  // namespace

void BoundAuditEntry(cohortlink::v1::AuditEntry* e) {
  if (!e->query().empty())
    e->set_query_sha256(keys::Sha256::Digest(e->query()));
  if (e->query().size() > kMaxQueryBytes) {
    e->set_query_truncated(true);
    CutUtf8(e->mutable_query(), kQueryPrefixBytes);
  }
  for (std::string* f :
       {e->mutable_time(), e->mutable_principal(), e->mutable_role(),
        e->mutable_peer(), e->mutable_method(), e->mutable_agency(),
        e->mutable_target(), e->mutable_message()}) {
    CutUtf8(f, kMaxFieldBytes);
  }
}

absl::Status AuditLog::Write(cohortlink::v1::AuditEntry entry,
                             rocksdb::WriteBatch* batch, bool sync) {
  absl::MutexLock lock(&mu_);
  return WriteLocked(std::move(entry), batch, sync);
}

absl::StatusOr<CheckpointState> AuditLog::AppendAndCopy(
    cohortlink::v1::AuditEntry entry, absl::FunctionRef<absl::Status()> copy) {
  absl::MutexLock lock(&mu_);
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(WriteLocked(std::move(entry), &batch, /*sync=*/true));
  RETURN_IF_ERROR(copy());
  CheckpointState cp;
  if (checkpoint_ != nullptr) cp = checkpoint_->state();
  cp.log_size = next_;
  cp.last_leaf = tree_.leaf(next_ - 1);
  if (cp.head_size > next_) {  // cannot be: heads are of stored entries
    return absl::InternalError("access log: a tree head beyond the log");
  }
  return cp;
}

absl::Status AuditLog::WriteLocked(cohortlink::v1::AuditEntry entry,
                                   rocksdb::WriteBatch* batch, bool sync) {
  BoundAuditEntry(&entry);
  entry.set_sequence(next_);
  entry.set_time(util::FormatUtc(now_(), /*millis=*/true));
  std::string key;
  AppendBigEndian64(next_, &key);
  std::string bytes = entry.SerializeAsString();
  batch->Put(store_->cf(Family::kAudit), key, bytes);
  RETURN_IF_ERROR(store_->Write(batch, sync));
  std::string leaf = keys::MerkleLeafHash(bytes);
  tree_.Append(leaf);
  ++next_;
  if (checkpoint_ == nullptr || !sync) return absl::OkStatus();
  // Acknowledged only once the checkpoint knows: a write-ahead log that
  // later loses this entry is then noticed at start.
  CheckpointState cp = checkpoint_->state();
  cp.log_size = next_;
  cp.last_leaf = std::move(leaf);
  return checkpoint_->Save(cp);
}

std::vector<std::string> AuditLog::CheckIntegrity(
    absl::string_view key_fingerprint) const {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> problems;
  if (checkpoint_ == nullptr) return problems;
  const CheckpointState& cp = checkpoint_->state();
  if (!checkpoint_->existed() && next_ > 0) {
    problems.push_back(absl::StrCat(
        "the access log holds ", next_, " entries but there is no checkpoint (",
        checkpoint_->path(),
        " was removed, or the database was copied in "
        "without it)"));
  }
  if (next_ < cp.log_size) {
    problems.push_back(absl::StrCat(
        "the access log holds ", next_, " entries, but ", cp.log_size,
        " were acknowledged: acknowledged writes are missing (a truncated or "
        "deleted write-ahead log, or an older copy of the database)"));
  } else if (cp.log_size > 0 && tree_.leaf(cp.log_size - 1) != cp.last_leaf) {
    problems.push_back(absl::StrCat("access-log entry ", cp.log_size - 1,
                                    " differs from the one acknowledged"));
  }
  if (cp.head_size > 0 && cp.head_size <= next_ &&
      tree_.Root(cp.head_size) != cp.head_root) {
    problems.push_back(absl::StrCat(
        "the access log's first ", cp.head_size,
        " entries no longer hash to the root of the last signed tree head"));
  }
  if (!cp.key_fingerprint.empty()) {
    if (key_fingerprint.empty()) {
      problems.push_back(
          "the access-log signing key is missing (audit-signing.key); a new "
          "key would make every signed tree head so far unverifiable");
    } else if (key_fingerprint != cp.key_fingerprint) {
      problems.push_back(
          "the access-log signing key (audit-signing.key) is not the key "
          "that signed the last tree head");
    }
  }
  return problems;
}

absl::Status AuditLog::AcceptState(absl::string_view key_fingerprint,
                                   cohortlink::v1::AuditEntry entry) {
  {
    absl::MutexLock lock(&mu_);
    if (checkpoint_ != nullptr) {
      CheckpointState cp;
      cp.log_size = next_;
      cp.last_leaf = next_ > 0 ? tree_.leaf(next_ - 1) : "";
      cp.head_size = next_;
      cp.head_root = tree_.Root(next_);
      cp.key_fingerprint = std::string(key_fingerprint);
      RETURN_IF_ERROR(checkpoint_->Save(cp));
    }
  }
  return Append(std::move(entry));
}

absl::Status AuditLog::StoreTreeHead(const cohortlink::v1::SignedTreeHead& sth,
                                     absl::string_view key_fingerprint) {
  // The synced write needs no lock; only the checkpoint is shared with
  // every append.
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), meta::kLatestTreeHead,
        sth.SerializeAsString());
  RETURN_IF_ERROR(store_->Write(&b));
  absl::MutexLock lock(&mu_);
  if (checkpoint_ == nullptr) return absl::OkStatus();
  CheckpointState cp = checkpoint_->state();
  cp.head_size = sth.tree_size();
  cp.head_root = sth.root_hash();
  cp.key_fingerprint = std::string(key_fingerprint);
  return checkpoint_->Save(cp);
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
    uint64_t from, uint64_t limit, uint64_t max_bytes) const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kAudit)));
  std::string start;
  AppendBigEndian64(from, &start);
  uint64_t bytes = 0;
  for (it->Seek(start); it->Valid() && out.size() < limit; it->Next()) {
    if (!out.empty() && bytes + it->value().size() > max_bytes) break;
    bytes += it->value().size();
    out.push_back(it->value().ToString());
  }
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
