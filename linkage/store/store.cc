#include "linkage/store/store.h"

#include <sys/statvfs.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "linkage/store/encryption.h"
#include "linkage/store/meta_keys.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "util/status_macros.h"

namespace cohortlink::store {

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = absl::StrCat(what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsIOError() && s.subcode() == rocksdb::Status::kNoSpace) {
    return absl::ResourceExhaustedError(msg);
  }
  if (s.IsBusy() || s.IsTryAgain() || s.IsTimedOut())
    return absl::UnavailableError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::InternalError(msg);
}

const char* FamilyName(Family f) {
  static constexpr const char* kNames[kFamilyCount] = {
      "meta",          "extracts", "records", "blocks", "entities",
      "record_entity", "events",   "model",   "audit",  "published"};
  return kNames[static_cast<int>(f)];
}

void AppendBigEndian64(uint64_t v, std::string* out) {
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(v >> (8 * i)));
}

std::string BigEndian64(uint64_t v) {
  std::string out;
  AppendBigEndian64(v, &out);
  return out;
}

std::string VersionPrefix(uint64_t id, uint64_t version) {
  std::string k;
  AppendBigEndian64(id, &k);
  AppendBigEndian64(version, &k);
  return k;
}

std::string RecordKey(uint64_t id, uint64_t version, uint64_t index) {
  std::string k = VersionPrefix(id, version);
  AppendBigEndian64(index, &k);
  return k;
}

uint64_t ReadBigEndian64(absl::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i)
    v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& dir,
                                                   StoreOptions options) {
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(dir, ec) && !ec) {
      fs::create_directories(dir, ec);
      if (!ec) fs::permissions(dir, fs::perms::owner_all, ec);
    }
    if (ec) {
      return absl::PermissionDeniedError(absl::StrCat(
          "cannot create the database directory ", dir, ": ", ec.message()));
    }
  }
  auto store = std::unique_ptr<Store>(new Store());
  store->dir_ = dir;
  store->reserve_ = options.disk_reserve_bytes;
  rocksdb::Env* base = nullptr;
  if (options.file_system != nullptr) {
    store->fs_ = options.file_system;
    store->composite_env_ = rocksdb::NewCompositeEnv(store->fs_);
    base = store->composite_env_.get();
  }
  ASSIGN_OR_RETURN(store->env_,
                   EncryptedEnvFor(dir, options.data_key_file, base));
  rocksdb::DBOptions opts;
  if (store->env_) {
    opts.env = store->env_.get();
  } else if (base != nullptr) {
    opts.env = base;
  }
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.IncreaseParallelism(2);
  // Fail closed on damage: paranoid checks stop the database on any
  // corruption it meets, and the WAL replay tolerates only an incomplete
  // last record (a write torn by a crash, which was never acknowledged
  // since acknowledged writes are synced); a bad record anywhere else is
  // an error instead of the silent truncation of point-in-time recovery.
  // RocksDB's kAbsoluteConsistency would also refuse the torn tail, so a
  // server killed mid-upload could not start again without an operator;
  // a lost acknowledged tail (a truncated or deleted WAL) is caught by the
  // access-log checkpoint instead.
  opts.paranoid_checks = true;
  opts.wal_recovery_mode =
      rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  rocksdb::ColumnFamilyOptions cf_opts;
  if (!options.cache_blocks) {
    rocksdb::BlockBasedTableOptions table;
    table.no_block_cache = true;
    cf_opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  }
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName, cf_opts);
  for (int i = 0; i < kFamilyCount; ++i)
    descs.emplace_back(FamilyName(static_cast<Family>(i)), cf_opts);
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, descs, &handles, &raw);
  if (!s.ok()) {
    absl::Status st = FromRocks(s, absl::StrCat("open database in ", dir));
    if (s.IsCorruption()) {
      return absl::DataLossError(absl::StrCat(
          st.message(),
          "; the database is damaged. Restore it from a backup "
          "(docs/server.md, "
          "Failure modes); the server does not start on damaged data"));
    }
    return st;
  }
  store->db_.reset(raw);
  store->default_ = handles[0];
  store->handles_.assign(handles.begin() + 1, handles.end());
  RETURN_IF_ERROR(store->CheckFormat());
  return store;
}

absl::Status Store::CheckFormat() {
  ASSIGN_OR_RETURN(auto stored, Get(Family::kMeta, meta::kStorageFormat));
  uint64_t format = 0;  // not recorded: written before formats were
  if (stored.has_value()) {
    if (stored->size() != 8) {
      return absl::DataLossError(absl::StrCat(
          "the database in ", dir_, " records a storage format of ",
          stored->size(), " bytes; the database is damaged"));
    }
    format = ReadBigEndian64(*stored);
  }
  if (format > kStorageFormat) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the database in ", dir_, " has storage format ", format,
        ", newer than this server's (", kStorageFormat,
        "): run the release that wrote it or a newer one; nothing was "
        "changed"));
  }
  if (format == kStorageFormat) return absl::OkStatus();
  // Migrations, each from format f to f + 1, in one synced batch with the
  // new format. 0 to 1 only records the format: the layout is the same.
  rocksdb::WriteBatch batch;
  RETURN_IF_ERROR(FromRocks(batch.Put(cf(Family::kMeta), meta::kStorageFormat,
                                      BigEndian64(kStorageFormat)),
                            "record the storage format"));
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return FromRocks(db_->Write(wo, &batch), "record the storage format");
}

absl::StatusOr<std::optional<std::string>> Store::Get(
    Family family, absl::string_view key, const rocksdb::Snapshot* snap) const {
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::string value;
  rocksdb::Status s =
      db_->Get(ro, cf(family), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  RETURN_IF_ERROR(FromRocks(s, absl::StrCat("read ", FamilyName(family),
                                            " key of ", key.size(), " bytes")));
  return value;
}

absl::Status Store::CheckSpace(uint64_t needed) const {
  if (needed == 0) return absl::OkStatus();
  struct statvfs vfs;
  if (::statvfs(dir_.c_str(), &vfs) != 0) return absl::OkStatus();
  const uint64_t free = uint64_t{vfs.f_bavail} * vfs.f_frsize;
  if (free >= needed) return absl::OkStatus();
  return absl::ResourceExhaustedError(absl::StrCat(
      "the disk holding ", dir_, " is nearly full: ", free >> 20,
      " MiB free, and the server keeps ", reserve_ >> 20,
      " MiB in reserve (limits.disk_reserve_mib); free space to resume"));
}

absl::Status Store::Write(rocksdb::WriteBatch* batch, bool sync) {
  RETURN_IF_ERROR(
      CheckSpace(batch->GetDataSize() > kSmallWrite ? reserve_ : reserve_ / 4));
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  absl::Status s = FromRocks(db_->Write(wo, batch), "write");
  if (!s.ok()) NoteWriteError(s);
  return s;
}

void Store::NoteWriteError(const absl::Status& s) {
  // Refusals of a write that leave the database writable are not ill
  // health; I/O errors and a full disk are.
  if (absl::IsInvalidArgument(s) || absl::IsUnavailable(s)) return;
  absl::MutexLock lock(&health_mu_);
  if (health_.ok()) health_ = s;
}

absl::Status Store::Health() const {
  {
    absl::MutexLock lock(&health_mu_);
    if (!health_.ok()) return health_;
  }
  return CheckSpace(reserve_);
}

absl::Status Store::TryResume() {
  {
    absl::MutexLock lock(&health_mu_);
    if (health_.ok()) return absl::OkStatus();
  }
  // Healthy again once a synced write succeeds. RocksDB may be resuming by
  // itself (it retries retryable I/O errors; Resume() then answers Busy);
  // otherwise Resume() asks it to flush what it holds and write again.
  auto probe = [this] {
    rocksdb::WriteBatch b;
    b.Put(cf(Family::kMeta), meta::kHealthProbe, "");
    return Write(&b);
  };
  absl::Status s = probe();
  if (!s.ok()) {
    rocksdb::Status r = db_->Resume();
    if (r.ok() || r.IsBusy()) s = probe();
  }
  absl::MutexLock lock(&health_mu_);
  if (s.ok()) health_ = absl::OkStatus();
  return s;
}

absl::Status Store::RotateDataKey(const std::string& dir,
                                  const std::string& old_key_file,
                                  const std::string& new_key_file) {
  namespace fs = std::filesystem;
  const fs::path db(dir);
  const fs::path parent = db.parent_path();
  const fs::path staging = parent / "rekey";
  const fs::path check = parent / "DATA_KEY_CHECK";
  std::error_code ec;
  if (fs::exists(staging, ec) || fs::exists(dir + ".old", ec) || ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("remove ", staging.string(), " and ", dir,
                     ".old from an earlier rotation first"));
  }
  {
    ASSIGN_OR_RETURN(auto from, Open(dir, old_key_file));
    fs::create_directories(staging, ec);
    if (ec) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot create ", staging.string(), ": ", ec.message()));
    }
    // The new key's check file goes beside the staging directory's db.
    ASSIGN_OR_RETURN(auto to, Open((staging / "db").string(), new_key_file));
    for (int f = 0; f < kFamilyCount; ++f) {
      std::unique_ptr<rocksdb::Iterator> it(from->db()->NewIterator(
          rocksdb::ReadOptions(), from->cf(static_cast<Family>(f))));
      rocksdb::WriteBatch batch;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        batch.Put(to->cf(static_cast<Family>(f)), it->key(), it->value());
        if (batch.GetDataSize() > (8 << 20)) {
          RETURN_IF_ERROR(FromRocks(
              to->db()->Write(rocksdb::WriteOptions(), &batch), "rekey"));
          batch.Clear();
        }
      }
      RETURN_IF_ERROR(FromRocks(it->status(), "rekey read"));
      rocksdb::WriteOptions wo;
      wo.sync = true;
      RETURN_IF_ERROR(FromRocks(to->db()->Write(wo, &batch), "rekey"));
    }
  }
  // Swap: old database aside, new one (and its key check) in place.
  fs::rename(db, dir + ".old", ec);
  if (!ec && fs::exists(check, ec))
    fs::rename(check, dir + ".old.DATA_KEY_CHECK", ec);
  if (!ec) fs::rename(staging / "db", db, ec);
  if (!ec) fs::rename(staging / "DATA_KEY_CHECK", check, ec);
  if (!ec) fs::remove(staging, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat(
        "rotation copied the data but could not swap directories: ",
        ec.message(), "; the old database is untouched in ", dir, " or ", dir,
        ".old"));
  }
  return absl::OkStatus();
}

absl::Status Store::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  RETURN_IF_ERROR(
      FromRocks(rocksdb::Checkpoint::Create(db_.get(), &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  return FromRocks(cp->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                   absl::StrCat("checkpoint into ", dir));
}

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  if (default_ != nullptr) db_->DestroyColumnFamilyHandle(default_);
  (void)db_->Close();
}

}  // namespace cohortlink::store
