#include "linkage/store/privacy_budgets.h"

#include "absl/strings/str_cat.h"
#include "linkage/store/meta_keys.h"
#include "util/status_macros.h"

namespace cohortlink::store {

absl::StatusOr<BudgetAccount> PrivacyBudgets::Read(const std::string& project) {
  ASSIGN_OR_RETURN(auto v,
                   store_->Get(Family::kMeta, meta::PrivacyBudget(project)));
  BudgetAccount a;
  if (!v.has_value()) return a;
  if (v->size() != 16) {
    return absl::DataLossError(absl::StrCat(
        "the privacy-budget account of project ", project, " is damaged"));
  }
  a.spent = ReadBigEndian64(absl::string_view(*v).substr(0, 8));
  a.queries = ReadBigEndian64(absl::string_view(*v).substr(8));
  return a;
}

absl::StatusOr<BudgetAccount> PrivacyBudgets::Get(const std::string& project) {
  absl::MutexLock lock(&mu_);
  return Read(project);
}

absl::StatusOr<BudgetAccount> PrivacyBudgets::Charge(
    const std::string& project, uint64_t cost, uint64_t total,
    const std::string& answer_key, const std::string& answer) {
  absl::MutexLock lock(&mu_);
  ASSIGN_OR_RETURN(BudgetAccount a, Read(project));
  if (a.spent > total || cost > total - a.spent) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the privacy budget of project ", project, " would be exceeded"));
  }
  a.spent += cost;
  a.queries += 1;
  std::string value = BigEndian64(a.spent);
  AppendBigEndian64(a.queries, &value);
  rocksdb::WriteBatch b;
  b.Put(store_->cf(Family::kMeta), meta::PrivacyBudget(project), value);
  if (!answer_key.empty()) {
    b.Put(store_->cf(Family::kMeta), meta::PrivacyAnswer(project, answer_key),
          answer);
  }
  RETURN_IF_ERROR(store_->Write(&b, /*sync=*/true));
  return a;
}

absl::StatusOr<std::optional<std::string>> PrivacyBudgets::Answer(
    const std::string& project, const std::string& answer_key) {
  return store_->Get(Family::kMeta, meta::PrivacyAnswer(project, answer_key));
}

}  // namespace cohortlink::store
