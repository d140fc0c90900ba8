#ifndef COHORTLINK_UTIL_NAMES_H_
#define COHORTLINK_UTIL_NAMES_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cohortlink::util {

// The one rule for names a client chooses and the server stores or prints:
// extract names, attribute names, event types, outcome names.
//   [A-Za-z0-9][A-Za-z0-9._-]{0,127}
// so a name is never empty, never ".", "..", a path, an option ("-x"), or a
// control, escape or bidirectional character (docs/limits.md).
inline constexpr size_t kMaxNameBytes = 128;

bool IsValidName(absl::string_view name, size_t max_bytes = kMaxNameBytes);

// Why `name` breaks the rule: "'<printable name>' is not a valid name (...)".
std::string NameRuleViolation(absl::string_view name,
                              size_t max_bytes = kMaxNameBytes);

// OK, or INVALID_ARGUMENT "<field>: " + NameRuleViolation(name).
absl::Status CheckName(absl::string_view field, absl::string_view name,
                       size_t max_bytes = kMaxNameBytes);

// A label value (an attribute value such as "bristol" or "50+"): 1 to
// `max_bytes` bytes of UTF-8 with no control or bidirectional character.
// Empty means "unknown" and is accepted.
bool IsValidLabel(absl::string_view value, size_t max_bytes);

}  // namespace cohortlink::util

#endif  // COHORTLINK_UTIL_NAMES_H_
