#ifndef COHORTLINK_LINKAGE_ENCODING_RECORD_KEY_INDEX_H_
#define COHORTLINK_LINKAGE_ENCODING_RECORD_KEY_INDEX_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "absl/strings/string_view.h"

namespace cohortlink::encoding {

// The record keys of one extract, to find duplicates. Record keys from a
// key column are 128-bit HMACs written as 32 hex digits and are held as 16
// bytes (about 160 MB for 5 million records); any other key is held as a
// string. Not thread-safe.
class RecordKeyIndex {
 public:
  // Adds `key` with `value` (a line or record index). Returns the value
  // stored with an earlier identical key, or nullopt when `key` is new.
  std::optional<uint64_t> Insert(absl::string_view key, uint64_t value);

 private:
  absl::flat_hash_map<absl::uint128, uint64_t> hmac_keys_;
  absl::flat_hash_map<std::string, uint64_t> other_keys_;
};

}  // namespace cohortlink::encoding

#endif  // COHORTLINK_LINKAGE_ENCODING_RECORD_KEY_INDEX_H_
