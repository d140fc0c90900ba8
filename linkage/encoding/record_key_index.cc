#include "linkage/encoding/record_key_index.h"

#include "util/text.h"

namespace cohortlink::encoding {

std::optional<uint64_t> RecordKeyIndex::Insert(absl::string_view key,
                                               uint64_t value) {
  if (key.size() == 32) {
    auto raw = util::HexDecode(key);
    if (raw.ok()) {
      absl::uint128 k = absl::MakeUint128(util::DecodeFixed64(raw->data()),
                                          util::DecodeFixed64(raw->data() + 8));
      auto [it, inserted] = hmac_keys_.emplace(k, value);
      if (!inserted) return it->second;
      return std::nullopt;
    }
  }
  auto [it, inserted] = other_keys_.emplace(std::string(key), value);
  if (!inserted) return it->second;
  return std::nullopt;
}

}  // namespace cohortlink::encoding
