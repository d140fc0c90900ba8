// Privacy-budget accounts: charges add up, survive a reopen, never exceed
// the budget even when racing, and a damaged account fails closed.

#include "linkage/store/privacy_budgets.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "linkage/store/meta_keys.h"
#include "util/temp_dir.h"

namespace cohortlink::store {
namespace {

TEST(PrivacyBudgetsTest, ChargesAddUpAndSurviveAReopen) {
  util::TempDir dir("privacy_budgets_test");
  {
    auto db = Store::Open(dir.File("db"));
    ASSERT_TRUE(db.ok()) << db.status();
    PrivacyBudgets b(db->get());
    EXPECT_EQ(b.Get("p")->spent, 0u);
    ASSERT_TRUE(b.Charge("p", 300, 1000).ok());
    auto a = b.Charge("p", 700, 1000);  // exactly the budget
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->spent, 1000u);
    EXPECT_EQ(a->queries, 2u);
    auto over = b.Charge("p", 1, 1000);
    EXPECT_TRUE(absl::IsResourceExhausted(over.status())) << over.status();
    EXPECT_EQ(b.Get("p")->spent, 1000u);
    EXPECT_EQ(b.Get("p")->queries, 2u);
    EXPECT_EQ(b.Get("other")->spent, 0u);
    // A budget lowered below what was spent refuses everything.
    EXPECT_TRUE(absl::IsResourceExhausted(b.Charge("p", 0, 500).status()));
  }
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  PrivacyBudgets b(db->get());
  EXPECT_EQ(b.Get("p")->spent, 1000u);
  EXPECT_EQ(b.Get("p")->queries, 2u);
}

TEST(PrivacyBudgetsTest, RacingChargesNeverSpendMoreThanTheBudget) {
  util::TempDir dir("privacy_budgets_test");
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  PrivacyBudgets b(db->get());
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        auto a = b.Charge("p", 7, 100);
        if (a.ok()) {
          ++granted;
        } else {
          EXPECT_TRUE(absl::IsResourceExhausted(a.status())) << a.status();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 14);  // floor(100 / 7)
  EXPECT_EQ(b.Get("p")->spent, 98u);
}

// An answer is kept with its charge, in the same write: a refused charge
// keeps nothing, and what is kept survives a reopen.
TEST(PrivacyBudgetsTest, AnAnswerIsKeptWithItsChargeOnly) {
  util::TempDir dir("privacy_budgets_test");
  {
    auto db = Store::Open(dir.File("db"));
    ASSERT_TRUE(db.ok()) << db.status();
    PrivacyBudgets b(db->get());
    EXPECT_FALSE(b.Answer("p", "k1")->has_value());
    ASSERT_TRUE(b.Charge("p", 6, 10, "k1", "answer one").ok());
    EXPECT_TRUE(absl::IsResourceExhausted(
        b.Charge("p", 6, 10, "k2", "answer two").status()));
    EXPECT_FALSE(b.Answer("p", "k2")->has_value());
    EXPECT_FALSE(b.Answer("other", "k1")->has_value());
  }
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  PrivacyBudgets b(db->get());
  EXPECT_EQ(**b.Answer("p", "k1"), "answer one");
}

TEST(PrivacyBudgetsTest, ADamagedAccountIsDataLoss) {
  util::TempDir dir("privacy_budgets_test");
  auto db = Store::Open(dir.File("db"));
  ASSERT_TRUE(db.ok()) << db.status();
  rocksdb::WriteBatch w;
  w.Put((*db)->cf(Family::kMeta), meta::PrivacyBudget("p"), "short");
  ASSERT_TRUE((*db)->Write(&w).ok());
  PrivacyBudgets b(db->get());
  EXPECT_TRUE(absl::IsDataLoss(b.Get("p").status()));
  EXPECT_TRUE(absl::IsDataLoss(b.Charge("p", 1, 10).status()));
}

}  // namespace
}  // namespace cohortlink::store
