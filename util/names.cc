#include "util/names.h"

#include "absl/strings/str_cat.h"
#include "util/text.h"

namespace cohortlink::util {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

}  // namespace

bool IsValidName(absl::string_view name, size_t max_bytes) {
  if (name.empty() || name.size() > max_bytes || !IsAlnum(name[0]))
    return false;
  for (char c : name) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') return false;
  }
  return true;
}

std::string NameRuleViolation(absl::string_view name, size_t max_bytes) {
  const absl::string_view shown = name.substr(0, 64);
  return absl::StrCat(
      "'", Printable(shown), name.size() > shown.size() ? "..." : "",
      "' is not a valid name (1-", max_bytes,
      " of A-Z a-z 0-9 . _ -, starting with a letter or digit)");
}

absl::Status CheckName(absl::string_view field, absl::string_view name,
                       size_t max_bytes) {
  if (IsValidName(name, max_bytes)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(field, ": ", NameRuleViolation(name, max_bytes)));
}

bool IsValidLabel(absl::string_view value, size_t max_bytes) {
  // Printable() changes exactly the bytes a label may not hold (control and
  // bidirectional characters, bytes that are not UTF-8), and backslashes.
  return value.size() <= max_bytes && Printable(value) == value;
}

}  // namespace cohortlink::util
