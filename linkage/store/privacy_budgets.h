#ifndef COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_
#define COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_

// The privacy-budget accounts of projects in differential-privacy mode
// (docs/disclosure.md): what each has spent, in millionths of a unit of
// zero-concentrated DP (rho), kept in the meta column family. A charge is
// checked and written under one lock in one synced write, so concurrent
// queries of a project can never spend more than its budget together, and
// a charge acknowledged survives a crash. Accounts are never reset. Each
// charged answer is kept with its charge, so that the same question asked
// again gets the same answer without a new charge.

#include <cstdint>
#include <optional>
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
  // returns the account after; `answer`, when given, is kept under
  // `answer_key` in the same synced write (Answer). RESOURCE_EXHAUSTED,
  // changing nothing, when it would not.
  absl::StatusOr<BudgetAccount> Charge(const std::string& project,
                                       uint64_t cost, uint64_t total,
                                       const std::string& answer_key = "",
                                       const std::string& answer = "")
      ABSL_LOCKS_EXCLUDED(mu_);
  // The answer a charge kept under `answer_key` (a digest of the question
  // and all that shaped its answer), or nullopt.
  absl::StatusOr<std::optional<std::string>> Answer(
      const std::string& project, const std::string& answer_key);

 private:
  absl::StatusOr<BudgetAccount> Read(const std::string& project)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  Store* store_;
  absl::Mutex mu_;
};

}  // namespace cohortlink::store

#endif  // COHORTLINK_LINKAGE_STORE_PRIVACY_BUDGETS_H_
