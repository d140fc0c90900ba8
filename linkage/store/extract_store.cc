#include "linkage/store/extract_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "keys/key_check.h"
#include "keys/secret.h"
#include "linkage/encoding/dates.h"
#include "linkage/store/linkage_store.h"
#include "linkage/store/meta_keys.h"
#include "util/error_details.h"
#include "util/names.h"
#include "util/status_macros.h"
#include "util/text.h"

namespace cohortlink::store {

using cohortlink::v1::EncodedRecord;
using cohortlink::v1::ExtractStatus;
using cohortlink::v1::UploadHeader;
using cohortlink::v1::UploadReceipt;

namespace {

constexpr char kSep = '\x1f';
using meta::kExtractIdPrefix;
using meta::kExtractRemovedPrefix;
using meta::kExtractValuesPrefix;

std::string ExtractKey(const std::string& agency, const std::string& name) {
  return absl::StrCat(agency, std::string(1, kSep), name);
}

// INVALID_ARGUMENT naming the 0-based record index and the field, in the
// message and as a google.rpc.BadRequest field violation
// ("records[<index>].<field>"; the whole record when `field` is empty).
absl::Status RecordError(uint64_t index, absl::string_view field,
                         absl::string_view what) {
  std::string where = field.empty()
                          ? absl::StrCat("record ", index)
                          : absl::StrCat("record ", index, ": ", field);
  return util::WithFieldViolation(
      absl::InvalidArgumentError(absl::StrCat(where, ": ", what)),
      field.empty() ? absl::StrCat("records[", index, "]")
                    : absl::StrCat("records[", index, "].", field),
      what);
}

std::string JoinSorted(const absl::flat_hash_set<std::string>& set) {
  std::vector<std::string> v(set.begin(), set.end());
  std::sort(v.begin(), v.end());
  return absl::StrJoin(v, ", ");
}

}  // namespace

absl::StatusOr<std::unique_ptr<ExtractStore>> ExtractStore::Create(
    Store* store, ExtractStoreOptions options, AuditLog* audit) {
  auto s = std::unique_ptr<ExtractStore>(
      new ExtractStore(store, std::move(options), audit));
  RETURN_IF_ERROR(s->Recover());
  return s;
}

absl::Status ExtractStore::Recover() {
  // Every record range outside an extract's current version is debris of an
  // upload that never committed (or of a replaced version).
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kMeta)));
  rocksdb::WriteBatch cleanup;
  for (it->Seek(kExtractIdPrefix);
       it->Valid() && it->key().starts_with(kExtractIdPrefix); it->Next()) {
    uint64_t id = ReadBigEndian64(
        absl::string_view(it->value().data(), it->value().size()));
    std::string ek(it->key().data() + sizeof(kExtractIdPrefix) - 1,
                   it->key().size() - (sizeof(kExtractIdPrefix) - 1));
    std::string value;
    uint64_t current = 0;
    rocksdb::Status s = store_->db()->Get(
        rocksdb::ReadOptions(), store_->cf(Family::kExtracts), ek, &value);
    if (s.ok()) {
      ExtractStatus st;
      if (!st.ParseFromString(value))
        return absl::DataLossError("corrupt extract status");
      current = st.upload_id();
    } else if (!s.IsNotFound()) {
      return FromRocks(s, "read extract status");
    }
    std::string lo = VersionPrefix(id, 0), hi = VersionPrefix(id, current);
    if (current > 0) cleanup.DeleteRange(store_->cf(Family::kRecords), lo, hi);
    std::string after = VersionPrefix(id, current + 1),
                end = VersionPrefix(id + 1, 0);
    cleanup.DeleteRange(store_->cf(Family::kRecords), after, end);
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "scan extract ids"));
  return store_->Write(&cleanup);
}

absl::Status ExtractStore::WriteAudited(rocksdb::WriteBatch* batch,
                                        cohortlink::v1::AuditEntry audit) {
  if (audit_ != nullptr) {
    return audit_->Write(std::move(audit), batch, /*sync=*/true);
  }
  return store_->Write(batch);
}

absl::StatusOr<uint64_t> ExtractStore::NextCounter(const char* key) {
  ASSIGN_OR_RETURN(std::optional<std::string> value,
                   store_->Get(Family::kMeta, key));
  uint64_t next = value.has_value() ? ReadBigEndian64(*value) : 1;
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), key, BigEndian64(next + 1));
  RETURN_IF_ERROR(store_->Write(&b));
  return next;
}

absl::StatusOr<uint64_t> ExtractStore::ExtractId(const std::string& agency,
                                                 const std::string& name) {
  absl::MutexLock lock(&mu_);
  auto existing = StoredExtractId(agency, name);
  if (existing.status().code() != absl::StatusCode::kNotFound) return existing;
  std::string key = absl::StrCat(kExtractIdPrefix, ExtractKey(agency, name));
  ASSIGN_OR_RETURN(uint64_t id, NextCounter(meta::kNextExtractId));
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), key, BigEndian64(id));
  RETURN_IF_ERROR(store_->Write(&b));
  return id;
}

absl::StatusOr<std::optional<ExtractStatus>> ExtractStore::Current(
    const std::string& agency, const std::string& name) {
  auto st = Get(agency, name);
  if (absl::IsNotFound(st.status())) return std::nullopt;
  RETURN_IF_ERROR(st.status());
  return *std::move(st);
}

absl::StatusOr<uint64_t> ExtractStore::ChangeToken(
    const std::optional<ExtractStatus>& current, const std::string& agency,
    const std::string& name) {
  // Even: a current version; odd: none, after the version last removed.
  if (current.has_value()) return current->upload_id() << 1;
  ASSIGN_OR_RETURN(
      auto removed,
      store_->Get(Family::kMeta, absl::StrCat(kExtractRemovedPrefix,
                                              ExtractKey(agency, name))));
  if (!removed.has_value()) return 1;
  if (removed->size() != 8)
    return absl::DataLossError("corrupt withdrawn-version marker");
  return (ReadBigEndian64(*removed) << 1) | 1;
}

void ExtractStore::MarkRemoved(const ExtractStatus& st,
                               rocksdb::WriteBatch* b) {
  const std::string key = ExtractKey(st.agency(), st.extract_name());
  b->Put(store_->cf(Family::kMeta), absl::StrCat(kExtractRemovedPrefix, key),
         BigEndian64(st.upload_id()));
}

namespace {

std::string DescribeLayout(const cohortlink::v1::FilterLayout& l) {
  std::vector<std::string> segments;
  for (const auto& seg : l.segments()) {
    segments.push_back(
        absl::StrCat(util::Printable(seg.name()), " ", seg.length_bits()));
  }
  return absl::StrCat(l.total_bits(), " bits (", absl::StrJoin(segments, ", "),
                      ")");
}

// Whether two layouts place the same filters at the same bits (what
// linkage compares; the expected fill is advisory and not compared).
bool SameLayout(const cohortlink::v1::FilterLayout& a,
                const cohortlink::v1::FilterLayout& b) {
  if (a.total_bits() != b.total_bits() ||
      a.segments_size() != b.segments_size())
    return false;
  for (int i = 0; i < a.segments_size(); ++i) {
    const auto &x = a.segments(i), &y = b.segments(i);
    if (x.name() != y.name() || x.kind() != y.kind() ||
        x.offset_bits() != y.offset_bits() ||
        x.length_bits() != y.length_bits())
      return false;
  }
  return true;
}

absl::Status HeaderError(absl::string_view field, absl::string_view what) {
  return util::WithFieldViolation(
      absl::InvalidArgumentError(absl::StrCat("header: ", field, ": ", what)),
      absl::StrCat("header.", field), what);
}

absl::Status HeaderName(absl::string_view field, absl::string_view name,
                        size_t max_bytes) {
  if (util::IsValidName(name, max_bytes)) return absl::OkStatus();
  return HeaderError(field, util::NameRuleViolation(name, max_bytes));
}

// Every limit of an upload's header (docs/limits.md), before anything is
// allocated for it.
absl::Status CheckHeader(const UploadHeader& header, uint64_t max_records) {
  RETURN_IF_ERROR(
      HeaderName("extract_name", header.extract_name(), util::kMaxNameBytes));
  const auto& x = header.extract();
  for (const auto& [field, text] :
       {std::pair<const char*, const std::string*>{"extract.schema_kind",
                                                   &x.schema_kind()},
        {"extract.schema_name", &x.schema_name()},
        {"extract.encoder", &x.encoder()},
        {"extract.created_at", &x.created_at()}}) {
    if (!util::IsValidLabel(*text, kMaxHeaderTextBytes)) {
      return HeaderError(field,
                         absl::StrCat("must be at most ", kMaxHeaderTextBytes,
                                      " bytes of printable UTF-8"));
    }
  }
  if (x.schema_fingerprint().size() != 32)
    return HeaderError("extract.schema_fingerprint", "must be 32 bytes");
  if (x.key_check_value().size() != keys::kKeyCheckValueSize) {
    return HeaderError(
        "extract.key_check_value",
        absl::StrCat("must be ", keys::kKeyCheckValueSize, " bytes"));
  }
  if (x.attribute_names_size() > static_cast<int>(kMaxAttributes)) {
    return HeaderError("extract.attribute_names",
                       absl::StrCat(x.attribute_names_size(),
                                    " names; at most ", kMaxAttributes));
  }
  for (int i = 0; i < x.attribute_names_size(); ++i) {
    const std::string field = absl::StrCat("extract.attribute_names[", i, "]");
    RETURN_IF_ERROR(
        HeaderName(field, x.attribute_names(i), kMaxAttributeNameBytes));
    for (int j = 0; j < i; ++j) {
      if (x.attribute_names(j) == x.attribute_names(i))
        return HeaderError(field, "declared twice");
    }
  }
  if (x.blocking_rules_size() > static_cast<int>(kMaxBlockingRules)) {
    return HeaderError("extract.blocking_rules",
                       absl::StrCat("at most ", kMaxBlockingRules));
  }
  for (const auto& r : x.blocking_rules()) {
    if (!util::IsValidLabel(r, kMaxHeaderTextBytes))
      return HeaderError("extract.blocking_rules", "not printable");
  }
  const auto& layout = x.layout();
  if (layout.total_bits() == 0 || layout.total_bits() % 64 != 0 ||
      layout.total_bits() > kMaxFilterBits || layout.segments().empty() ||
      layout.segments_size() > static_cast<int>(kMaxSegments)) {
    return HeaderError(
        "extract.layout",
        absl::StrCat("must be a multiple of 64 bits, at most ", kMaxFilterBits,
                     ", in 1 to ", kMaxSegments, " segments"));
  }
  for (const auto& seg : layout.segments()) {
    if (!util::IsValidLabel(seg.name(), kMaxHeaderTextBytes))
      return HeaderError("extract.layout.segments", "name not printable");
    if (seg.length_bits() == 0 ||
        uint64_t{seg.offset_bits()} + seg.length_bits() > layout.total_bits()) {
      return HeaderError(
          "extract.layout.segments",
          absl::StrCat("segment '", seg.name(), "' lies outside the layout's ",
                       layout.total_bits(), " bits"));
    }
  }
  if (header.record_count() == 0) {
    return HeaderError("record_count",
                       "an extract holds at least one record (to withdraw "
                       "one, delete it)");
  }
  if (header.record_count() > max_records) {
    return HeaderError(
        "record_count",
        absl::StrCat(header.record_count(), " records exceed the limit of ",
                     max_records));
  }
  if (header.content_digest().size() != 32)
    return HeaderError("content_digest", "must be a SHA-256 (32 bytes)");
  return absl::OkStatus();
}

}  // namespace

absl::Status ExtractStore::Admit(const std::string& agency,
                                 const UploadHeader& header,
                                 rocksdb::WriteBatch* settings) {
  const uint32_t epoch = KeyEpoch(header.key_epoch());
  const auto& extract = header.extract();
  ASSIGN_OR_RETURN(auto retired,
                   store_->Get(Family::kMeta, meta::RetiredEpoch(epoch)));
  if (retired.has_value()) {
    return util::WithPreconditionViolation(
        absl::FailedPreconditionError(absl::StrCat(
            "key epoch ", epoch,
            " is retired; re-encode with the current linkage secret and "
            "upload under a newer --key-epoch")),
        "KEY_EPOCH", absl::StrCat("epoch/", epoch), "retired");
  }
  // The first upload fixes the linkage's schema and filter layout.
  ASSIGN_OR_RETURN(auto fp,
                   store_->Get(Family::kMeta, meta::kSchemaFingerprint));
  ASSIGN_OR_RETURN(auto layout_bytes,
                   store_->Get(Family::kMeta, meta::kFilterLayout));
  if (fp.has_value() && *fp != extract.schema_fingerprint()) {
    return util::WithPreconditionViolation(
        absl::FailedPreconditionError(absl::StrCat(
            "agency ", agency,
            "'s extract was encoded with a different linkage schema "
            "(fingerprint ",
            util::HexEncode(extract.schema_fingerprint()).substr(0, 16),
            ", the linkage uses ", util::HexEncode(*fp).substr(0, 16),
            "); re-encode it with the shared schema")),
        "LINKAGE_SCHEMA", absl::StrCat("agency/", agency),
        "schema fingerprint differs from the linkage's");
  }
  if (layout_bytes.has_value()) {
    cohortlink::v1::FilterLayout layout;
    if (!layout.ParseFromString(*layout_bytes))
      return absl::DataLossError("corrupt stored filter layout");
    if (!SameLayout(layout, extract.layout())) {
      return util::WithPreconditionViolation(
          absl::FailedPreconditionError(absl::StrCat(
              "agency ", agency, "'s extract has filters of ",
              DescribeLayout(extract.layout()), "; the linkage's are ",
              DescribeLayout(layout),
              ". Re-encode it with the shared schema and the current "
              "cohortlink client")),
          "FILTER_LAYOUT", absl::StrCat("agency/", agency),
          "filter layout differs from the linkage's");
    }
  } else if (fp.has_value()) {
    return absl::DataLossError(
        "the stored linkage settings are incomplete (a schema fingerprint "
        "without a filter layout)");
  }
  // Epoch 1's secret is fixed by the first upload unless an admin opened
  // it first; every later epoch only by an admin (OpenEpoch), so that no
  // submitter can fix the secret the others must then use.
  ASSIGN_OR_RETURN(auto kcv,
                   store_->Get(Family::kMeta, meta::KeyCheckValue(epoch)));
  if (kcv.has_value()) {
    if (!keys::ConstantTimeEquals(*kcv, extract.key_check_value())) {
      return util::WithPreconditionViolation(
          absl::FailedPreconditionError(absl::StrCat(
              "agency ", agency,
              "'s extract was encoded with a different linkage secret than "
              "key epoch ",
              epoch,
              "'s (key check value differs); re-encode it with the secret the "
              "agencies share, or upload it under the new secret's "
              "--key-epoch")),
          "LINKAGE_SECRET", absl::StrCat("agency/", agency),
          "key check value differs from the linkage's");
    }
  } else if (epoch > 1) {
    return util::WithPreconditionViolation(
        absl::FailedPreconditionError(absl::StrCat(
            "key epoch ", epoch,
            " is not open; an admin opens it with `cohortlink epoch open "
            "--epoch ",
            epoch,
            " --key-check-value HEX` (the value `cohortlink encode` reports "
            "for the new secret)")),
        "KEY_EPOCH", absl::StrCat("epoch/", epoch), "not open");
  }
  if (settings != nullptr) {
    if (!fp.has_value()) {
      settings->Put(store_->cf(Family::kMeta), meta::kSchemaFingerprint,
                    extract.schema_fingerprint());
      settings->Put(store_->cf(Family::kMeta), meta::kFilterLayout,
                    extract.layout().SerializeAsString());
    }
    if (!kcv.has_value()) {
      settings->Put(store_->cf(Family::kMeta), meta::KeyCheckValue(epoch),
                    extract.key_check_value());
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<UploadSession>> ExtractStore::BeginUpload(
    const std::string& agency, const std::string& uploader,
    const UploadHeader& header, std::optional<RecordPolicy> policy) {
  const std::string& name = header.extract_name();
  RETURN_IF_ERROR(CheckHeader(header, options_.max_records));
  // Checked now to fail early, and again under the lock at commit.
  RETURN_IF_ERROR(Admit(agency, header, nullptr));
  ASSIGN_OR_RETURN(uint64_t id, ExtractId(agency, name));
  uint64_t upload_id, base;
  {
    absl::MutexLock lock(&mu_);
    ASSIGN_OR_RETURN(auto current, Current(agency, name));
    ASSIGN_OR_RETURN(base, ChangeToken(current, agency, name));
    ASSIGN_OR_RETURN(upload_id, NextCounter(meta::kNextUploadId));
  }
  return std::unique_ptr<UploadSession>(new UploadSession(
      this, agency, uploader, header, id, upload_id, base, std::move(policy)));
}

absl::StatusOr<uint64_t> ExtractStore::RetireEpoch(
    uint32_t epoch, cohortlink::v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto all, List(""));
  absl::flat_hash_set<std::string> in_epoch, moved;
  uint32_t newest = 0;
  for (const auto& x : all) {
    uint32_t e = KeyEpoch(x.key_epoch());
    newest = std::max(newest, e);
    if (e == epoch) in_epoch.insert(x.agency());
    if (e > epoch) moved.insert(x.agency());
  }
  if (epoch >= newest) {
    return absl::FailedPreconditionError(
        absl::StrCat("key epoch ", epoch,
                     " is not older than every epoch in use (the "
                     "newest is ",
                     newest, "); agencies must move to a newer one first"));
  }
  for (const auto& agency : in_epoch) {
    if (!moved.contains(agency)) {
      return util::WithPreconditionViolation(
          absl::FailedPreconditionError(absl::StrCat(
              "agency ", agency, " has extracts only in key epoch ", epoch,
              "; it must upload under a newer epoch before this one retires")),
          "KEY_EPOCH", absl::StrCat("agency/", agency), "not moved yet");
    }
  }
  rocksdb::WriteBatch b;
  uint64_t removed = 0;
  for (const auto& x : all) {
    if (KeyEpoch(x.key_epoch()) != epoch) continue;
    ASSIGN_OR_RETURN(uint64_t id,
                     StoredExtractId(x.agency(), x.extract_name()));
    b.Delete(store_->cf(Family::kExtracts),
             ExtractKey(x.agency(), x.extract_name()));
    MarkRemoved(x, &b);
    b.Delete(store_->cf(Family::kMeta),
             absl::StrCat(kExtractValuesPrefix,
                          ExtractKey(x.agency(), x.extract_name())));
    b.DeleteRange(store_->cf(Family::kRecords), VersionPrefix(id, 0),
                  VersionPrefix(id + 1, 0));
    removed += x.records();
  }
  b.Put(store_->cf(Family::kMeta), meta::RetiredEpoch(epoch), "");
  audit.set_records(removed);
  audit.set_target(absl::StrCat("key epoch ", epoch));
  RETURN_IF_ERROR(WriteAudited(&b, std::move(audit)));
  Changed();
  return removed;
}

absl::Status ExtractStore::BoundAgencyValues(
    const std::string& agency, const std::string& name,
    const absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>&
        values,
    rocksdb::WriteBatch* write) {
  cohortlink::v1::ExtractValues mine;
  for (const auto& [attribute, set] : values) {
    for (const auto& v : set) {
      auto* a = mine.add_values();
      a->set_name(attribute);
      a->set_value(v);
    }
  }
  ASSIGN_OR_RETURN(auto all, List(agency));
  absl::flat_hash_map<std::string, absl::flat_hash_set<std::string>>
      agency_values = values;
  for (const auto& x : all) {
    if (x.extract_name() == name) continue;  // replaced by this upload
    ASSIGN_OR_RETURN(
        auto bytes,
        store_->Get(Family::kMeta,
                    absl::StrCat(kExtractValuesPrefix,
                                 ExtractKey(agency, x.extract_name()))));
    if (!bytes.has_value()) continue;  // stored before values were kept
    cohortlink::v1::ExtractValues theirs;
    if (!theirs.ParseFromString(*bytes))
      return absl::DataLossError("corrupt stored extract values");
    for (const auto& a : theirs.values()) {
      auto it = values.find(a.name());
      if (it == values.end()) continue;  // only what this upload adds to
      auto& set = agency_values[a.name()];
      set.insert(a.value());
      if (set.size() > kMaxAgencyDistinctValues) {
        return util::WithFieldViolation(
            absl::InvalidArgumentError(absl::StrCat(
                "attributes.", a.name(), ": agency ", agency,
                "'s extracts would hold more than ", kMaxAgencyDistinctValues,
                " distinct values of it (with '",
                util::Printable(x.extract_name()), "')")),
            absl::StrCat("attributes.", a.name()),
            "too many distinct values for the agency");
      }
    }
  }
  write->Put(store_->cf(Family::kMeta),
             absl::StrCat(kExtractValuesPrefix, ExtractKey(agency, name)),
             mine.SerializeAsString());
  return absl::OkStatus();
}

absl::Status ExtractStore::OpenEpoch(uint32_t epoch,
                                     const std::string& key_check_value,
                                     cohortlink::v1::AuditEntry audit) {
  if (epoch == 0) return absl::InvalidArgumentError("epoch: must be >= 1");
  if (key_check_value.size() != keys::kKeyCheckValueSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("key_check_value: must be ", keys::kKeyCheckValueSize,
                     " bytes (16 hex digits), not ", key_check_value.size()));
  }
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(auto retired,
                   store_->Get(Family::kMeta, meta::RetiredEpoch(epoch)));
  if (retired.has_value()) {
    return util::WithPreconditionViolation(
        absl::FailedPreconditionError(
            absl::StrCat("key epoch ", epoch, " is retired")),
        "KEY_EPOCH", absl::StrCat("epoch/", epoch), "retired");
  }
  ASSIGN_OR_RETURN(auto kcv,
                   store_->Get(Family::kMeta, meta::KeyCheckValue(epoch)));
  if (kcv.has_value()) {
    return absl::AlreadyExistsError(
        absl::StrCat("key epoch ", epoch, " is already open",
                     keys::ConstantTimeEquals(*kcv, key_check_value)
                         ? " with this key check value"
                         : " with a different key check value"));
  }
  if (epoch > 1) {
    ASSIGN_OR_RETURN(
        auto previous,
        store_->Get(Family::kMeta, meta::KeyCheckValue(epoch - 1)));
    if (!previous.has_value()) {
      return util::WithPreconditionViolation(
          absl::FailedPreconditionError(absl::StrCat(
              "key epoch ", epoch, " cannot open before key epoch ", epoch - 1,
              "; epochs open in order, one new secret at a time")),
          "KEY_EPOCH", absl::StrCat("epoch/", epoch), "opens out of order");
    }
  }
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), meta::KeyCheckValue(epoch), key_check_value);
  audit.set_target(absl::StrCat("key epoch ", epoch));
  RETURN_IF_ERROR(WriteAudited(&b, std::move(audit)));
  Changed();
  return absl::OkStatus();
}

absl::StatusOr<ExtractStatus> ExtractStore::Get(const std::string& agency,
                                                const std::string& name) {
  std::string value;
  rocksdb::Status s =
      store_->db()->Get(rocksdb::ReadOptions(), store_->cf(Family::kExtracts),
                        ExtractKey(agency, name), &value);
  if (s.IsNotFound()) {
    return absl::NotFoundError(absl::StrCat(
        "no extract '", util::Printable(name), "' for agency ", agency));
  }
  RETURN_IF_ERROR(FromRocks(s, "read extract"));
  ExtractStatus st;
  if (!st.ParseFromString(value))
    return absl::DataLossError("corrupt extract status");
  return st;
}

absl::StatusOr<std::vector<ExtractStatus>> ExtractStore::List(
    const std::string& agency) {
  std::vector<ExtractStatus> out;
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kExtracts)));
  std::string prefix =
      agency.empty() ? "" : absl::StrCat(agency, std::string(1, kSep));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    ExtractStatus st;
    if (!st.ParseFromString(it->value().ToString())) {
      return absl::DataLossError("corrupt extract status");
    }
    out.push_back(std::move(st));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list extracts"));
  return out;
}

absl::StatusOr<uint64_t> ExtractStore::StoredExtractId(
    const std::string& agency, const std::string& name) {
  ASSIGN_OR_RETURN(
      auto idv,
      store_->Get(Family::kMeta,
                  absl::StrCat(kExtractIdPrefix, ExtractKey(agency, name))));
  if (!idv.has_value()) {
    return absl::NotFoundError(absl::StrCat(
        "no extract '", util::Printable(name), "' for agency ", agency));
  }
  if (idv->size() != 8) return absl::DataLossError("corrupt extract id");
  return ReadBigEndian64(*idv);
}

absl::StatusOr<cohortlink::v1::DeleteExtractResponse> ExtractStore::Delete(
    const std::string& agency, const std::string& name,
    cohortlink::v1::AuditEntry audit) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(ExtractStatus st, Get(agency, name));
  ASSIGN_OR_RETURN(uint64_t id, StoredExtractId(agency, name));
  rocksdb::WriteBatch b;
  b.Delete(store_->cf(Family::kExtracts), ExtractKey(agency, name));
  MarkRemoved(st, &b);
  b.Delete(store_->cf(Family::kMeta),
           absl::StrCat(kExtractValuesPrefix, ExtractKey(agency, name)));
  b.DeleteRange(store_->cf(Family::kRecords), VersionPrefix(id, 0),
                VersionPrefix(id + 1, 0));
  audit.set_records(st.records());
  RETURN_IF_ERROR(WriteAudited(&b, std::move(audit)));
  Changed();
  cohortlink::v1::DeleteExtractResponse r;
  r.set_extract_name(name);
  r.set_records_removed(st.records());
  return r;
}

absl::Status ExtractStore::ForEachRecord(
    const std::string& agency, const std::string& name,
    const std::function<void(const EncodedRecord&)>& fn) {
  ASSIGN_OR_RETURN(ExtractStatus st, Get(agency, name));
  ASSIGN_OR_RETURN(uint64_t id, StoredExtractId(agency, name));
  std::string prefix = VersionPrefix(id, st.upload_id());
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
      rocksdb::ReadOptions(), store_->cf(Family::kRecords)));
  EncodedRecord rec;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    if (!rec.ParseFromString(it->value().ToString())) {
      return absl::DataLossError("corrupt stored record");
    }
    fn(rec);
  }
  return FromRocks(it->status(), "read records");
}

absl::StatusOr<std::optional<cohortlink::v1::FilterLayout>>
ExtractStore::Layout() {
  ASSIGN_OR_RETURN(auto v, store_->Get(Family::kMeta, meta::kFilterLayout));
  if (!v.has_value()) return std::nullopt;
  cohortlink::v1::FilterLayout layout;
  if (!layout.ParseFromString(*v))
    return absl::DataLossError("corrupt filter layout");
  return layout;
}

absl::StatusOr<std::unique_ptr<ExtractSnapshot>> ExtractStore::Snapshot() {
  auto snap = std::unique_ptr<ExtractSnapshot>(
      new ExtractSnapshot(store_, store_->db()->GetSnapshot()));
  rocksdb::ReadOptions ro;
  ro.snapshot = snap->snap_;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->cf(Family::kExtracts)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ExtractVersion v;
    if (!v.status.ParseFromString(it->value().ToString()))
      return absl::DataLossError("corrupt extract status");
    ASSIGN_OR_RETURN(auto idv, store_->Get(Family::kMeta,
                                           absl::StrCat(kExtractIdPrefix,
                                                        it->key().ToString()),
                                           snap->snap_));
    if (!idv.has_value() || idv->size() != 8)
      return absl::DataLossError("an extract without its id");
    v.extract_id = ReadBigEndian64(*idv);
    snap->versions_.push_back(std::move(v));
  }
  RETURN_IF_ERROR(FromRocks(it->status(), "list extracts"));
  return snap;
}

ExtractSnapshot::~ExtractSnapshot() { store_->db()->ReleaseSnapshot(snap_); }

absl::Status ExtractSnapshot::ForEachRecord(
    size_t v,
    const std::function<void(uint64_t, const EncodedRecord&)>& fn) const {
  const ExtractVersion& ver = versions_[v];
  std::string prefix = VersionPrefix(ver.extract_id, ver.status.upload_id());
  rocksdb::ReadOptions ro;
  ro.snapshot = snap_;
  std::unique_ptr<rocksdb::Iterator> it(
      store_->db()->NewIterator(ro, store_->cf(Family::kRecords)));
  EncodedRecord rec;
  uint64_t index = 0;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
       it->Next(), ++index) {
    if (!rec.ParseFromArray(it->value().data(),
                            static_cast<int>(it->value().size()))) {
      return absl::DataLossError("corrupt stored record");
    }
    fn(index, rec);
  }
  return FromRocks(it->status(), "read records");
}

absl::Status ExtractStore::WriteLinkageState(
    const std::vector<ExtractVersion>& versions,
    cohortlink::v1::LinkageState state, LinkageWrite* write) {
  rocksdb::WriteBatch* batch = write->batch();
  absl::MutexLock lock(&mu_);
  for (const ExtractVersion& v : versions) {
    ASSIGN_OR_RETURN(auto current,
                     Current(v.status.agency(), v.status.extract_name()));
    if (!current.has_value() || current->upload_id() != v.status.upload_id())
      continue;
    // A run starting marks only what it adds; extracts the last run linked
    // stay LINKED (their links are stored and serve queries meanwhile).
    if (state == cohortlink::v1::LINKING &&
        current->linkage_state() == cohortlink::v1::LINKED)
      continue;
    current->set_linkage_state(state);
    current->set_linkage_progress(state == cohortlink::v1::LINKED ? 1.0 : 0.0);
    batch->Put(store_->cf(Family::kExtracts),
               ExtractKey(v.status.agency(), v.status.extract_name()),
               current->SerializeAsString());
  }
  return store_->Write(batch);
}

UploadSession::UploadSession(ExtractStore* store, std::string agency,
                             std::string uploader, UploadHeader header,
                             uint64_t extract_id, uint64_t upload_id,
                             uint64_t base_token,
                             std::optional<RecordPolicy> policy)
    : store_(store),
      agency_(std::move(agency)),
      uploader_(std::move(uploader)),
      header_(std::move(header)),
      extract_id_(extract_id),
      upload_id_(upload_id),
      base_token_(base_token),
      policy_(std::move(policy)),
      declared_attributes_(header_.extract().attribute_names().begin(),
                           header_.extract().attribute_names().end()) {}

absl::Status UploadSession::CheckContent(uint64_t index,
                                         const EncodedRecord& rec) const {
  if (!rec.event_date().empty()) {
    auto d = encoding::ParseDate(rec.event_date(), "%Y-%m-%d");
    if (!d.ok() || rec.event_date().size() != 10) {
      return RecordError(index, "event_date",
                         "not an ISO 8601 date (YYYY-MM-DD)");
    }
  }
  if (!rec.event_type().empty() &&
      !util::IsValidName(rec.event_type(), kMaxAttributeNameBytes)) {
    return RecordError(
        index, "event_type",
        util::NameRuleViolation(rec.event_type(), kMaxAttributeNameBytes));
  }
  if (rec.blocking_tokens_size() > static_cast<int>(kMaxBlockingTokens)) {
    return RecordError(index, "blocking_tokens",
                       absl::StrCat(rec.blocking_tokens_size(),
                                    " tokens; at most ", kMaxBlockingTokens));
  }
  if (rec.attributes_size() > static_cast<int>(declared_attributes_.size())) {
    return RecordError(
        index, "attributes",
        absl::StrCat(rec.attributes_size(), " attributes; the header declares ",
                     declared_attributes_.size()));
  }
  for (int i = 0; i < rec.attributes_size(); ++i) {
    const auto& a = rec.attributes(i);
    if (!declared_attributes_.contains(a.name())) {
      return RecordError(
          index, absl::StrCat("attributes[", i, "]"),
          absl::StrCat("'", util::Printable(a.name().substr(0, 64)),
                       "' is not among the attributes the extract header "
                       "declares"));
    }
    for (int j = 0; j < i; ++j) {
      if (rec.attributes(j).name() == a.name()) {
        return RecordError(index, absl::StrCat("attributes.", a.name()),
                           "given twice");
      }
    }
    if (!util::IsValidLabel(a.value(), kMaxValueBytes)) {
      return RecordError(index, absl::StrCat("attributes.", a.name()),
                         absl::StrCat("a value is at most ", kMaxValueBytes,
                                      " bytes of printable UTF-8"));
    }
  }
  if (!policy_.has_value()) return absl::OkStatus();
  if (!rec.event_type().empty() &&
      !policy_->event_types.contains(rec.event_type())) {
    return RecordError(
        index, "event_type",
        absl::StrCat("'", rec.event_type(), "' is not an event type a ",
                     policy_->agency_type, " agency may send (allowed: ",
                     JoinSorted(policy_->event_types), ")"));
  }
  for (const auto& a : rec.attributes()) {
    if (a.value().empty()) continue;
    if (!policy_->attributes.contains(a.name())) {
      return RecordError(index, absl::StrCat("attributes.", a.name()),
                         absl::StrCat("a ", policy_->agency_type,
                                      " agency may not send this attribute "
                                      "(allowed: ",
                                      JoinSorted(policy_->attributes), ")"));
    }
    auto list = policy_->codelists.find(a.name());
    if (list != policy_->codelists.end() && !list->second.contains(a.value())) {
      return RecordError(
          index, absl::StrCat("attributes.", a.name()),
          absl::StrCat("'", a.value(),
                       "' is not a declared value (the server's codelist: ",
                       JoinSorted(list->second), ")"));
    }
  }
  return absl::OkStatus();
}

UploadSession::~UploadSession() {
  if (!done_) Discard();
}

void UploadSession::Discard() {
  done_ = true;
  rocksdb::WriteBatch b;
  b.DeleteRange(store_->store_->cf(Family::kRecords),
                VersionPrefix(extract_id_, upload_id_),
                VersionPrefix(extract_id_, upload_id_ + 1));
  // Best effort: what is left is removed by recovery at the next start.
  (void)store_->store_->Write(&b, /*sync=*/false);
}

absl::Status UploadSession::AddRecord(absl::string_view bytes) {
  const uint64_t index = count_;
  if (index >= header_.record_count()) {
    return RecordError(index, "",
                       absl::StrCat("more records than the header's ",
                                    header_.record_count()));
  }
  EncodedRecord rec;
  if (!rec.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return RecordError(index, "", "not a valid EncodedRecord");
  }
  const auto& layout = header_.extract().layout();
  if (rec.filters().size() * 8 != layout.total_bits()) {
    return RecordError(
        index, "filters",
        absl::StrCat(rec.filters().size() * 8, " bits; the layout says ",
                     layout.total_bits()));
  }
  if (layout.segments_size() < 32 &&
      (rec.missing_mask() >> layout.segments_size()) != 0) {
    return RecordError(index, "missing_mask",
                       "names segments the layout does not have");
  }
  const std::string& key = rec.record_key();
  if (key.empty() || key.size() > 64) {
    return RecordError(index, "record_key", "must be 1-64 characters");
  }
  if (seen_keys_.Insert(key, index)) {
    return RecordError(index, "record_key", "duplicate within the extract");
  }
  RETURN_IF_ERROR(CheckContent(index, rec));
  for (const auto& a : rec.attributes()) {
    auto& values = values_[a.name()];
    if (values.size() >= kMaxDistinctValues && !values.contains(a.value())) {
      return RecordError(index, absl::StrCat("attributes.", a.name()),
                         absl::StrCat("more than ", kMaxDistinctValues,
                                      " distinct values in one extract"));
    }
    values.insert(a.value());
  }
  // Staged in ~1 MiB writes: memory stays bounded whatever the extract size.
  // The batch is written before a record is added, so the last record
  // always waits for the commit's synced write.
  if (batch_.GetDataSize() > (1 << 20)) {
    RETURN_IF_ERROR(store_->store_->Write(&batch_, /*sync=*/false));
    batch_.Clear();
  }
  batch_.Put(store_->store_->cf(Family::kRecords),
             RecordKey(extract_id_, upload_id_, index),
             rocksdb::Slice(bytes.data(), bytes.size()));
  ++count_;
  return absl::OkStatus();
}

absl::Status UploadSession::AddFramedRecords(absl::string_view framed) {
  if (failed_ || done_)
    return absl::FailedPreconditionError("upload already ended");
  digest_.Update(framed);
  pending_.append(framed.data(), framed.size());
  absl::string_view data = pending_;
  size_t consumed = 0;
  while (true) {
    uint32_t len = 0;
    size_t p = 0;
    bool complete = false;
    for (int shift = 0; p < data.size() && shift <= 28; shift += 7) {
      uint8_t c = static_cast<uint8_t>(data[p++]);
      len |= static_cast<uint32_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (data.size() >= 5) {
        failed_ = true;
        return RecordError(count_, "", "bad length prefix");
      }
      break;
    }
    if (len > (1u << 20)) {
      failed_ = true;
      return RecordError(count_, "", "longer than 1 MiB");
    }
    if (data.size() - p < len) break;
    absl::Status s = AddRecord(data.substr(p, len));
    if (!s.ok()) {
      failed_ = true;
      return s;
    }
    data.remove_prefix(p + len);
    consumed += p + len;
  }
  pending_.erase(0, consumed);
  return absl::OkStatus();
}

absl::StatusOr<UploadReceipt> UploadSession::Commit(
    cohortlink::v1::AuditEntry audit) {
  if (failed_ || done_)
    return absl::FailedPreconditionError("upload already ended");
  if (!pending_.empty()) {
    failed_ = true;
    return RecordError(count_, "", "truncated at the end of the upload");
  }
  if (count_ != header_.record_count()) {
    failed_ = true;
    return absl::InvalidArgumentError(
        absl::StrCat("the header announced ", header_.record_count(),
                     " records; ", count_, " arrived"));
  }
  std::string digest = digest_.Finish();
  if (!keys::ConstantTimeEquals(digest, header_.content_digest())) {
    failed_ = true;
    return absl::DataLossError(
        "content digest mismatch: the records received differ from those the "
        "client "
        "encoded (corrupted in transit?)");
  }
  Store* st = store_->store_;
  // Staged records must be durable before they become visible: the last
  // staging write is synced, which syncs every earlier one in the WAL too.
  // (A synced write rather than SyncWAL(): RocksDB 7.8's SyncWAL touches a
  // log that has already failed a write and aborts on its assertion.)
  if (batch_.Count() > 0) {
    RETURN_IF_ERROR(st->Write(&batch_, /*sync=*/true));
    batch_.Clear();
  }

  absl::MutexLock lock(&store_->mu_);
  // Admission again, under the lock every commit, withdrawal and epoch
  // retirement takes: what BeginUpload checked may have changed since.
  rocksdb::WriteBatch b;
  RETURN_IF_ERROR(store_->Admit(agency_, header_, &b));
  ASSIGN_OR_RETURN(auto current,
                   store_->Current(agency_, header_.extract_name()));
  ASSIGN_OR_RETURN(
      const uint64_t now_token,
      store_->ChangeToken(current, agency_, header_.extract_name()));
  if (now_token != base_token_) {
    // Withdrawn, or replaced by another upload, since this one began: it
    // loses (a withdrawal also removed what it staged).
    failed_ = true;
    return util::WithPreconditionViolation(
        absl::AbortedError(absl::StrCat(
            "extract '", util::Printable(header_.extract_name()), "' was ",
            current.has_value() ? "replaced by another upload" : "withdrawn",
            " while this upload was in flight; nothing was stored. Upload it "
            "again if this version should be current")),
        "EXTRACT_CHANGED", absl::StrCat("extract/", header_.extract_name()),
        "changed during the upload");
  }
  UploadReceipt receipt;
  receipt.set_extract_name(header_.extract_name());
  receipt.set_records(count_);
  receipt.set_content_digest(digest);
  if (current.has_value() &&
      current->schema_fingerprint() == header_.extract().schema_fingerprint() &&
      current->records() == count_ && current->content_digest() == digest &&
      current->key_epoch() == KeyEpoch(header_.key_epoch())) {
    Discard();
    audit.set_records(0);
    rocksdb::WriteBatch none;
    RETURN_IF_ERROR(store_->WriteAudited(&none, std::move(audit)));
    receipt.set_version(current->version());
    receipt.set_unchanged(true);
    receipt.set_committed_at(current->uploaded_at());
    return receipt;
  }
  RETURN_IF_ERROR(
      store_->BoundAgencyValues(agency_, header_.extract_name(), values_, &b));
  uint64_t version = current.has_value() ? current->version() + 1 : 1;
  ExtractStatus status;
  status.set_extract_name(header_.extract_name());
  status.set_agency(agency_);
  status.set_version(version);
  status.set_records(count_);
  status.set_uploaded_by(uploader_);
  status.set_uploaded_at(util::FormatUtc(store_->options_.now()));
  status.set_schema_fingerprint(header_.extract().schema_fingerprint());
  status.set_content_digest(digest);
  status.set_linkage_state(cohortlink::v1::PENDING);
  status.set_upload_id(upload_id_);
  status.set_key_epoch(KeyEpoch(header_.key_epoch()));
  b.Put(st->cf(Family::kExtracts), ExtractKey(agency_, header_.extract_name()),
        status.SerializeAsString());
  if (current.has_value()) {  // the replaced version's records go too
    b.DeleteRange(st->cf(Family::kRecords),
                  VersionPrefix(extract_id_, current->upload_id()),
                  VersionPrefix(extract_id_, current->upload_id() + 1));
  }
  audit.set_records(count_);
  RETURN_IF_ERROR(store_->WriteAudited(&b, std::move(audit)));
  done_ = true;
  store_->Changed();
  receipt.set_version(version);
  receipt.set_committed_at(status.uploaded_at());
  return receipt;
}

}  // namespace cohortlink::store
