#include "linkage/store/extract_store.h"

#include <filesystem>
#include <functional>

#include "gtest/gtest.h"
#include "keys/mac.h"
#include "linkage/encoding/extract_file.h"
#include "linkage/store/test_upload.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

using cohortlink::v1::EncodedRecord;
using cohortlink::v1::UploadHeader;

using testing::MakeUpload;
using testing::Upload;

class ExtractStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    extracts_.reset();
    store_.reset();
    store_ = *Store::Open(tmp_.File("db"));
    ExtractStoreOptions o;
    o.now = [] { return absl::FromUnixSeconds(1'750'000'000); };
    extracts_ = *ExtractStore::Create(store_.get(), o);
  }
  absl::StatusOr<cohortlink::v1::UploadReceipt> Send(
      const Upload& u, const std::string& agency = "police",
      size_t chunk = 37) {
    auto s = extracts_->BeginUpload(
        agency, "spiffe://t/agency/police/submitter", u.header);
    if (!s.ok()) return s.status();
    for (size_t p = 0; p < u.framed.size(); p += chunk) {
      auto st =
          (*s)->AddFramedRecords(absl::string_view(u.framed).substr(p, chunk));
      if (!st.ok()) return st;
    }
    return (*s)->Commit();
  }
  int StoredRecords() {
    std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(
        rocksdb::ReadOptions(), store_->cf(Family::kRecords)));
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  }
  util::TempDir tmp_{"extract_store_test"};
  std::unique_ptr<Store> store_;
  std::unique_ptr<ExtractStore> extracts_;
};

TEST_F(ExtractStoreTest, CommitsAtomicallyAndReadsBackInOrder) {
  auto r = Send(MakeUpload("arrests-2025", 100));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->version(), 1u);
  EXPECT_EQ(r->records(), 100u);
  EXPECT_FALSE(r->unchanged());
  auto st = extracts_->Get("police", "arrests-2025");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->uploaded_by(), "spiffe://t/agency/police/submitter");
  EXPECT_EQ(st->uploaded_at(), "2025-06-15T15:06:40Z");
  std::vector<std::string> keys;
  ASSERT_TRUE(extracts_
                  ->ForEachRecord("police", "arrests-2025",
                                  [&](const EncodedRecord& rec) {
                                    keys.push_back(rec.record_key());
                                  })
                  .ok());
  ASSERT_EQ(keys.size(), 100u);
  EXPECT_EQ(keys[0], "k0");
  EXPECT_EQ(keys[99], "k99");
}

TEST_F(ExtractStoreTest, IdenticalReuploadIsANoOpAndReplacementSwapsVersions) {
  ASSERT_TRUE(Send(MakeUpload("x", 50)).ok());
  auto again = Send(MakeUpload("x", 50));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->unchanged());
  EXPECT_EQ(again->version(), 1u);
  EXPECT_EQ(StoredRecords(), 50);
  auto replaced = Send(MakeUpload("x", 30, "-v2"));
  ASSERT_TRUE(replaced.ok()) << replaced.status();
  EXPECT_EQ(replaced->version(), 2u);
  EXPECT_EQ(StoredRecords(), 30);  // the old version went in the same write
}

TEST_F(ExtractStoreTest, BadRecordNamesItsIndexAndLeavesNothing) {
  Upload u = MakeUpload("bad", 10);
  // Record 7 gets a wrong filter length.
  u.framed.clear();
  for (int i = 0; i < 10; ++i) {
    EncodedRecord r;
    r.set_record_key("k" + std::to_string(i));
    r.set_filters(std::string(i == 7 ? 8 : 16, 'x'));
    encoding::AppendLengthDelimited(r.SerializeAsString(), &u.framed);
  }
  u.header.set_content_digest(keys::Sha256::Digest(u.framed));
  auto r = Send(u);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "record 7: filters: 64 bits; the layout says 128");
  EXPECT_EQ(extracts_->Get("police", "bad").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(StoredRecords(), 0);
}

TEST_F(ExtractStoreTest, DuplicateKeysDatesAndCountsAreChecked) {
  Upload dup = MakeUpload("dup", 3);
  dup.framed.clear();
  for (int i = 0; i < 3; ++i) {
    EncodedRecord r;
    r.set_record_key(i == 2 ? "k0" : "k" + std::to_string(i));
    r.set_filters(std::string(16, 'x'));
    encoding::AppendLengthDelimited(r.SerializeAsString(), &dup.framed);
  }
  dup.header.set_content_digest(keys::Sha256::Digest(dup.framed));
  EXPECT_EQ(Send(dup).status().message(),
            "record 2: record_key: duplicate within the extract");
  Upload fewer = MakeUpload("fewer", 5);
  fewer.header.set_record_count(6);
  EXPECT_NE(
      Send(fewer).status().message().find("announced 6 records; 5 arrived"),
      std::string::npos);
  EXPECT_EQ(StoredRecords(), 0);
}

TEST_F(ExtractStoreTest, DigestMismatchIsDataLossAndStoresNothing) {
  Upload u = MakeUpload("tampered", 20);
  u.header.set_content_digest(std::string(32, '\0'));
  EXPECT_EQ(Send(u).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(StoredRecords(), 0);
}

TEST_F(ExtractStoreTest, FirstExtractFixesSchemaAndSecret) {
  ASSERT_TRUE(Send(MakeUpload("a", 5)).ok());
  auto other_secret =
      Send(MakeUpload("b", 5, "", std::string(32, 'f'), "kcv-9999"), "prison");
  EXPECT_EQ(other_secret.status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other_secret.status().message().find(
                "agency prison's extract was encoded with a "
                "different linkage secret"),
            std::string::npos)
      << other_secret.status();
  auto other_schema =
      Send(MakeUpload("c", 5, "", std::string(32, 'e')), "health");
  EXPECT_EQ(other_schema.status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(other_schema.status().message().find("different linkage schema"),
            std::string::npos);
}

TEST_F(ExtractStoreTest, CommittedExtractsSurviveReopenAndDebrisIsCleaned) {
  ASSERT_TRUE(Send(MakeUpload("kept", 40)).ok());
  // Debris of an upload that never committed: records under another
  // upload id of the same extract.
  {
    std::string idv;
    ASSERT_TRUE(store_->db()
                    ->Get(rocksdb::ReadOptions(), store_->cf(Family::kMeta),
                          std::string("extract-id/police\x1f"
                                      "kept"),
                          &idv)
                    .ok());
    std::string k = idv;
    AppendBigEndian64(999, &k);
    AppendBigEndian64(0, &k);
    ASSERT_TRUE(
        store_->db()
            ->Put(rocksdb::WriteOptions(), store_->cf(Family::kRecords), k, "x")
            .ok());
  }
  EXPECT_EQ(StoredRecords(), 41);
  Reopen();
  EXPECT_EQ(StoredRecords(), 40);
  auto st = extracts_->Get("police", "kept");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->records(), 40u);
}

TEST_F(ExtractStoreTest, DeleteWithdrawsStatusAndRecords) {
  ASSERT_TRUE(Send(MakeUpload("gone", 12)).ok());
  ASSERT_TRUE(Send(MakeUpload("stays", 3, "-s"), "prison").ok());
  auto d = extracts_->Delete("police", "gone");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->records_removed(), 12u);
  EXPECT_EQ(StoredRecords(), 3);
  EXPECT_EQ(extracts_->Delete("police", "gone").status().code(),
            absl::StatusCode::kNotFound);
  auto list = extracts_->List("");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].agency(), "prison");
  EXPECT_TRUE(extracts_->List("police")->empty());
}

TEST_F(ExtractStoreTest, ChangesCarryTheirAuditEntryInTheSameWrite) {
  extracts_.reset();
  auto audit =
      *AuditLog::Create(store_.get(), [] { return absl::FromUnixSeconds(0); });
  extracts_ = *ExtractStore::Create(store_.get(), {}, audit.get());
  cohortlink::v1::AuditEntry e;
  e.set_principal("spiffe://t/agency/police/submitter");
  e.set_method("IngestService/Upload");
  {
    auto session = *extracts_->BeginUpload("police", e.principal(),
                                           MakeUpload("x", 7).header);
    ASSERT_TRUE(session->AddFramedRecords(MakeUpload("x", 7).framed).ok());
    ASSERT_TRUE(session->Commit(e).ok());
  }
  ASSERT_EQ(audit->size(), 1u);
  auto entries = *audit->Read(0, 10);
  EXPECT_EQ(entries[0].sequence(), 0u);
  EXPECT_EQ(entries[0].records(), 7u);
  EXPECT_EQ(entries[0].code(), 0);
  EXPECT_EQ(entries[0].time(), "1970-01-01T00:00:00.000Z");
  // A rejected upload writes nothing, not even an entry (the caller audits
  // the failure).
  Upload bad = MakeUpload("y", 3);
  bad.header.set_content_digest(std::string(32, '\0'));
  {
    auto s2 = *extracts_->BeginUpload("police", e.principal(), bad.header);
    ASSERT_TRUE(s2->AddFramedRecords(bad.framed).ok());
    EXPECT_FALSE(s2->Commit(e).ok());
  }
  EXPECT_EQ(audit->size(), 1u);
  e.set_method("IngestService/DeleteExtract");
  ASSERT_TRUE(extracts_->Delete("police", "x", e).ok());
  entries = *audit->Read(0, 10);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[1].sequence(), 1u);
  EXPECT_EQ(entries[1].records(), 7u);
  EXPECT_EQ(entries[1].method(), "IngestService/DeleteExtract");
  // The sequence continues after a reopen.
  extracts_.reset();
  audit.reset();
  Reopen();
  auto again = *AuditLog::Create(store_.get());
  EXPECT_EQ(again->size(), 2u);
}

TEST_F(ExtractStoreTest, AnEventTypeOutsideTheNameRuleIsNamedOnce) {
  auto r = Send(testing::WithRecords(
      MakeUpload("x", 1), 1,
      [](int, EncodedRecord* rec) { rec->set_event_type("arrest\x1b[2J"); }));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(
                "record 0: event_type: 'arrest\\x1b[2J' is not a valid name"),
            std::string::npos)
      << r.status();
}

// Every per-upload limit: accepted at its value, refused with the record
// and field named one beyond, and nothing stored.
TEST_F(ExtractStoreTest, EachUploadLimitHoldsAtItsValueAndFailsOneBeyond) {
  struct Limit {
    const char* what;
    std::function<Upload(const std::string&, int)> make;  // with `n`
    int value;
    const char* message;
  };
  const Limit limits[] = {
      {"declared attributes",
       [&](const std::string& name, int n) {
         Upload u = MakeUpload(name, 1);
         for (int i = 0; i < n; ++i)
           u.header.mutable_extract()->add_attribute_names("a" +
                                                           std::to_string(i));
         return u;
       },
       static_cast<int>(kMaxAttributes), "attribute_names: 33 names"},
      {"distinct values",
       [&](const std::string& name, int n) {
         Upload u = MakeUpload(name, 1);
         u.header.mutable_extract()->add_attribute_names("area");
         return testing::WithRecords(u, n, [](int i, EncodedRecord* r) {
           auto* a = r->add_attributes();
           a->set_name("area");
           a->set_value("v" + std::to_string(i));
         });
       },
       static_cast<int>(kMaxDistinctValues),
       "record 1000: attributes.area: more than 1000 distinct values"},
      {"value bytes",
       [&](const std::string& name, int n) {
         Upload u = MakeUpload(name, 1);
         u.header.mutable_extract()->add_attribute_names("area");
         return testing::WithRecords(u, 1, [n](int, EncodedRecord* r) {
           auto* a = r->add_attributes();
           a->set_name("area");
           a->set_value(std::string(n, 'v'));
         });
       },
       static_cast<int>(kMaxValueBytes),
       "record 0: attributes.area: a value is at most 64 bytes"},
      {"blocking tokens",
       [&](const std::string& name, int n) {
         return testing::WithRecords(MakeUpload(name, 1), 1,
                                     [n](int, EncodedRecord* r) {
                                       for (int i = 0; i < n; ++i)
                                         r->add_blocking_tokens(i);
                                     });
       },
       static_cast<int>(kMaxBlockingTokens),
       "record 0: blocking_tokens: 257 tokens; at most 256"},
      {"filter bits",
       [&](const std::string& name, int n) {
         return MakeUpload(name, 1, "", std::string(32, 'f'), "kcv-1234", 1,
                           static_cast<uint32_t>(n));
       },
       static_cast<int>(kMaxFilterBits), "extract.layout: must be"},
      {"extract name bytes",
       [&](const std::string&, int n) {
         return MakeUpload(std::string(n, 'n'), 1);
       },
       128, "extract_name: '"},
  };
  for (const Limit& l : limits) {
    // The layout is fixed by the first upload: each limit gets a fresh
    // store, so the filter-bits case can fix its own.
    extracts_.reset();
    store_.reset();
    std::filesystem::remove_all(tmp_.File("db"));
    Reopen();
    // One beyond only counts for "filter bits" by 64 (a multiple of 64).
    const int beyond = std::string(l.what) == "filter bits" ? 64 : 1;
    auto over = Send(l.make("over", l.value + beyond));
    EXPECT_EQ(over.status().code(), absl::StatusCode::kInvalidArgument)
        << l.what << ": " << over.status();
    EXPECT_NE(over.status().message().find(l.message), std::string::npos)
        << l.what << ": " << over.status();
    EXPECT_EQ(StoredRecords(), 0) << l.what;
    auto at = Send(l.make("at", l.value));
    EXPECT_TRUE(at.ok()) << l.what << ": " << at.status();
  }
}

}  // namespace
// One agency's extracts together hold at most kMaxAgencyDistinctValues
// values of an attribute: many extracts of 1,000 values each cannot fill
// the query index's dictionaries. A replaced or withdrawn extract's values
// no longer count.
TEST_F(ExtractStoreTest, AnAgencysExtractsTogetherHoldBoundedDistinctValues) {
  auto areas = [](const std::string& name, int first, int n) {
    Upload u = MakeUpload(name, 1);
    u.header.mutable_extract()->add_attribute_names("area");
    return testing::WithRecords(u, n, [first](int i, EncodedRecord* r) {
      auto* a = r->add_attributes();
      a->set_name("area");
      a->set_value("area-" + std::to_string(first + i));
    });
  };
  constexpr int kMax = static_cast<int>(kMaxAgencyDistinctValues);
  ASSERT_TRUE(Send(areas("a", 0, 600)).ok());
  // At the limit: 400 new values beside a's 600 (and 200 shared).
  auto r = Send(areas("b", 400, 600));
  ASSERT_TRUE(r.ok()) << r.status();
  // One beyond it.
  r = Send(areas("c", kMax, 1));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(
                "attributes.area: agency police's extracts would hold more "
                "than 1000 distinct values"),
            std::string::npos)
      << r.status();
  EXPECT_TRUE(absl::IsNotFound(extracts_->Get("police", "c").status()));
  // Another agency has its own bound.
  EXPECT_TRUE(Send(areas("c", kMax, 1), "prison").ok());
  // Replacing b with values it shares with a frees room ...
  ASSERT_TRUE(Send(areas("b", 0, 10)).ok());
  EXPECT_TRUE(Send(areas("c", kMax, 1)).ok());
  // ... and so does withdrawing a; the bound survives a restart.
  Reopen();
  EXPECT_FALSE(Send(areas("d", 2000, 990)).ok());
  ASSERT_TRUE(extracts_->Delete("police", "a", {}).ok());
  EXPECT_TRUE(Send(areas("d", 2000, 980)).ok());
}

}  // namespace cohortlink::store
