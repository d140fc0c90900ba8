#ifndef COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_
#define COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_

// The privacy-budget accounts of projects in differential-privacy mode
// (docs/disclosure.md): what each has spent, in millionths of a unit of
// zero-concentrated DP (rho), kept in the meta column family. A charge is
// checked and written under one lock in one synced write, so concurrent
// queries of a project can never spend more than its budget together, and
// a charge acknowledged survives a crash. Accounts are never reset.

#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "linkage/store/store.h"

namespace cohortlink::store {

struct BudgetAccount {
  uint64_t spent = 0;    // micro-rho
  uint64_t queries = 0;  // answers charged
};

class PrivacyBudgets {
 public:
  explicit PrivacyBudgets(Store* store) : store_(store) {}

  // The account of `project` (zero when it has spent nothing). DATA_LOSS
  // for a damaged one.
  absl::StatusOr<BudgetAccount> Get(const std::string& project)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Adds `cost` to the account when the result stays within `total`, and
  // returns the account after. RESOURCE_EXHAUSTED, changing nothing, when
  // it would not.
  absl::StatusOr<BudgetAccount> Charge(const std::string& project,
                                       uint64_t cost, uint64_t total)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::StatusOr<BudgetAccount> Read(const std::string& project)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Store* store_;
  absl::Mutex mu_;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_
