// The differencing memory in RocksDB: what is remembered survives a
// reopen, keeps the width it was made with, is found by its neighbours'
// counts only, and fails closed on damage.

#include "linkage/store/published_sets.h"

#include <random>

#include "gtest/gtest.h"
#include "linkage/store/meta_keys.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

using cohort::PublishedSet;
using cohort::SetSketch;

PublishedSet Set(std::vector<uint64_t> tokens, uint32_t width) {
  SetSketch s(width);
  for (uint64_t t : tokens) s.Insert(t);
  return {tokens.size(), std::move(s)};
}

std::vector<uint64_t> Range(uint64_t from, uint64_t to) {
  std::vector<uint64_t> v;
  for (uint64_t t = from; t < to; ++t) v.push_back(t * 0x9e3779b97f4a7c15ULL);
  return v;
}

TEST(PublishedSetStoreTest, RemembersAcrossReopenWithItsWidth) {
  util::TempDir dir("published_sets_test");
  {
    auto db = Store::Open(dir.File("db"));
    ASSERT_TRUE(db.ok()) << db.status();
    auto m = PublishedSetStore::Open(db->get(), 18);
    ASSERT_TRUE(m.ok()) << m.status();
    std::vector<PublishedSet> sets;
    sets.push_back(Set(Range(0, 100), 18));
    sets.push_back(Set(Range(0, 100), 18));  // the same set: one entry
    ASSERT_TRUE((*m)->Remember(sets).ok());
  }
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  // Asked for another width, it keeps the one it was made with.
  auto m = PublishedSetStore::Open(db->get(), 40);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->width(), 18u);
  auto near = [&](uint64_t from, uint64_t to) {
    auto n = (*m)->NearOne(Set(Range(from, to), 18), 10);
    EXPECT_TRUE(n.ok()) << n.status();
    return n.value_or(false);
  };
  EXPECT_TRUE(near(0, 103));   // 3 more
  EXPECT_TRUE(near(0, 91));    // 9 fewer
  EXPECT_TRUE(near(1, 101));   // one out, one in
  EXPECT_FALSE(near(0, 100));  // the same people
  EXPECT_FALSE(near(0, 110));  // 10 more
  EXPECT_FALSE(near(0, 90));   // 10 fewer
  EXPECT_FALSE(near(50, 150));
  int entries = 0;
  std::unique_ptr<rocksdb::Iterator> it((*db)->db()->NewIterator(
      rocksdb::ReadOptions(), (*db)->cf(Family::kPublished)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST(PublishedSetStoreTest, DamageIsDataLoss) {
  util::TempDir dir("published_sets_test");
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  auto m = PublishedSetStore::Open(db->get(), 18);
  ASSERT_TRUE(m.ok());
  std::vector<PublishedSet> sets;
  sets.push_back(Set(Range(0, 100), 18));
  ASSERT_TRUE((*m)->Remember(sets).ok());
  // A truncated sketch beside it.
  rocksdb::WriteBatch b;
  b.Put((*db)->cf(Family::kPublished), BigEndian64(101) + BigEndian64(7),
        "short");
  ASSERT_TRUE((*db)->Write(&b).ok());
  // A set of 110 reaches only the damaged entry (counts 101 to 119).
  auto far = (*m)->NearOne(Set(Range(0, 110), 18), 10);
  EXPECT_EQ(far.status().code(), absl::StatusCode::kDataLoss) << far.status();
  // A damaged width refuses to open.
  rocksdb::WriteBatch w;
  w.Put((*db)->cf(Family::kMeta), meta::kPublishedSetWidth, "x");
  ASSERT_TRUE((*db)->Write(&w).ok());
  EXPECT_EQ(PublishedSetStore::Open(db->get(), 18).status().code(),
            absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace cohortlink::store
