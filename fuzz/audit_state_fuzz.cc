// libFuzzer target: an auditor's state file. Anything but a well-formed
// file is DATA_LOSS; a file it accepts formats back to the same state.

#include <cstddef>
#include <cstdint>
#include <string>

#include "keys/audit_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto st = cohortlink::keys::ParseAuditState(text, "fuzz.state");
  if (!st.ok()) return 0;
  auto again = cohortlink::keys::ParseAuditState(
      cohortlink::keys::FormatAuditState(*st), "again");
  if (!again.ok() || again->leaves != st->leaves ||
      again->root_hash != st->root_hash || again->tree_size != st->tree_size)
    __builtin_trap();
  return 0;
}
