#ifndef COHORTLINK_LINKAGE_STORE_META_KEYS_H_
#define COHORTLINK_LINKAGE_STORE_META_KEYS_H_

// Every key of the `meta` column family, in one place. Only linkage/store
// reads or writes them.

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"

namespace cohortlink::store::meta {

// The linkage's fixed settings, set by the first upload.
inline constexpr char kSchemaFingerprint[] = "linkage/schema_fingerprint";
inline constexpr char kFilterLayout[] = "linkage/filter_layout";
// Key check value of key epoch 1; later epochs append "/<epoch>".
inline constexpr char kKeyCheckValue[] = "linkage/key_check_value";
// + decimal epoch: present once the epoch is retired.
inline constexpr char kRetiredEpoch[] = "linkage/retired_epoch/";

inline std::string KeyCheckValue(uint32_t epoch) {
  return epoch <= 1 ? std::string(kKeyCheckValue)
                    : absl::StrCat(kKeyCheckValue, "/", epoch);
}
inline std::string RetiredEpoch(uint32_t epoch) {
  return absl::StrCat(kRetiredEpoch, epoch);
}

// Id counters (big-endian 64-bit: the next id to hand out).
inline constexpr char kNextExtractId[] = "extracts/next_id";
inline constexpr char kNextUploadId[] = "uploads/next_id";
inline constexpr char kNextEntityId[] = "entities/next_id";
// + agency ␟ extract name -> big-endian extract id.
inline constexpr char kExtractIdPrefix[] = "extract-id/";
// + agency ␟ extract name -> the current version's distinct attribute
// values (cohortlink.v1.ExtractValues).
inline constexpr char kExtractValuesPrefix[] = "extract-values/";
// + agency ␟ extract name -> the big-endian upload id of the version last
// withdrawn or retired: with the current version's, it tells an upload at
// commit whether its extract changed since it began (see ChangeToken).
inline constexpr char kExtractRemovedPrefix[] = "extract-removed/";

// + project name -> its privacy-budget account (linkage/store/
// privacy_budgets.h): micro-rho spent, then answers charged (big-endian
// 64-bit each).
inline constexpr char kPrivacyBudgetPrefix[] = "privacy-budget/";
inline std::string PrivacyBudget(const std::string& project) {
  return absl::StrCat(kPrivacyBudgetPrefix, project);
}
// + project ␟ answer key -> a charged answer (cohortlink.v1.QueryResult),
// given again for the same question.
inline constexpr char kPrivacyAnswerPrefix[] = "privacy-answer/";
inline std::string PrivacyAnswer(const std::string& project,
                                 const std::string& answer_key) {
  return absl::StrCat(kPrivacyAnswerPrefix, project, "\x1f", answer_key);
}

// The linkage runner's state.
inline constexpr char kLinkageStatus[] = "linkage/status";
inline constexpr char kCurrentModel[] = "model/current";  // -> model version
inline constexpr char kCellKeySecret[] = "cohort/cell_key_secret";

// The width of the published sets' sketches (big-endian 64-bit), fixed
// when the first is remembered.
inline constexpr char kPublishedSetWidth[] = "published/sketch_width";

// The access log's latest signed tree head.
inline constexpr char kLatestTreeHead[] = "audit/latest_tree_head";

// The storage format of the database (big-endian 64-bit; Store::Open).
inline constexpr char kStorageFormat[] = "storage/format";

// Written by Store::TryResume to prove the disk takes writes again.
inline constexpr char kHealthProbe[] = "health/probe";

}  // namespace cohortlink::store::meta

#endif  // COHORTLINK_LINKAGE_STORE_META_KEYS_H_
