#include "linkage/store/store.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "linkage/store/encryption.h"
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
      "record_entity", "events",   "model",   "audit"};
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

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& dir, const std::string& data_key_file) {
  ASSIGN_OR_RETURN(std::unique_ptr<rocksdb::Env> env,
                   EncryptedEnvFor(dir, data_key_file));
  rocksdb::DBOptions opts;
  if (env) opts.env = env.get();
  opts.create_if_missing = true;
  opts.create_missing_column_families = true;
  opts.IncreaseParallelism(2);
  std::vector<rocksdb::ColumnFamilyDescriptor> descs;
  descs.emplace_back(rocksdb::kDefaultColumnFamilyName,
                     rocksdb::ColumnFamilyOptions());
  for (int i = 0; i < kFamilyCount; ++i) {
    descs.emplace_back(FamilyName(static_cast<Family>(i)),
                       rocksdb::ColumnFamilyOptions());
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(opts, dir, descs, &handles, &raw);
  if (!s.ok()) return FromRocks(s, absl::StrCat("open database in ", dir));
  auto store = std::unique_ptr<Store>(new Store());
  store->env_ = std::move(env);
  store->db_.reset(raw);
  store->default_ = handles[0];
  store->handles_.assign(handles.begin() + 1, handles.end());
  return store;
}

absl::Status Store::RotateDataKey(const std::string& dir,
                                  const std::string& old_key_file,
                                  const std::string& new_key_file) {
  namespace fs = std::filesystem;
  const fs::path db(dir);
  const fs::path parent = db.parent_path();
  const fs::path staging = parent / "rekey";
  const fs::path check = parent / "DATA_KEY_CHECK";
  if (fs::exists(staging) || fs::exists(dir + ".old")) {
    return absl::FailedPreconditionError(
        absl::StrCat("remove ", staging.string(), " and ", dir,
                     ".old from an earlier rotation first"));
  }
  {
    ASSIGN_OR_RETURN(auto from, Open(dir, old_key_file));
    fs::create_directories(staging);
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
  std::error_code ec;
  fs::rename(db, dir + ".old", ec);
  if (!ec && fs::exists(check))
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

Store::~Store() {
  if (!db_) return;
  for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  if (default_ != nullptr) db_->DestroyColumnFamilyHandle(default_);
  (void)db_->Close();
}

}  // namespace cohortlink::store
