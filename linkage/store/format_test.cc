// The storage format: a database from before the format was recorded
// (one extract of 20 records, its format record removed, as the release
// before wrote it) opens, keeps its data and is stamped with the current
// format; a database of a newer format is refused untouched.

#include "gtest/gtest.h"
#include "linkage/store/extract_store.h"
#include "linkage/store/meta_keys.h"
#include "linkage/store/store.h"
#include "linkage/store/test_upload.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

class StorageFormatTest : public ::testing::Test {
 protected:
  // A format-0 database: one extract of 20 records, and no format record
  // (the layout of format 0 is format 1's; only the record is new).
  std::string Format0() {
    const std::string db = tmp_.File("db");
    auto store = Store::Open(db);
    EXPECT_TRUE(store.ok()) << store.status();
    auto extracts = ExtractStore::Create(store->get());
    EXPECT_TRUE(extracts.ok()) << extracts.status();
    const testing::Upload u = testing::MakeUpload("arrests-2025", 20);
    auto s = (*extracts)->BeginUpload(
        "police", "spiffe://t/agency/police/submitter", u.header);
    EXPECT_TRUE(s.ok()) << s.status();
    EXPECT_TRUE((*s)->AddFramedRecords(u.framed).ok());
    EXPECT_TRUE((*s)->Commit().ok());
    rocksdb::WriteBatch b;
    EXPECT_TRUE(
        b.Delete((*store)->cf(Family::kMeta), meta::kStorageFormat).ok());
    EXPECT_TRUE((*store)->Write(&b).ok());
    EXPECT_EQ(StoredFormat(**store), 0u);
    return db;
  }
  uint64_t StoredFormat(Store& s) {
    auto v = s.Get(Family::kMeta, meta::kStorageFormat);
    EXPECT_TRUE(v.ok()) << v.status();
    return v.ok() && v->has_value() ? ReadBigEndian64(**v) : 0;
  }
  util::TempDir tmp_{"storage_format_test"};
};

TEST_F(StorageFormatTest, AFormat0DatabaseOpensKeepsItsDataAndIsStamped) {
  const std::string db = Format0();
  {
    auto store = Store::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(StoredFormat(**store), kStorageFormat);
    auto extracts = ExtractStore::Create(store->get());
    ASSERT_TRUE(extracts.ok()) << extracts.status();
    auto st = (*extracts)->Get("police", "arrests-2025");
    ASSERT_TRUE(st.ok()) << st.status();
    EXPECT_EQ(st->records(), 20u);
    int records = 0;
    ASSERT_TRUE((*extracts)
                    ->ForEachRecord("police", "arrests-2025",
                                    [&](const cohortlink::v1::EncodedRecord&) {
                                      ++records;
                                    })
                    .ok());
    EXPECT_EQ(records, 20);
  }
  // Stamped once: it opens again as the current format.
  auto again = Store::Open(db);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(StoredFormat(**again), kStorageFormat);
}

TEST_F(StorageFormatTest, ANewerFormatIsRefusedAndLeftAsItWas) {
  const std::string db = tmp_.File("db");
  {
    auto store = Store::Open(db);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(StoredFormat(**store), kStorageFormat);  // a new database
    rocksdb::WriteBatch b;
    ASSERT_TRUE(b.Put((*store)->cf(Family::kMeta), meta::kStorageFormat,
                      BigEndian64(kStorageFormat + 1))
                    .ok());
    ASSERT_TRUE((*store)->Write(&b).ok());
  }
  auto refused = Store::Open(db);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(absl::StrCat(
                "has storage format ", kStorageFormat + 1,
                ", newer than this server's (", kStorageFormat, ")")),
            std::string::npos)
      << refused.status();
  // Refused again: nothing was rewritten.
  EXPECT_EQ(Store::Open(db).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StorageFormatTest, ADamagedFormatRecordIsDataLoss) {
  const std::string db = tmp_.File("db");
  {
    auto store = Store::Open(db);
    ASSERT_TRUE(store.ok());
    rocksdb::WriteBatch b;
    ASSERT_TRUE(
        b.Put((*store)->cf(Family::kMeta), meta::kStorageFormat, "1").ok());
    ASSERT_TRUE((*store)->Write(&b).ok());
  }
  EXPECT_EQ(Store::Open(db).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cohortlink::store
