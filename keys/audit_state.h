#ifndef COHORTLINK_KEYS_AUDIT_STATE_H_
#define COHORTLINK_KEYS_AUDIT_STATE_H_

// What an auditor keeps between verifications of the access log
// (`cohortlink audit verify --state FILE`): the last tree head verified and
// the leaf hash of every entry under it, so the next verification can show
// the log only grew. The file is text:
//
//   cohortlink-audit-state-v1 <size> <timestamp_ms> <root hex> <signature hex>
//   <leaf hash hex>            (one line per entry, <size> lines)

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cohortlink::keys {

struct AuditState {
  uint64_t tree_size = 0;
  int64_t timestamp_ms = 0;
  std::string root_hash;            // 32 bytes
  std::string signature;            // Ed25519, 64 bytes
  std::vector<std::string> leaves;  // tree_size leaf hashes of 32 bytes
};

// DATA_LOSS naming `source` and the line for anything but a well-formed
// file: every hash of 32 bytes, exactly `size` leaves.
absl::StatusOr<AuditState> ParseAuditState(absl::string_view text,
                                           absl::string_view source);
std::string FormatAuditState(const AuditState& state);

}  // namespace cohortlink::keys

#endif  // COHORTLINK_KEYS_AUDIT_STATE_H_
